"""Integer simulation speed on the standard net, against the float simulator and SpikingJelly.

    python benchmarks/bench_int_sim.py [--repeats N]

Times, in one process and interleaved round by round (so that load from other processes hits
every implementation alike), the nmnist-cnn (examples/nmnist_cnn.py) on the same T=100, B=16
Bernoulli(0.1) spikes: snnc's float `sim.run`, the integer simulation of the graph quantized to
the simulator's 8- and 16-bit formats and to Loihi's, the 8-bit run with each of its fast kernels
switched off (oneDNN's int8 convolutions, the compiled neuron loops, spikes carried as bytes;
then all of them and the float32-exact kernels: integer tensors only), and SpikingJelly's
multi-step forward of the float net. Prints the median of N rounds, the ratios the Passes issue
sets as targets (integer vs float: no slower; integer vs SpikingJelly: at least 2x faster), the
kernel each layer ran, the synaptic events against the dense MACs, and the spike agreement of
each quantized graph with the float one. Then the 8-bit run on sparser inputs (N-MNIST binned
to 100 steps is about 2 % dense, to 1 ms bins below 1 %) with its event-driven paths
(snnc/sim/event_driven.py) on and off: the times, how many windows of each layer the measured
density sent event-driven, and the spikes checked identical.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
sys.path.insert(0, str(Path(__file__).parent))

import nmnist_cnn
from bench_sim import spikingjelly_forward, synaptic_events

from snnc.backends.loihi.spec import LOIHI
from snnc.backends.sim.spec import SIM_INT8, SIM_INT16
from snnc.ir import Conv2d, Graph, Linear
from snnc.passes.base import PassContext
from snnc.passes.quantize import Quantize, QuantSpec
from snnc.sim import event_driven, fused, int8_conv, int_ops, run
from snnc.sim.event_driven import EventConv
from snnc.sim.result import SimResult

T, B, P = 100, 16, 0.1


def quantized(graph: Graph, spec: QuantSpec) -> Graph:
    return Quantize(spec)(graph, PassContext())


def switched_off(graph: Graph, x: np.ndarray, *switches: tuple[object, str, object]) -> Callable[[], SimResult]:
    """The integer run with some kernels switched off: (module, flag, value) set for the run."""

    def forward() -> SimResult:
        saved = [getattr(module, flag) for module, flag, _ in switches]
        for module, flag, value in switches:
            setattr(module, flag, value)
        try:
            return run(graph, x)
        finally:
            for (module, flag, _), value in zip(switches, saved):
                setattr(module, flag, value)

    return forward


NO_FLOAT32 = (int_ops, "EXACT_FLOAT32", 0)  # integer tensors only: no float32-exact kernel or carrier
NO_INT8_CONV = (int8_conv, "ENABLED", False)  # oneDNN's float32 convolutions instead of its int8 ones
NO_FUSED = (fused, "ENABLED", False)  # the torch per-step loops instead of the compiled ones
NO_BYTES = (int_ops, "BYTE_CARRIERS", False)  # spikes and counts in float32 everywhere
NO_EVENTS = (event_driven, "ENABLED", False)  # dense synaptic ops whatever the input density
SPARSE = (0.002, 0.005, 0.01, 0.02, 0.05)


def dense_macs(graph: Graph) -> int:
    """Multiply-accumulates of a dense evaluation of every Linear/Conv, per run."""
    total = 0
    for node in graph:
        if isinstance(node.op, (Conv2d, Linear)):
            per_output = node.op.weight[0].size
            total += per_output * node.type.numel
    return total * T * B


def kernels(graph: Graph, x: np.ndarray) -> str:
    """Which kernel and carrier each synaptic layer of the integer run uses."""
    plan = int_ops.integer_plan(graph, {"x": x}, torch.device("cpu"))
    rows = []
    for node in graph:
        if isinstance(node.op, (Conv2d, Linear)):
            bound = int_ops.synaptic_sum_bound(node.op, plan.bounds[node.inputs[0]])
            kernel = int_ops.synapse_kernel(plan, node, graph.node(node.inputs[0]).type)
            rows.append(f"{node.name}: |sum| <= {bound} -> {kernel}, output {plan.carriers[node.name]}")
    return "; ".join(rows)


def sparse_inputs(graph: Graph, repeats: int, densities: tuple[float, ...] = SPARSE) -> None:
    """The integer run with and without its event-driven paths on sparser inputs, interleaved."""
    print(f"\nthe integer run on sparser inputs (T={T}, B={B}), median of {repeats}:")
    print(f"{'density':>8} {'event-driven ms':>16} {'dense ms':>9} {'dense/event':>12}  windows event-driven")
    for density in densities:
        x = nmnist_cnn.sample_input(T=T, B=B, p=density)
        paths = {"event": switched_off(graph, x), "dense": switched_off(graph, x, NO_EVENTS)}
        times: dict[str, list[float]] = {name: [] for name in paths}
        for forward in paths.values():
            forward()  # warm-up
        for _ in range(repeats):
            for name, forward in paths.items():
                start = time.perf_counter()
                forward()
                times[name].append(time.perf_counter() - start)
        assert np.array_equal(paths["event"]().output, paths["dense"]().output), "event-driven paths differ"
        event_s, dense_s = (statistics.median(times[name]) for name in paths)
        print(f"{density:8.3f} {event_s * 1e3:16.1f} {dense_s * 1e3:9.1f} {dense_s / event_s:11.2f}x  "
              f"{event_windows(graph, x)}")  # fmt: skip


def event_windows(graph: Graph, x: np.ndarray) -> str:
    """How many windows of each convolution took the event-driven path in one run of x."""
    taken: dict[tuple[int, ...], int] = {}
    original = EventConv.__call__

    def spy(self: EventConv, window: torch.Tensor, dense: str) -> torch.Tensor:
        shape = tuple(window.shape[1:])
        taken[shape] = taken.get(shape, 0) + 1
        return original(self, window, dense)

    EventConv.__call__ = spy
    try:
        run(graph, x)
    finally:
        EventConv.__call__ = original
    names = {tuple(graph.node(n.inputs[0]).type.shape): n.name for n in graph if isinstance(n.op, Conv2d)}
    return ", ".join(f"conv2d {names[shape]!r}: {count}" for shape, count in taken.items()) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (median and min reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    graph = nmnist_cnn.build()
    x = nmnist_cnn.sample_input(T=T, B=B, p=P)
    graphs = {spec.name: quantized(graph, spec) for spec in (SIM_INT8, SIM_INT16, LOIHI)}
    sj_forward, _ = spikingjelly_forward(graph, x)
    implementations: dict[str, Callable[[], object]] = {
        "float sim.run": lambda: run(graph, x),
        "int sim-int8": lambda: run(graphs["sim-int8"], x),
        "int sim-int16": lambda: run(graphs["sim-int16"], x),
        "int loihi": lambda: run(graphs["loihi"], x),
        "int8, float32 convs": switched_off(graphs["sim-int8"], x, NO_INT8_CONV),
        "int8, torch neuron loops": switched_off(graphs["sim-int8"], x, NO_FUSED),
        "int8, float32 spikes": switched_off(graphs["sim-int8"], x, NO_BYTES),
        "int8, int tensors only": switched_off(graphs["sim-int8"], x, NO_FLOAT32, NO_INT8_CONV, NO_FUSED, NO_BYTES),
        "spikingjelly (m)": sj_forward,
    }
    times: dict[str, list[float]] = {name: [] for name in implementations}
    for forward in implementations.values():
        forward()  # warm-up
    for _ in range(args.repeats):
        for name, forward in implementations.items():
            start = time.perf_counter()
            forward()
            times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(ts) for name, ts in times.items()}

    float_s, sj_s = seconds["float sim.run"], seconds["spikingjelly (m)"]
    print(f"nmnist-cnn, T={T}, B={B}, Bernoulli p={P}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'':24} {'seconds':>9} {'min':>9} {'steps/s':>9} {'float/this':>11} {'SJ/this':>8}")
    for name, s in seconds.items():
        print(f"{name:24} {s:9.4f} {min(times[name]):9.4f} {T / s:9.1f} {float_s / s:10.2f}x {sj_s / s:7.2f}x")
    best = {name: min(ts) for name, ts in times.items()}
    for label, table in (("median", seconds), ("min", best)):
        int_s, ratio = table["int sim-int8"], table["spikingjelly (m)"] / table["int sim-int8"]
        print(f"targets ({label}): integer (sim-int8) / float = {int_s / table['float sim.run']:.2f} (want <= 1); "
              f"SpikingJelly / integer = {ratio:.2f} (want >= 2)")  # fmt: skip

    events, macs = synaptic_events(graph, run(graph, x, record=("activity",)).activity), dense_macs(graph)
    print(f"synaptic events {events:,} = {events / macs:.3f} of the dense MACs {macs:,}")
    print(f"kernels (sim-int8): {kernels(graphs['sim-int8'], x)}")
    reference = run(graph, x).output
    for name, g in graphs.items():
        out = run(g, x).output
        print(f"{name}: output spikes agree with the float net on {100 * float((out == reference).mean()):.2f}% "
              f"({int(out.sum())} vs {int(reference.sum())} spikes)")  # fmt: skip
    ints = run(graphs["sim-int8"], x).output
    for name in ("int8, float32 convs", "int8, torch neuron loops", "int8, float32 spikes", "int8, int tensors only"):
        assert np.array_equal(ints, implementations[name]().output), f"{name}: kernel paths differ"
    print("sim-int8: every kernel choice above gives identical spikes")
    sparse_inputs(graphs["sim-int8"], args.repeats)


if __name__ == "__main__":
    main()
