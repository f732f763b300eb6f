"""A lowered graph simulated by Lava itself, in snnc's conventions.

`simulate_in_lava(graph, x, via)` emits the graph (a NetX file read back by lava-dl's own
`netx.hdf5.Network`, or the Lava process network of lava.py) into a temporary directory, runs it
in Lava's CPU fixed-point models in a torch-free child (runner.py) and returns a `SimResult`
whose outputs and traces are [T, B, *shape] in the graph's layout and in snnc's delay-free time:
the value at step t is Lava's at step b·T + t + d_k for sample b and block k (runner.py). So a
Lava result compares element for element with `snnc.simulate` of the same graph.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from snnc.backends.loihi.blocks import LoihiNet
from snnc.backends.loihi.lava import describe, from_lava_layout, lava_shape, to_lava_layout
from snnc.backends.loihi.netx import write_netx
from snnc.backends.loihi.rules import check_netx_layers, check_netx_weights, loihi_net
from snnc.backends.loihi.runner import LavaResult, LavaRun, Probe, Via, run_in_lava
from snnc.diagnostics import SnncError, input_error
from snnc.ir.graph import Graph
from snnc.sim.result import SimResult

VIAS = ("netx", "processes")
_NETX = SimpleNamespace(emit="netx")  # the options the NetX rules read


def lava_inputs(net: LoihiNet, x: Any, via: Via) -> np.ndarray:
    """x [T, B, *input shape] as the integers Lava's input port takes: a quantized real-valued
    input encoded as the graph defines (`NumberFormat.encode`), then flattened in C-H-W order for a
    NetX network that starts with a dense layer, else in Lava's (W, H, C) layout."""
    node = net.input
    x = np.asarray(x)
    shape = node.type.shape  # type: ignore[union-attr]
    if x.ndim != len(shape) + 2 or tuple(x.shape[2:]) != shape:
        raise input_error(
            "SIM-INPUT-SHAPE",
            f"input of shape {x.shape} does not match [T, B, {', '.join(map(str, shape))}]",
            node=node.name,
        )
    fmt = node.op.format  # type: ignore[union-attr]
    if fmt is not None and np.issubdtype(x.dtype, np.floating):
        x = fmt.encode(x)
    x = np.asarray(x).astype(np.int64)
    if via == "netx" and net.blocks[0].kind == "dense":
        return x.reshape(*x.shape[:2], -1)
    return to_lava_layout(x, shape)


def probes(net: LoihiNet, record: Iterable[str]) -> tuple[Probe, ...]:
    """Each graph output (spikes, or the membrane of a non-spiking readout), and what `record` asks
    of the blocks: "v" (the membrane after the step) or "out" (the spikes), for every block or
    "name:v" for one."""
    found = [
        Probe(f"output:{name}", k, net.lava_delay(k), "spikes" if net.blocks[k].spiking else "v")
        for name, k in net.outputs.items()
    ]
    for request in [record] if isinstance(record, str) else record:
        name, _, var = str(request).rpartition(":")
        if var not in ("v", "out"):
            raise input_error(
                "SIM-RECORD", f"Lava runs record v and out, not {request!r}", hint="record 'v', 'out' or 'node:v'"
            )
        for b in net.blocks:
            if b.neuron is not None and name in ("", b.name):
                what = "v" if var == "v" or not b.spiking else "spikes"
                found.append(Probe(f"{var}:{b.name}", b.index, net.lava_delay(b.index), what))
    return tuple(found)


def simulate_in_lava(graph: Graph, x: Any, via: Via, record: Iterable[str] = (), timeout: float = 600.0) -> SimResult:
    """Run the lowered `graph` in Lava (see the module docstring)."""
    if via not in VIAS:
        raise input_error("TARGET-OPTION", f"via={via!r}: Lava runs a graph via netx or processes", hint="via='netx'")
    ((result, _),) = run_graphs([(graph, x, via, record)], timeout=timeout)
    return result


def run_graphs(
    jobs: list[tuple[Graph, Any, Via, Iterable[str]]], timeout: float = 600.0
) -> list[tuple[SimResult, dict[str, float]]]:
    """Several runs in one child interpreter (Lava is imported once): (graph, x, via, record) each;
    per run its result and the child's wall times (import, build, run, read_and_stop, steps)."""
    with tempfile.TemporaryDirectory(prefix="snnc-loihi-") as tmp:
        runs, nets = [], []
        for k, (graph, x, via, record) in enumerate(jobs):
            net = loihi_net(graph)
            if net.problems:
                raise SnncError(list(net.problems))
            if via == "netx":
                netx_problems = [*check_netx_layers(graph, _NETX), *check_netx_weights(graph, _NETX)]
                if netx_problems:
                    raise SnncError(netx_problems)
                path = write_netx(net, Path(tmp) / f"net{k}.net")
            else:
                path = Path(tmp) / f"net{k}.npz"
                describe(net).save(path)
            bits = net.blocks[0].input_bits
            runs.append(LavaRun(via, path, lava_inputs(net, x, via), probes(net, record), bits, net.has_delays))
            nets.append(net)
        done = run_in_lava(runs, timeout=timeout)
        return [(_as_sim_result(net, r), r.seconds) for net, r in zip(nets, done)]


def _as_sim_result(net: LoihiNet, result: LavaResult) -> SimResult:
    outputs: dict[str, np.ndarray] = {}
    traces: dict[str, dict[str, np.ndarray]] = {}
    for key, value in result.values.items():
        kind, _, name = key.partition(":")
        block = net.blocks[net.outputs[name]] if kind == "output" else next(b for b in net.blocks if b.name == name)
        shape = block.out_shape
        ir = from_lava_layout(value.reshape(*value.shape[:2], *lava_shape(shape)), shape)
        if kind == "output":
            outputs[name] = ir
        else:
            traces.setdefault(name, {})[kind] = ir
    return SimResult(outputs, {}, traces)
