"""Compile time for Speck of Speck-sized networks, after loading (target: under 1 s).

    python benchmarks/bench_speck_compile.py [--repeat 5]

The networks: the 9-layer network of sinabs' tests/test_dynapcnn/test_large_net.py (2 × 128 × 128
input, every core used; 234 k weights), the 5-layer one of test_auto_mapping.py, and the digits
example (examples/speck_digits.py). Each is loaded once (`snnc.load`, not timed), then compiled
`--repeat` times: the pipeline (folding, pooling scales, linear-to-conv, quantization as sinabs
does), every Speck rule with the Edmonds–Karp placement, and the configuration written to a
temporary directory (JSON, placement report, lowered graph). The table gives the median and the
fastest run of each and the size of the configuration written.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT / "tests" / "backends" / "speck"), str(ROOT / "examples")]

import networks  # noqa: E402  (the golden test networks: sinabs' own test nets)

import snnc  # noqa: E402


def digits() -> torch.nn.Module:
    import speck_digits

    return speck_digits.network()


NETWORKS = {
    "sinabs large_net (9 layers)": (networks.large_net, (2, 128, 128)),
    "sinabs auto_mapping (5 layers)": (networks.auto_mapping, (1, 28, 28)),
    "digits example (3 layers)": (digits, (1, 8, 8)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [("network", "layers", "weights", "median ms", "fastest ms", "JSON kB", "< 1 s")]
    for name, (build, shape) in NETWORKS.items():
        graph = snnc.load(build(), input_shape=shape)
        times = []
        with tempfile.TemporaryDirectory() as out:
            for _ in range(args.repeat):
                start = time.perf_counter()
                compiled = snnc.compile(graph, "speck", out_dir=out)
                times.append(time.perf_counter() - start)
            size = compiled.artefacts["config"].stat().st_size
        layers = sum(d.rule == "SPECK-PLACEMENT" for d in compiled.diagnostics)
        weights = sum(int(n.op.weight.size) for n in compiled.graph if n.op.kind == "conv2d")
        median = statistics.median(times)
        rows.append(
            (name, str(layers), f"{weights:,}", f"{median * 1e3:.0f}", f"{min(times) * 1e3:.0f}", f"{size / 1e3:.0f}",
             "yes" if median < 1 else "NO")
        )  # fmt: skip
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    main()
