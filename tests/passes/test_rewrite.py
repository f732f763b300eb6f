"""The Rewriter the passes edit graphs with: fresh names, redirected edges, types re-inferred
downstream and through a Delay cycle, the arithmetic kept, and a broken rewrite named."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.diagnostics import SnncError
from snnc.ir import FLOAT, AvgPool2d, Delay, Elementwise, GraphBuilder, Linear, Neuron, SumPool2d, verify
from snnc.ir.types import Count
from snnc.passes.rewrite import Rewriter


def pooled():
    b = GraphBuilder("g")
    pool = b.add("pool", AvgPool2d(kernel=2), b.add("lif", Neuron(), b.input("x", (1, 4, 4))))
    b.output("out", pool)
    return b.build()


def test_a_changed_dtype_reaches_every_node_downstream():
    rw = Rewriter(pooled())
    rw.set_op("pool", SumPool2d(kernel=2))
    g = rw.build()
    assert g.node("pool").type.dtype == Count(4) and g.node("out").type.dtype == Count(4) and not verify(g)


def test_inserted_nodes_get_fresh_names_and_take_over_the_readers():
    rw = Rewriter(pooled())
    first = rw.insert_after("pool", "pool", Neuron(), "pool")
    second = rw.insert_after(first, "pool", Neuron(), first)
    rw.redirect("pool", second, keep=(first,))
    g = rw.build()
    assert (first, second) == ("pool_1", "pool_2")
    assert [n.name for n in g] == ["x", "lif", "pool", "pool_1", "pool_2", "out"]
    assert g.node("out").inputs == ("pool_2",) and g.node("pool_1").inputs == ("pool",) and not verify(g)


def test_a_delay_cycle_is_retyped_through_the_delay():
    b = GraphBuilder("rnn")
    x = b.input("x", (3,))
    d = b.delay("d", 1, Neuron(spikes="multi", max_spikes=1).infer([b.type_of(x)]))
    s = b.add("sum", Elementwise("add"), x, d)
    b.connect(d, b.add("lif", Neuron(spikes="multi", max_spikes=1), s))
    b.output("out", "lif")
    rw = Rewriter(b.build())
    rw.set_op("lif", Neuron(spikes="multi", max_spikes=3))
    g = rw.build()
    assert g.node("d").type.dtype == Count(3) and g.node("sum").type.dtype == Count(4) and not verify(g)
    assert isinstance(g.node("d").op, Delay)


def test_the_graphs_arithmetic_and_name_are_kept():
    from snnc.backends.sim.spec import sim_spec

    g = pooled()
    quantized = type(g)(g.nodes, "named", sim_spec(8).arithmetic)
    built = Rewriter(quantized).build()
    assert built.arithmetic == quantized.arithmetic and built.name == "named"


def test_a_rewrite_that_breaks_a_type_is_named_as_a_bug():
    b = GraphBuilder("g")
    b.output("out", b.add("fc", Linear(weight=np.ones((2, 3))), b.input("x", (3,), dtype=FLOAT)))
    rw = Rewriter(b.build())
    rw.set_op("fc", Linear(weight=np.ones((2, 5))))
    with pytest.raises(SnncError) as err:
        rw.build()
    (d,) = err.value.diagnostics
    assert (d.rule, d.node) == ("PASS-BROKE-GRAPH", "fc") and err.value.exit_code == 1
