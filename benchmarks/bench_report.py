"""Throughput of the cost report over a 10,000-sample synthetic event data set.

    python benchmarks/bench_report.py [--samples N] [--steps T] [--batch-sizes 128,512] [--device cpu]

The data set: N samples of nmnist-shaped events (2 × 34 × 34, T steps, Bernoulli p = 0.05 per
pixel and step, seeded), generated batch by batch so memory stays bounded. For each batch size,
the same data goes through (1) the plain simulator, `sim.run`, and (2) the report's measurement,
`cost.count` (the simulator with its per-layer observers), followed by `cost.estimate`; the
table gives samples per second and the report's cost relative to simulating alone. The report's
totals are printed as a check that every configuration measured the same thing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

import nmnist_cnn

from snnc import cost
from snnc.driver.report import select_model
from snnc.sim import run

P_EVENT = 0.05


def events(samples: int, steps: int, batch: int, seed: int = 0) -> Iterator[np.ndarray]:
    """The synthetic data set in batches [T, b, 2, 34, 34] uint8; the same samples for every batch size."""
    for start in range(0, samples, batch):
        size = min(batch, samples - start)
        parts = [nmnist_cnn.sample_input(T=steps, B=1, p=P_EVENT, seed=seed + start + k) for k in range(size)]
        yield np.concatenate(parts, axis=1)


def timed(graph, data: list[np.ndarray], device: str) -> tuple[float, float, cost.CostReport]:
    """One report over the whole data set, and the same batches simulated alone, interleaved batch
    by batch (so a change in machine load affects both alike): seconds of each, and the report."""
    seconds = {"sim": 0.0, "report": 0.0}
    began = 0.0

    def feed() -> Iterator[np.ndarray]:
        nonlocal began
        for x in data:
            start = time.perf_counter()
            run(graph, x, device=device)
            seconds["sim"] += time.perf_counter() - start
            began = time.perf_counter()
            yield x  # cost.count simulates and counts it, then calls `counted`

    def counted(samples: int) -> None:
        seconds["report"] += time.perf_counter() - began

    counts = cost.count(graph, feed(), device=device, on_batch=counted)
    start = time.perf_counter()
    report = cost.estimate(counts, select_model("literature"))
    seconds["report"] += time.perf_counter() - start
    return seconds["sim"], seconds["report"], report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-sizes", default="128,512", help="comma-separated")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    graph = nmnist_cnn.build()
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    print(
        f"nmnist-cnn report, {args.samples:,} samples × T={args.steps}, p={P_EVENT}, "
        f"{torch.get_num_threads()} threads, device {args.device}"
    )
    columns = ("batch", "sim s", "sim samples/s", "report s", "report samples/s", "report/sim")
    print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (6, 8, 14, 9, 17, 11))))
    totals = set()
    for batch in sizes:
        data = list(events(args.samples, args.steps, batch))  # generated outside the timed parts
        run(graph, data[0], device=args.device)  # warm-up
        sim_s, report_s, report = timed(graph, data, args.device)
        n = args.samples
        ratio = report_s / sim_s
        print(f"{batch:6d} {sim_s:8.2f} {n / sim_s:14.1f} {report_s:9.2f} {n / report_s:17.1f} {ratio:10.2f}x")
        totals.add((report.samples, report.total["sops"], report.total["energy_pj"]))
        del data
    start = time.perf_counter()
    html_path = Path("out") / "bench_report.html"
    html_path.parent.mkdir(exist_ok=True)
    report.to_html(html_path)
    print(f"HTML report with plots: {time.perf_counter() - start:.2f} s ({html_path})")
    assert len(totals) == 1, f"batch sizes disagree: {totals}"
    _, sops, energy = next(iter(totals))
    print(f"per sample: {sops:,.0f} SOPs, {energy / 1e6:,.3f} µJ (literature model); identical for every batch size")


if __name__ == "__main__":
    main()
