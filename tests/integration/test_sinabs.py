"""sinabs 3.1.3 models converted by snnc and simulated give the library's own results exactly.

Every model runs once in sinabs (with `record_states=True`, so each layer keeps its membrane per
step) and once as an IR graph in the simulator on the same data. Output spikes of every spiking
layer must be equal, and so must the membranes (and synaptic currents) at every step: the
converters mirror sinabs' float order (docs/library-semantics.md §3), so no tolerance is used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

sinabs = pytest.importorskip("sinabs")
import sinabs.layers as sl  # noqa: E402
from sinabs.activation import MaxSpike, MembraneReset, MembraneSubtract, SingleSpike  # noqa: E402
from sinabs.from_torch import from_model  # noqa: E402

import snnc.frontend  # noqa: E402
from snnc.diagnostics import SnncError  # noqa: E402
from snnc.ir.verify import verify_or_raise  # noqa: E402
from snnc.sim import run  # noqa: E402

T, B = 20, 3


# --- models -----------------------------------------------------------------------------------


def _bn(channels: int) -> nn.BatchNorm2d:
    """An eval-mode BatchNorm with trained-like running statistics and affine parameters."""
    bn = nn.BatchNorm2d(channels)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.7, 1.4)
        bn.bias.uniform_(-0.2, 0.3)
    return bn.eval()


def _scaled(layer: nn.Module, gain: float, bias: float = 0.0) -> nn.Module:
    """Random weights times `gain` (sets the firing rate), biases shifted by `bias`."""
    with torch.no_grad():
        layer.weight.mul_(gain)
        if layer.bias is not None:
            layer.bias.add_(bias)
    return layer


def _on_grid(layer: nn.Module, step: float) -> nn.Module:
    """Weights and biases rounded to multiples of `step` (as after quantization-aware training):
    membranes then land exactly on thresholds, which tests the ≥ of the fire comparison."""
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.round(p / step) * step)
    return layer


def conv_bn_net() -> nn.Module:
    """Conv → BN → IAFSqueeze (MultiSpike, subtract) → SumPool2d, per-layer and per-channel
    thresholds, min_v_mem; spike input [B·T, 2, 12, 12]."""
    torch.manual_seed(1)
    return nn.Sequential(
        _scaled(nn.Conv2d(2, 6, 3, padding=1), 1.2),
        _bn(6),
        sl.IAFSqueeze(batch_size=B, spike_threshold=torch.linspace(0.8, 1.3, 6).reshape(6, 1, 1)),
        sl.SumPool2d(2),
        _scaled(nn.Conv2d(6, 8, 3), 1.0),
        sl.IAFSqueeze(batch_size=B, spike_threshold=2.0, min_v_mem=-1.0),
        sl.SumPool2d(2),
        nn.Flatten(),
        _on_grid(_scaled(nn.Linear(32, 10), 0.8), 0.25),
        sl.IAFSqueeze(batch_size=B, spike_threshold=0.75),
    )


def single_spike_net() -> nn.Module:
    """SingleSpike with MembraneReset (to zero), squeeze layers built by num_timesteps; real input."""
    torch.manual_seed(2)
    return nn.Sequential(
        _scaled(nn.Linear(16, 24), 2.5),
        sl.IAFSqueeze(num_timesteps=T, spike_fn=SingleSpike, reset_fn=MembraneReset()),
        _scaled(nn.Linear(24, 10), 2.0),
        sl.LIFSqueeze(
            tau_mem=8.0,
            num_timesteps=T,
            spike_fn=SingleSpike,
            reset_fn=MembraneReset(),
            spike_threshold=0.5,
            norm_input=False,
        ),
    )


def max_spike_net() -> nn.Module:
    """Batch-first [B, T, ...]: a Repeat-wrapped conv, LIF with MaxSpike(2) and min_v_mem, IAF with
    MaxSpike(3) and a per-neuron threshold; real input."""
    torch.manual_seed(3)
    return nn.Sequential(
        sl.Repeat(_scaled(nn.Conv2d(1, 4, 3), 2.5)),
        sl.LIF(tau_mem=10.0, spike_fn=MaxSpike(2), min_v_mem=-0.5, norm_input=False),
        sl.Repeat(nn.Flatten()),
        _scaled(nn.Linear(4 * 6 * 6, 12), 4.0),
        sl.IAF(spike_fn=MaxSpike(3), spike_threshold=torch.linspace(0.5, 1.5, 12)),
    )


def synaptic_net() -> nn.Module:
    """LIF with tau_syn, norm_input True (and subtract_value equal to the threshold), then LIF
    with trained alphas (per neuron), tau_syn and norm_input False; spike input."""
    torch.manual_seed(4)
    first = sl.LIF(
        tau_mem=8.0,
        tau_syn=4.0,
        norm_input=True,
        spike_threshold=0.3,
        reset_fn=MembraneSubtract(subtract_value=0.3),
    )
    second = sl.LIF(tau_mem=torch.linspace(4.0, 12.0, 12), tau_syn=3.0, norm_input=False, train_alphas=True)
    with torch.no_grad():  # "trained": alphas no longer exp(-1/tau) of a round tau
        second.alpha_mem.mul_(torch.linspace(0.95, 1.0, 12))
        second.alpha_syn.mul_(0.97)
    return nn.Sequential(_scaled(nn.Linear(20, 32), 2.5), first, _scaled(nn.Linear(32, 12), 1.5), second)


class ResidualNet(nn.Module):
    """conv → IAF → (conv → BN → IAF → conv → BN) + shortcut → LIF (norm_input) → SumPool →
    Linear → IAF."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv0 = _scaled(nn.Conv2d(2, 6, 3, padding=1), 1.0)
        self.sn0 = sl.IAFSqueeze(batch_size=B)
        self.conv1 = _scaled(nn.Conv2d(6, 6, 3, padding=1), 4.0)
        self.bn1 = _bn(6)
        self.sn1 = sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike)
        self.conv2 = _scaled(nn.Conv2d(6, 6, 3, padding=1), 3.0)
        self.bn2 = _bn(6)
        self.sn2 = sl.LIFSqueeze(batch_size=B, tau_mem=2.5, spike_fn=SingleSpike, spike_threshold=0.5)
        self.pool = sl.SumPool2d(2)
        self.fc = _scaled(nn.Linear(6 * 4 * 4, 10), 2.0)
        self.sn3 = sl.IAFSqueeze(batch_size=B, spike_threshold=1.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.sn0(self.conv0(x))
        b = self.sn1(self.bn1(self.conv1(a)))
        c = self.sn2(self.bn2(self.conv2(b)) + a)
        return self.sn3(self.fc(self.pool(c).flatten(1)))


def recurrent_net() -> nn.Module:
    """IAFRecurrent (rec_connect with a bias, which sinabs adds from t = 1 on) and LIFRecurrent."""
    torch.manual_seed(6)
    return nn.Sequential(
        _scaled(nn.Linear(12, 16), 1.0),
        sl.IAFRecurrent(rec_connect=_scaled(nn.Linear(16, 16), 0.8), spike_fn=SingleSpike, min_v_mem=-1.0),
        _scaled(nn.Linear(16, 8), 2.5),
        sl.LIFRecurrent(tau_mem=5.0, rec_connect=_scaled(nn.Linear(8, 8, bias=False), 0.5), norm_input=False),
    )


def converted_ann() -> nn.Module:
    """An ANN (conv, BN, ReLU, AvgPool, Linear) turned into IAFSqueeze layers by sinabs' from_model."""
    torch.manual_seed(7)
    ann = nn.Sequential(
        _scaled(nn.Conv2d(1, 4, 3), 1.0),
        _bn(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        _scaled(nn.Linear(4 * 5 * 5, 10), 1.5),
        nn.ReLU(),
        _scaled(nn.Linear(10, 4), 3.0, bias=0.2),
    ).eval()
    return from_model(ann, input_shape=(1, 12, 12), batch_size=B, add_spiking_output=True).eval()


# --- running both ------------------------------------------------------------------------------


def _squeezed(model: nn.Module) -> bool:
    return any(isinstance(m, sl.SqueezeMixin) for m in model.modules())


def _to_library(x: torch.Tensor, squeeze: bool) -> torch.Tensor:
    """[T, B, ...] → [B·T, ...] (squeeze layers, batch-major) or [B, T, ...]."""
    x = x.transpose(0, 1)
    return x.flatten(0, 1) if squeeze else x


def _from_library(y: torch.Tensor, squeeze: bool) -> np.ndarray:
    """The library's [B·T, ...] or [B, T, ...] → [T, B, ...]."""
    if squeeze:
        y = y.unflatten(0, (B, -1))
    return y.transpose(0, 1).detach().numpy()


Expected = dict[str, tuple[np.ndarray, slice]]  # snnc variable -> (values [T', B, ...], snnc steps they are)
ALL = slice(None)


def run_sinabs(model: nn.Module, x: torch.Tensor) -> tuple[np.ndarray, dict[str, Expected]]:
    """Output [T, B, ...] and, per spiking layer, what snnc must reproduce of it: spikes, and the
    membrane (and current) per step."""
    squeeze = _squeezed(model)
    layers = {name: m for name, m in model.named_modules() if isinstance(m, sl.StatefulLayer)}
    spikes: dict[str, torch.Tensor] = {}
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: spikes.__setitem__(n, o)) for n, m in layers.items()]
    for m in layers.values():
        m.reset_states()
        m.record_states = True
    with torch.no_grad():
        out = model(_to_library(x, squeeze))
    for h in hooks:
        h.remove()
    found = {name: _states(m) | {"out": (_from_library(spikes[name], squeeze), ALL)} for name, m in layers.items()}
    return _from_library(out, squeeze), found


def _states(m: sl.LIF) -> Expected:
    """The membrane (and synaptic current) sinabs recorded per step ([B, T, ...] → [T, B, ...]).

    `functional/lif.py: lif_recurrent` records the state dict of each step, which the next step's
    `lif_forward_single` then updates in place with its charge (before reset and clamp): its
    recording at step t is snnc's `h` at t + 1; the state kept after the run is v at the last step.
    """
    final = m.v_mem.numpy()[None]
    recorded = {k: v.transpose(0, 1).numpy() for k, v in m.recordings.items()}
    if isinstance(m, sl.LIFRecurrent):
        return {"h": (recorded["v_mem"][:-1], slice(1, None)), "v": (final, slice(-1, None))}
    assert np.array_equal(recorded["v_mem"][-1:], final)  # the state sinabs keeps after the run
    found = {"v": (recorded["v_mem"], ALL)}
    if "i_syn" in recorded:
        found["i"] = (recorded["i_syn"], ALL)
    return found


def check_exact(model: nn.Module, shape: tuple[int, ...] | None, x: torch.Tensor, input_dtype: str = "float") -> None:
    """snnc's graph of `model` reproduces sinabs bit for bit: every layer's spikes, membranes and
    currents at every step, and the output. Each spiking layer fires at 5–40 %."""
    expected, layers = run_sinabs(model, x)
    graph = snnc.frontend.load(model, shape, input_dtype=input_dtype)
    verify_or_raise(graph)
    record = ["v", "h", "out", "activity", *(f"{name}:i" for name, rec in layers.items() if "i" in rec)]
    result = run(graph, x.numpy(), record=record)
    np.testing.assert_array_equal(result.output, expected)
    for name, rec in layers.items():
        for var, (values, steps) in rec.items():
            np.testing.assert_array_equal(result.traces[name][var][steps], values, err_msg=f"{name}: {var}")
        assert 0.05 <= result.activity[name].rate <= 0.40, f"{name} fires at {result.activity[name].rate:.3f}"


def spikes(*shape: int, p: float = 0.3, seed: int = 0) -> torch.Tensor:
    return (torch.rand(T, B, *shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def real(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(T, B, *shape, generator=torch.Generator().manual_seed(seed))


# --- exactness ----------------------------------------------------------------------------------

CASES: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...], Callable[[], torch.Tensor], str]] = {
    "conv_bn_iaf_sumpool": (conv_bn_net, (2, 12, 12), lambda: spikes(2, 12, 12), "spike"),
    "single_spike_membrane_reset": (single_spike_net, (16,), lambda: real(16), "float"),
    "max_spike_batch_first": (max_spike_net, (1, 8, 8), lambda: real(1, 8, 8), "float"),
    "lif_tau_syn_norm_input": (synaptic_net, (20,), lambda: spikes(20), "spike"),
    "residual": (ResidualNet, (2, 8, 8), lambda: spikes(2, 8, 8, p=0.4), "spike"),
    "recurrent": (recurrent_net, (12,), lambda: real(12), "float"),
}


@pytest.mark.parametrize("case", CASES)
def test_matches_sinabs_exactly(case: str) -> None:
    build, shape, data, dtype = CASES[case]
    check_exact(build(), shape, data(), dtype)


def test_from_model_network_matches_and_states_its_input_shape() -> None:
    net = converted_ann()
    assert isinstance(net, sinabs.network.Network)
    check_exact(net, None, real(1, 12, 12).abs())  # input_shape comes from Network.input_shape


def test_saved_models_load_safely_and_match(tmp_path) -> None:
    for build, shape, data, _ in (CASES["conv_bn_iaf_sumpool"], CASES["recurrent"]):
        model = build()
        torch.save(model, tmp_path / "model.pt")
        graph = snnc.frontend.load(str(tmp_path / "model.pt"), input_shape=shape)
        verify_or_raise(graph)
        x = data()
        expected, _ = run_sinabs(model, x)
        np.testing.assert_array_equal(run(graph, x.numpy()).output, expected)


def test_loading_a_used_model_leaves_torch_rng_alone() -> None:
    """The layers ran with another batch size before: snnc empties their state instead of letting
    sinabs re-sample it for the new batch size, which draws from torch's global RNG."""
    model = conv_bn_net()
    for m in model.modules():
        if isinstance(m, sl.SqueezeMixin):
            m.batch_size = 5
    model(torch.zeros(5 * 2, 2, 12, 12))
    for m in model.modules():
        if isinstance(m, sl.SqueezeMixin):
            m.batch_size = B
    torch.manual_seed(0)
    snnc.frontend.load(model, (2, 12, 12))
    drawn = torch.rand(4)
    torch.manual_seed(0)
    assert torch.equal(drawn, torch.rand(4))


# --- what is refused -----------------------------------------------------------------------------


def _diagnostics(model: nn.Module, shape: tuple[int, ...]) -> list[tuple[str, str | None]]:
    with pytest.raises(SnncError) as err:
        snnc.frontend.load(model, shape)
    return [(d.rule, d.node) for d in err.value.diagnostics]


def _custom_spike(v_mem, threshold, surrogate):  # a user spike function sinabs would call
    return (v_mem > threshold).float()


@pytest.mark.parametrize(
    "layer",
    [
        sl.IAF(reset_fn=MembraneReset(reset_value=-0.2)),
        sl.IAF(reset_fn=MembraneSubtract(subtract_value=0.5)),
        sl.LIF(tau_mem=5.0, spike_fn=None),
        sl.IAF(spike_fn=MaxSpike(2.5)),
        sl.IAF(spike_fn=type("Custom", (), {"required_states": ["v_mem"], "apply": staticmethod(_custom_spike)})),
    ],
    ids=["membrane_reset_nonzero", "subtract_value_not_threshold", "spike_fn_none", "max_spike_fraction", "custom"],
)
def test_inexpressible_settings_are_refused(layer: nn.Module) -> None:
    model = nn.Sequential(nn.Linear(4, 4), layer)
    assert _diagnostics(model, (4,)) == [("FE-UNSUPPORTED-ATTR", "1")]


@pytest.mark.parametrize(
    "layer", [sl.ExpLeak(tau_mem=5.0), sl.ALIF(tau_mem=5.0, tau_adapt=10.0)], ids=["exp_leak", "alif"]
)
def test_unsupported_module_is_named(layer: nn.Module) -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4), layer))
    assert _diagnostics(model, (4,)) == [("FE-UNSUPPORTED-OP", "1.1")]


def test_wrong_input_shape_is_a_capture_error() -> None:
    assert [rule for rule, _ in _diagnostics(conv_bn_net(), (3, 12, 12))] == ["FE-CAPTURE"]


@pytest.mark.parametrize(
    "layers",
    [
        (sl.IAFSqueeze(batch_size=2), sl.IAF()),
        (sl.IAFSqueeze(batch_size=2), sl.IAFSqueeze(batch_size=4)),
    ],
    ids=["squeeze_and_sequence", "different_batch_sizes"],
)
def test_inconsistent_time_layouts_are_refused(layers: tuple[nn.Module, nn.Module]) -> None:
    model = nn.Sequential(nn.Linear(4, 4), layers[0], nn.Linear(4, 4), layers[1])
    assert [rule for rule, _ in _diagnostics(model, (4,))] == ["FE-LAYOUT"]


# --- what Speck models hold: merges, an initialised state ---------------------------------------


class _Merged(nn.Module):
    def __init__(self, shape_b: int = 8) -> None:
        super().__init__()
        self.a = _scaled(nn.Conv2d(2, 3, 3, padding=1), 1.0, 0.3)
        self.b = _scaled(nn.Conv2d(2, 3, 3, padding=1 if shape_b == 8 else 0), 1.0, 0.3)
        self.ia, self.ib, self.merge = sl.IAFSqueeze(batch_size=B), sl.IAFSqueeze(batch_size=B), sl.Merge()

    def forward(self, x):
        return self.merge(self.ia(self.a(x)), self.ib(self.b(x)))


def test_merge_adds_events_and_refuses_padding() -> None:
    torch.manual_seed(3)
    check_exact(_Merged(), (2, 8, 8), spikes(2, 8, 8, p=0.5), "spike")
    assert _diagnostics(_Merged(shape_b=6), (2, 8, 8)) == [("FE-UNSUPPORTED-ATTR", "merge")]


def test_an_initial_state_set_for_every_sample_is_the_neurons_initial_state() -> None:
    """One row for all samples is sinabs' initial state (its forward continues from it, its Speck
    configuration writes it); rows that differ are what a run left behind, and start from zero."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), sl.IAFSqueeze(batch_size=1, min_v_mem=-1.0))
    state = torch.rand(1, 3, 6, 6)
    model[1].v_mem = state.clone()
    graph = snnc.frontend.load(model, (2, 8, 8))
    np.testing.assert_array_equal(graph.node("1").op.v_init, state[0].numpy())
    model[1].v_mem = torch.rand(3, 3, 6, 6)
    assert not snnc.frontend.load(model, (2, 8, 8)).node("1").op.v_init.any()
