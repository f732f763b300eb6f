"""SpikingJelly 2.0.0 models converted by snnc behave exactly as SpikingJelly runs them.

Each model is run by SpikingJelly itself (one call on [T, B, ...] in step mode 'm', one call per
step in 's', or the model's own loop over time) and by snnc's simulator on the converted graph:
the output spikes must be equal, and so must every neuron's spikes and membrane (SpikingJelly's
`v_seq`, the post-reset membrane of each step, is snnc's v). The neuron's float order is mirrored
(docs/library-semantics.md §1) and the synaptic ops are the same torch kernels, so no tolerance
is needed anywhere.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("spikingjelly")
from spikingjelly.activation_based import functional, layer, neuron, surrogate

import snnc.frontend
from snnc import sim
from snnc.diagnostics import SnncError
from snnc.frontend.spikingjelly import import_sew_resnet
from snnc.ir.graph import Graph
from snnc.ir.ops import Elementwise, Neuron
from snnc.ir.verify import verify_or_raise

T, B = 16, 3
Run = Callable[[], torch.Tensor]


# --- running SpikingJelly and snnc --------------------------------------------------------------


def _neurons(model: nn.Module) -> dict[str, neuron.BaseNode]:
    return {name: m for name, m in model.named_modules() if isinstance(m, neuron.BaseNode)}


def _library(model: nn.Module, x: torch.Tensor, per_step: bool) -> tuple[torch.Tensor, dict, dict]:
    """SpikingJelly's output [T, B, ...] and, per neuron, its spikes and post-step membranes."""
    neurons = _neurons(model)
    spikes: dict[str, list[torch.Tensor]] = {name: [] for name in neurons}
    hooks = []
    for name, m in neurons.items():
        m.store_v_seq = True  # 'm': the membrane of every step; 's': appended at every step
        hooks.append(m.register_forward_hook(lambda mod, args, out, name=name: spikes[name].append(out)))
    functional.reset_net(model)
    with torch.no_grad():
        out = torch.stack([model(x_t) for x_t in x]) if per_step else model(x)
    for h in hooks:
        h.remove()
    seqs = {name: s[0] if neurons[name].step_mode == "m" else torch.stack(s) for name, s in spikes.items()}
    return out, seqs, {name: m.v_seq for name, m in neurons.items()}


def _assert_exact(model: nn.Module, shape: tuple[int, ...], x: torch.Tensor, mode: str = "m") -> Graph:
    """Convert, verify, simulate: output, every neuron's spikes and membranes equal SpikingJelly's,
    and every neuron layer fires at 5–40 %. `mode`: "m" (one call), "s" (one call per step), "loop"
    (the model loops itself). Per-step models are simulated step by step: torch's matmul sums in an
    order that depends on the number of rows (a Linear on [B, 10] and on [T·B, 10] differ by an ulp
    in some outputs), so the simulator must see the rows the library saw."""
    graph = snnc.frontend.load(model, shape)
    verify_or_raise(graph)
    out, spikes, volts = _library(model, x, per_step=mode == "s")
    result = sim.run(graph, x.numpy(), record=("v", "out"))
    np.testing.assert_array_equal(result.output, out.numpy())
    for name, s in spikes.items():
        np.testing.assert_array_equal(result.traces[name]["out"], s.numpy(), err_msg=name)
        np.testing.assert_array_equal(result.traces[name]["v"], volts[name].numpy(), err_msg=name)
        assert 0.05 <= s.mean().item() <= 0.40, f"{name} fires at {s.mean().item():.3f}"
    return graph


def _calibrate(model: nn.Module, run: Run, plan: list[tuple[nn.Module, float, float]]) -> None:
    """Make each listed layer's output per channel `shift + gain·N(0, 1)` on the test data, with
    ±30 % per-channel spread, in forward order: what a trained, normalised network looks like, and
    what drives its neurons at 5–40 %. A BatchNorm gets the measured statistics as its running
    statistics; a Conv/Linear has its weight and bias rescaled."""
    generator = torch.Generator().manual_seed(1)
    for m, gain, shift in plan:
        dim = -1 if isinstance(m, nn.Linear) else -3 if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) else -2
        values = torch.cat([s.movedim(dim, -1).reshape(-1, s.shape[dim]) for s in _seen(m, run)])
        mean, std = values.mean(0), values.std(0) + 1e-3
        gains = gain * (0.7 + 0.6 * torch.rand(len(mean), generator=generator))
        shifts = shift * (0.7 + 0.6 * torch.rand(len(mean), generator=generator))
        with torch.no_grad():
            if _is_bn(m):
                m.running_mean.copy_(mean)
                m.running_var.copy_(std**2)
                m.weight.copy_(gains)
                m.bias.copy_(shifts)
            else:
                factor = gains / std
                m.weight.mul_(factor.reshape(-1, *[1] * (m.weight.dim() - 1)))
                m.bias.copy_((m.bias - mean) * factor + shifts)


def _seen(m: nn.Module, run: Run) -> list[torch.Tensor]:
    """What layer `m` normalises in one run: a BatchNorm's input, another layer's output."""
    seen: list[torch.Tensor] = []
    hook = m.register_forward_hook(lambda mod, args, out: seen.append(args[0] if _is_bn(mod) else out))
    run()
    hook.remove()
    return seen


def _is_bn(m: nn.Module) -> bool:
    return isinstance(m, nn.modules.batchnorm._BatchNorm)


def _spikes(*shape: int, p: float = 0.3, seed: int = 0) -> torch.Tensor:
    return (torch.rand(T, B, *shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def _real(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(T, B, *shape, generator=torch.Generator().manual_seed(seed))


# --- models -------------------------------------------------------------------------------------


def conv_net(mode: str) -> nn.Sequential:
    """Conv + BN + LIF (τ = 3, hard reset), max pooling, conv + BN + LIF without input decay and
    with soft reset and its own threshold, average pooling, Linear + LIF (τ = 2.5, v_reset ≠ 0)."""
    torch.manual_seed(0)
    net = nn.Sequential(
        layer.Conv2d(2, 6, 3, padding=1),
        layer.BatchNorm2d(6),
        neuron.LIFNode(tau=3.0),
        layer.MaxPool2d(2),
        layer.Conv2d(6, 8, 3, padding=1),
        layer.BatchNorm2d(8),
        neuron.LIFNode(tau=2.0, decay_input=False, v_reset=None, v_threshold=0.8),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32, 10),
        neuron.LIFNode(tau=2.5, v_reset=-0.2, v_threshold=0.9),
    )
    functional.set_step_mode(net, mode)
    return net.eval()


def plif_net() -> nn.Sequential:
    """PLIF without input decay and v_reset ≠ 0 after Conv1d + BatchNorm1d, then PLIF with input
    decay; learned time constants away from their initial values, per-layer thresholds."""
    torch.manual_seed(1)
    net = nn.Sequential(
        layer.Conv1d(3, 6, 3, padding=1),
        layer.BatchNorm1d(6),
        neuron.ParametricLIFNode(init_tau=2.5, decay_input=False, v_reset=-0.3, v_threshold=0.7),
        layer.Flatten(),
        layer.Linear(6 * 12, 8),
        neuron.ParametricLIFNode(init_tau=3.0, v_reset=0.1, v_threshold=1.2),
    )
    with torch.no_grad():
        net[2].w.fill_(0.37)
        net[5].w.fill_(-1.1)
    functional.set_step_mode(net, "m")
    return net.eval()


def soft_if_net() -> nn.Sequential:
    """Soft-reset IF neurons; torch layers in a SeqToANNContainer, adaptive pooling, dropout."""
    torch.manual_seed(2)
    net = nn.Sequential(
        layer.SeqToANNContainer(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)),
        neuron.IFNode(v_reset=None),
        layer.AdaptiveAvgPool2d((2, 2)),
        layer.Dropout(0.3),
        layer.Flatten(),
        layer.Linear(16, 6),
        neuron.IFNode(v_reset=None, v_threshold=0.5, surrogate_function=surrogate.ATan()),
    )
    functional.set_step_mode(net, "m")
    return net.eval()


class SewBlocks(nn.Module):
    """SEW residual blocks built from SpikingJelly primitives: ADD (a count of 0–2 per neuron),
    then IAND of that count with a MultiStepContainer branch (x · (1 − y) with a non-spike x)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.stem = layer.SeqToANNContainer(layer.Conv2d(2, 4, 3, padding=1), layer.BatchNorm2d(4))
        self.sn0 = neuron.IFNode()
        self.add_branch = layer.SeqToANNContainer(layer.Conv2d(4, 4, 3, padding=1), layer.BatchNorm2d(4))
        self.sn1 = neuron.LIFNode(tau=2.0)
        self.iand_branch = layer.MultiStepContainer(
            layer.Conv2d(4, 4, 3, padding=1), layer.BatchNorm2d(4), neuron.IFNode(v_reset=None)
        )
        self.head = nn.Sequential(layer.Flatten(), layer.Linear(4 * 6 * 6, 5), neuron.IFNode())
        functional.set_step_mode(self.sn0, "m")
        functional.set_step_mode(self.sn1, "m")
        functional.set_step_mode(self.head, "m")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.sn0(self.stem(x))
        s = s + self.sn1(self.add_branch(s))
        s = s * (1.0 - self.iand_branch(s))
        return self.head(s)


def sew_resnet_blocks() -> nn.Sequential:
    """The library's own SEW ResNet BasicBlock (IAND, strided, with a downsample path) and
    Bottleneck (IAND negates the shortcut there: model/sew_resnet.py, sew_function's call sites)."""
    sew = import_sew_resnet()
    torch.manual_seed(4)
    net = nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1),
        layer.BatchNorm2d(4),
        neuron.IFNode(),
        sew.BasicBlock(
            4,
            8,
            stride=2,
            downsample=nn.Sequential(layer.Conv2d(4, 8, 1, stride=2, bias=False), layer.BatchNorm2d(8)),
            cnf="IAND",
            spiking_neuron=neuron.IFNode,
        ),
        sew.Bottleneck(8, 2, cnf="IAND", spiking_neuron=neuron.LIFNode, tau=3.0),
        layer.Flatten(),
        layer.Linear(8 * 4 * 4, 6),
        neuron.IFNode(),
    )
    functional.set_step_mode(net, "m")
    return net.eval()


class Recurrent(nn.Module):
    """A step-mode 's' network that loops over time itself and feeds each step's spikes back
    through a Linear into the next step (zero at the first): snnc folds the loop into one step and
    the cross-step edge into a Delay."""

    def __init__(self, initial: float = 0.0) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.initial = initial
        self.fc_in = layer.Linear(10, 12)
        self.fc_rec = layer.Linear(12, 12)
        self.sn = neuron.LIFNode(tau=2.0, v_reset=None)
        self.fc_out = layer.Linear(12, 4)
        self.sn_out = neuron.IFNode(v_threshold=0.6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feedback = torch.full((x.shape[1], 12), self.initial)
        out = []
        for t in range(x.shape[0]):
            s = self.sn(self.fc_in(x[t]) + feedback)
            feedback = self.fc_rec(s)
            out.append(self.sn_out(self.fc_out(s)))
        return torch.stack(out)


def _calibrated(model: nn.Module, x: torch.Tensor, plan: list[tuple[str, float, float]], per_step=False):
    modules = dict(model.named_modules())
    _calibrate(model, lambda: _library(model, x, per_step)[0], [(modules[n], g, s) for n, g, s in plan])
    return model


# IF integrates its drive: a small positive mean fires it at about mean/θ. LIF with input decay
# settles at the mean input, so the mean must sit near θ; without input decay at τ·mean.
CONV_PLAN = [("1", 0.6, 0.9), ("5", 0.3, 0.25), ("9", 0.5, 1.05)]


# --- exactness ----------------------------------------------------------------------------------


def test_conv_net_multi_step_real_input():
    model = conv_net("m")
    x = _real(2, 8, 8)
    _assert_exact(_calibrated(model, x, CONV_PLAN), (2, 8, 8), x)


def test_conv_net_single_step_spike_input():
    model = conv_net("s")
    x = _spikes(2, 8, 8)
    graph = _assert_exact(_calibrated(model, x, CONV_PLAN, per_step=True), (2, 8, 8), x, "s")
    lif = graph.node("6").op
    order = lif.float_order
    assert (order.charge, order.rate_op, float(order.rate), lif.reset) == ("delta_leak", "div", 2.0, "subtract")


def test_plif_no_input_decay_nonzero_reset():
    model = plif_net()
    x = _real(3, 12)
    graph = _assert_exact(_calibrated(model, x, [("1", 0.3, 0.5), ("4", 0.6, 1.2)]), (3, 12), x)
    plif = graph.node("2").op
    assert isinstance(plif, Neuron) and (plif.float_order.charge, plif.float_order.rate_op) == ("delta_leak", "mul")
    assert plif.float_order.rate == torch.sigmoid(torch.tensor(0.37)).item()
    assert plif.v_reset == plif.v_init == np.float32(-0.3)


def test_soft_reset_if_with_containers():
    model = soft_if_net()
    x = _spikes(1, 8, 8, p=0.4)
    graph = _assert_exact(_calibrated(model, x, [("0.1", 0.3, 0.2), ("5", 0.3, 0.15)]), (1, 8, 8), x)
    assert [n.name for n in graph if isinstance(n.op, Neuron)] == ["1", "6"]
    assert graph.node("0.0").origin == "torch.Conv2d"  # the container's children, by module path


def test_sew_blocks_from_primitives():
    model = SewBlocks().eval()
    x = _spikes(2, 6, 6)
    plan = [("stem.1", 0.3, 0.25), ("add_branch.1", 0.6, 0.9), ("iand_branch.1", 0.3, 0.25), ("head.1", 0.3, 0.3)]
    graph = _assert_exact(_calibrated(model, x, plan), (2, 6, 6), x)
    _assert_no_dead_nodes(graph)
    # count · (1 − spikes) is count − count · spikes: no iand (it needs spikes on both sides)
    assert sorted(n.op.fn for n in graph if isinstance(n.op, Elementwise)) == ["add", "mul", "sub"]


def test_sew_resnet_basic_block_and_bottleneck():
    model = sew_resnet_blocks()
    x = _spikes(2, 8, 8)
    plan = [("1", 0.3, 0.25), ("3.bn1", 0.3, 0.25), ("3.bn2", 0.3, 0.25), ("3.downsample.1", 0.3, 0.25)]
    plan += [("4.bn1", 0.6, 0.9), ("4.bn2", 0.6, 0.9), ("4.bn3", 0.6, 0.9), ("6", 0.3, 0.3)]
    graph = _assert_exact(_calibrated(model, x, plan), (2, 8, 8), x)
    _assert_no_dead_nodes(graph)
    # iand(a, b) = (not a) and b: BasicBlock negates its residual branch, Bottleneck the shortcut
    assert graph.node("3.mul").inputs == ("3.sn2", "3.downsample_sn")
    assert graph.node("4.mul").inputs == ("3.mul", "4.sn3")
    assert {graph.node(n).op.fn for n in ("3.mul", "4.mul")} == {"iand"}


def test_recurrent_loop_single_step():
    model = Recurrent()
    x = _spikes(10, p=0.4)
    graph = _assert_exact(_calibrated(model, x, [("fc_in", 0.6, 1.2), ("fc_out", 0.3, 0.25)]), (10,), x, "loop")
    (delay,) = [n for n in graph if n.op.kind == "delay"]
    assert delay.inputs == ("fc_rec",) and graph.node("add").inputs == ("fc_in", delay.name)


def test_recurrent_loop_with_nonzero_initial_feedback_is_refused():
    """snnc's Delay starts at zero; a model that feeds back another initial value is refused."""
    with pytest.raises(SnncError) as err:
        snnc.frontend.load(Recurrent(initial=0.5), (10,))
    assert [(d.rule, d.node) for d in err.value.diagnostics] == [("FE-STATE", "add")]


def _assert_no_dead_nodes(graph: Graph) -> None:
    used = {i for n in graph for i in n.inputs}
    assert [n.name for n in graph if n.op.kind != "output" and n.name not in used] == []


# --- loading and diagnostics --------------------------------------------------------------------


def test_saved_model_loads_through_the_allowlist(tmp_path):
    model = conv_net("m")
    x = _real(2, 8, 8, seed=7)
    _calibrated(model, x, CONV_PLAN)
    torch.save(model, tmp_path / "model.pt")
    graph = snnc.frontend.load(str(tmp_path / "model.pt"), input_shape=(2, 8, 8))
    verify_or_raise(graph)
    np.testing.assert_array_equal(sim.run(graph, x.numpy()).output, _library(model, x, False)[0].numpy())


def test_saved_sew_resnet_loads_without_torchvision(tmp_path):
    """A fresh interpreter has not imported sew_resnet: safe_load imports it with the stand-in."""
    torch.save(sew_resnet_blocks(), tmp_path / "sew.pt")
    script = (
        "import sys, snnc.frontend\n"
        f"g = snnc.frontend.load({str(tmp_path / 'sew.pt')!r}, input_shape=(2, 8, 8))\n"
        "print(sorted(n.op.fn for n in g if n.op.kind == 'elementwise'), 'torchvision' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[-2] == "['iand', 'iand'] False"


class Custom(surrogate.Sigmoid):
    """A surrogate SpikingJelly does not know: its reference path calls it in the forward pass."""


def _after_linear(*modules: nn.Module) -> nn.Module:
    return nn.Sequential(layer.Linear(4, 4), *modules)


@pytest.mark.parametrize(
    ("build", "rule", "node"),
    [
        (lambda: _after_linear(neuron.QIFNode()), "FE-UNSUPPORTED-OP", "1"),
        (lambda: _after_linear(neuron.IFNode(surrogate_function=Custom())), "FE-UNSUPPORTED-ATTR", "1"),
        (
            lambda: _after_linear(neuron.IFNode(surrogate_function=surrogate.ATan(spiking=False))),
            "FE-UNSUPPORTED-ATTR",
            "1",
        ),
        (lambda: nn.Sequential(layer.SeqToANNContainer(nn.Linear(4, 4), neuron.IFNode())), "FE-UNSUPPORTED-OP", "0"),
        (lambda: nn.Sequential(neuron.IFNode(step_mode="m"), layer.Flatten()), "FE-LAYOUT", None),
    ],
    ids=["qif-neuron", "custom-surrogate", "non-spiking-surrogate", "neuron-in-seq-to-ann", "mixed-step-modes"],
)
def test_unsupported_is_one_diagnostic_naming_the_module(build, rule, node):
    with pytest.raises(SnncError) as err:
        snnc.frontend.load(build(), (4,))
    assert [(d.rule, d.node) for d in err.value.diagnostics] == [(rule, node)]


def test_wrong_input_shape_is_a_capture_error():
    with pytest.raises(SnncError) as err:
        snnc.frontend.load(conv_net("m"), (3, 8, 8))
    assert [d.rule for d in err.value.diagnostics] == ["FE-CAPTURE"]
