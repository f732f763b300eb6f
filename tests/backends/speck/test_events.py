"""The event-driven chip model: each event updates its receptive field and fires at most once, the
surplus kept; pooling remaps addresses; merges interleave; leak per tick. Where every neuron gets at
most one event per step it equals the time-stepped model exactly (a property, on random networks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_dvs import chains

import snnc
from snnc.backends import get_target
from snnc.backends.speck import events
from snnc.backends.speck.read import parse_config, to_graph
from snnc.ir import SPIKE, Conv2d, Count, Elementwise, GraphBuilder, Neuron, SumPool2d
from snnc.sim import run


def one_neuron(weight: float, threshold: float, reset: str = "subtract", v_min: float = -1.0, bias=None):
    """One core: one input channel, one neuron, a 1x1 kernel (weights and thresholds quantize to
    integers at scale 1 when they are integers and the largest weight is 127)."""
    b = GraphBuilder("one")
    conv = Conv2d(np.full((1, 1, 1, 1), weight, np.float32), None if bias is None else np.array([bias], np.float32))
    b.output(
        "out",
        b.add(
            "iaf",
            Neuron(threshold=threshold, spikes="multi", reset=reset, v_min=v_min),
            b.add("c", conv, b.input("x", (1, 1, 1), Count())),
        ),
    )
    compiled = snnc.compile(b.build(), "speck")
    return compiled, parse_config(get_target("speck").config(compiled.graph))


def counts(*per_step: int) -> np.ndarray:
    return np.array(per_step, np.float32).reshape(-1, 1, 1, 1, 1)


def spikes_of(chip, x) -> list[int]:
    (out,) = events.simulate(chip, x).result.outputs.values()
    return out.reshape(len(x)).tolist()


def test_one_spike_per_event_and_the_surplus_stays():
    """Weight 127 (= 2.54 θ, θ = 50): each event fires once and keeps the rest until the next event
    reaches the neuron; the step model fires floor(h/θ) at once."""
    compiled, chip = one_neuron(127.0, 50.0)
    x = counts(1, 0, 0, 1)
    assert spikes_of(chip, x) == [1, 0, 0, 1]  # v: 127 → fires, 77 kept (no event, no update); 204 → fires, 154
    assert run(compiled.graph, x).output.reshape(4).tolist() == [2, 0, 0, 3]  # 127 → 2 (27); 27 → 0; 154 → 3


def test_several_events_in_a_step_fire_as_often_as_the_step_model_when_each_is_below_threshold():
    compiled, chip = one_neuron(60.0, 100.0)
    x = counts(2, 4, 1, 0)
    assert spikes_of(chip, x) == run(compiled.graph, x).output.reshape(4).tolist() == [1, 2, 1, 0]


def test_zero_reset_and_the_lower_bound():
    _, chip = one_neuron(127.0, 100.0, reset="zero")
    assert spikes_of(chip, counts(1, 1)) == [1, 1]  # 127 → 0; 127 → 0
    _, negative = one_neuron(-127.0, 100.0, v_min=-100.0)
    core = negative.cores[0]
    assert core.threshold_low == -100
    assert spikes_of(negative, counts(3)) == [0]  # clamped at -100 after each event


def test_leak_is_added_once_per_step_and_can_fire():
    """Bias 60 per tick on one channel (threshold 100): the neuron fires every other step."""
    _, chip = one_neuron(1.0, 100.0 / 127, bias=60.0 / 127)
    core = chip.cores[0]
    assert core.leak and core.biases.tolist() == [60] and core.threshold_high == 100
    assert spikes_of(chip, counts(0, 0, 0, 0)) == [0, 1, 0, 1]


def pooled_merge(seed: int, threshold: float = 4.0) -> GraphBuilder:
    rng = np.random.default_rng(seed)
    iaf = Neuron(threshold=threshold, spikes="multi", v_min=-threshold)
    b = GraphBuilder("net")
    x = b.input("x", (2, 8, 8), SPIKE)
    a = b.add("a.iaf", iaf, b.add("a", Conv2d(rng.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float32), padding=1), x))
    c = b.add("c.iaf", iaf, b.add("c", Conv2d(rng.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float32), padding=1), x))
    m = b.add("m", Elementwise("add"), b.add("pa", SumPool2d(2), a), b.add("pc", SumPool2d(2), c))
    d = b.add("d.iaf", iaf, b.add("d", Conv2d(rng.uniform(0, 1, (2, 3, 2, 2)).astype(np.float32)), m))
    b.output("out", d)
    return b


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16))
def test_one_event_per_step_gives_the_step_models_spikes(seed):
    """With one input event per step and every weight below the threshold, the first layers get
    one event per neuron and step; the last layer gets many (one event reaches 3×3 positions of
    both branches), but its weights are positive, so its membrane only rises within a step and
    stays below two thresholds after each event. The chip's single spike per event is then the
    step model's count: the two models agree exactly, through pooling and a merge. (With mixed
    signs the order of a step's events decides whether a neuron fires: seed 24741 shows it.)"""
    compiled = snnc.compile(pooled_merge(seed).build(), "speck")
    chip = parse_config(get_target("speck").config(compiled.graph))
    rng = np.random.default_rng(seed)
    x = np.zeros((30, 2, 2, 8, 8), np.float32)
    for t in range(30):
        for b in range(2):
            x[t, b, rng.integers(2), rng.integers(8), rng.integers(8)] = 1
    want = run(compiled.graph, x).output
    (got,) = events.simulate(chip, x).result.outputs.values()
    np.testing.assert_array_equal(got.reshape(want.shape), want)


@settings(max_examples=15, deadline=None)
@given(st.data(), st.integers(0, 2**16), st.sampled_from([(1, 1), (2, 1), (2, 4)]))
def test_the_dvs_region_and_mirroring_are_the_same_in_every_model(data, seed, pool):
    """The DVS layer pools, then keeps its region and mirrors it (any chain of crops and flips,
    composed into one in the configuration). One event per step, weights below the threshold: the
    compiled graph, the chip's time-stepped graph read back from the configuration and the event
    model agree exactly."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("dvs")
    x = b.input("x", (2, 12, 16), SPIKE)
    if pool != (1, 1):
        x = b.add("pool", SumPool2d(pool), x)
    for k, op in enumerate(data.draw(chains(12 // pool[0], 16 // pool[1]))):
        x = b.add(f"view{k}", op, x)
    conv = Conv2d(rng.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float32), padding=1)
    b.output("out", b.add("a.iaf", Neuron(threshold=4.0, spikes="multi", v_min=-4.0), b.add("a", conv, x)))
    compiled = snnc.compile(b.build(), "speck", dvs_input=True)
    chip = parse_config(get_target("speck").config(compiled.graph, compiled.options))
    spikes = np.zeros((40, 2, 2, 12, 16), np.float32)
    for t in range(40):
        for s in range(2):
            spikes[t, s, rng.integers(2), rng.integers(12), rng.integers(16)] = 1
    want = run(compiled.graph, spikes).output
    (got,) = events.simulate(chip, spikes).result.outputs.values()
    np.testing.assert_array_equal(got.reshape(want.shape), want)
    np.testing.assert_array_equal(run(to_graph(chip).graph, spikes).output.reshape(want.shape), want)


def test_compiled_simulate_in_events_mode():
    compiled = snnc.compile(pooled_merge(3, threshold=1.0).build(), "speck")
    x = (np.random.default_rng(0).random((20, 1, 2, 8, 8)) < 0.4).astype(np.float32)
    steps, chip = compiled.simulate(x), compiled.simulate(x, mode="events")
    (got,) = chip.outputs.values()
    assert steps.output.any() and got.shape == (20, 1, 2, 3, 3)
    with pytest.raises(snnc.SnncError, match="steps' or 'events'"):
        compiled.simulate(x, mode="spikes")


def test_counts_synaptic_operations_per_core():
    _, chip = one_neuron(60.0, 100.0)
    run_ = events.simulate(chip, counts(2, 0, 3))
    assert run_.sops[chip.cores[0].index][:, 0].tolist() == [2, 0, 3]  # one neuron per event
