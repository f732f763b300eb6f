"""fold-sumpool: a sum pool read by one conv, or one linear through a flatten, folded into that
layer's weights gives bit-identical spikes on dyadic weights (every float32 sum exact); the
cases whose padding would read dropped or overlapping inputs, and pools with other readers, stay
and are reported."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_harness import apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron, SumPool2d
from snnc.passes.fold_sumpool import FoldSumpool

IF = Neuron(threshold=2.0, reset="zero")


def dyadic(rng, *shape):
    return rng.integers(-4, 5, size=shape) / 4


def pool_then(pool: SumPool2d, reader: str, shape=(2, 8, 8), seed=0, **conv):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("g")
    pooled = b.add("pool", pool, b.add("if0", IF, b.input("x", shape)))
    if reader == "conv":
        c = b.type_of(pooled).shape[0]
        layer = b.add("conv", Conv2d(weight=dyadic(rng, 3, c, 3, 3), bias=dyadic(rng, 3), **conv), pooled)
    else:
        flat = b.add("flatten", Flatten(), pooled)
        layer = b.add("fc", Linear(weight=dyadic(rng, 5, b.type_of(flat).shape[0])), flat)
    b.output("out", b.add("if1", IF, layer))
    return b.build()


@pytest.mark.parametrize(
    ("pool", "conv"),
    [
        (SumPool2d(kernel=2), {}),
        (SumPool2d(kernel=2), {"padding": 1}),  # k = s: the padded border reads only zeros
        (SumPool2d(kernel=3, stride=2), {"stride": 2}),  # overlapping windows, no padding
        (SumPool2d(kernel=2, padding=1), {"dilation": 2}),
        (SumPool2d(kernel=(2, 1), stride=(2, 1)), {"padding": (1, 0)}),
    ],
    ids=["2x2", "conv-padded", "overlap-stride", "pool-padded-dilated", "rectangular"],
)
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_a_conv_after_a_pool_takes_it_into_its_weights(pool, conv, p):
    g = pool_then(pool, "conv", **conv)
    out, ctx = apply(FoldSumpool(), g)
    assert kinds(out) == ["input", "neuron", "conv2d", "neuron", "output"] and ctx.rewrites["fold-sumpool"] == 1
    assert out.node("conv").inputs == ("if0",) and out.node("conv").type == g.node("conv").type
    assert_same_spikes(g, out, random_events((2, 8, 8), steps=10, p=p))


@given(
    size=st.integers(5, 9),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 1),
    conv_pad=st.integers(0, 2),
    seed=st.integers(0, 99),
)
@settings(max_examples=40, deadline=None)
def test_a_conv_fold_is_exact_whenever_it_is_made(size, kernel, stride, pad, conv_pad, seed):
    pad = min(pad, kernel // 2)
    pooled = (size + 2 * pad - kernel) // stride + 1
    if pooled + 2 * conv_pad < 3:
        return
    g = pool_then(SumPool2d(kernel=kernel, stride=stride, padding=pad), "conv", (1, size, size), seed, padding=conv_pad)
    out, ctx = apply(FoldSumpool(), g)
    x = random_events((1, size, size), steps=6, p=0.5, seed=seed)
    from snnc.sim import run

    np.testing.assert_array_equal(run(out, x).output, run(g, x).output)
    assert ("pool" in out) == bool(ctx.diagnostics)


@pytest.mark.parametrize(
    "pool",
    [SumPool2d(kernel=2), SumPool2d(kernel=3, stride=2, padding=1), SumPool2d(kernel=2, ceil_mode=True)],
    ids=["2x2", "overlap-padded", "ceil"],
)
def test_a_linear_after_a_flattened_pool_spreads_its_weights_over_the_windows(pool):
    g = pool_then(pool, "fc", shape=(2, 7, 7))
    out, _ = apply(FoldSumpool(), g)
    assert kinds(out) == ["input", "neuron", "flatten", "linear", "neuron", "output"]
    assert out.node("fc").op.weight.shape == (5, 2 * 7 * 7)
    assert_same_spikes(g, out, random_events((2, 7, 7), steps=10, p=0.5))


def test_padding_that_would_read_a_dropped_row_keeps_the_pool():
    """9 rows pooled by 2 keep rows 0..7; the conv's bottom padding stands for row 8, which the
    folded conv would read."""
    g = pool_then(SumPool2d(kernel=2), "conv", shape=(2, 9, 9), padding=1)
    out, ctx = apply(FoldSumpool(), g)
    assert out is g and rules_at(ctx.diagnostics) == [("PASS-SUMPOOL-NOT-FOLDED", "pool")]
    assert "dropped" in ctx.diagnostics[0].message


def test_padding_before_overlapping_windows_keeps_the_pool():
    g = pool_then(SumPool2d(kernel=3, stride=1), "conv", padding=1)
    out, ctx = apply(FoldSumpool(), g)
    assert out is g and "overlapping" in ctx.diagnostics[0].message


def test_a_pool_with_two_readers_is_reported():
    b = GraphBuilder("g")
    pooled = b.add("pool", SumPool2d(kernel=2), b.add("if0", IF, b.input("x", (1, 4, 4))))
    b.output("a", b.add("n1", IF, b.add("c1", Conv2d(weight=np.ones((1, 1, 1, 1))), pooled)))
    b.output("b", b.add("n2", IF, b.add("c2", Conv2d(weight=np.ones((1, 1, 1, 1))), pooled)))
    _, ctx = apply(FoldSumpool(), b.build())
    assert (
        rules_at(ctx.diagnostics) == [("PASS-SUMPOOL-NOT-FOLDED", "pool")] and "2 readers" in ctx.diagnostics[0].message
    )
