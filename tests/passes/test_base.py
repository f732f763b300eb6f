"""The pass driver: passes run in order, and a pass that breaks the graph is named."""

import numpy as np
import pytest

from snnc.diagnostics import SnncError
from snnc.ir import GraphBuilder, Linear, Neuron
from snnc.passes.base import PassContext, run_passes


def graph():
    b = GraphBuilder("g")
    b.output("out", b.add("lif", Neuron(), b.add("fc", Linear(np.ones((2, 3))), b.input("x", (3,)))))
    return b.build()


class Identity:
    name = "identity"

    def __call__(self, g, ctx):
        ctx.count(self.name)
        return g


class Breaker:
    name = "breaker"

    def __call__(self, g, ctx):
        fc = g.node("fc")
        return g.replace_node("fc", fc.replace(op=Linear(np.ones((2, 5)))))


def test_passes_run_in_order_and_count_rewrites():
    ctx = PassContext()
    out = run_passes(graph(), [Identity(), Identity()], ctx)
    assert ctx.applied == ["identity", "identity"] and ctx.rewrites["identity"] == 2
    assert [n.name for n in out] == [n.name for n in graph()]


def test_a_pass_that_breaks_the_graph_is_named_with_its_predecessors():
    ctx = PassContext(verify_each=True)
    with pytest.raises(SnncError) as err:
        run_passes(graph(), [Identity(), Breaker()], ctx)
    first, *rest = err.value.diagnostics
    assert first.rule == "PASS-BROKE-GRAPH" and "breaker" in first.message and "identity" in first.message
    assert [(d.rule, d.node) for d in rest] == [("IR-SHAPE", "fc")]
    assert err.value.exit_code == 1
    run_passes(graph(), [Breaker()], PassContext())  # unchecked unless asked
