"""consolidate-pool-scales: average pools' factors move to the next layer as sinabs moves them:
through sum pools and flattens (exact), combined along chains (exact for powers of two), one
factor past a merge of equal ones (exact), sinabs' round(mean·0.5, 2) past a merge of different
ones (reported: not exact)."""

from __future__ import annotations

import numpy as np
from pass_harness import apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import AvgPool2d, Conv2d, Elementwise, Flatten, GraphBuilder, Linear, Neuron, SumPool2d
from snnc.passes.absorb_scale import AbsorbScale
from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
from snnc.passes.base import PassContext, run_passes
from snnc.passes.consolidate_pool_scales import ConsolidatePoolScales

IAF = Neuron(threshold=1.0, spikes="multi")


def weights(*shape, seed=0):
    return np.random.default_rng(seed).integers(-4, 5, size=shape) / 4


def lowered(graph):
    """avgpool-to-sumpool, then this pass."""
    ctx = PassContext(verify_each=True)
    return run_passes(graph, [AvgpoolToSumpool(), ConsolidatePoolScales()], ctx), ctx


def test_chained_pools_carry_one_factor_to_the_layer():
    b = GraphBuilder("g")
    n = b.add("iaf", IAF, b.input("x", (2, 8, 8)))
    p = b.add("p2", AvgPool2d(2), b.add("p1", AvgPool2d(2), n))
    b.output("out", b.add("fc.iaf", IAF, b.add("fc", Linear(weights(3, 8)), b.add("flat", Flatten(), p))))
    g = b.build()
    out, ctx = lowered(g)
    order = [n.op.kind for n in out.order]
    assert order == ["input", "neuron", "sumpool2d", "sumpool2d", "flatten", "scale", "linear", "neuron", "output"]
    (scale,) = [n for n in out if n.op.kind == "scale"]
    assert float(scale.op.factor) == 1 / 16 and ctx.rewrites["consolidate-pool-scales"] == 3
    folded, _ = apply(AbsorbScale(), out)
    assert "scale" not in kinds(folded)
    assert_same_spikes(g, folded, random_events((2, 8, 8), steps=10, p=0.9))


def merge(pool_a, pool_b):
    b = GraphBuilder("g")
    x = b.input("x", (2, 8, 8))
    a = b.add("a", pool_a, b.add("ia", IAF, b.add("ca", Conv2d(weights(2, 2, 3, 3), padding=1), x)))
    c = b.add("b", pool_b, b.add("ib", IAF, b.add("cb", Conv2d(weights(2, 2, 3, 3, seed=1), padding=1), x)))
    added = b.add("merge", Elementwise("add"), a, c)
    b.output("out", b.add("c.iaf", IAF, b.add("c", Conv2d(weights(3, 2, 3, 3, seed=2)), added)))
    return b.build()


def test_a_merge_of_equal_factors_is_exact():
    g = merge(AvgPool2d(2), AvgPool2d(2))
    out, ctx = lowered(g)
    assert [float(n.op.factor) for n in out if n.op.kind == "scale"] == [0.25] and not ctx.diagnostics
    assert out.node("merge.scale").inputs == ("merge",)
    assert_same_spikes(g, out, random_events((2, 8, 8), steps=10, p=0.5))


def test_a_merge_of_different_factors_gets_sinabs_rescale():
    out, ctx = lowered(merge(AvgPool2d(2), SumPool2d(2)))
    assert [float(n.op.factor) for n in out if n.op.kind == "scale"] == [np.float32(0.31)]
    assert rules_at(ctx.diagnostics) == [("PASS-MERGE-RESCALE", "merge")]
    assert ctx.diagnostics[0].measured == [0.25, 1.0] and ctx.diagnostics[0].limit == 0.31


def test_nothing_to_move_leaves_the_graph():
    g = merge(SumPool2d(2), SumPool2d(2))
    out, ctx = apply(ConsolidatePoolScales(), g)
    assert out is g and not ctx.rewrites
