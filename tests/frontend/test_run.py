"""The source stage of `snnc validate` (snnc/frontend/run.py) runs a model in every time layout the
frontend converts: what each module returned, put back into [T, B, *shape], equals the IR's float
simulation spike for spike."""

from __future__ import annotations

from collections.abc import Callable

import norse.torch as nt
import numpy as np
import pytest
import snntorch as snn
import torch
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

import snnc


class SnnTorchLoop(nn.Module):
    """snnTorch's tutorial form: the model loops over x[t] (or x[:, t]) and threads the membrane."""

    def __init__(self, batch_first: bool = False, static: bool = False) -> None:
        super().__init__()
        self.fc, self.lif = nn.Linear(16, 6), snn.Leaky(beta=0.9)
        self.batch_first, self.static = batch_first, static

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mem, out = self.lif.init_leaky(), []
        steps = 10 if self.static else x.shape[1 if self.batch_first else 0]
        for t in range(steps):
            frame = x if self.static else (x[:, t] if self.batch_first else x[t])
            spk, mem = self.lif(self.fc(frame), mem)
            out.append(spk)
        return torch.stack(out, dim=1 if self.batch_first else 0)


def sj_multi_step() -> nn.Module:
    net = nn.Sequential(layer.Linear(16, 8), neuron.LIFNode(), layer.Linear(8, 4), neuron.IFNode())
    functional.set_step_mode(net, "m")
    return net


def snntorch_per_step() -> nn.Module:
    hidden, last = snn.Leaky(beta=0.9, init_hidden=True), snn.Leaky(beta=0.8, init_hidden=True, output=True)
    return nn.Sequential(nn.Linear(16, 8), hidden, nn.Linear(8, 4), last)


MODELS: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "snntorch per step": (snntorch_per_step, "spike"),
    "snntorch loop": (SnnTorchLoop, "spike"),
    "snntorch loop over x[:, t]": (lambda: SnnTorchLoop(batch_first=True), "spike"),
    "snntorch static input": (lambda: SnnTorchLoop(static=True), "float"),
    "spikingjelly multi-step": (sj_multi_step, "spike"),
    "norse cells, stepped": (
        lambda: nt.SequentialState(nn.Linear(16, 8), nt.LIFBoxCell(), nn.Linear(8, 4), nt.LIFBoxCell()),
        "spike",
    ),
}


@pytest.mark.parametrize("name", MODELS)
def test_the_source_stage_equals_the_ir_in_every_layout(name):
    build, dtype = MODELS[name]
    torch.manual_seed(0)
    x = (np.random.default_rng(0).random((10, 4, 16)) < 0.4).astype(np.float32)
    if name == "snntorch static input":
        x = np.broadcast_to(x[0], x.shape).copy()  # one frame, held: the model makes its own 10 steps
    report = snnc.validate(build(), "sim", x, input_shape=(16,), input_dtype=dtype)
    compared = [a for a in report.layers if a.pair == ("source", "ir")]
    assert compared and all(a.spike_mismatch == 0 for a in compared)
    assert report.stages[1].agreement == 1.0  # the model's own output decides as the IR does
    assert not [d for d in report.diagnostics if d.rule == "FE-SOURCE-OUTPUT"]
