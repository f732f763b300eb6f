"""avgpool-to-sumpool: exact where every window divides by kh·kw, measured ulps otherwise, and the
two torch cases with uneven windows reported."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import FLOAT, AvgPool2d, Conv2d, GraphBuilder, Neuron
from snnc.passes.absorb_scale import AbsorbScale
from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
from snnc.sim import run

IF = Neuron(threshold=1.0)


def pooled(pool: AvgPool2d, shape=(2, 7, 7)):
    """spikes → avgpool → output: the pooled values themselves are compared."""
    b = GraphBuilder("g")
    b.output("out", b.add("pool", pool, b.add("lif", IF, b.input("x", shape))))
    return b.build()


@pytest.mark.parametrize(
    "pool",
    [AvgPool2d(kernel=2), AvgPool2d(kernel=4, stride=2, padding=1), AvgPool2d(kernel=(2, 4), ceil_mode=True)],
    ids=["2x2", "padded-count-pad", "ceil-no-overhang"],
)
def test_power_of_two_areas_give_identical_values(pool):
    g = pooled(pool, shape=(2, 8, 8))
    out, ctx = apply(AvgpoolToSumpool(), g)
    assert kinds(out) == ["input", "neuron", "sumpool2d", "scale", "output"] and ctx.rewrites["avgpool-to-sumpool"] == 1
    assert out.node("pool").type.dtype.is_event  # the sum of spikes is events again
    assert_same_spikes(g, out, random_events((2, 8, 8), p=0.5))


def test_other_areas_differ_by_at_most_one_ulp():
    """The simulator's float order, fl(fl(fl(Σ/a)·a)·fl(1/a)) against avg_pool2d's fl(Σ/a),
    checked exhaustively for spike sums Σ = 0..a over every area a up to 16×16: 9 030 of the
    33 152 cases differ, none by more than one ulp (areas 1-5, 8, 9, 16, ... never differ)."""
    worst = 0.0
    for area in map(np.float32, range(1, 257)):
        sums = np.arange(area + 1, dtype=np.float32)
        before, after = sums / area, ((sums / area) * area) * (np.float32(1) / area)
        worst = max(worst, float((np.abs(after - before) / np.spacing(np.maximum(before, 1e-30))).max()))
    assert worst == 1.0


def test_real_valued_input_differs_by_the_measured_ulp():
    """On real-valued (normal) inputs, 3×3 windows: measured at most 1 ulp of the average."""
    b = GraphBuilder("g")
    b.output("out", b.add("pool", AvgPool2d(kernel=3), b.input("x", (4, 30, 30), dtype=FLOAT)))
    g = b.build()
    out, _ = apply(AvgpoolToSumpool(), g)
    x = np.random.default_rng(0).normal(size=(4, 8, 4, 30, 30)).astype(np.float32)
    before, after = run(g, x).output, run(out, x).output
    ulps = np.abs(after - before) / np.spacing(np.abs(before))
    assert 0 < ulps.max() <= 1


def test_the_scale_then_goes_into_the_next_weights():
    b = GraphBuilder("g")
    x = b.add("pool", AvgPool2d(kernel=2), b.add("lif1", IF, b.input("x", (2, 8, 8))))
    weight = np.random.default_rng(0).integers(-4, 5, (3, 2, 3, 3))
    b.output("out", b.add("lif2", IF, b.add("conv", Conv2d(weight=weight), x)))
    g = b.build()
    out, _ = apply(AbsorbScale(), apply(AvgpoolToSumpool(), g)[0])
    assert kinds(out) == ["input", "neuron", "sumpool2d", "conv2d", "neuron", "output"]
    np.testing.assert_array_equal(out.node("conv").op.weight, weight / 4)
    assert_same_spikes(g, out, random_events((2, 8, 8), p=0.5))


@pytest.mark.parametrize(
    ("pool", "words"),
    [
        (AvgPool2d(kernel=3, padding=1, count_include_pad=False), "count_include_pad=False"),
        (AvgPool2d(kernel=2, ceil_mode=True), "overhang"),
    ],
)
def test_uneven_windows_are_reported(pool, words):
    g = pooled(pool)
    out, ctx = apply(AvgpoolToSumpool(), g)
    assert out is g
    assert rules_at(ctx.diagnostics) == [("PASS-AVGPOOL-NOT-CONVERTED", "pool")] and words in ctx.diagnostics[0].message
