"""Integer simulation speed on the standard net, against the float simulator and SpikingJelly.

    python benchmarks/bench_int_sim.py [--repeats N]

Times, in one process and interleaved round by round (so that load from other processes hits
every implementation alike), the nmnist-cnn (examples/nmnist_cnn.py) on the same T=100, B=16
Bernoulli(0.1) spikes: snnc's float `sim.run`, the integer simulation of the graph quantized to
the simulator's 8- and 16-bit formats and to Loihi's, the integer simulation restricted to
integer tensors (no float32-exact kernels), and SpikingJelly's multi-step forward of the float
net. Prints the median of N rounds, the ratios the Passes issue sets as targets (integer vs
float: no slower; integer vs SpikingJelly: at least 2x faster), the kernel each layer ran, the
synaptic events against the dense MACs, and the spike agreement of each quantized graph with the
float one.
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
from snnc.sim import int_ops, run

T, B, P = 100, 16, 0.1


def quantized(graph: Graph, spec: QuantSpec) -> Graph:
    return Quantize(spec)(graph, PassContext())


def integer_tensors_only(graph: Graph, x: np.ndarray) -> Callable[[], object]:
    """The integer run with the float32-exact kernels and carriers switched off."""

    def forward() -> object:
        saved = int_ops.EXACT_FLOAT32
        int_ops.EXACT_FLOAT32 = 0
        try:
            return run(graph, x)
        finally:
            int_ops.EXACT_FLOAT32 = saved

    return forward


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
            kernel = "float32-exact" if bound < int_ops.EXACT_FLOAT32 else "int32" if bound < 2**31 else "int64"
            rows.append(f"{node.name}: |sum| <= {bound} -> {kernel}, output {plan.carriers[node.name]}")
    return "; ".join(rows)


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
        "int8, int tensors only": integer_tensors_only(graphs["sim-int8"], x),
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
    assert np.array_equal(ints, integer_tensors_only(graphs["sim-int8"], x)().output), "kernel paths differ"
    print("sim-int8: float32-exact and integer-tensor kernels give identical spikes")


if __name__ == "__main__":
    main()
