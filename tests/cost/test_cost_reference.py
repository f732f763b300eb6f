"""Agreement with the field's references on the standard net (examples/nmnist_cnn.py).

NeuroBench itself cannot be installed under the project's pins (neurobench 2.3.0 requires
torchaudio, which must stay absent, plus numba and tonic), so `NeuroBenchSynops` below is an
independent, literal re-implementation of its `SynapticOperations` metric, written from
NeuroBench/neurobench v2.3.0 `neurobench/metrics/workload/synaptic_operations.py` and
`neurobench/metrics/utils/layers/{input,binary_copy,macs}.py` (docs/cost/energy.md §3):
forward pre-hooks save every input of every Linear/Conv layer; each saved input is re-run through
a copy of the layer with binarised weights (w ≠ 0 → 1, bias 0) on the binarised input
(x ≠ 0 → 1); the output sum goes to Effective_ACs if every input value is in {−1, 0, 1}, else to
Effective_MACs; `Dense` re-runs all-ones input through all-ones weights; all per sample. The
network is called once per time step and sample, as NeuroBench's snnTorch wrapper calls it.

sinabs' SynOps hooks (synsense/sinabs `sinabs/hooks.py`) are run directly where sinabs is installed.
"""

from __future__ import annotations

import copy

import nmnist_cnn
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snnc.cost import count
from snnc.sim import run

T, B = 6, 2


class NeuroBenchSynops:
    def __init__(self, layers: dict[str, nn.Module]) -> None:
        self.inputs: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
        self.layers = layers
        self.hooks = [
            layer.register_forward_pre_hook(lambda m, args, name=name: self.inputs[name].append(args[0].clone()))
            for name, layer in layers.items()
        ]

    @torch.no_grad()
    def compute(self, samples: int) -> dict[str, dict[str, float]]:
        for hook in self.hooks:  # as NeuroBench does: the re-runs below must not be recorded
            hook.remove()
        result = {}
        for name, layer in self.layers.items():
            macs = acs = dense = 0.0
            for x in self.inputs[name]:
                spiking = bool(((x == 0) | (x == 1) | (x == -1)).all())
                ops = float(self._binary_copy(layer, all_ones=False)((x != 0).float()).sum())
                dense += float(self._binary_copy(layer, all_ones=True)(torch.ones_like(x)).sum())
                acs, macs = (acs + ops, macs) if spiking else (acs, macs + ops)
            result[name] = {"Effective_MACs": macs / samples, "Effective_ACs": acs / samples, "Dense": dense / samples}
        return result

    @staticmethod
    def _binary_copy(layer: nn.Module, all_ones: bool) -> nn.Module:
        binary = copy.deepcopy(layer)
        with torch.no_grad():
            binary.weight.copy_(torch.ones_like(layer.weight) if all_ones else (layer.weight != 0).float())
            if binary.bias is not None:
                binary.bias.zero_()
        return binary


def torch_net(graph) -> tuple[dict[str, nn.Module], callable]:
    """The standard net as torch modules, one step per call (IF as SpikingJelly writes it)."""
    conv1, conv2 = nn.Conv2d(2, 12, 5, bias=False), nn.Conv2d(12, 32, 5, bias=False)
    fc = nn.Linear(800, 10, bias=False)
    with torch.no_grad():
        for module, name in ((conv1, "conv1"), (conv2, "conv2"), (fc, "fc")):
            module.weight.copy_(torch.from_numpy(graph.node(name).op.weight))

    def step(v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = v + current
        s = (h >= nmnist_cnn.THRESHOLD).float()
        return s, h * (1 - s)

    @torch.no_grad()
    def forward(x: torch.Tensor) -> None:  # x: [T, 1, 2, 34, 34], one sample
        v1, v2, v3 = torch.zeros(1, 12, 30, 30), torch.zeros(1, 32, 11, 11), torch.zeros(1, 10)
        for x_t in x:
            s1, v1 = step(v1, conv1(x_t))
            s2, v2 = step(v2, conv2(F.avg_pool2d(s1, 2, divisor_override=1)))
            _, v3 = step(v3, fc(F.avg_pool2d(s2, 2, divisor_override=1).flatten(1)))

    return {"conv1": conv1, "conv2": conv2, "fc": fc}, forward


@pytest.fixture(scope="module")
def standard():
    graph = nmnist_cnn.build()
    x = nmnist_cnn.sample_input(T=T, B=B, p=0.2, seed=3)
    return graph, x, count(graph, [x])


def test_synaptic_operations_match_neurobench_definitions(standard):
    graph, x, counts = standard
    layers, forward = torch_net(graph)
    metric = NeuroBenchSynops(layers)
    for b in range(B):
        forward(torch.from_numpy(x[:, b : b + 1]).float())
    reference = metric.compute(B)
    assert reference["conv2"]["Effective_MACs"] > 0, "sum-pooled counts are not spikes: NeuroBench counts MACs"
    assert (graph.node("conv1").op.weight == 0).any(), "zero weights must be present for the test to mean something"
    for name, expected in reference.items():
        s = counts.synaptic[name]
        ours = {
            "Effective_MACs": s.nb_mac.sum() / B,
            "Effective_ACs": s.nb_ac.sum() / B,
            "Dense": s.connections * T,
        }
        assert ours == pytest.approx(expected, rel=0, abs=1e-9), name


def test_exact_sops_match_sinabs_synops_hooks(standard):
    """sinabs: conv `(input · connection_map).mean(0).sum()` and linear `input.mean(0).sum() ·
    out_features` over the squeezed (B·T) input are synops per sample and step; × T per sample."""
    hooks = pytest.importorskip("sinabs.hooks", reason="sinabs is an optional frontend dependency")
    graph, x, counts = standard
    layers, _ = torch_net(graph)
    result = run(graph, x, record=("if1:out", "if2:out"))
    inputs = {
        "conv1": torch.from_numpy(x).float(),
        "conv2": F.avg_pool2d(torch.from_numpy(result.traces["if1"]["out"]).flatten(0, 1), 2, divisor_override=1),
        "fc": F.avg_pool2d(torch.from_numpy(result.traces["if2"]["out"]).flatten(0, 1), 2, divisor_override=1),
    }
    for name, layer in layers.items():
        squeezed = inputs[name].flatten(0, 1) if name == "conv1" else inputs[name]
        squeezed = squeezed.flatten(1) if name == "fc" else squeezed
        hook = hooks.linear_layer_synops_hook if name == "fc" else hooks.conv_layer_synops_hook
        layer.register_forward_hook(hook)
        with torch.no_grad():
            layer(squeezed)
        sinabs_per_sample = float(layer.hook_data["layer_synops_per_timestep"]) * T
        assert counts.synaptic[name].sops.sum() / B == pytest.approx(sinabs_per_sample, rel=1e-6), name


def test_exact_sops_match_the_benchmark_synaptic_event_count(standard):
    """benchmarks/bench_sim.py counts synaptic events from the activity's event maps; the report's
    per-step observer counts must add up to the same number."""
    import bench_sim

    graph, x, counts = standard
    expected = bench_sim.synaptic_events(graph, run(graph, x, record=("activity",)).activity)
    assert sum(s.sops.sum() for s in counts.synaptic.values()) == expected
