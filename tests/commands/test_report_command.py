"""`snnc report` as a user runs it: the shipped example's table, JSON and HTML, batching, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnc
from snnc import cli

ROOT = Path(__file__).parents[2]
MODEL = ROOT / "examples" / "nmnist_cnn.snnc"
DATA = ROOT / "examples" / "nmnist_sample.npz"


def test_text_table_and_html_end_to_end(tmp_path):
    out = tmp_path / "report.html"
    done = subprocess.run(
        [sys.executable, "-m", "snnc", "report", str(MODEL), "--data", str(DATA), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("layer"))
    assert all(column in header for column in ("events in", "SOPs", "MACs", "fire rate", "energy pJ"))
    expected = snnc.report(MODEL, np.load(DATA)["x"])
    total = next(line for line in lines if line.startswith("total"))
    assert f"{expected.total['sops']:,.0f}" in total and f"{expected.total['energy_pj']:,.0f}" in total
    assert any(line.startswith("ANN equivalent") for line in lines)
    assert any(line.startswith("time-step profile") for line in lines)
    assert out.read_text(encoding="utf-8").count("data:image/png;base64,") == 3
    assert f"wrote {out}" in done.stderr and "Traceback" not in done.stderr


def test_json_matches_the_api_and_batching_changes_nothing(capsys):
    assert cli.main(["report", str(MODEL), "--data", str(DATA), "--format", "json", "--batch-size", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = snnc.report(MODEL, np.load(DATA)["x"]).to_dict()
    assert data.pop("written") is None
    assert data == json.loads(json.dumps(expected))


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--model", "memory"], "memory-aware"),
        (["--model", "target", "--target", "loihi"], "Loihi"),
        (["--model", "target", "--target", "speck", "--step-time", "1e-3"], "plus static"),
        (["--target", "loihi"], "Loihi"),  # a chip given: its own model unless --model says otherwise
        (["--target", "loihi", "--model", "literature"], "Horowitz"),
    ],
)
def test_models(capsys, args, text):
    assert cli.main(["report", str(MODEL), "--data", str(DATA), *args]) == 0
    assert text in capsys.readouterr().out


def test_html_format_to_stdout(capsys):
    assert cli.main(["report", str(MODEL), "--data", str(DATA), "--format", "html"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>") and out.count("<img ") == 3


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (["--model", "target"], "COST-MODEL"),
        (["--data", "missing.npz"], "IO-NOT-FOUND"),
    ],
)
def test_errors_are_diagnostics(capsys, args, rule):
    argv = ["report", str(MODEL), "--data", str(DATA), *args] if args[0] != "--data" else ["report", str(MODEL), *args]
    assert cli.main(argv) == 2
    assert rule in capsys.readouterr().err


def test_bad_usage_exits_2(capsys):
    for bad in (["--batch-size", "0"], ["--target", "truenorth"], ["--format", "pdf"]):
        with pytest.raises(SystemExit) as e:
            cli.main(["report", str(MODEL), "--data", str(DATA), *bad])
        assert e.value.code == 2
    capsys.readouterr()


def test_unwritable_output_leaves_nothing(tmp_path, capsys):
    (tmp_path / "no").write_text("a file where the directory should be")
    target = tmp_path / "no" / "report.html"
    assert cli.main(["report", str(MODEL), "--data", str(DATA), "-o", str(target)]) == 2
    assert "COST-REPORT-WRITE" in capsys.readouterr().err and sorted(tmp_path.iterdir()) == [tmp_path / "no"]


@pytest.mark.parametrize("verb", ["report", "validate"])
def test_uncompressed_data_is_streamed_with_the_same_result(tmp_path, capsys, verb):
    """An uncompressed .npz is read batch by batch (snnc/stored.py), a compressed one whole: the same
    JSON; the throughput goes to stderr."""
    x = np.load(DATA)["x"]
    np.savez(tmp_path / "plain.npz", x=x)
    np.savez_compressed(tmp_path / "packed.npz", x=x)
    extra = ["--target", "sim"] if verb == "validate" else []
    outputs = []
    for name in ("plain.npz", "packed.npz"):
        argv = [verb, str(MODEL), "--data", str(tmp_path / name), "--format", "json", "--batch-size", "3", *extra]
        assert cli.main(argv) == 0
        captured = capsys.readouterr()
        outputs.append(json.loads(captured.out))
        assert "samples in" in captured.err and "samples/s" in captured.err
    assert outputs[0] == outputs[1]
