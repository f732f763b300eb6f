"""Event-driven against dense convolution: the cost model's constants, fitted and checked.

    python benchmarks/bench_event_driven.py [--repeats N]

Times, on convolution layers of SNNs (nmnist-cnn's two, 3×3 layers of a DVS-gesture-sized net,
a strided and a depthwise one) and a sweep of input densities, the three exact kernels the
integer simulator chooses between: oneDNN's int8 convolution, its float32 one (weights wider
than 8 bits), and snnc's event-driven scatter (snnc/sim/event_driven.py). Fits the cost model
(dense: per output and per multiply-accumulate; event-driven: per event, per value added and per
input byte scanned) by least squares, prints the fitted constants beside the ones
event_driven.py uses, the crossover density of each layer, and how often the model picks the
faster kernel. Every kernel's sums are checked equal.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parents[1]))

from snnc.ir.ops import Conv2d
from snnc.sim import event_driven
from snnc.sim.event_driven import EventConv
from snnc.sim.int8_conv import Int8Conv2d

SAMPLES = 192  # a window of 12 steps of a batch of 16, as the simulator runs nmnist-cnn
OUTPUT_BYTES = 16 << 20  # fewer samples where the outputs would be larger (see `samples`)
DENSITIES = (0.002, 0.01, 0.03, 0.1)
# (name, C, H, O, kernel, stride, padding, groups, largest input value)
LAYERS = (
    ("nmnist conv1", 2, 34, 12, 5, 1, 0, 1, 1),
    ("nmnist conv2", 12, 15, 32, 5, 1, 0, 1, 4),
    ("gesture 3x3", 2, 64, 16, 3, 1, 1, 1, 1),
    ("3x3 16->32", 16, 32, 32, 3, 1, 1, 1, 1),
    ("3x3 s2 32->64", 32, 16, 64, 3, 2, 1, 1, 1),
    ("depthwise 32", 32, 16, 32, 3, 1, 1, 32, 1),
)


def samples(channels: int, size: int) -> int:
    """SAMPLES, or fewer where their float32 outputs would pass OUTPUT_BYTES: larger blocks are
    fresh pages from the kernel on every call (glibc's mmap threshold is at most 32 MiB), whose
    first touches then cost more than either kernel (both kernels pay them in a simulation, whose
    windows the engine sizes to its memory budget)."""
    return max(1, min(SAMPLES, OUTPUT_BYTES // (channels * size * size * 4)))


def fastest_seconds(kernels: Mapping[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Each kernel's fastest of `repeats` calls, the kernels called in turn within each round so
    that load from other processes falls on all of them alike; the fastest call is each kernel's
    own cost with the least of that load."""
    times: dict[str, list[float]] = {name: [] for name in kernels}
    for _ in range(repeats + 1):  # the first round warms up
        for name, fn in kernels.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(ts[1:]) for name, ts in times.items()}


def measure(op: Conv2d, x: torch.Tensor, repeats: int) -> tuple[dict, dict, dict]:
    """The model's features, each kernel's time and the model's choice against each dense kernel."""
    int8, events = Int8Conv2d(op), EventConv(op)
    w32 = torch.tensor(op.weight, dtype=torch.float32)

    def dense_f32() -> torch.Tensor:
        return F.conv2d(x.float(), w32, None, op.stride, op.padding, op.dilation, op.groups)

    reference = dense_f32()
    assert torch.equal(int8(x), reference) and torch.equal(events(x, "int8"), reference)
    kernels = {"int8": lambda: int8(x), "float32": dense_f32, "event": lambda: events(x, "int8")}
    seconds = fastest_seconds(kernels, repeats)
    n_events, (runs, adds) = int(x.count_nonzero()), events.work_per_event()
    outputs = reference.numel()
    features = {
        "outputs": outputs,
        "macs": outputs * op.weight[0].size,
        "events": n_events,
        "runs": n_events * runs,
        "adds": n_events * adds,
        "bytes": x.numel(),
    }
    return features, seconds, {kernel: events.worth(x, n_events, kernel) for kernel in ("int8", "float32")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []  # (features, seconds per kernel, the model's choice against each dense kernel)
    print(f"{torch.get_num_threads()} torch threads, fastest of {args.repeats} interleaved calls")
    print(f"{'layer':14} {'samples':>7} {'density':>7} {'int8 ms':>8} {'f32 ms':>8} {'event ms':>9}  model picks")
    for name, c, h, o, k, stride, padding, groups, top in LAYERS:
        weight = rng.integers(-8, 9, (o, c // groups, k, k))
        op = Conv2d(weight=weight, stride=(stride, stride), padding=(padding, padding), groups=groups)
        for density in DENSITIES:
            n = samples(o, h // stride)
            values = rng.integers(1, top + 1, (n, c, h, h)) * (rng.random((n, c, h, h)) < density)
            row = measure(op, torch.from_numpy(values.astype(np.uint8)), args.repeats)
            rows.append(row)
            seconds, picks = row[1], row[2]
            choice = ", ".join(f"{kernel}: {'event' if p else 'dense'}" for kernel, p in picks.items())
            print(
                f"{name:14} {n:7} {density:7.3f} {seconds['int8'] * 1e3:8.3f} {seconds['float32'] * 1e3:8.3f} "
                f"{seconds['event'] * 1e3:9.3f}  {choice}"
            )
    fit(rows)


def fit(rows: list) -> None:
    """Least-squares constants (relative error: each time weighs alike) and the model's record."""

    def solve(columns: list[str], kernel: str) -> np.ndarray:
        a = np.array([[f[col] for col in columns] for f, _, _ in rows], float)
        t = np.array([s[kernel] for _, s, _ in rows])
        coefficients, *_ = np.linalg.lstsq(a / t[:, None], np.ones(len(t)), rcond=None)
        return coefficients

    threads = torch.get_num_threads()
    print(f"\nfitted (seconds; dense at {threads} threads, scaled to one core) and event_driven.py's:")
    for kernel in ("int8", "float32"):
        per_output, per_mac = solve(["outputs", "macs"], kernel) * threads
        print(
            f"  dense {kernel:7}: per output {per_output:.3g} (uses {event_driven.DENSE_PER_OUTPUT[kernel]:.3g}), "
            f"per MAC {per_mac:.3g} (uses {event_driven.DENSE_PER_MAC[kernel]:.3g})"
        )
    fitted = solve(["events", "runs", "adds", "bytes", "outputs"], "event")
    used = (
        event_driven.EVENT_FIXED,
        event_driven.EVENT_PER_RUN,
        event_driven.EVENT_PER_ADD,
        event_driven.SCAN_PER_BYTE,
        event_driven.ZERO_PER_OUTPUT,
    )
    terms = ("per event", "per run", "per add", "per byte scanned", "per output zeroed")
    print("  event-driven : " + ", ".join(f"{t} {f:.3g} (uses {u:.3g})" for t, f, u in zip(terms, fitted, used)))
    for kernel in ("int8", "float32"):
        right = sum((s["event"] < s[kernel]) == picks[kernel] for _, s, picks in rows)
        lost = [
            max(s["event"], s[kernel]) / min(s["event"], s[kernel])
            for _, s, picks in rows
            if (s["event"] < s[kernel]) != picks[kernel]
        ]
        worst = f"; where wrong, the slower kernel took up to {max(lost):.2f}x the faster" if lost else ""
        print(f"  against {kernel}: the model picks the faster kernel in {right} of {len(rows)} cases{worst}")


if __name__ == "__main__":
    main()
