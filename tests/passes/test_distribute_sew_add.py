"""distribute-sew-add: layer(a + b) = layer(a) + layer'(b) with identical spikes on integer
weights, measured agreement on real ones; residual chains, flatten and nested adds; real-valued
adds reported."""

from __future__ import annotations

import numpy as np
from pass_harness import agreement, apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import FLOAT, Conv2d, Elementwise, Flatten, GraphBuilder, Linear, Neuron
from snnc.passes.distribute_sew_add import DistributeSewAdd
from snnc.sim import run

IF = Neuron(threshold=2.0)
RNG = np.random.default_rng(0)


def integers(*shape: int) -> np.ndarray:
    return RNG.integers(-3, 4, size=shape).astype(np.float32)


def sew_block(weight: np.ndarray, bias: np.ndarray | None = None, residual_output: bool = False):
    """x → lif_a, lif_b (two spike branches) → add → conv → lif."""
    b = GraphBuilder("sew")
    x = b.input("x", (2, 6, 6))
    a, c = b.add("lif_a", IF, x), b.add("lif_b", Neuron(threshold=1.0), x)
    added = b.add("add", Elementwise("add"), a, c)
    b.output("out", b.add("lif", IF, b.add("conv", Conv2d(weight=weight, bias=bias, padding=1), added)))
    if residual_output:
        b.output("residual", added)
    return b.build()


def test_the_conv_is_applied_to_each_branch():
    g = sew_block(integers(3, 2, 3, 3), bias=integers(3))
    out, ctx = apply(DistributeSewAdd(), g)
    assert "add" not in out and ctx.rewrites["distribute-sew-add"] == 1
    assert out.node("conv").inputs == ("lif_a",) and out.node("conv_1").inputs == ("lif_b",)
    assert out.node("conv_1").op.bias is None  # the bias is added once
    assert out.node("lif").inputs == ("conv.merge",)
    assert_same_spikes(g, out, random_events((2, 6, 6), p=0.6))


def test_an_add_read_by_something_else_stays_for_it():
    g = sew_block(integers(3, 2, 3, 3), residual_output=True)
    out, _ = apply(DistributeSewAdd(), g)
    assert out.node("residual").inputs == ("add",) and out.node("conv").inputs == ("lif_a",)
    x = random_events((2, 6, 6), p=0.6)
    for name in ("out", "residual"):
        np.testing.assert_array_equal(run(out, x).outputs[name], run(g, x).outputs[name])


def test_nested_adds_reach_the_layer_through_every_branch():
    b = GraphBuilder("g")
    x = b.input("x", (4,))
    branches = [b.add(f"lif{k}", Neuron(threshold=float(k + 1)), x) for k in range(3)]
    inner = b.add("add1", Elementwise("add"), branches[0], branches[1])
    outer = b.add("add2", Elementwise("add"), inner, branches[2])
    b.output("out", b.add("lif", IF, b.add("fc", Linear(weight=integers(3, 4)), outer)))
    g = b.build()
    out, ctx = apply(DistributeSewAdd(), g)
    assert ctx.rewrites["distribute-sew-add"] == 2 and kinds(out).count("linear") == 3
    assert "elementwise" in kinds(out) and not {"add1", "add2"} & {n.name for n in out}
    assert_same_spikes(g, out, random_events((4,), steps=10, p=0.7))


def test_through_a_flatten():
    b = GraphBuilder("g")
    x = b.input("x", (2, 3, 3))
    added = b.add("add", Elementwise("add"), b.add("lif_a", IF, x), b.add("lif_b", Neuron(threshold=1.0), x))
    fc = b.add("fc", Linear(weight=integers(4, 18)), b.add("flat", Flatten(), added))
    b.output("out", b.add("lif", IF, fc))
    g = b.build()
    out, _ = apply(DistributeSewAdd(), g)
    assert out.node("flat").inputs == ("lif_a",) and out.node("flat_1").inputs == ("lif_b",)
    assert_same_spikes(g, out, random_events((2, 3, 3), p=0.6))


def test_real_weights_agree_within_the_measured_bound():
    """Measured on 8 random-normal blocks (T=20, B=8, 3×6×6 output neurons: 17 280 outputs
    each): the two partial sums round differently from the sum of the merged counts; every
    spike agreed."""
    x = random_events((2, 6, 6), steps=20, batch=8, p=0.6)
    worst = 1.0
    for seed in range(8):
        g = sew_block(np.random.default_rng(seed).normal(0, 1, (3, 2, 3, 3)).astype(np.float32))
        worst = min(worst, agreement(g, apply(DistributeSewAdd(), g)[0], x))
    assert worst > 1 - 1e-4


def test_an_add_with_a_real_input_is_reported():
    b = GraphBuilder("g")
    x = b.input("x", (2, 4, 4), dtype=FLOAT)
    added = b.add("add", Elementwise("add"), x, b.add("lif", IF, x))
    b.output("out", b.add("conv", Conv2d(weight=integers(2, 2, 1, 1)), added))
    g = b.build()
    out, ctx = apply(DistributeSewAdd(), g)
    assert out is g
    assert (
        rules_at(ctx.diagnostics) == [("PASS-SEW-NOT-DISTRIBUTED", "add")] and "x (float" in ctx.diagnostics[0].message
    )
