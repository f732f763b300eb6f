"""SPECK-BANDWIDTH: synaptic operations per second per core, measured on simulated activity.

A core processes its input events one by one; each event updates every output neuron whose
receptive field holds it, one synaptic operation (SOP) each. SynSense gives the load of a core as
input events/s × C_out·kx·ky/(sx·sy) (sinabs docs/speck/faqs/tips_for_training.md) and warns that a
core above its SOP bandwidth stalls and then behaves unpredictably; the limit itself is not
published (docs/targets/speck.md §4), so the user gives it (`--max-sops-per-core`). Here the count
is exact: each input element's events times its own fan-out (snnc/ir/connectivity.py, as sinabs'
`hooks.py::conv_connection_map`), per time step of the calibration data, a step lasting `dt`
seconds. The worst window is the step (and sample) with the most SOPs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from snnc.backends.speck.grouping import Network
from snnc.backends.speck.placement import Placement
from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.connectivity import fan_out
from snnc.ir.graph import Graph
from snnc.sim import run


def sops_per_step(graph: Graph, net: Network, x: Any) -> dict[str, np.ndarray]:
    """Per layer (conv name): its SOPs in each step and sample, [T, B] int64, simulating `graph` on `x`."""
    sops: dict[str, list[tuple[int, np.ndarray]]] = {layer.name: [] for layer in net.layers}
    observers = {}
    for layer in net.layers:
        source = layer.conv.inputs[0]
        fan = torch.from_numpy(fan_out(layer.conv, layer.in_shape).astype(np.float64))

        def observe(chunk: torch.Tensor, first: int, _name=layer.name, _fan=fan) -> None:
            counts = (chunk.to(torch.float64) * _fan).flatten(2).sum(2)
            sops[_name].append((first, counts.round().to(torch.int64).numpy()))

        observers.setdefault(source, []).append(observe)
    run(graph, x, observers={name: _all(fns) for name, fns in observers.items()})
    return {name: np.concatenate([c for _, c in sorted(chunks, key=lambda c: c[0])]) for name, chunks in sops.items()}


def _all(fns):
    def call(chunk, first):
        for fn in fns:
            fn(chunk, first)

    return call


def check(graph: Graph, net: Network, placed: Placement, x: Any, limit: float, dt: float) -> list[Diagnostic]:
    found = []
    for name, per_step in sops_per_step(graph, net, x).items():
        if not per_step.size:
            continue
        step, sample = np.unravel_index(int(np.argmax(per_step)), per_step.shape)
        rate = float(per_step[step, sample]) / dt
        if rate > limit:
            core = placed.cores.get(name)
            found.append(
                Diagnostic(
                    "SPECK-BANDWIDTH",
                    f"core {core} (layer {name}) needs {rate:.3g} synaptic operations per second in its worst window, "
                    f"step {step} of sample {sample} ({per_step[step, sample]:,} SOPs in {dt:g} s), above the limit "
                    f"{limit:.3g}; {int((per_step / dt > limit).sum())} of {per_step.size} windows exceed it",
                    node=name,
                    hint="lower the input event rate or this layer's fan-out (channels, kernel), or raise its stride",
                    severity=Severity.WARNING,
                    measured=rate,
                    limit=limit,
                )
            )
    return found
