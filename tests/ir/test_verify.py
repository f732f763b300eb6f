"""One failing case per verifier rule, asserting the rule id and the node it names."""

import numpy as np
import pytest

from snnc.diagnostics import Severity, SnncError
from snnc.ir import ops
from snnc.ir.graph import Graph, GraphBuilder, Node
from snnc.ir.quant import Arithmetic, IntRange, Mantissa, NumberFormat
from snnc.ir.types import FLOAT, SPIKE, Int, TensorType
from snnc.ir.verify import unused_nodes, verify, verify_or_raise


def small_graph() -> Graph:
    b = GraphBuilder("small")
    x = b.input("x", (4,))
    fc = b.add("fc", ops.Linear(np.ones((3, 4), np.float32), bias=np.zeros(3)), x)
    n = b.add("lif", ops.Neuron(threshold=2.0), fc)
    b.output("out", n)
    return b.build()


S32 = IntRange(32, "saturate")
ARITH = Arithmetic("test", S32, S32, S32, S32, 12, "floor", Mantissa(16), Mantissa(16), Mantissa(16))


def quantized(graph: Graph) -> Graph:
    """`graph` with an Arithmetic: quantized parameters need one (IR-QUANT-ARITHMETIC)."""
    return Graph(graph.nodes, graph.name, ARITH)


def rules(graph: Graph) -> list[tuple[str, str | None]]:
    return [(d.rule, d.node) for d in verify(graph)]


def with_node(graph: Graph, name: str, **changes) -> Graph:
    return graph.replace_node(name, graph.node(name).replace(**changes))


def test_valid_graph_has_no_diagnostics():
    assert verify(small_graph()) == []
    verify_or_raise(small_graph())


def test_duplicate_name():
    g = small_graph()
    dup = g.node("lif").replace(inputs=("fc",))
    g = g.with_nodes([*g.nodes, dup])
    assert ("IR-DUPLICATE-NAME", "lif") in rules(g)


def test_dangling_input():
    assert rules(with_node(small_graph(), "lif", inputs=("nope",))) == [("IR-DANGLING", "lif")]


def test_reading_an_output():
    g = small_graph()
    extra = Node("more", ops.Output(), ("out",), g.node("out").type)
    assert ("IR-OUTPUT-USED", "more") in rules(g.with_nodes([*g.nodes, extra]))


def test_no_input_and_no_output():
    g = small_graph()
    assert ("IR-NO-OUTPUT", None) in rules(g.with_nodes(g.nodes[:-1]))
    const = Graph((Node("out", ops.Output(), (), TensorType((1,), SPIKE)),))
    assert ("IR-NO-INPUT", None) in rules(const)


def test_cycle_without_delay():
    g = small_graph()
    g = with_node(g, "fc", inputs=("lif",), op=ops.Linear(np.ones((3, 3))))
    assert ("IR-CYCLE", "fc") in rules(g)


def accumulator() -> Graph:
    """s[t] = x[t] + s[t-1]: a cycle through a Delay."""
    b = GraphBuilder()
    x = b.input("x", (3,), FLOAT)
    d = b.delay("d", 1, TensorType((3,), FLOAT))
    s = b.add("s", ops.Elementwise("add"), x, d)
    b.connect(d, s)
    b.output("out", s)
    return b.build()


def test_cycle_through_delay_is_fine():
    assert verify(accumulator()) == []


def test_delay_type_must_match_its_input():
    g = with_node(accumulator(), "d", type=TensorType((3,), SPIKE))
    assert ("IR-TYPE", "d") in rules(g)


def test_declared_type_differs():
    g = with_node(small_graph(), "fc", type=TensorType((3,), SPIKE))
    assert ("IR-TYPE", "fc") in rules(g)


def test_shape_mismatch():
    g = with_node(small_graph(), "fc", op=ops.Linear(np.ones((3, 5))))
    assert rules(g) == [("IR-SHAPE", "fc")]


def test_arity():
    g = with_node(small_graph(), "lif", inputs=("fc", "fc", "fc"))
    assert rules(g) == [("IR-ARITY", "lif")]
    g = with_node(small_graph(), "out", inputs=("lif", "fc"))
    assert rules(g) == [("IR-ARITY", "out")]


def test_late_input_must_match_the_neuron_shape():
    g = with_node(small_graph(), "lif", inputs=("fc", "x"))
    assert rules(g) == [("IR-SHAPE", "lif")]


def test_delta_charge_leaves_affine_parameters_unset():
    g = with_node(small_graph(), "lif", op=ops.Neuron(float_order=ops.FloatOrder("delta", rate=0.5), v_decay=0.9))
    assert rules(g) == [("IR-NEURON-PARAM", "lif")]


def test_neuron_parameter_broadcast():
    g = with_node(small_graph(), "lif", op=ops.Neuron(threshold=np.ones(5)))
    assert rules(g) == [("IR-NEURON-PARAM", "lif")]


def test_nonfinite_parameters():
    w = np.ones((3, 4), np.float32)
    w[0, 1] = np.nan
    w[2, 2] = np.inf
    g = with_node(small_graph(), "fc", op=ops.Linear(w))
    (diag,) = verify(g)
    assert (diag.rule, diag.node, diag.measured) == ("IR-NONFINITE", "fc", 2)


def test_quantized_parameters_must_fit_their_format():
    fmt = NumberFormat(8, signed=True, scale=4.0)
    ok = ops.Linear(np.full((3, 4), 127), weight_format=fmt)
    g = with_node(quantized(small_graph()), "fc", op=ok, type=TensorType((3,), Int(32)))
    assert verify(g) == []
    too_big = ops.Linear(np.full((3, 4), 128), weight_format=fmt)
    g = with_node(g, "fc", op=too_big)
    (diag,) = verify(g)
    assert (diag.rule, diag.node, diag.limit) == ("IR-QUANT-RANGE", "fc", [-128, 127])


def test_quantized_parameter_holding_real_values():
    op = ops.Linear(np.full((3, 4), 0.5), weight_format=NumberFormat(8))
    g = with_node(quantized(small_graph()), "fc", op=op, type=TensorType((3,), Int(32)))
    assert rules(g) == [("IR-QUANT-FORMAT", "fc")]


def test_unused_nodes_are_warnings():
    b = GraphBuilder()
    x = b.input("x", (4,))
    b.add("dead", ops.Neuron(), x)
    b.output("out", x)
    (diag,) = unused_nodes(b.build())
    assert (diag.rule, diag.node, diag.severity) == ("IR-UNUSED", "dead", Severity.WARNING)


def test_all_errors_are_reported_at_once():
    g = small_graph()
    g = with_node(g, "fc", op=ops.Linear(np.full((3, 4), np.nan)))
    g = with_node(g, "lif", op=ops.Neuron(threshold=-1.0))
    with pytest.raises(SnncError) as err:
        verify_or_raise(g)
    assert {d.rule for d in err.value.diagnostics} == {"IR-NONFINITE", "IR-NEURON-PARAM"}
    assert err.value.exit_code == 1
