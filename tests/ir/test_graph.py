import numpy as np
import pytest

from snnc.diagnostics import SnncError
from snnc.ir import ops
from snnc.ir.graph import CycleError, GraphBuilder
from snnc.ir.types import FLOAT, TensorType


def recurrent_graph():
    b = GraphBuilder("rnn")
    x = b.input("x", (4,))
    fc = b.add("fc", ops.Linear(np.ones((3, 4))), x)
    d = b.delay("rec", 1, TensorType((3,), FLOAT))
    s = b.add("sum", ops.Elementwise("add"), fc, d)
    n = b.add("lif", ops.Neuron(), s)
    w = b.add("w_rec", ops.Linear(np.eye(3)), n)
    b.connect(d, w)
    b.output("out", n)
    return b.build()


def test_order_ignores_edges_into_delays():
    g = recurrent_graph()
    order = [n.name for n in g.order]
    assert order.index("rec") < order.index("sum") < order.index("lif") < order.index("w_rec")
    assert [n.name for n in g.users("lif")] == ["w_rec", "out"]


def test_order_is_stable_and_topological_for_unordered_nodes():
    g = recurrent_graph()
    shuffled = g.with_nodes(reversed(g.nodes))
    order = [n.name for n in shuffled.order]
    for node in shuffled.nodes:
        if not isinstance(node.op, ops.Delay):
            assert all(order.index(i) < order.index(node.name) for i in node.inputs)


def test_cycle_without_delay_is_detected():
    g = recurrent_graph()
    rec = g.node("rec")
    g2 = g.replace_node("rec", rec.replace(op=ops.Reshape((3,))))
    with pytest.raises(CycleError) as err:
        _ = g2.order
    assert set(err.value.nodes) == {"rec", "sum", "lif", "w_rec"}


def test_builder_names_and_errors():
    b = GraphBuilder()
    x = b.input("x", (4,))
    assert b.fresh("x") == "x_1"
    with pytest.raises(ValueError):
        b.input("x", (4,))
    with pytest.raises(SnncError) as err:
        b.add("fc", ops.Linear(np.ones((3, 5))), x)
    (diag,) = err.value.diagnostics
    assert (diag.rule, diag.node) == ("IR-SHAPE", "fc")
    d = b.delay("d", 1, TensorType((3,), FLOAT))
    with pytest.raises(SnncError):
        b.connect(d, x)


def test_parameter_count():
    assert recurrent_graph().parameter_count() == 12 + 9 + 7  # two weights + 7 neuron scalars (canonical order)
