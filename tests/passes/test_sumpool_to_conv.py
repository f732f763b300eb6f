"""sumpool-to-conv: a sum pool read by neurons becomes a depthwise convolution of ones with the
same spikes (maxpool-to-or's OR pools included); overhanging ceil_mode windows are reported."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import GraphBuilder, MaxPool2d, Neuron, SumPool2d
from snnc.passes.maxpool_to_or import MaxpoolToOr
from snnc.passes.sumpool_to_conv import SumpoolToConv

IF = Neuron(threshold=1.0, reset="zero")


def pooled(pool, shape=(3, 9, 9)):
    b = GraphBuilder("g")
    b.output("out", b.add("n", Neuron(threshold=2.0), b.add("pool", pool, b.add("if0", IF, b.input("x", shape)))))
    return b.build()


@pytest.mark.parametrize(
    "pool",
    [SumPool2d(kernel=2), SumPool2d(kernel=3, stride=2, padding=1), SumPool2d(kernel=(3, 1), stride=1)],
    ids=["2x2", "3x3-s2-p1", "3x1"],
)
def test_a_pool_read_by_neurons_becomes_a_depthwise_conv_of_ones(pool):
    g = pooled(pool)
    out, ctx = apply(SumpoolToConv(), g)
    conv = out.node("pool").op
    assert kinds(out)[2] == "conv2d" and conv.groups == 3 and np.all(conv.weight == 1)
    assert ctx.rewrites["sumpool-to-conv"] == 1
    assert_same_spikes(g, out, random_events((3, 9, 9), p=0.4))


def test_an_or_pool_from_maxpool_to_or():
    b = GraphBuilder("g")
    b.output("out", b.add("pool", MaxPool2d(kernel=2), b.add("if0", IF, b.input("x", (2, 8, 8)))))
    g = b.build()
    ored, _ = apply(MaxpoolToOr(), g)
    out, _ = apply(SumpoolToConv(), ored)
    assert kinds(out) == ["input", "neuron", "conv2d", "neuron", "output"]
    assert_same_spikes(g, out, random_events((2, 8, 8), p=0.2))


def test_an_overhanging_ceil_mode_window_is_reported():
    g = pooled(SumPool2d(kernel=2, ceil_mode=True))
    out, ctx = apply(SumpoolToConv(), g)
    assert out is g and rules_at(ctx.diagnostics) == [("PASS-SUMPOOL-NOT-CONVERTED", "pool")]


def test_a_pool_read_by_a_synapse_is_left_to_fold_sumpool():
    from snnc.ir import Flatten, Linear

    b = GraphBuilder("g")
    flat = b.add("flat", Flatten(), b.add("pool", SumPool2d(kernel=2), b.add("if0", IF, b.input("x", (1, 4, 4)))))
    b.output("out", b.add("n", IF, b.add("fc", Linear(weight=np.ones((2, 4))), flat)))
    g = b.build()
    out, ctx = apply(SumpoolToConv(), g)
    assert out is g and not ctx.diagnostics
