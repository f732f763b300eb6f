"""The command line end to end: snnc compile --target speck writes the configuration, the placement
and memory report and the lowered graph (byte-identical when repeated, nothing on error); snnc
check lists every violation with exit code 1; snnc simulate runs a .speck.json in the event model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

sl = pytest.importorskip("sinabs.layers")


def snnc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snnc", *args], capture_output=True, text=True, cwd=cwd)


def model(channels: int = 8, second: int = 4) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, channels, 3, padding=1, bias=False),
        sl.IAFSqueeze(batch_size=1, min_v_mem=-1.0),
        nn.AvgPool2d(2),
        nn.Conv2d(channels, second, 3, bias=False),
        sl.IAFSqueeze(batch_size=1, min_v_mem=-1.0),
        nn.Flatten(),
        nn.Linear(second * 6 * 6, 5, bias=False),
        sl.IAFSqueeze(batch_size=1, min_v_mem=-1.0),
    )
    net.input_shape = (2, 16, 16)
    return net


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("speck_cli")
    torch.save(model(), d / "small.pt")
    torch.save(model(channels=600, second=40), d / "oversize.pt")  # neurons 600·2^(4+4), kernel 600·2^(4+6) words
    x = (np.random.default_rng(0).random((10, 2, 2, 16, 16)) < 0.3).astype(np.float32)
    np.savez(d / "x.npz", x=x)
    return {"dir": d, "small": d / "small.pt", "oversize": d / "oversize.pt", "data": d / "x.npz"}


def test_compile_writes_the_configuration_the_report_and_the_graph(files):
    out = files["dir"] / "out"
    done = snnc("compile", str(files["small"]), "--target", "speck", "-o", str(out), cwd=files["dir"])
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "Sequential.speck.json",
        "Sequential.speck.snnc",
        "Sequential.speck.txt",
    ]
    config = json.loads((out / "Sequential.speck.json").read_text())
    assert [e["core"] for e in config["placement"]] == [0, 1, 2] and config["chip"] == "speck2f"
    report = (out / "Sequential.speck.txt").read_text()
    assert "fits cores" in report and "3 of 9 cores used" in report
    again = snnc(
        "compile", str(files["small"]), "--target", "speck", "-o", str(files["dir"] / "again"), cwd=files["dir"]
    )
    assert again.returncode == 0
    for name in ("Sequential.speck.json", "Sequential.speck.txt", "Sequential.speck.snnc"):
        assert (out / name).read_bytes() == (files["dir"] / "again" / name).read_bytes(), name
    sim = snnc("simulate", str(out / "Sequential.speck.json"), "--data", str(files["data"]), cwd=files["dir"])
    assert sim.returncode == 0, sim.stderr
    assert "event-driven Speck model" in sim.stdout and "core 2:" in sim.stdout


def test_an_oversize_model_fails_check_with_every_violation_and_compile_writes_nothing(files):
    done = snnc("check", str(files["oversize"]), "--target", "speck", "--format", "json", cwd=files["dir"])
    assert done.returncode == 1, done.stderr
    rules = {d["rule"] for d in json.loads(done.stdout)["diagnostics"] if d["severity"] == "error"}
    assert {"SPECK-MEMORY-KERNEL", "SPECK-MEMORY-NEURON"} <= rules
    out = files["dir"] / "nothing"
    failed = snnc("compile", str(files["oversize"]), "--target", "speck", "-o", str(out), cwd=files["dir"])
    assert failed.returncode == 1 and not out.exists()


def test_the_bandwidth_warning_names_the_core_the_layer_and_the_worst_window(files):
    done = snnc(
        "compile", str(files["small"]), "--target", "speck", "--calib", str(files["data"]),
        "--max-sops-per-core", "1e6", "--format", "json", "-o", str(files["dir"] / "bw"), cwd=files["dir"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = [d for d in json.loads(done.stdout)["diagnostics"] if d["rule"] == "SPECK-BANDWIDTH"]
    assert warnings and all(d["limit"] == 1e6 and d["measured"] > 1e6 for d in warnings)
    assert warnings[0]["message"].startswith("core ") and "worst window, step" in warnings[0]["message"]


def test_a_cropping_mirroring_dvs_layer_from_compile_to_simulate(tmp_path):
    """The report states the DVS layer's region and mirrors; `snnc simulate` takes the sensor-sized
    events the model takes (the file's dvs_layer.input_shape), not only the region."""
    from test_read import cropped

    from snnc.ir import serialize

    serialize.save(cropped(), tmp_path / "cropped.snnc")
    out = tmp_path / "out"
    done = snnc("compile", "cropped.snnc", "--target", "speck", "--dvs-input", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = (out / "cropped.speck.txt").read_text()
    assert "DVS: pooling 2x1, rows 1..6 and columns 2..10 of the pooled map, mirror x, diagonal" in report
    np.savez(tmp_path / "x.npz", x=(np.random.default_rng(0).random((8, 1, 2, 16, 12)) < 0.3).astype(np.float32))
    sim = snnc("simulate", str(out / "cropped.speck.json"), "--data", "x.npz", "--format", "json", cwd=tmp_path)
    assert sim.returncode == 0, sim.stderr
    assert json.loads(sim.stdout)["activity"][0]["type"] == "count[2,16,12]"
