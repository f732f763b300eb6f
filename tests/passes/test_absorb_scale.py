"""absorb-scale: scales into weights (any sign, padding kept) and into neuron voltages (positive
factors), exact spikes on power-of-two factors, measured agreement on random ones, and a warning
for each scale that stays."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_harness import (
    Params,
    agreement,
    apply,
    assert_exact_and_leftovers_reported,
    assert_same_spikes,
    kinds,
    layer_lists,
    random_events,
    random_graph,
    rules_at,
)

from snnc.ir import Conv2d, Flatten, FloatOrder, GraphBuilder, Linear, Neuron, Scale
from snnc.passes.absorb_scale import AbsorbScale

POW2 = np.array([0.25, 2.0, 4.0])
IF = Neuron(threshold=1.0)


def scaled_neuron(neuron: Neuron, factor=POW2, shape=(3, 4, 4)):
    b = GraphBuilder("g")
    x = b.add("pre", IF, b.input("x", shape))
    b.output("out", b.add("lif", neuron, b.add("scale", Scale(factor), x)))
    return b.build()


def test_into_neuron_voltages():
    g = scaled_neuron(Neuron(threshold=0.5, v_decay=0.5, bias=0.25, v_init=0.125))
    out, ctx = apply(AbsorbScale(), g)
    assert kinds(out) == ["input", "neuron", "neuron", "output"] and ctx.rewrites["absorb-scale"] == 1
    lif = out.node("lif").op
    np.testing.assert_array_equal(lif.threshold, 0.5 / POW2)
    np.testing.assert_array_equal(lif.bias, 0.25 / POW2)
    np.testing.assert_array_equal(lif.v_decay, 0.5)  # unitless: unchanged
    assert_same_spikes(g, out, random_events((3, 4, 4), steps=12, p=0.5))


@pytest.mark.parametrize(
    "neuron",
    [
        Neuron(threshold=1.0, reset="zero", v_reset=-0.25, v_min=-1.0),
        Neuron(threshold=2.0, float_order=FloatOrder("delta", rate=0.5, v_rest=0.25)),
        Neuron(threshold=1.0, i_decay=0.5, i_init=0.5, spikes="multi", max_spikes=3),
        Neuron(threshold=np.full((3, 4, 4), 1.0), bias=np.full((3, 4, 4), 0.125), reset_timing="next_step"),
    ],
    ids=["zero-reset-vmin", "delta-vrest", "current-multi", "per-neuron-next-step"],
)
def test_every_voltage_is_divided(neuron):
    g = scaled_neuron(neuron)
    out, _ = apply(AbsorbScale(), g)
    assert "scale" not in kinds(out)
    assert_same_spikes(g, out, random_events((3, 4, 4), steps=12, p=0.5))


def test_into_a_padded_conv_with_any_sign():
    b = GraphBuilder("g")
    factor = np.array([-2.0, 0.0, 0.5])
    x = b.add("scale", Scale(factor), b.add("pre", IF, b.input("x", (3, 5, 5))))
    conv = Conv2d(weight=Params(np.random.default_rng(0), True).weights(2, 3, 3, 3), padding=1)
    b.output("out", b.add("lif", IF, b.add("conv", conv, x)))
    g = b.build()
    out, ctx = apply(AbsorbScale(), g)
    assert out.node("conv").inputs == ("pre",) and not ctx.diagnostics
    np.testing.assert_array_equal(out.node("conv").op.weight[:, 1], 0)
    assert_same_spikes(g, out, random_events((3, 5, 5), p=0.6))


def test_into_a_linear_through_a_flatten():
    b = GraphBuilder("g")
    x = b.add("scale", Scale(np.float32(0.25)), b.add("pre", IF, b.input("x", (2, 3, 3))))
    fc = b.add("fc", Linear(weight=np.random.default_rng(1).integers(-4, 5, (4, 18))), b.add("flat", Flatten(), x))
    b.output("out", b.add("lif", IF, fc))
    g = b.build()
    out, _ = apply(AbsorbScale(), g)
    assert "scale" not in kinds(out)
    assert_same_spikes(g, out, random_events((2, 3, 3), p=0.6))


def test_a_negative_factor_before_neurons_is_reported():
    g = scaled_neuron(IF, factor=np.array([1.0, -2.0, 0.0]))
    out, ctx = apply(AbsorbScale(), g)
    assert out is g
    assert rules_at(ctx.diagnostics) == [("PASS-SCALE-NOT-POSITIVE", "scale")]
    assert ctx.diagnostics[0].measured == -2.0 and "2 of 3" in ctx.diagnostics[0].message


def test_a_scale_read_by_an_output_stays():
    b = GraphBuilder("g")
    b.output("out", b.add("scale", Scale(np.float32(2.0)), b.input("x", (3,))))
    _out, ctx = apply(AbsorbScale(), b.build())
    assert rules_at(ctx.diagnostics) == [("PASS-SCALE-NOT-ABSORBED", "scale")]
    assert "out (output) is not a neuron" in ctx.diagnostics[0].message


def test_a_neuron_with_a_late_input_keeps_its_scale():
    b = GraphBuilder("g")
    x = b.input("x", (3,))
    late = b.add("late", IF, x)
    b.output("out", b.add("lif", IF, b.add("scale", Scale(POW2), x), late))
    _out, ctx = apply(AbsorbScale(), b.build())
    assert (
        rules_at(ctx.diagnostics) == [("PASS-SCALE-NOT-ABSORBED", "scale")]
        and "late input" in ctx.diagnostics[0].message
    )


def test_chained_scales_are_all_absorbed():
    b = GraphBuilder("g")
    x = b.add("s2", Scale(np.float32(2.0)), b.add("s1", Scale(np.float32(0.5)), b.input("x", (3,))))
    b.output("out", b.add("lif", IF, x))
    out, ctx = apply(AbsorbScale(), b.build())
    assert kinds(out) == ["input", "neuron", "output"] and ctx.rewrites["absorb-scale"] == 2


@settings(max_examples=30, deadline=None)
@given(layers=layer_lists, seed=st.integers(0, 2**16))
def test_random_stacks_with_power_of_two_factors_keep_every_spike(layers, seed):
    g = random_graph(np.random.default_rng(seed), [*layers, "scale"], dyadic=True)
    assert_exact_and_leftovers_reported(AbsorbScale(), g, seed, Scale)


def _scaled_net(seed: int):
    draw = Params(np.random.default_rng(seed), dyadic=False)
    b = GraphBuilder("g")
    c = b.add("conv1", Conv2d(weight=draw.weights(8, 2, 3, 3), padding=1), b.input("x", (2, 12, 12)))
    spikes = b.add("lif1", Neuron(threshold=1.0, v_decay=0.8), b.add("s1", Scale(draw.factors(8)), c))
    c = b.add("conv2", Conv2d(weight=draw.weights(8, 8, 3, 3) * 0.4), b.add("s2", Scale(draw.factors(8)), spikes))
    b.output("out", b.add("lif2", Neuron(threshold=1.0, v_decay=0.8), c))
    return b.build()


def test_random_factors_agree_within_the_measured_bound():
    """Measured on these 8 nets (T=30, B=8, 800 output neurons: 192 000 outputs each), scales
    uniform in [0.2, 3] absorbed into thresholds (s1) and weights (s2): every spike agreed."""
    x = random_events((2, 12, 12), steps=30, batch=8, seed=5)
    worst = 1.0
    for seed in range(8):
        g = _scaled_net(seed)
        out, _ = apply(AbsorbScale(), g)
        assert "scale" not in kinds(out)
        worst = min(worst, agreement(g, out, x))
    assert worst > 1 - 1e-5
