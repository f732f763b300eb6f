"""Every reader survives seeded mutations of valid files: exit code 0, 1 or 2, never 70.

One worker process (tests/security/fuzz.py) builds a valid file per reader, mutates it (bit
flips, byte overwrites, truncations, splices, edits of the format's own header or members with
checksums fixed), and runs the `snnc` command on each mutant under an address-space cap. For
every case that fails, the test asserts what a user must see: exit code 1 or 2, a diagnostic on
stderr, no traceback, no output file and no temporary file left; and for every case: bounded
time, and no allocation past the cap (which would surface as an internal error). The seed and the
number of cases per reader can be raised for a longer run: SNNC_FUZZ_SEED, SNNC_FUZZ_CASES.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import snnc

READERS = ("pt", "nir", "nir-sidecar", "onnx", "snnc", "snnc-export", "npz")
CASES = int(os.environ.get("SNNC_FUZZ_CASES", "30"))
SEED = int(os.environ.get("SNNC_FUZZ_SEED", "20261123"))
CASE_SECONDS = 15  # a damaged NIR file may take HDF5 the reader's 10 s time limit (snnc/nir/hdf5.py)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, list[dict]]:
    work = tmp_path_factory.mktemp("fuzz")
    worker = Path(__file__).with_name("fuzz.py")
    done = subprocess.run(
        [sys.executable, str(worker), *READERS, "--cases", str(CASES), "--seed", str(SEED), "--dir", str(work)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(snnc.__file__).parents[1])},
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    by_reader: dict[str, list[dict]] = {r: [] for r in READERS}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        by_reader[record["reader"]].append(record)
    return by_reader


@pytest.mark.parametrize("reader", READERS)
def test_mutants_end_in_diagnostics(results, reader):
    records = results[reader]
    (baseline,) = [r for r in records if r["case"] == "baseline"]
    assert baseline["exit"] == 0 and baseline["written"], baseline["stderr"]  # the seed itself is valid
    cases = [r for r in records if isinstance(r["case"], int) and "exit" in r]
    assert len(cases) >= 0.9 * CASES
    for case in cases:
        where = f"{reader} case {case['case']} ({case['mutator']}, sha {case['sha']}): {case['stderr'][-500:]}"
        assert case["exit"] in (0, 1, 2), where
        assert "Traceback" not in case["stderr"] and "internal error" not in case["stderr"], where
        assert not case["temporaries"], where
        assert case["seconds"] < CASE_SECONDS, where
        if case["exit"]:
            assert "error: " in case["stderr"] and not case["written"], where
    outcomes = Counter(_first_rule(c["stderr"]) if c["exit"] else "ok" for c in cases)
    assert len(outcomes) >= 2, outcomes  # the mutants reach more than one check
    (peak,) = [r["peak_rss"] for r in records if r["case"] == "peak"]
    assert peak < 2 << 30


def _first_rule(stderr: str) -> str:
    line = next((ln for ln in stderr.splitlines() if ln.startswith("error: ")), "error: ?")
    return line.split()[1].rstrip(":")
