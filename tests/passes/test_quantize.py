"""quantize: float and quantized graphs simulated on the same random inputs (spike agreement and
output error, bounds measured and stated below), the integer mapping of neurons, and one case per
diagnostic with its numbers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snnc.backends.loihi.spec import LOIHI
from snnc.backends.sim.spec import SIM_INT8, SIM_INT16, sim_spec
from snnc.backends.speck.spec import SPECK
from snnc.diagnostics import Severity
from snnc.ir import (
    FLOAT,
    SPIKE,
    BatchNorm,
    Conv2d,
    Elementwise,
    Flatten,
    FloatOrder,
    GraphBuilder,
    Linear,
    Neuron,
    SumPool2d,
)
from snnc.ir.serialize import dumps, loads
from snnc.ir.types import Int
from snnc.ir.verify import verify
from snnc.passes.base import PassContext
from snnc.passes.quantize import Quantize
from snnc.sim import run

f32 = np.float32


def net(seed: int = 0, lif: bool = True, bias: bool = True, input_dtype=SPIKE):
    """x (spikes 2×12×12) → conv 8@3×3 → neuron → sum pool 2 → flatten → fc 10 → neuron, random
    normal weights; the LIF is SpikingJelly's (delta charge, τ = 2), the IF subtracts."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("lifnet")

    def neuron() -> Neuron:
        if lif:
            return Neuron(threshold=1.0, float_order=FloatOrder("delta", rate=0.5), reset="zero")
        return Neuron(threshold=1.0, reset="subtract")

    conv = Conv2d(rng.normal(0, 0.5, (8, 2, 3, 3)).astype(f32), rng.normal(0, 0.1, 8).astype(f32) if bias else None)
    n1 = b.add("lif1", neuron(), b.add("conv1", conv, b.input("x", (2, 12, 12), input_dtype)))
    flat = b.add("flat", Flatten(), b.add("pool", SumPool2d(2), n1))
    b.output("out", b.add("lif2", neuron(), b.add("fc", Linear(rng.normal(0, 0.3, (10, 200)).astype(f32)), flat)))
    return b.build()


def quantize(graph, spec, **options):
    ctx = PassContext(verify_each=True)
    out = Quantize(spec, **options)(graph, ctx)
    return out, ctx.diagnostics


def agreement(graph, quantized, seed: int = 0) -> dict[str, float]:
    x = (np.random.default_rng(100 + seed).random((40, 4, 2, 12, 12)) < 0.2).astype(np.uint8)
    record = ["lif1:out", "lif2:out"]
    a, b = run(graph, x, record=record).traces, run(quantized, x, record=record).traces
    return {name: float((a[name]["out"] == b[name]["out"]).mean()) for name in ("lif1", "lif2")}


# Spike agreement (fraction of equal (step, sample, neuron) outputs) measured over seeds 0-4 of
# `net` and `agreement` (T=40, B=4, Bernoulli 0.2), minimum over the seeds:
#   LIF: sim-int8 lif1 0.9991, lif2 0.9762; sim-int16 1.0, 1.0; loihi 0.999, 0.98
#   IF:  sim-int8 0.9745, 0.9862; sim-int16 0.9998, 0.9975; loihi 0.9816, 0.9875
#   IF on speck: 0.8236, 0.5663 (v_min unset counts as −32768 in sinabs' scale, speck.md §3.3)
# The bounds below are those minima rounded down by about one percent of the disagreement.
BOUNDS = {
    ("lif", "sim-int8"): (0.999, 0.975),
    ("lif", "sim-int16"): (0.9999, 0.9999),
    ("lif", "loihi"): (0.998, 0.975),
    ("if", "sim-int8"): (0.97, 0.98),
    ("if", "sim-int16"): (0.999, 0.997),
    ("if", "loihi"): (0.98, 0.985),
    ("if", "speck"): (0.80, 0.55),
}


@pytest.mark.parametrize("kind, spec", [(k, s) for k, s in BOUNDS])
@pytest.mark.parametrize("seed", [0, 3])
def test_spikes_agree_within_measured_bounds(kind, spec, seed):
    graph = net(seed, lif=kind == "lif")
    spec = {s.name: s for s in (SIM_INT8, SIM_INT16, LOIHI, SPECK)}[spec]
    quantized, diags = quantize(graph, spec)
    assert quantized.arithmetic == spec.arithmetic and verify(quantized) == []
    assert not [d for d in diags if d.severity is Severity.ERROR]
    measured = agreement(graph, quantized, seed)
    print(kind, spec.name, seed, measured)
    assert measured["lif1"] >= BOUNDS[kind, spec.name][0] and measured["lif2"] >= BOUNDS[kind, spec.name][1]


def test_every_layer_reports_its_measured_loss():
    _, diags = quantize(net(0), SIM_INT8)
    losses = {d.node: d for d in diags if d.rule == "QUANT-LOSS"}
    assert set(losses) == {"conv1", "fc"} and all(d.severity is Severity.INFO for d in losses.values())
    worst, mean, theta_error = losses["conv1"].measured
    # round(w·s) is within half a step of w·s: at most 0.5/127 of max|w| with 8 bits
    assert 0 < mean < worst <= 0.5 / 127 + 1e-7 and theta_error < 0.5 / 127
    assert "lif1: threshold 1 →" in losses["conv1"].message


def test_calibration_data_adds_spike_agreement_per_layer():
    x = (np.random.default_rng(0).random((20, 2, 2, 12, 12)) < 0.2).astype(np.uint8)
    _, diags = quantize(net(0), SIM_INT16, calib=x)
    measured = {d.node: d.measured for d in diags if d.rule == "QUANT-LOSS" and "calibration" in d.message}
    assert set(measured) == {"lif1", "lif2"} and min(measured.values()) > 0.99


# --- the integer mapping ----------------------------------------------------------------------


def test_lif_maps_to_decay_multipliers_and_the_target_shift():
    quantized, _ = quantize(net(0), LOIHI)
    op = quantized.node("lif1").op
    # SpikingJelly's delta charge with rate 1/2: a_v = 1/2 → m = 4096 − round(0.5·4096); g = 1/2 is
    # folded into the weights, so the gain is Lava's input shift 2^6; u is memoryless (i_decay 0)
    assert (int(op.v_decay), int(op.gain), int(op.i_decay), op.float_order) == (2048, 64, 0, None)
    assert int(op.threshold) % 64 == 0  # vth << 6 (docs/targets/loihi.md §1.3)
    assert quantized.node("conv1").op.bias is None and op.bias.shape == (8,)  # Lava adds bias to v


def test_per_channel_scales_lower_the_weight_error():
    graph = net(0)
    w = graph.node("conv1").op.weight * np.array([1, 10, 100, 1, 1, 1, 1, 1], f32).reshape(-1, 1, 1, 1)
    graph = graph.replace_node("conv1", graph.node("conv1").replace(op=graph.node("conv1").op.replace(weight=w)))
    errors = {}
    for per_channel in (False, True):
        spec = replace(SIM_INT8, per_channel=per_channel)
        quantized, diags = quantize(graph, spec)
        assert verify(quantized) == []
        errors[per_channel] = next(d.measured[1] for d in diags if d.rule == "QUANT-LOSS" and d.node == "conv1")
    assert len(quantized.node("conv1").op.weight_format.scale) == 8
    print("mean weight error per layer vs per channel:", errors)
    assert errors[True] < errors[False] / 2


def test_quantized_graph_round_trips_through_a_file():
    quantized, _ = quantize(net(0), LOIHI)
    loaded = loads(dumps(quantized))
    assert loaded.arithmetic == LOIHI.arithmetic and verify(loaded) == []
    x = (np.random.default_rng(0).random((10, 2, 2, 12, 12)) < 0.3).astype(np.uint8)
    assert np.array_equal(run(loaded, x).output, run(quantized, x).output)


def test_integer_input_data_keeps_its_values():
    """An int8 graph input (data quantized by the user) feeds a layer at scale 1, exactly."""
    b = GraphBuilder("int-input")
    fc = b.add("fc", Linear(np.array([[0.5, -0.25, 1.0]], f32)), b.input("x", (3,), Int(8)))
    b.output("out", b.add("n", Neuron(threshold=3.0, reset="zero", v_min=-10.0), fc))  # v in [-10, 3)
    graph = b.build()
    quantized, diags = quantize(graph, SIM_INT8)
    assert verify(quantized) == [] and not [d for d in diags if d.severity is not Severity.INFO]
    x = np.random.default_rng(0).integers(-128, 128, (30, 4, 3))
    # dyadic weights and a state that stays far inside 16 bits: the integer run is the float one
    assert np.array_equal(run(graph, x).output, run(quantized, x).output)


def test_sim_spec_bits_are_validated():
    assert sim_spec(16) is SIM_INT16
    with pytest.raises(Exception) as err:
        sim_spec(12)
    assert err.value.diagnostics[0].rule == "TARGET-OPTION"


# --- diagnostics ------------------------------------------------------------------------------


def single(weight: np.ndarray, **neuron) -> object:
    b = GraphBuilder("one")
    fc = b.add("fc", Linear(np.asarray(weight, f32)), b.input("x", (np.shape(weight)[1],), SPIKE))
    b.output("out", b.add("n", Neuron(**({"threshold": 1.0} | neuron)), fc))
    return b.build()


def by_rule(diags, rule):
    return [d for d in diags if d.rule == rule]


def test_small_weights_beside_a_large_one_round_to_zero():
    graph = single([[100.0, 0.1, 0.2, -0.3]], threshold=50.0)
    _, diags = quantize(graph, SIM_INT8)
    (d,) = by_rule(diags, "QUANT-ZEROED")
    assert (d.node, d.severity, d.measured, d.limit) == ("fc", Severity.WARNING, 3, 4)


def test_threshold_rounding_to_zero_is_an_error_and_changes_nothing():
    graph = single([[100.0, -100.0]], threshold=0.1)
    out, diags = quantize(graph, SIM_INT8)
    (d,) = by_rule(diags, "QUANT-ZEROED")
    assert (d.node, d.severity) == ("n", Severity.ERROR) and out is graph


def test_a_large_threshold_sets_the_scale():
    graph = single([[1.0, -0.5]], threshold=1000.0)  # 1000·127 > 32767 >> 1: the threshold binds
    _, diags = quantize(graph, SIM_INT8)
    (d,) = by_rule(diags, "QUANT-THRESHOLD")
    assert d.node == "n" and d.severity is Severity.WARNING
    # sim keeps one bit of headroom above θ (QuantSpec.threshold_headroom_bits): 2.95 bits lost
    assert d.measured == pytest.approx(np.log2(127 / ((32767 >> 1) / 1000)), rel=1e-5)


def test_event_fed_threshold_beyond_the_format_is_an_error():
    b = GraphBuilder("ev")
    b.output("out", b.add("n", Neuron(threshold=1e6), b.input("x", (3,), SPIKE)))
    _, diags = quantize(b.build(), SIM_INT8)
    (d,) = by_rule(diags, "QUANT-THRESHOLD")
    assert d.severity is Severity.ERROR and d.measured == pytest.approx(32767 / 1e6, rel=1e-6)


def test_clipping_a_quantile_saturates_the_largest_weights():
    weight = np.linspace(-1, 1, 101, dtype=f32).reshape(1, -1)
    spec = replace(SIM_INT8, clip_quantile=0.9)
    quantized, diags = quantize(single(weight), spec)
    (d,) = by_rule(diags, "QUANT-SATURATION")
    assert d.measured == 10 and d.limit == [-128, 127]  # |w| above the 0.9 quantile: 5 on each side
    assert quantized.node("fc").op.weight.max() == 127


def test_growing_decay_is_clipped_and_a_tiny_leak_rounds_away():
    _, diags = quantize(single([[1.0]], v_decay=1.05), SIM_INT8)
    assert [d.measured for d in by_rule(diags, "QUANT-SATURATION")] == [[pytest.approx(1.05), pytest.approx(1.05)]]
    _, diags = quantize(single([[1.0]], v_decay=1 - 1e-4), SIM_INT8)  # 8-bit decays: steps of 1/256
    assert by_rule(diags, "QUANT-ZEROED")[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    "graph, spec, node",
    [
        (single([[1.0]], v_decay=0.9), SPECK, "n"),  # Speck neurons do not leak (speck.md §4)
        (single([[1.0]], i_decay=0.5), SPECK, "n"),  # nor have a current
    ],
)
def test_what_a_target_cannot_express(graph, spec, node):
    out, diags = quantize(graph, spec)
    assert out is graph and [(d.rule, d.node) for d in diags if d.severity is Severity.ERROR] == [
        ("QUANT-UNSUPPORTED", node)
    ]


def test_real_valued_layers_and_inputs_are_refused():
    b = GraphBuilder("bn")
    fc = b.add("fc", Linear(np.ones((2, 3), f32)), b.input("x", (3,), SPIKE))
    bn = b.add("bn", BatchNorm(np.zeros(2), np.ones(2), np.ones(2), np.zeros(2)), fc)
    b.output("out", b.add("n", Neuron(), bn))
    out, diags = quantize(b.build(), SIM_INT8)
    assert out.arithmetic is None and ("QUANT-UNSUPPORTED", "bn") in [(d.rule, d.node) for d in diags]
    b = GraphBuilder("float-input")
    b.output("out", b.add("n", Neuron(), b.add("fc", Linear(np.ones((2, 3), f32)), b.input("x", (3,), FLOAT))))
    events_only = replace(SIM_INT8, input_bits=None)  # a target without real inputs (Speck's)
    _, diags = quantize(b.build(), events_only)
    assert [(d.rule, d.node) for d in diags] == [("QUANT-UNSUPPORTED", "x")]


def test_loihi_cannot_keep_a_bias_before_a_current():
    graph = single([[1.0, 2.0]], i_decay=0.5)
    fc = graph.node("fc")
    graph = graph.replace_node("fc", fc.replace(op=fc.op.replace(bias=np.array([0.5], f32))))
    out, diags = quantize(graph, LOIHI)
    assert out is graph and [(d.rule, d.node) for d in diags] == [("QUANT-UNSUPPORTED", "fc")]


def test_an_already_quantized_graph_is_refused():
    quantized, _ = quantize(net(0), SIM_INT8)
    out, diags = quantize(quantized, SIM_INT16)
    assert out is quantized and [d.rule for d in diags] == ["QUANT-UNSUPPORTED"]


def _fed_directly(gain_order: FloatOrder | None, i_decay=None, gain=1.0):
    """x (spikes 6) → a neuron reading the input without weights: Norse's LIF on its input, whose
    charge scales the input by c_m = dt/τ = 0.1 (docs/library-semantics.md §4.1)."""
    b = GraphBuilder("direct")
    first = Neuron(threshold=0.3, gain=gain, reset="zero", fire_op="gt", float_order=gain_order, i_decay=i_decay)
    n1 = b.add("lif", first, b.input("x", (6,), SPIKE))
    w = np.random.default_rng(3).normal(0, 2.0, (4, 6)).astype(f32)
    b.output("out", b.add("lif2", Neuron(threshold=1.0), b.add("fc", Linear(w), n1)))
    return b.build()


@pytest.mark.parametrize(
    "order, i_decay",
    [(FloatOrder("delta", rate=f32(0.1)), None), (FloatOrder("delta", rate=f32(0.1), current="euler"), f32(-0.2))],
    ids=["lif_box", "lif_with_current"],
)
@pytest.mark.parametrize("spec", [SIM_INT8, SIM_INT16], ids=["int8", "int16"])
def test_a_gain_on_the_input_is_absorbed_into_the_state_scale(order, i_decay, spec):
    """No weight can absorb the gain of a neuron fed directly, and 0.1·2^shift is no integer; the
    state scale absorbs it instead (n·2^shift at s = n/g), so the neuron compiles and agrees."""
    graph = _fed_directly(order, i_decay)
    quantized, diags = quantize(graph, spec)
    assert not [d for d in diags if d.severity is Severity.ERROR]
    lif = quantized.node("lif").op
    assert lif.gain.item() >= 1 and lif.gain.item() % 2**spec.input_shift == 0
    x = (np.random.default_rng(0).random((60, 4, 6)) < 0.6).astype(np.uint8)
    float_out = run(graph, x, record=["lif:out"]).traces["lif"]["out"]
    int_out = run(quantized, x, record=["lif:out"]).traces["lif"]["out"]
    assert float_out.sum() > 20
    assert (float_out == int_out).mean() >= 0.97  # measured: int8 0.978-1.0, int16 1.0


def test_a_gain_that_cannot_be_absorbed_says_what_to_change():
    """On Speck the input enters v unscaled (gain 1) and sinabs' default v_min = −32768 leaves no
    room for a scale above 1, so g = 0.1 (an IF scaling its input) cannot be absorbed; neither can a
    gain that varies per neuron. The error names the gain and what to change."""
    per_neuron = FloatOrder("delta", rate=np.linspace(0.1, 0.2, 6).astype(f32))
    for graph, spec in ((_fed_directly(None, gain=0.1), SPECK), (_fed_directly(per_neuron), SIM_INT8)):
        _, diags = quantize(graph, spec)
        errors = [d for d in diags if d.rule == "QUANT-UNSUPPORTED"]
        assert [d.node for d in errors] == ["lif"] and "gain" in errors[0].message and "Linear/Conv" in errors[0].hint


def recurrent_net(gain: float) -> object:
    """A recurrent current-based layer, as Norse's LIFRecurrent converts: the input weights and the
    recurrent weights (reading the layer's spikes one step late) are added into one neuron whose
    current enters the membrane with `gain` (Norse: dt · tau_mem_inv)."""
    b = GraphBuilder("recurrent")
    b.input("x", (4,))
    delay = b.delay("z", 1, b.type_of("x"))
    w_in = np.array([[1.0, 0.5, 0, 0], [0, 1.0, 0.5, 0], [0, 0, 1.0, 0.5], [0.5, 0, 0, 1.0]], np.float32)
    b.add("w_in", Linear(weight=w_in), "x")
    b.add("w_rec", Linear(weight=np.full((4, 4), -0.25, np.float32)), delay)
    b.add("sum", Elementwise(fn="add"), "w_in", "w_rec")
    b.add("lif", Neuron(threshold=1.0, v_decay=0.75, gain=gain, i_decay=0.5, reset="zero"), "sum")
    b.connect(delay, "lif")
    b.output("out", "lif")
    return b.build()


def test_a_gain_on_a_sum_of_synapses_moves_into_every_synapse():
    """Norse's gain 0.1 has no integer form (QUANT-UNSUPPORTED before); as it multiplies the sum of
    both weight matrices it moves into each exactly. With dyadic values (gain 0.5) the integer
    simulation gives the float spikes exactly."""
    for gain in (0.1, 0.5):
        ctx = PassContext()
        q = Quantize(SIM_INT8)(recurrent_net(gain), ctx)
        assert not [d for d in ctx.diagnostics if d.severity is Severity.ERROR]
        assert int(q.node("lif").op.gain) == 2 ** int(np.log2(int(q.node("lif").op.gain)))  # only the input shift
    x = (np.random.default_rng(0).random((12, 3, 4)) < 0.5).astype(np.uint8)
    float_graph, quantized = recurrent_net(0.5), Quantize(SIM_INT8)(recurrent_net(0.5), PassContext())
    np.testing.assert_array_equal(run(quantized, x).output, run(float_graph, x).output)
    assert run(float_graph, x).output.sum() > 0
