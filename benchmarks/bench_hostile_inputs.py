"""What each hostile input costs snnc before it is refused: exit code, rule, wall time, peak memory.

    python benchmarks/bench_hostile_inputs.py

Builds the hostile files of tests/security/hostile.py (and the audit's cases: a pickle calling
`Linear(30000, 30000)`, a stride-0 parameter of 10⁹×8, a 2 KB `.snnc` with `Delay(steps=10¹²)`,
a padding of 30 000 or an input of 2×100 000×100 000, `--input-shape 2,100000,100000` on a small
model, an `.npz` whose header declares 172 GiB, NIR files pointing at local files) and runs
the `snnc` command on each in a fresh process, as a user would. Prints one row per case: the
exit code, the first rule reported, the seconds and the child's peak resident memory. The first
row is a valid tiny model: most of every row's time and memory is Python, torch and the SNN
libraries being imported.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests" / "security"))

import hostile  # noqa: E402  (tests/security/hostile.py: the builders the tests use)

from snnc.ir.serialize import save  # noqa: E402


def run(argv: list[str], cwd: Path) -> tuple[int, str, float, int]:
    """Exit code, first error rule, seconds and the child's own peak RSS (tests/security/hostile.py)."""
    code, stderr, rss, seconds = hostile.run_cli(*argv, cwd=cwd)
    rule = next((line.split()[1].rstrip(":") for line in stderr.splitlines() if line.startswith("error: ")), "-")
    return code, rule, seconds, rss


def cases(d: Path) -> dict[str, Callable[[], list[str]]]:
    marker = d / "marker"
    np.savez(d / "x.npz", x=np.zeros((2, 1, 4), np.float32))

    def pickle_case(payload: bytes) -> Callable[[], list[str]]:
        return lambda: ["inspect", str(hostile.checkpoint(d / "evil.pt", payload))]

    def graph_case(name: str) -> Callable[[], list[str]]:
        def build() -> list[str]:
            save(hostile.huge_graphs()[name], d / "g.snnc")
            return ["simulate", str(d / "g.snnc"), "--data", str(d / "x.npz")]

        return build

    def small_model(shape: str) -> Callable[[], list[str]]:
        def build() -> list[str]:
            torch.save(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten()), d / "small.pt")
            return ["inspect", str(d / "small.pt"), "--input-shape", shape]

        return build

    def external_nir() -> list[str]:
        return ["export", str(hostile.nir_reading_outside(d, "external storage")), "-o", str(d / "out.nir")]

    def lying_npz() -> list[str]:
        save(hostile.huge_graphs()["(control: a small graph)"], d / "ok.snnc")
        return ["simulate", str(d / "ok.snnc"), "--data", str(hostile.lying_npz(d / "lie.npz"))]

    chained = hostile.chained_payloads(marker)
    popen = next(p for name, p in chained.items() if name.startswith("subprocess") and "STACK" not in name)
    return {
        "(control) valid tiny model: inspect": small_model("2,6,6"),
        "pickle: attribute chain to subprocess.Popen": pickle_case(popen),
        "pickle: class under a trusted prefix (setstate unpickles)": pickle_case(hostile.prefix_payload(marker)),
        "pickle: REDUCE Linear(30000, 30000)": pickle_case(hostile.linear_reduce(30000, 30000)),
        "pickle: stride-0 parameter 1e9 x 8": lambda: ["inspect", str(hostile.expanded_parameter_model(d / "p.pt"))],
        "pickle: list nested 100000 deep": lambda: [
            "inspect",
            str(hostile.nested_model(d / "n.pt")),
            "--input-shape",
            "2",
        ],
        ".snnc: Delay(steps=10**12)": graph_case("Delay(steps=10**12)"),
        ".snnc: conv padding 30000": graph_case("conv padding 30000"),
        ".snnc: input [2, 100000, 100000]": graph_case("input [2, 100000, 100000]"),
        "--input-shape 2,100000,100000 on a small model": small_model("2,100000,100000"),
        ".npz: header declares 172 GiB": lying_npz,
        "NIR: HDF5 external storage -> a local file": external_nir,
    }


def in_process(argv: list[str]) -> float:
    """Seconds `snnc ARGV` takes in this process, whose imports are done: the refusal itself."""
    from snnc import cli

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        start = time.perf_counter()
        cli.main(argv)
        return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rows = [("case", "exit", "rule", "s (new process)", "peak RSS", "s (imports done)")]
        for name, build in cases(d).items():
            argv = build()
            code, rule, seconds, rss = run(argv, d)
            warm = in_process(argv)
            rows.append((name, str(code), rule, f"{seconds:.1f}", f"{rss / 2**20:.0f} MiB", f"{warm:.3f}"))
        assert not (d / "marker").exists(), "a payload ran"
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) if k < 3 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths))))


if __name__ == "__main__":
    main()
