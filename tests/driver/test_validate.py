"""`snnc.validate` on models with a quantization fault injected in one known layer: the report must
name that layer, the step, the neuron and the cause; plus accuracy per stage, tolerances, a
target's own execution model (the ExecutionModel plug-in) and the targets without one."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

import snnc
from snnc.backends import TARGETS
from snnc.backends.sim.target import SimTarget
from snnc.backends.target import ExecutionModel
from snnc.diagnostics import Severity, SnncError
from snnc.driver.validate import Tolerance
from snnc.ir import GraphBuilder, Linear, Neuron

EXAMPLES = Path(__file__).parents[2] / "examples"


def weight_fault_net() -> nn.Module:
    """SpikingJelly: fc1 (identity) → IF(0.5) → fc2 → IF(1.23), hard reset. fc2's outlier weight 8.0
    sets its 8-bit scale to 127/8, so neuron 2's weight 0.3 rounds to 5 · 8/127 = 0.315 (the
    injected fault): fed one spike per step it charges 0.3, 0.6, 0.9, 1.2 in float (no spike until
    1.5 at step 4) but 1.26 at step 3 in integers, above the threshold."""
    fc1, fc2 = layer.Linear(4, 4, bias=False), layer.Linear(4, 3, bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.eye(4))
        fc2.weight.copy_(torch.tensor([[8.0, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 0.3, 0]]))
    net = nn.Sequential(
        OrderedDict(fc1=fc1, sn1=neuron.IFNode(v_threshold=0.5), fc2=fc2, sn2=neuron.IFNode(v_threshold=1.23))
    )
    functional.set_step_mode(net, "m")
    net.input_shape = (4,)
    return net


def weight_fault_input() -> np.ndarray:
    """Sample 0: input 2 spikes at steps 0-5 (neuron 2 departs at step 3), input 0 at steps 0 and 5
    (neuron 0, weight 8 = 127 exactly, agrees), input 1 once (neuron 1 stays below threshold).
    Sample 1: input 2 from step 2 on, so it departs later (step 5)."""
    x = np.zeros((8, 2, 4), np.float32)
    x[[0, 5], 0, 0] = 1
    x[6, 0, 1] = 1
    x[0:6, 0, 2] = 1
    x[2:8, 1, 2] = 1
    return x


def test_injected_weight_rounding_is_named_with_layer_step_neuron_and_cause():
    net = weight_fault_net()
    x, labels = weight_fault_input(), np.array([0, 0])
    report = snnc.validate(net, "sim", x, labels=labels, input_dtype="spike", tolerance="spikes=0.2")
    assert [s.name for s in report.stages] == ["source", "ir", "quantized"]
    first = report.first_divergence
    assert (first.pair, first.layer, first.step, first.sample, first.neuron) == (("ir", "quantized"), "sn2", 3, 0, (2,))
    assert (first.values, first.cause) == ((0.0, 1.0), "weight-rounding")
    assert first.charges[0] == pytest.approx(1.2) and first.charges[1] == pytest.approx(20 / 15.875)
    assert report.divergences == (first,)  # the library and the IR agree spike for spike
    assert report.layer("sn1", ("ir", "quantized")).spike_mismatch == 0
    assert report.layer("sn2", ("source", "ir")).spike_mismatch == 0
    sn2 = report.layer("sn2", ("ir", "quantized"))
    # sample 0: neuron 0 fires at steps 0 and 5 in both; neuron 2 at step 4 in float (h 1.5), at 3 in
    # integers (h 1.26); sample 1: neuron 2 at step 6 vs 5. Common 2 spikes of 6: mismatch 1 − 2/6
    assert sn2.spike_mismatch == pytest.approx(1 - 2 / 6) and sn2.exceeded == ("spikes",)
    assert not report.ok and [d.rule for d in report.failures] == ["VALIDATE-TOLERANCE"]
    assert [s.accuracy for s in report.stages] == [0.5, 0.5, 0.5]  # neuron 0 wins sample 0, neuron 2 sample 1
    # by default spike timing is reported, not checked: each neuron fires as often in both stages
    relaxed = snnc.validate(net, "sim", x, labels=labels, input_dtype="spike")
    assert relaxed.ok and relaxed.first_divergence == first and sn2.rate_error == 0
    data = report.to_dict()
    assert data["first_divergence"]["cause"] == "weight-rounding" and data["ok"] is False


def threshold_graph() -> snnc.Graph:
    """fc (all weights 0.25, exact at scale 508) → IF with thresholds 1, 1, 0.7505: the last rounds
    to 381/508 = 0.75 (the injected fault), so three input spikes (h = 0.75) fire it in integers only."""
    b = GraphBuilder("threshold-fault")
    b.input("x", (4,))
    b.add("fc", Linear(weight=np.full((3, 4), 0.25, np.float32)), "x")
    b.output("out", b.add("lif", Neuron(threshold=np.array([1.0, 1.0, 0.7505], np.float32)), "fc"))
    return b.build()


def test_injected_threshold_rounding_is_named():
    x = np.zeros((3, 1, 4), np.float32)
    x[1, 0, :3] = 1  # step 1: three spikes, h = 0.75 on every neuron
    report = snnc.validate(threshold_graph(), "sim", x)
    assert [s.name for s in report.stages] == ["ir", "quantized"]  # a graph: no source model to run
    first = report.first_divergence
    assert (first.layer, first.step, first.sample, first.neuron, first.cause) == (
        "lif",
        1,
        0,
        (2,),
        "threshold-rounding",
    )
    assert first.thresholds == (pytest.approx(0.7505), pytest.approx(0.75))


def saturation_graph() -> snnc.Graph:
    """fc (300 → 2, weights 0.01 and 0.002) → IF θ = 1, subtract reset. The state scale is 127/0.01 =
    12,700, so the 16-bit voltage register holds 32,767 / 12,700 = 2.58 thresholds; 300 input spikes
    at step 0 charge neuron 0 to 3.0 (the injected fault): the float neuron keeps 2.0 after its
    spike, the integer one 1.58; both fire again at step 1, keeping 1.0 and 0.58; ten more spikes
    at step 2 (+0.1) fire the float neuron only."""
    b = GraphBuilder("saturation-fault")
    b.input("x", (300,))
    weight = np.stack([np.full(300, 0.01), np.full(300, 0.002)]).astype(np.float32)
    b.add("fc", Linear(weight=weight), "x")
    b.output("out", b.add("if", Neuron(threshold=1.0, reset="subtract"), "fc"))
    return b.build()


def test_injected_saturation_is_named():
    x = np.zeros((4, 1, 300), np.float32)
    x[0] = 1
    x[2, 0, :10] = 1
    report = snnc.validate(saturation_graph(), "sim", x)
    first = report.first_divergence
    assert (first.layer, first.step, first.neuron, first.values, first.cause) == (
        "if",
        2,
        (0,),
        (1.0, 0.0),
        "saturation",
    )
    assert "at step 0" in first.detail and "[-32768, 32767]" in first.detail


class EventTarget(SimTarget):
    """A target with its own execution model: the integer simulation, except that neuron 1 of
    layer "if" stays silent at step 2 of sample 0, as an event-driven chip might."""

    name: ClassVar[str] = "event-test"
    simulated_exactly: ClassVar[bool] = False
    execution_model: ClassVar[ExecutionModel] = ExecutionModel(
        "test event model", {"mode": "events"}, event_driven=True, records=("out",)
    )

    def simulate(self, graph: Any, x: Any, *, record=(), mode: str = "steps", **how: Any):
        result = super().simulate(graph, x, record=record)
        if mode == "events":
            result.traces["if"]["out"][2, 0, 1] = 0
        return result


class EventsOnlyTarget(SimTarget):
    """A target whose own model reports events per step only (no traces, as Speck's event model):
    one event fewer in layer "if" at step 2 of sample 0."""

    name: ClassVar[str] = "events-only-test"
    simulated_exactly: ClassVar[bool] = False
    execution_model: ClassVar[ExecutionModel] = ExecutionModel("events only", {"mode": "events"}, event_driven=True)

    def simulate(self, graph: Any, x: Any, *, record=(), mode: str = "steps", **how: Any):
        assert mode == "steps" or not tuple(record)  # validate asks such a model for no traces
        result = super().simulate(graph, x, record=(*record, "activity"))  # reported unasked, as Speck's
        if mode == "events":
            result.activity["if"].events[2, 0] -= 1
        return result


class PlainTarget(SimTarget):
    """A target that has a backend but has not declared an execution model."""

    name: ClassVar[str] = "plain-test"
    simulated_exactly: ClassVar[bool] = False


def two_neurons() -> tuple[snnc.Graph, np.ndarray]:
    b = GraphBuilder("two")
    b.input("x", (2,))
    b.add("fc", Linear(weight=np.eye(2, dtype=np.float32)), "x")
    b.output("out", b.add("if", Neuron(threshold=1.0), "fc"))
    return b.build(), np.ones((4, 2, 2), np.float32)


def test_a_targets_own_execution_model_is_the_last_stage(monkeypatch):
    monkeypatch.setitem(TARGETS, "event-test", f"{__name__}:EventTarget")
    graph, x = two_neurons()
    report = snnc.validate(graph, "event-test", x)
    assert [(s.name, s.title) for s in report.stages][-1] == ("target", "test event model")
    first = report.first_divergence
    assert (first.pair, first.layer, first.step, first.sample, first.neuron) == (
        ("quantized", "target"),
        "if",
        2,
        0,
        (1,),
    )
    assert (first.values, first.cause) == ((1.0, 0.0), "event-ordering")


def test_a_target_model_with_events_per_step_only(monkeypatch):
    monkeypatch.setitem(TARGETS, "events-only-test", f"{__name__}:EventsOnlyTarget")
    graph, x = two_neurons()
    report = snnc.validate(graph, "events-only-test", x)
    first = report.first_divergence
    assert (first.pair, first.step, first.sample, first.neuron, first.cause) == (
        ("quantized", "target"),
        2,
        0,
        None,
        "event-ordering",
    )
    compared = report.layer("if", ("quantized", "target"))
    assert compared.compared == "events" and compared.spike_mismatch == pytest.approx(1 / 16)


def test_a_target_without_execution_model_says_so_and_runs_the_other_stages(monkeypatch):
    monkeypatch.setitem(TARGETS, "plain-test", f"{__name__}:PlainTarget")
    graph, x = two_neurons()
    report = snnc.validate(graph, "plain-test", x)
    assert [s.name for s in report.stages] == ["ir", "quantized"]
    assert [d.rule for d in report.diagnostics] == ["VALIDATE-NO-TARGET-MODEL"] and report.ok


def test_a_model_the_chip_cannot_run_stops_validate_with_the_chips_errors():
    """Loihi's LIF has no subtract reset: validate reports the target's check errors (exit code
    1), as compile does, instead of comparing stages of a network the chip cannot hold."""
    graph, x = two_neurons()
    with pytest.raises(SnncError) as e:
        snnc.validate(graph, "loihi", x)
    assert e.value.exit_code == 1
    assert any(d.rule.startswith("LOIHI-") for d in e.value.diagnostics if d.severity is Severity.ERROR)


def test_a_linear_input_reaches_speck_as_a_one_by_one_image():
    """The Linear of this net becomes a 1×1 convolution on Speck: its event model takes the input
    [2] as an image [2, 1, 1], the same values, and every stage runs."""
    graph, x = two_neurons()
    report = snnc.validate(graph, "speck", x)
    assert [s.name for s in report.stages] == ["ir", "quantized", "target"]
    assert report.layer("if", ("ir", "quantized")).spike_mismatch == 0


def test_tolerance_parsing_and_bad_input():
    assert Tolerance.parse("spikes=0.1,accuracy=none") == Tolerance(spikes=0.1, accuracy=None)
    assert Tolerance.parse(None) == Tolerance() == Tolerance(spikes=None, decisions=0.05, accuracy=0.02, rate=0.05)
    for bad in ("spikes=-1", "nonsense=1", "spikes=abc"):
        with pytest.raises(SnncError) as e:
            Tolerance.parse(bad)
        assert e.value.diagnostics[0].rule == "VALIDATE-TOLERANCE-OPTION"
    graph, x = two_neurons()
    with pytest.raises(SnncError) as e:
        snnc.validate(graph, "sim", x, labels=np.zeros(3, np.int64))
    assert e.value.diagnostics[0].rule == "VALIDATE-DATA"
    with pytest.raises(SnncError) as e:
        snnc.validate(graph, "sim", x[:, :, :1])
    assert e.value.diagnostics[0].rule == "SIM-INPUT-SHAPE"


def test_batches_give_the_same_report_as_one_run():
    net = weight_fault_net()
    x = weight_fault_input()
    whole = snnc.validate(net, "sim", x, input_dtype="spike").to_dict()
    split = snnc.validate(net, "sim", x, input_dtype="spike", batch_size=1).to_dict()
    assert split == whole


def test_speck_is_validated_against_its_event_driven_model():
    """The shipped Speck example (SpikingJelly): four stages, the last the event model, compared by
    its events per step (it traces no neurons); SpikingJelly and the IR agree exactly."""
    data = np.load(EXAMPLES / "speck_digits_sample.npz")
    report = snnc.validate(EXAMPLES / "speck_digits.pt", "speck", data["x"][:, :16], labels=data["y"][:16])
    assert [s.name for s in report.stages] == ["source", "ir", "quantized", "target"]
    assert report.stages[-1].title == "Speck event-driven model"
    chip = [a for a in report.layers if a.pair == ("quantized", "target")]
    assert len(chip) == 3 and {a.compared for a in chip} == {"events"}
    assert all(a.spike_mismatch == 0 for a in report.layers if a.pair == ("source", "ir"))
    # the linear layer became a 1×1 convolution: its neurons are still compared one by one
    assert {a.compared for a in report.layers if a.pair == ("ir", "quantized")} == {"neurons"}


def test_loihi_is_validated_against_lava_running_the_netx_file():
    """The shipped Loihi example (snnTorch): the last stage is Lava's fixed-point run of the
    emitted NetX network, which gives snnc's integer spikes and membranes exactly."""
    data = np.load(EXAMPLES / "loihi_digits_sample.npz")
    x, y = data["x"][:, :8], data["labels"][:8]
    report = snnc.validate(
        "loihi_digits:model", "loihi", x, labels=y, weights=EXAMPLES / "loihi_digits.pt", input_dtype="spike"
    )
    assert [s.name for s in report.stages] == ["source", "ir", "quantized", "target"]
    lava = [a for a in report.layers if a.pair == ("quantized", "target")]
    assert len(lava) == 2 and all(a.spike_mismatch == 0 and a.membrane_error == 0 for a in lava)
    assert report.stages[-1].agreement == 1.0
