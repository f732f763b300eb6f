"""The `snnc` command end to end, run as a user runs it: a subprocess, files in a temp directory.

Each error case checks the contract of ARCHITECTURE §4/§5: the exit code (1 the model fails a
check, 2 bad usage or input), the rule id, no traceback, nothing written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import snnc
from snnc import cli
from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron, serialize

T, B = 5, 2


def _graph(conv_weight: np.ndarray) -> snnc.Graph:
    b = GraphBuilder("tiny")
    x = b.input("x", (2, 6, 6))
    conv = b.add("conv", Conv2d(weight=conv_weight), x, origin="torch.nn.Conv2d")
    lif = b.add("conv.lif", Neuron(threshold=0.5, v_decay=0.9), conv)
    fc = b.add("fc", Linear(weight=np.full((3, 64), 0.05, np.float32)), b.add("flat", Flatten(), lif))
    b.output("out", b.add("fc.lif", Neuron(threshold=0.5), fc))
    return b.build()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Graph and data files by stem: good/corrupt/nan (.snnc), data/wrong_shape/wrong_key/pickled (.npz)."""
    d = tmp_path_factory.mktemp("cli")
    paths = {stem: d / f"{stem}.snnc" for stem in ("good", "corrupt", "nan")}
    weight = np.random.default_rng(0).normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)
    serialize.save(_graph(weight), paths["good"])
    data = paths["good"].read_bytes()
    paths["corrupt"].write_bytes(data[: len(data) // 2])
    weight[0, 0, 1, 1] = np.nan
    serialize.save(_graph(weight), paths["nan"])

    x = (np.random.default_rng(1).random((T, B, 2, 6, 6)) < 0.3).astype(np.uint8)
    arrays = {
        "data": {"x": x},
        "wrong_shape": {"x": x[:, :, :, :4]},
        "wrong_key": {"frames": x, "labels": np.zeros(B)},
        "pickled": {"x": np.array([{"spikes": 1}], dtype=object)},
    }
    for stem, content in arrays.items():
        paths[stem] = d / f"{stem}.npz"
        np.savez(paths[stem], **content)
    paths["missing"] = d / "missing"
    return paths


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "snnc", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_version(tmp_path):
    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"snnc {snnc.__version__}"


def test_help_lists_the_verbs(tmp_path):
    done = run("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "inspect" in done.stdout and "simulate" in done.stdout and "--debug" in done.stdout


@pytest.mark.parametrize("verb", list(cli.VERBS))
def test_the_verb_table_says_what_each_verb_module_says(verb):
    """`snnc --help` lists the verbs from cli.VERBS without importing them; each module's own
    parser must give the same one line."""
    (verbs,) = [a for a in cli._parser(verb)._actions if isinstance(a, argparse._SubParsersAction)]
    assert {a.dest: a.help for a in verbs._choices_actions} == cli.VERBS


HEAVY = {"numpy", "torch", "sinabs", "spikingjelly", "snntorch", "norse", "lava", "nir"}


def _imported(args: list[str], cwd: Path) -> set[str]:
    """Top-level packages that running `snnc *args` imports, in a fresh interpreter."""
    code = (
        "import sys\nfrom snnc import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "print('IMPORTED', ' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("IMPORTED")]
    return {name.split(".")[0] for name in line.split()[1:]}


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(args, tmp_path):
    """They start instantly (issue 16: < 0.3 s, benchmarks/bench_all.py): listing the verbs
    imports neither numpy, torch nor an SNN library."""
    imported = _imported(args, tmp_path)
    assert "snnc" in imported and not imported & HEAVY


def test_inspecting_a_saved_graph_imports_no_torch(files, tmp_path):
    imported = _imported(["inspect", str(files["good"])], tmp_path)
    assert "numpy" in imported and "torch" not in imported


def test_inspect_text(files, tmp_path):
    done = run("inspect", files["good"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "conv.lif" in done.stdout
    assert "graph tiny: 7 nodes" in done.stdout
    assert "input  x: spike[2,6,6]" in done.stdout


def test_inspect_json(files, tmp_path):
    done = run("inspect", files["good"], "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["graph"] == "tiny"
    assert summary["inputs"] == [{"name": "x", "type": "spike[2,6,6]"}]
    assert summary["outputs"] == [{"name": "out", "type": "spike[3]", "source": "fc.lif"}]
    conv = next(n for n in summary["nodes"] if n["name"] == "conv")
    assert conv == {
        "name": "conv",
        "kind": "conv2d",
        "inputs": ["x"],
        "type": "float[4,4,4]",
        "origin": "torch.nn.Conv2d",
        "params": {"weight": [4, 2, 3, 3]},
    }
    assert summary["parameter_count"] == snnc.load(files["good"]).parameter_count()
    assert summary["diagnostics"] == []


NET_MODULE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(2, 4, 3), nn.ReLU())
        self.classifier = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))
"""


def test_inspect_a_pickled_torch_model_names_nodes_by_module_path(tmp_path, monkeypatch):
    import importlib

    import torch

    (tmp_path / "netdef.py").write_text(NET_MODULE)  # importable by the subprocess: it runs in tmp_path
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.save(torch.nn.Sequential(importlib.import_module("netdef").Net()), tmp_path / "model.pt")
    done = run("inspect", "model.pt", "--input-shape", "2,6,6", "--trust-pickle", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("%0.features.0: float[4,4,4] = conv2d", "%0.features.1: float[4,4,4] = relu", "%0.classifier"):
        assert name in done.stdout
    refused = run("inspect", "model.pt", "--input-shape", "2,6,6", cwd=tmp_path)  # netdef.Net: not allowlisted
    assert refused.returncode == 2 and "FE-UNSAFE-PICKLE" in refused.stderr and "Traceback" not in refused.stderr
    missing = run("inspect", "model.pt", "--trust-pickle", cwd=tmp_path)
    assert missing.returncode == 2 and "FE-INPUT-SHAPE" in missing.stderr


def test_simulate_writes_outputs_and_traces(files, tmp_path):
    out = tmp_path / "results" / "out.npz"
    done = run("simulate", files["good"], "--data", files["data"], "-o", out, "--record", "v", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "conv.lif" in done.stdout and "sample 1:" in done.stdout
    with np.load(out) as written:
        assert sorted(written.files) == ["out", "trace/conv.lif/v", "trace/fc.lif/v"]
        assert written["out"].shape == (T, B, 3)
        assert written["trace/conv.lif/v"].shape == (T, B, 4, 4, 4)
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.npz"]  # no temporary file left


def test_simulate_json(files, tmp_path):
    done = run("simulate", files["good"], "--data", files["data"], "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    lif = next(a for a in report["activity"] if a["node"] == "conv.lif")
    assert lif["type"] == "spike[4,4,4]" and len(lif["events_per_sample"]) == B
    assert lif["events"] == sum(lif["events_per_sample"]) and 0 <= lif["rate"] <= 1
    (out,) = report["outputs"]
    assert report["steps"] == T and report["batch"] == B
    assert out["name"] == "out" and out["shape"] == [T, B, 3]
    assert np.array(out["per_neuron"]).shape == (B, 3)
    assert out["per_sample"] == np.array(out["per_neuron"]).sum(axis=1).tolist()


ERRORS = {
    "missing file": (("inspect", "{missing}.snnc"), 2, "IO-NOT-FOUND"),
    "corrupt file": (("inspect", "{corrupt}"), 2, "IO-CORRUPT"),
    "not a graph file": (("inspect", "{data}"), 2, "FE-UNSUPPORTED-SOURCE"),
    "fails verification": (("inspect", "{nan}"), 1, "IR-NONFINITE"),
    "missing data": (("simulate", "{good}", "--data", "{missing}.npz"), 2, "IO-NOT-FOUND"),
    "wrong data shape": (("simulate", "{good}", "--data", "{wrong_shape}"), 2, "SIM-INPUT-SHAPE"),
    "pickled data": (("simulate", "{good}", "--data", "{pickled}"), 2, "CLI-DATA-READ"),
    "wrong data key": (("simulate", "{good}", "--data", "{wrong_key}"), 2, "CLI-DATA-KEY"),
    "verification before simulation": (("simulate", "{nan}", "--data", "{data}"), 1, "IR-NONFINITE"),
}


def _args(template: tuple[str, ...], files: dict[str, Path]) -> list[str]:
    return [arg.format(**files) for arg in template]


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_error_text(case, files, tmp_path):
    template, code, rule = ERRORS[case]
    out = tmp_path / "out.npz"
    extra = ["-o", str(out)] if template[0] == "simulate" else []
    done = run(*_args(template, files), *extra, cwd=tmp_path)
    assert done.returncode == code, done.stderr
    assert rule in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temporary file


@pytest.mark.parametrize("case", ["corrupt file", "fails verification", "wrong data key"])
def test_error_json(case, files, tmp_path):
    template, code, rule = ERRORS[case]
    done = run(*_args(template, files), "--format", "json", cwd=tmp_path)
    assert done.returncode == code
    report = json.loads(done.stdout)
    assert report["exit_code"] == code
    assert rule in [d["rule"] for d in report["diagnostics"]]
    assert all(d["severity"] == "error" and d["message"] for d in report["diagnostics"])


def test_bad_usage_exits_2(files, tmp_path):
    done = run("simulate", files["good"], cwd=tmp_path)  # --data missing
    assert done.returncode == 2 and "--data" in done.stderr and "Traceback" not in done.stderr


def test_debug_shows_the_traceback(files, tmp_path):
    done = run("--debug", "inspect", files["corrupt"], cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" in done.stderr and "IO-CORRUPT" in done.stderr


def test_internal_error_exits_70_without_traceback(files, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(snnc, "load", broken)
    assert cli.main(["inspect", str(files["good"])]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "internal error" in err and "boom" in err and "--debug" in err and "Traceback" not in err


def test_model_options_for_factory_files_static_inputs_and_nir_producers(tmp_path):
    """`path/to/file.py:factory` with --static-input marking the graph's input; --nir-producer is
    one of the libraries (tests/frontend/test_factory.py and tests/integration/test_nir_libraries.py
    cover the rest through the API)."""
    (tmp_path / "net.py").write_text(
        "from torch import nn\ndef build():\n    return nn.Sequential(nn.Linear(4, 3), nn.ReLU())\n"
    )
    done = run("inspect", "net.py:build", "--static-input", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "{static}" in done.stdout
    done = run("inspect", "net.nir", "--nir-producer", "brian2", cwd=tmp_path)
    assert done.returncode == 2 and "invalid choice" in done.stderr
