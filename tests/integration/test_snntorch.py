"""snnTorch 1.0.0 models converted by snnc behave exactly as snnTorch runs them.

Each model is run by snnTorch itself (per step for `init_hidden=True` networks, or through the
model's own loop over time) and by snnc's simulator on the converted graph; the output spikes must
be equal and so must every neuron's membrane (snnTorch's stored `mem`, the pre-reset value, is
snnc's v with a next_step reset timing) and Synaptic current. The operation orders are mirrored
(docs/library-semantics.md §2), so no tolerance is needed anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn
from trained import trained_bn

snn = pytest.importorskip("snntorch")
from snntorch.functional.quant import state_quant  # noqa: E402

import snnc.frontend  # noqa: E402
from snnc import sim  # noqa: E402
from snnc.diagnostics import SnncError  # noqa: E402
from snnc.ir.ops import Neuron  # noqa: E402
from snnc.ir.verify import verify_or_raise  # noqa: E402

T, B = 20, 3


# --- the models ---------------------------------------------------------------------------------


def _scaled(layer: nn.Module, gain: float) -> nn.Module:
    """Random weights times `gain` (chosen so that every layer fires at 5–40 %)."""
    with torch.no_grad():
        layer.weight.mul_(gain)
    return layer


def conv_bn_subtract() -> nn.Module:
    """Conv + BatchNorm + Leaky (subtract, per-channel beta), pooling, a dense readout with its
    own threshold that also returns its membrane (`output=True`)."""
    return nn.Sequential(
        _scaled(nn.Conv2d(2, 8, 3, padding=1), 3.0),
        trained_bn(nn.BatchNorm2d(8)),
        snn.Leaky(beta=torch.linspace(0.6, 0.95, 8).reshape(8, 1, 1), init_hidden=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        _scaled(nn.Linear(128, 10), 1.5),
        snn.Leaky(beta=0.8, threshold=0.5, init_hidden=True, output=True),
    )


def dense_zero_reset() -> nn.Module:
    """Leaky zero reset; per-neuron beta (some outside [0, 1], clamped by snnTorch) and threshold,
    both learnable; graded spikes."""
    return nn.Sequential(
        _scaled(nn.Linear(12, 32), 1.0),
        snn.Leaky(
            beta=torch.rand(32) * 1.4 - 0.2, threshold=0.7, reset_mechanism="zero", learn_beta=True, init_hidden=True
        ),
        _scaled(nn.Linear(32, 8), 4.0),
        snn.Leaky(
            beta=0.85,
            threshold=torch.rand(8) + 0.5,
            reset_mechanism="zero",
            learn_threshold=True,
            graded_spikes_factor=0.5,
            init_hidden=True,
        ),
    )


def conv_beta_along_width() -> nn.Module:
    """A (W,)-shaped beta on [B, C, H, W] varies along W (torch broadcasting): a per-neuron beta;
    no-reset and zero-reset-without-delay neurons."""
    return nn.Sequential(
        _scaled(nn.Conv2d(1, 4, 3), 1.0),
        snn.Leaky(beta=torch.linspace(0.2, 0.9, 8), threshold=0.8, init_hidden=True),
        nn.AvgPool2d(2),
        nn.Flatten(),
        _scaled(nn.Linear(64, 16), 2.0),
        snn.Leaky(beta=0.5, threshold=0.6, reset_mechanism="none", init_hidden=True),
        _scaled(nn.Linear(16, 6), 1.5),
        snn.Leaky(beta=0.9, reset_mechanism="zero", reset_delay=False, init_hidden=True),
    )


class LoopLeaky(nn.Module):
    """The tutorial style: the forward loops over time and threads `mem` explicitly."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = _scaled(nn.Linear(16, 24), 1.5)
        self.lif1 = snn.Leaky(beta=0.9, threshold=1.2)
        self.fc2 = _scaled(nn.Linear(24, 5), 3.0)
        self.lif2 = snn.Leaky(beta=torch.rand(5) * 0.5 + 0.5, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        spk_rec, mem_rec = [], []
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk_rec.append(spk2)
            mem_rec.append(mem2)
        return torch.stack(spk_rec), torch.stack(mem_rec)


class LoopSynaptic(nn.Module):
    """Synaptic neurons (subtract and zero reset) threading `syn` and `mem`; per-neuron alpha."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = _scaled(nn.Linear(10, 20), 0.6)
        self.lif1 = snn.Synaptic(alpha=torch.rand(20) * 0.6 + 0.2, beta=0.85)
        self.fc2 = _scaled(nn.Linear(20, 6), 2.0)
        self.lif2 = snn.Synaptic(alpha=0.5, beta=0.7, threshold=1.5, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        syn1, mem1 = self.lif1.init_synaptic()
        syn2, mem2 = self.lif2.init_synaptic()
        out = []
        for t in range(x.shape[0]):
            spk1, syn1, mem1 = self.lif1(self.fc1(x[t]), syn1, mem1)
            spk2, syn2, mem2 = self.lif2(self.fc2(spk1), syn2, mem2)
            out.append(spk2)
        return torch.stack(out)


class LoopRLeaky(nn.Module):
    """RLeaky with an all-to-all Linear feedback (whose bias reaches step 0) of graded spikes, and
    a one-to-one per-neuron V with zero reset, threading `spk` and `mem`."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = _scaled(nn.Linear(12, 16), 2.0)
        self.rlif1 = snn.RLeaky(beta=0.8, linear_features=16)
        _scaled(self.rlif1.recurrent, 1.5)
        self.rlif1.graded_spikes_factor.fill_(0.75)  # a buffer of every neuron; RLeaky takes no argument for it
        self.fc2 = _scaled(nn.Linear(16, 6), 4.0)
        self.rlif2 = snn.RLeaky(beta=0.9, all_to_all=False, V=torch.rand(6) - 0.5, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spk1, mem1 = self.rlif1.init_rleaky()
        spk2, mem2 = self.rlif2.init_rleaky()
        out = []
        for t in range(x.shape[0]):
            spk1, mem1 = self.rlif1(self.fc1(x[t]), spk1, mem1)
            spk2, mem2 = self.rlif2(self.fc2(spk1), spk2, mem2)
            out.append(spk2)
        return torch.stack(out)


def conv_rleaky() -> nn.Module:
    """RLeaky with a Conv2d feedback and a scalar one-to-one V, called per step."""
    net = nn.Sequential(
        _scaled(nn.Conv2d(2, 4, 3, padding=1), 1.5),
        snn.RLeaky(beta=0.7, conv2d_channels=4, kernel_size=3, init_hidden=True),
        nn.Flatten(),
        _scaled(nn.Linear(4 * 6 * 6, 8), 3.0),
        snn.RLeaky(beta=0.8, all_to_all=False, V=0.3, init_hidden=True),
    )
    _scaled(net[1].recurrent, 0.8)
    return net


class Residual(nn.Module):
    """A residual block: two branches summed before a neuron; Synaptic readout."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _scaled(nn.Conv2d(2, 6, 3, padding=1), 1.5)
        self.bn1 = trained_bn(nn.BatchNorm2d(6))
        self.lif1 = snn.Leaky(beta=0.9, init_hidden=True)
        self.conv2 = _scaled(nn.Conv2d(6, 6, 3, padding=1), 1.0)
        self.bn2 = trained_bn(nn.BatchNorm2d(6))
        self.shortcut = _scaled(nn.Conv2d(2, 6, 1), 1.0)
        self.lif2 = snn.Leaky(beta=0.8, threshold=0.9, init_hidden=True)
        self.pool = nn.AvgPool2d(2)
        self.fc = _scaled(nn.Linear(6 * 3 * 3, 5), 2.0)
        self.lif3 = snn.Synaptic(alpha=0.6, beta=0.7, init_hidden=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s1 = self.lif1(self.bn1(self.conv1(x)))
        s2 = self.lif2(self.bn2(self.conv2(s1)) + self.shortcut(x))
        return self.lif3(self.fc(self.pool(s2).flatten(1)))


@dataclass(frozen=True)
class Case:
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]
    spikes: bool  # spike input, else real-valued
    per_step: bool  # the library is called once per step (init_hidden=True)
    rates: tuple[float, float] = (0.05, 0.40)


CASES = {
    "conv_bn_subtract": Case(conv_bn_subtract, (2, 8, 8), spikes=True, per_step=True),
    "dense_zero_reset": Case(dense_zero_reset, (12,), spikes=False, per_step=True),
    "conv_beta_along_width": Case(conv_beta_along_width, (1, 10, 10), spikes=False, per_step=True),
    "loop_leaky": Case(LoopLeaky, (16,), spikes=True, per_step=False),
    "loop_synaptic": Case(LoopSynaptic, (10,), spikes=False, per_step=False),
    "loop_rleaky": Case(LoopRLeaky, (12,), spikes=True, per_step=False),
    "conv_rleaky": Case(conv_rleaky, (2, 6, 6), spikes=False, per_step=True),
    "residual": Case(Residual, (2, 6, 6), spikes=True, per_step=True),
}


# --- running both sides -------------------------------------------------------------------------


def make_model(case: Case, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return case.build().eval()


def make_input(case: Case, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if case.spikes:
        return (torch.rand(T, B, *case.input_shape, generator=g) < 0.3).float()
    return torch.randn(T, B, *case.input_shape, generator=g)


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def run_library(model: nn.Module, x: torch.Tensor, per_step: bool):
    """The library's output [T, B, ...] and, per neuron, its spikes and stored mem (and syn) per step."""
    neurons = {name: m for name, m in model.named_modules() if isinstance(m, snn.SpikingNeuron)}
    seen: dict[str, dict[str, list[torch.Tensor]]] = {name: {"spk": [], "v": [], "i": []} for name in neurons}

    def hook(name: str):
        def record(m, args, out):
            seen[name]["spk"].append(_first(out).clone())
            seen[name]["v"].append(m.mem.clone())
            if isinstance(m, snn.Synaptic):
                seen[name]["i"].append(m.syn.clone())

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in neurons.items()]
    for m in neurons.values():
        m.reset_mem()
    with torch.no_grad():
        out = torch.stack([_first(model(x[t])) for t in range(len(x))]) if per_step else _first(model(x))
    for h in handles:
        h.remove()
    return out, {name: {k: torch.stack(v).numpy() for k, v in rec.items() if v} for name, rec in seen.items()}


def run_snnc(model: nn.Module | str, x: torch.Tensor, input_shape: tuple[int, ...], dtype: str = "float", **opts):
    """snnc's output and neuron traces, simulated as a user would: the graph records that snnTorch
    computes each layer on [B, ...] per step (batching "step"), and the simulator batches the
    same way, because torch's CPU matmul rounds differently for different row counts."""
    graph = snnc.frontend.load(model, input_shape, input_dtype=dtype, **opts)
    verify_or_raise(graph)
    assert graph.batching == "step"
    has_current = any(isinstance(n.op, Neuron) and n.op.has_current for n in graph)
    result = sim.run(graph, x.numpy(), record=("v", "i") if has_current else ("v",))
    (output,) = result.outputs.values()
    return output, result.traces


# --- equality with the library ------------------------------------------------------------------


@pytest.mark.parametrize("name", CASES)
def test_matches_snntorch(name):
    case = CASES[name]
    model = make_model(case)
    x = make_input(case)
    expected, neurons = run_library(model, x, case.per_step)
    output, traces = run_snnc(model, x, case.input_shape, "spike" if case.spikes else "float")

    for neuron, rec in neurons.items():
        rate = float((rec["spk"] != 0).mean())
        assert case.rates[0] <= rate <= case.rates[1], f"{neuron} fires at {rate:.1%}"
    np.testing.assert_array_equal(output, expected.numpy())
    for neuron, rec in neurons.items():
        np.testing.assert_array_equal(traces[neuron]["v"], rec["v"], err_msg=f"{neuron} membrane")
        if "i" in rec:
            np.testing.assert_array_equal(traces[neuron]["i"], rec["i"], err_msg=f"{neuron} current")


def test_membrane_equal_to_threshold_does_not_fire():
    """snnTorch fires on mem > threshold (fire_op "gt"): random data almost never hits θ exactly,
    so this input does, at every step (β = 0.5: mem = 0.5·0 + 0.75, then 0.5·0.75 + 0.375)."""
    model = nn.Sequential(snn.Leaky(beta=0.5, threshold=0.75, init_hidden=True))
    x = torch.tensor([0.75, 0.375, 0.375, 1.0, 0.5]).reshape(5, 1, 1).repeat(1, 2, 3)
    expected, neurons = run_library(model, x, per_step=True)
    output, traces = run_snnc(model, x, (3,))
    np.testing.assert_array_equal(expected[:, 0, 0].numpy(), [0, 0, 0, 1, 0])
    np.testing.assert_array_equal(output, expected.numpy())
    np.testing.assert_array_equal(traces["0"]["v"], neurons["0"]["v"])


class InitialMembrane(nn.Module):
    """Starts every sample's membrane at a per-neuron constant (not the library's zeros)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = _scaled(nn.Linear(8, 6), 1.5)
        self.lif = snn.Synaptic(alpha=0.5, beta=0.9, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        syn = torch.full((x.shape[1], 6), -0.25)
        mem = torch.linspace(0.0, 1.5, 6).repeat(x.shape[1], 1)  # above threshold: resets at step 0
        out = []
        for t in range(x.shape[0]):
            spk, syn, mem = self.lif(self.fc(x[t]), syn, mem)
            out.append(spk)
        return torch.stack(out)


def test_initial_state_passed_by_the_loop():
    torch.manual_seed(0)
    model = InitialMembrane()
    x = torch.randn(T, B, 8, generator=torch.Generator().manual_seed(2))
    expected, neurons = run_library(model, x, per_step=False)
    output, traces = run_snnc(model, x, (8,))
    assert (neurons["lif"]["v"][0][:, 4:] == 0).all()  # started above θ: reset at step 0
    np.testing.assert_array_equal(output, expected.numpy())
    np.testing.assert_array_equal(traces["lif"]["v"], neurons["lif"]["v"])
    np.testing.assert_array_equal(traces["lif"]["i"], neurons["lif"]["i"])


# --- loading from a file ------------------------------------------------------------------------


def picklable_net() -> nn.Module:
    """snnTorch's default surrogate is a closure, which cannot be pickled; `surrogate_disable=True`
    (snntorch/_neurons/neurons.py: SpikingNeuron._surrogate_bypass, `x > 0`) can."""
    torch.manual_seed(3)
    return nn.Sequential(
        _scaled(nn.Conv2d(2, 4, 3), 2.0),
        trained_bn(nn.BatchNorm2d(4)),
        snn.Leaky(beta=0.9, surrogate_disable=True, init_hidden=True),
        nn.Flatten(),
        _scaled(nn.Linear(4 * 4 * 4, 6), 2.0),
        snn.Leaky(beta=0.8, reset_mechanism="zero", surrogate_disable=True, init_hidden=True),
    ).eval()


def _saved_after_a_run(tmp_path) -> tuple[nn.Module, str]:
    """The model and its file, saved with the state a run on two samples left in its neurons."""
    model = picklable_net()
    with torch.no_grad():
        model(torch.ones(2, 2, 6, 6))
    path = str(tmp_path / "model.pt")
    torch.save(model, path)
    return model, path


def test_pickled_model_converts_like_the_library(tmp_path):
    model, path = _saved_after_a_run(tmp_path)
    case = Case(picklable_net, (2, 6, 6), spikes=True, per_step=True)
    x = make_input(case)
    expected, neurons = run_library(model, x, per_step=True)
    output, traces = run_snnc(path, x, case.input_shape, "spike", trust_pickle=True)
    np.testing.assert_array_equal(output, expected.numpy())
    for neuron, rec in neurons.items():
        np.testing.assert_array_equal(traces[neuron]["v"], rec["v"])


def test_pickled_model_loads_through_the_allowlist(tmp_path):
    model, path = _saved_after_a_run(tmp_path)
    x = make_input(Case(picklable_net, (2, 6, 6), spikes=True, per_step=True))
    expected, _ = run_library(model, x, per_step=True)
    output, _ = run_snnc(path, x, (2, 6, 6), "spike")
    np.testing.assert_array_equal(output, expected.numpy())


# --- what is refused, and how -------------------------------------------------------------------


def _diagnostics(model: nn.Module, input_shape: tuple[int, ...]) -> list[tuple[str, str | None]]:
    with pytest.raises(SnncError) as err:
        snnc.frontend.load(model, input_shape)
    return [(d.rule, d.node) for d in err.value.diagnostics]


REFUSED_NEURONS = {
    "inhibition": (lambda: snn.Leaky(beta=0.9, inhibition=True, init_hidden=True), "FE-UNSUPPORTED-ATTR"),
    "state_quant": (
        lambda: snn.Leaky(beta=0.9, state_quant=state_quant(4), init_hidden=True),
        "FE-UNSUPPORTED-ATTR",
    ),
    "reset_delay_subtract": (lambda: snn.Leaky(beta=0.9, reset_delay=False, init_hidden=True), "FE-UNSUPPORTED-ATTR"),
    "fires_on_ge": (
        lambda: snn.Synaptic(alpha=0.5, beta=0.9, spike_grad=lambda x: (x >= 0).float(), init_hidden=True),
        "FE-UNSUPPORTED-ATTR",
    ),
    "per_sample_beta": (lambda: snn.Leaky(beta=torch.full((2, 8), 0.9), init_hidden=True), "FE-UNSUPPORTED-ATTR"),
    "alpha_neuron": (lambda: snn.Alpha(alpha=0.9, beta=0.8, init_hidden=True), "FE-UNSUPPORTED-OP"),
}


@pytest.mark.filterwarnings("ignore:Inhibition is an unstable feature")
@pytest.mark.parametrize("name", REFUSED_NEURONS)
def test_unsupported_neuron_is_one_diagnostic_naming_it(name):
    build, rule = REFUSED_NEURONS[name]
    model = nn.Sequential(nn.Linear(6, 8), nn.Sequential(build()))
    assert _diagnostics(model, (6,)) == [(rule, "1.0")]


class TwiceCalled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(4, 4), nn.Linear(4, 4)
        self.lif = snn.Leaky(beta=0.9, init_hidden=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(self.fc2(self.lif(self.fc1(x))))


class ConstantState(nn.Module):
    """Passes the same initial membrane at every step: the neuron forgets its state."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.lif = nn.Linear(4, 4), snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem0 = self.lif.init_leaky()
        return torch.stack([self.lif(self.fc(x[t]), mem0)[0] for t in range(x.shape[0])])


class ReadsMembrane(nn.Module):
    """Feeds a neuron's membrane, not its spikes, to the next layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(4, 4), snn.Leaky(beta=0.9)
        self.fc2, self.lif2 = nn.Linear(4, 2), snn.Leaky(beta=0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        out = []
        for t in range(x.shape[0]):
            _, mem1 = self.lif1(self.fc1(x[t]), mem1)
            spk2, mem2 = self.lif2(self.fc2(mem1), mem2)
            out.append(spk2)
        return torch.stack(out)


@pytest.mark.parametrize(
    "model, expected",
    [
        (TwiceCalled, [("FE-UNSUPPORTED-OP", "lif")]),
        (ConstantState, [("FE-STATE", "lif")]),
        (ReadsMembrane, [("FE-STATE", "fc2")]),
    ],
)
def test_state_misuse_is_refused(model, expected):
    assert _diagnostics(model(), (4,)) == expected


def test_wrong_input_shape_is_a_capture_error():
    assert _diagnostics(conv_bn_subtract(), (3, 8, 8)) == [("FE-CAPTURE", None)]


@pytest.mark.parametrize("name, kind", [("conv_bn_subtract", "per_step"), ("loop_leaky", "loop")])
def test_layout_follows_init_hidden(name, kind):
    from snnc.frontend import snntorch as frontend

    assert frontend.layout(CASES[name].build()).kind == kind
    assert frontend.layout(nn.Sequential(nn.Linear(2, 2))) is None
