"""The Neuron op against its docstring (snnc/ir/ops.py): the literal reference (snnc/sim/reference.py),
properties that follow from the update equations, and small hand-computed cases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snnc.ir import FLOAT, FloatOrder, GraphBuilder, Neuron
from snnc.sim import reference, run

f32 = np.float32
N = 3  # neurons per sample


def simulate(op: Neuron, x: np.ndarray, h: bool = True) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Spikes (as float32) and the traces v, h (and i) of one neuron layer driven by x [T, B, *shape];
    without `h` (not traced), the in-place scan evaluates single-spike same-step neurons."""
    b = GraphBuilder()
    b.add("n", op, b.input("x", x.shape[2:], FLOAT))
    b.output("s", "n")
    result = run(b.build(), x, record=["v"] + (["h"] if h else []) + (["i"] if op.has_current else []))
    return result.output.astype(f32), result.traces["n"]


# --- strategies -------------------------------------------------------------------------------


def values(lo: float, hi: float) -> st.SearchStrategy[np.ndarray]:
    """A parameter: a scalar or one value per neuron, float32 in [lo, hi]."""
    element = st.floats(lo, hi, width=32)
    return st.one_of(element.map(f32), hnp.arrays(f32, (N,), elements=element))


@st.composite
def neurons(draw) -> Neuron:
    current = draw(st.booleans())
    spikes = draw(st.sampled_from(["single", "multi"]))
    charge = draw(st.sampled_from(["affine", "delta", "delta_leak", "delta_box"]))
    affine = charge == "affine"
    rate_op = draw(st.sampled_from(["mul", "div"]))
    order = FloatOrder(
        charge=charge,
        rate=draw(values(0.0625, 1.0) if rate_op == "mul" else values(1.0, 20.0)),
        rate_op=rate_op,
        v_rest=draw(st.one_of(st.just(f32(0)), values(-1.0, 1.0))),
        current=draw(st.sampled_from(["affine", "decay_after", "euler"])),
    )
    return Neuron(
        threshold=draw(values(0.25, 4.0)),
        float_order=order,
        v_decay=draw(st.one_of(st.just(f32(1)), values(0.0, 1.0))) if affine else f32(1),
        gain=draw(st.one_of(st.just(f32(1)), values(-2.0, 2.0))) if affine else f32(1),
        bias=draw(st.one_of(st.just(f32(0)), values(-1.0, 1.0))) if affine else f32(0),
        i_decay=draw(values(-1.0, 1.0)) if current else None,
        input_order=draw(st.sampled_from(["current_first", "voltage_first"])),
        reset=draw(st.sampled_from(["zero", "subtract", "none"])),
        v_reset=draw(st.one_of(st.just(f32(0)), values(-1.0, 0.5))),
        reset_timing=draw(st.sampled_from(["same_step", "next_step", "next_step_state"])),
        fire_op=draw(st.sampled_from(["ge", "gt"])),
        spikes=spikes,
        max_spikes=draw(st.one_of(st.none(), st.integers(1, 4))) if spikes == "multi" else None,
        v_min=draw(st.one_of(st.none(), values(-3.0, 0.0))),
        v_init=draw(values(-1.0, 1.0)),
        i_init=draw(values(-1.0, 1.0)),
    )


def inputs(lo: float = -4.0, hi: float = 6.0) -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(1, 8), st.integers(1, 2), st.just(N))
    return hnp.arrays(f32, shapes, elements=st.floats(lo, hi, width=32))


def dyadic_inputs() -> st.SearchStrategy[np.ndarray]:
    """Multiples of 1/8 in [−4, 8]: sums and products stay exact, so properties hold exactly."""
    shapes = st.tuples(st.integers(1, 8), st.integers(1, 2), st.just(N))
    return hnp.arrays(f32, shapes, elements=st.integers(-32, 64).map(lambda k: f32(k / 8)))


# --- the docstring, bit for bit ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(neurons(), inputs())
def test_matches_the_docstring_reference_bit_for_bit(op, x):
    s, traces = simulate(op, x)
    want = reference.neuron(op, x)
    np.testing.assert_array_equal(s, want["s"])
    for name in ("v", "h") + (("i",) if op.has_current else ()):
        np.testing.assert_array_equal(traces[name], want[name], err_msg=name)


@settings(max_examples=300, deadline=None)
@given(neurons(), inputs())
def test_the_in_place_scan_matches_the_reference_bit_for_bit(op, x):
    op = replace(op, spikes="single", max_spikes=None, reset_timing="same_step")  # what the scan evaluates
    s, traces = simulate(op, x, h=False)
    want = reference.neuron(op, x)
    np.testing.assert_array_equal(s, want["s"])
    for name in ("v",) + (("i",) if op.has_current else ()):
        np.testing.assert_array_equal(traces[name], want[name], err_msg=name)


# --- properties -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(values(0.25, 4.0), inputs())
def test_subtract_reset_conserves_h_minus_s_theta(theta, x):
    s, traces = simulate(Neuron(threshold=theta, reset="subtract"), x)
    np.testing.assert_array_equal(traces["v"], traces["h"] - s * theta)


@settings(max_examples=50, deadline=None)
@given(values(0.25, 4.0), st.floats(-1.0, 0.125, width=32), inputs())
def test_zero_reset_bounds_v_below_threshold(theta, v_reset, x):
    s, traces = simulate(Neuron(threshold=theta, reset="zero", v_reset=v_reset), x)
    v = traces["v"]
    assert (v[s > 0] == f32(v_reset)).all()
    assert (v < np.broadcast_to(theta, v.shape)).all()


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 16).map(lambda k: f32(k / 4)), dyadic_inputs())
def test_multi_spike_counts_the_multiples_of_theta_reached(theta, x):
    s, traces = simulate(Neuron(threshold=theta, spikes="multi", reset="subtract"), x)
    h = traces["h"].astype(np.float64)
    assert (theta * s <= np.maximum(h, 0)).all()
    assert (h < theta * (s + 1)).all()
    np.testing.assert_array_equal(s[h < theta], 0)


@settings(max_examples=50, deadline=None)
@given(neurons(), inputs(-8.0, 4.0), st.floats(-2.0, 0.0, width=32))
def test_v_min_clamps_the_membrane(op, x, v_min):
    _, traces = simulate(op.replace(v_min=f32(v_min)), x)
    assert (traces["v"] >= f32(v_min)).all()


@settings(max_examples=50, deadline=None)
@given(values(0.0, 1.0), values(0.25, 4.0), inputs())
def test_next_step_subtract_reset_is_snntorch_leaky(beta, theta, x):
    """snnTorch Leaky (reset_mechanism="subtract"): reset = H(mem[t−1] − θ);
    mem[t] = β·mem[t−1] + x[t] − reset·θ; spk[t] = H(mem[t] − θ)."""
    s, traces = simulate(Neuron(threshold=theta, v_decay=beta, reset="subtract", reset_timing="next_step"), x)
    mem = np.zeros(x.shape[1:], f32)
    for t, xt in enumerate(x):
        reset = (mem >= theta).astype(f32)
        mem = beta * mem + xt - reset * theta
        np.testing.assert_array_equal(traces["v"][t], mem)
        np.testing.assert_array_equal(s[t], (mem >= theta).astype(f32))


def test_next_step_zero_reset_replaces_the_next_charge():
    x = np.array([1.5, 0.25, 0.5], f32).reshape(3, 1, 1)
    s, traces = simulate(Neuron(threshold=f32(1), reset="zero", reset_timing="next_step"), x)
    np.testing.assert_array_equal(s[:, 0, 0], [1, 0, 0])
    np.testing.assert_array_equal(traces["v"][:, 0, 0], [1.5, 0.0, 0.5])  # step 1's charge is replaced by v_reset


@pytest.mark.parametrize("fire_op, fires", [("ge", 1), ("gt", 0)])
def test_exact_threshold_hit_fires_only_with_ge(fire_op, fires):
    x = np.full((1, 1, 1), 0.75, f32)
    s, _ = simulate(Neuron(threshold=f32(0.75), fire_op=fire_op), x)
    assert s.item() == fires


@pytest.mark.parametrize(
    "fire_op, h, count",  # θ = 0.5: ge counts floor(h/θ), gt counts ceil(h/θ) − 1
    [("ge", 1.0, 2), ("gt", 1.0, 1), ("ge", 0.5, 1), ("gt", 0.5, 0), ("gt", 1.25, 2), ("ge", 0.25, 0)],
)
def test_multi_spike_on_and_between_multiples(fire_op, h, count):
    s, _ = simulate(Neuron(threshold=f32(0.5), spikes="multi", fire_op=fire_op), np.full((1, 1, 1), h, f32))
    assert s.item() == count


def test_multi_spike_cap():
    x = np.full((1, 1, 1), 10.0, f32)
    s, traces = simulate(Neuron(threshold=f32(1), spikes="multi", max_spikes=3, reset="subtract"), x)
    assert s.item() == 3
    assert traces["v"].item() == 7.0


@pytest.mark.parametrize(
    "order, currents, membranes",
    [
        # i = [1, 0.5, 0.25]; I = i[t] → v = [1, 1.5, 1.75]
        ("current_first", [1.0, 0.5, 0.25], [1.0, 1.5, 1.75]),
        # I = i[t−1] (i[−1] = 0) → v = [0, 1, 1.5]; i is still updated from x[t]
        ("voltage_first", [1.0, 0.5, 0.25], [0.0, 1.0, 1.5]),
    ],
)
def test_current_input_order(order, currents, membranes):
    x = np.array([1.0, 0.0, 0.0], f32).reshape(3, 1, 1)
    op = Neuron(threshold=f32(100), i_decay=f32(0.5), input_order=order)
    _, traces = simulate(op, x)
    np.testing.assert_array_equal(traces["i"][:, 0, 0], currents)
    np.testing.assert_array_equal(traces["v"][:, 0, 0], membranes)


@settings(max_examples=50, deadline=None)
@given(values(0.0, 1.0), values(-2.0, 2.0), values(-1.0, 1.0), inputs())
def test_leak_gain_bias_follow_the_charge_equation(v_decay, gain, bias, x):
    op = Neuron(threshold=f32(1e6), v_decay=v_decay, gain=gain, bias=bias, reset="none")
    _, traces = simulate(op, x)
    v = np.zeros(x.shape[1:], f32)
    for t, xt in enumerate(x):
        v = v_decay * v + gain * xt + bias
        np.testing.assert_array_equal(traces["v"][t], v)


# --- hand-computed cases ----------------------------------------------------------------------


def test_integrate_and_fire_by_hand():
    x = np.array([0.5, 0.75, 0.25, 1.0, 2.5], f32).reshape(5, 1, 1)
    s, traces = simulate(Neuron(threshold=f32(1), reset="zero"), x)
    np.testing.assert_array_equal(traces["h"][:, 0, 0], [0.5, 1.25, 0.25, 1.25, 2.5])
    np.testing.assert_array_equal(s[:, 0, 0], [0, 1, 0, 1, 1])
    np.testing.assert_array_equal(traces["v"][:, 0, 0], [0.5, 0, 0.25, 0, 0])


def test_leaky_subtract_by_hand():
    x = np.array([1.0, 1.0, 1.0], f32).reshape(3, 1, 1)
    s, traces = simulate(Neuron(threshold=f32(1.5), v_decay=f32(0.5), reset="subtract", v_init=f32(1)), x)
    # h = 0.5·1 + 1 = 1.5 → fire, v = 0; h = 1; h = 0.5 + 1 = 1.5 → fire
    np.testing.assert_array_equal(traces["h"][:, 0, 0], [1.5, 1.0, 1.5])
    np.testing.assert_array_equal(s[:, 0, 0], [1, 0, 1])


def test_per_channel_parameters_broadcast_over_space():
    x = np.ones((1, 1, 2, 2, 2), f32)
    s, _ = simulate(Neuron(threshold=np.array([0.5, 2.0], f32)), x)
    np.testing.assert_array_equal(s[0, 0, 0], 1)
    np.testing.assert_array_equal(s[0, 0, 1], 0)


def test_per_neuron_initial_state():
    v_init = np.arange(8, dtype=f32).reshape(2, 2, 2) / 4
    _, traces = simulate(Neuron(threshold=f32(100), v_init=v_init), np.zeros((1, 1, 2, 2, 2), f32))
    np.testing.assert_array_equal(traces["v"][0, 0], v_init)


def test_late_input_is_added_after_the_charge():
    """h = (v_decay·v + x) + z: the order snnTorch RLeaky uses for its feedback."""
    b = GraphBuilder()
    x = b.input("x", (2,), FLOAT)
    z = b.input("z", (2,), FLOAT)
    b.add("n", Neuron(threshold=f32(10), v_decay=f32(0.5), reset="none"), x, z)
    b.output("s", "n")
    xs = np.array([[[1.0, 2.0]], [[0.1, 0.2]]], f32)
    zs = np.array([[[0.3, 0.7]], [[1.1, 0.9]]], f32)
    h = run(b.build(), {"x": xs, "z": zs}, record=["h"]).traces["n"]["h"]
    v = np.zeros((1, 2), f32)
    for t in range(2):
        v = (f32(0.5) * v + xs[t]) + zs[t]
        np.testing.assert_array_equal(h[t], v)


@pytest.mark.parametrize("charge", ["delta", "delta_leak", "delta_box"])
@pytest.mark.parametrize("rate_op", ["mul", "div"])
def test_affine_view_of_every_charge_agrees_in_real_arithmetic(charge, rate_op):
    op = Neuron(
        float_order=FloatOrder(charge, rate=f32(0.25 if rate_op == "mul" else 4.0), rate_op=rate_op, v_rest=f32(0.5))
    )
    a_v, g, bias = op.affine()
    v, current = f32(0.75), f32(1.5)  # dyadic: every operation below is exact
    k = f32(0.25)
    h = {
        "delta": v + (current - (v - f32(0.5))) * k,
        "delta_leak": (v - (v - f32(0.5)) * k) + current,
        "delta_box": v + ((current + f32(0.5)) - v) * k,
    }[charge]
    assert a_v * v + g * current + bias == h
