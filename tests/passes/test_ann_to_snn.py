"""ann-to-snn: ReLUs become IF neurons with subtract reset and balanced thresholds; amplitudes are
cancelled where real values are needed. The graph is simulated before (ANN, one step) and after
(SNN, T steps): the SNN's average output converges to the ANN's, within a bound measured here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_harness import apply

from snnc.diagnostics import SnncError
from snnc.ir import (
    FLOAT,
    SPIKE,
    BatchNorm,
    Concat,
    Elementwise,
    GraphBuilder,
    Linear,
    MaxPool2d,
    Neuron,
    ReLU,
    Scale,
)
from snnc.passes.ann_to_snn import AnnToSnn
from snnc.sim import run


def _mlp(rng) -> object:
    b = GraphBuilder("mlp")
    x = b.input("in", (6,), FLOAT)
    x = b.add("fc1", Linear(rng.normal(size=(8, 6)).astype(np.float32), rng.normal(0.2, 0.1, 8).astype(np.float32)), x)
    x = b.add("relu1", ReLU(), x)
    x = b.add("fc2", Linear(rng.normal(size=(5, 8)).astype(np.float32) / 2), x)
    x = b.add("relu2", ReLU(), x)
    b.output("out", b.add("fc3", Linear(rng.normal(size=(3, 5)).astype(np.float32)), x))
    return b.build()


def _max_activations(graph, x) -> dict[str, float]:
    relus = [n.name for n in graph.nodes if isinstance(n.op, ReLU)]
    traces = run(graph, x[None], record=[f"{r}:out" for r in relus]).traces
    return {r: float(traces[r]["out"].max()) for r in relus}


def test_relus_become_balanced_if_neurons_and_weights_carry_the_spike_amplitude():
    graph = _mlp(np.random.default_rng(0))
    scales = {"relu1": 2.0, "relu2": 0.5}
    snn, ctx = apply(AnnToSnn(scales), graph)
    assert ctx.rewrites["ann-to-snn"] == 2
    for name, scale in scales.items():
        op = snn.node(name).op
        assert isinstance(op, Neuron) and (op.reset, op.fire_op, op.reset_timing) == ("subtract", "ge", "same_step")
        assert float(op.threshold) == scale and snn.node(name).type.dtype == SPIKE
    np.testing.assert_array_equal(snn.node("fc1").op.weight, graph.node("fc1").op.weight)
    np.testing.assert_array_equal(snn.node("fc2").op.weight, graph.node("fc2").op.weight * np.float32(2.0))
    np.testing.assert_array_equal(snn.node("fc3").op.weight, graph.node("fc3").op.weight * np.float32(0.5))
    np.testing.assert_array_equal(snn.node("fc2").op.bias, graph.node("fc2").op.bias)


def test_rate_coding_scales_the_first_layer_and_declares_spike_input():
    graph = _mlp(np.random.default_rng(0))
    snn, _ = apply(AnnToSnn({"relu1": 1.0, "relu2": 1.0}, input_scale=4.0, input_encoding="rate"), graph)
    assert snn.inputs[0].type.dtype == SPIKE
    np.testing.assert_array_equal(snn.node("fc1").op.weight, graph.node("fc1").op.weight * np.float32(4.0))


def test_snn_rates_converge_to_the_ann():
    """Thresholds at the maximum activation (no clipping): the mean SNN output over T steps tends to
    the ANN output, the error falling as about 1/T. Measured max error over 16 samples: 0.20 at
    T=32, 0.045 at T=128, 0.015 at T=512 (the outputs span 4.4); asserted with a 50 % margin."""
    rng = np.random.default_rng(1)
    graph = _mlp(rng)
    x = rng.uniform(0, 1, (16, 6)).astype(np.float32)
    ann = run(graph, x[None]).output[0]
    snn, _ = apply(AnnToSnn(_max_activations(graph, x)), graph)
    out = run(snn, np.broadcast_to(x, (512, *x.shape))).output
    errors = {t: float(np.abs(out[:t].mean(0) - ann).max()) for t in (32, 128, 512)}
    print("max |SNN mean - ANN| by T:", errors)
    assert float(np.ptp(ann)) > 4
    assert errors[32] < 0.3 and errors[128] < 0.068 and errors[512] < 0.023
    assert errors[512] < errors[128] < errors[32]


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 16), steps=st.integers(1, 64), scale=st.sampled_from([0.5, 1.0, 4.0]))
def test_if_with_subtract_reset_counts_floor_of_integrated_input(k, steps, scale):
    """One ReLU on a constant input z = k/16·scale ≤ scale with threshold `scale`: after T steps
    the IF neuron has fired exactly floor(T·z/scale) times (dyadic values: every sum is exact)."""
    b = GraphBuilder()
    b.output("out", b.add("relu", ReLU(), b.input("in", (1,), FLOAT)))
    snn, _ = apply(AnnToSnn({"relu": scale}), b.build())
    z = np.float32(k / 16 * scale)
    spikes = run(snn, np.full((steps, 1, 1), z, np.float32)).output.sum() / np.float32(scale)
    assert spikes == (steps * k) // 16


# --- amplitudes where real values are needed -----------------------------------------------------


def _branches(op_after) -> object:
    b = GraphBuilder()
    x = b.input("in", (4,), FLOAT)
    a = b.add("ra", ReLU(), b.add("fa", Linear(np.eye(4, dtype=np.float32)), x))
    c = b.add("rc", ReLU(), b.add("fc", Linear(np.eye(4, dtype=np.float32)), x))
    b.output("out", b.add("join", op_after, a, c))
    return b.build()


@pytest.mark.parametrize("op", [Elementwise("add"), Concat(0)], ids=["add", "concat"])
def test_inputs_of_different_amplitude_are_rescaled_before_joining(op):
    snn, _ = apply(AnnToSnn({"ra": 2.0, "rc": 3.0}), _branches(op))
    rescaled = [snn.node(i) for i in snn.node("join").inputs]
    assert [(n.op.kind, float(n.op.factor)) for n in rescaled] == [("scale", 2.0), ("scale", 3.0)]
    assert "out.rescale" not in snn  # the join is in real units already
    same, _ = apply(AnnToSnn({"ra": 2.0, "rc": 2.0}), _branches(op))
    assert list(same.node("join").inputs) == ["ra", "rc"]
    assert float(same.node(same.node("out").inputs[0]).op.factor) == 2.0  # outputs in ANN units


def test_batchnorm_left_in_place_gets_real_units_and_maxpool_warns():
    b = GraphBuilder()
    x = b.add("relu", ReLU(), b.input("in", (2, 4, 4), FLOAT))
    x = b.add("pool", MaxPool2d((2, 2)), x)
    b.output("out", b.add("bn", BatchNorm(np.zeros(2), np.ones(2), np.ones(2), np.zeros(2)), x))
    snn, ctx = apply(AnnToSnn({"relu": 3.0}), b.build())
    (rescale,) = snn.node("bn").inputs
    assert isinstance(snn.node(rescale).op, Scale) and float(snn.node(rescale).op.factor) == 3.0
    assert [(d.rule, d.node) for d in ctx.diagnostics] == [("CONVERT-MAXPOOL", "pool")]


def test_spiking_or_nonlinear_graphs_are_refused():
    b = GraphBuilder()
    x = b.add("n", Neuron(), b.input("in", (3,), FLOAT))
    b.output("out", b.add("sq", Elementwise("mul"), x, x))
    with pytest.raises(SnncError) as e:
        apply(AnnToSnn({}), b.build())
    assert [(d.rule, d.node) for d in e.value.diagnostics] == [
        ("CONVERT-UNSUPPORTED", "n"),
        ("CONVERT-UNSUPPORTED", "sq"),
    ]
