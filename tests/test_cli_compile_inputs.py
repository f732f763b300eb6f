"""`snnc compile` / `snnc check` with a real-valued input: --input-range and --calib choose the
input's format (or [0, 1] is assumed, with a warning), a bad range exits 2, and `snnc simulate`
on the compiled .snnc takes float data (quantized as the graph defines) or its integers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnc import cli
from snnc.ir import FLOAT, Conv2d, Flatten, GraphBuilder, Linear, Neuron, serialize


@pytest.fixture
def model(tmp_path, monkeypatch):
    """conv 4@3×3 → IF → flatten → fc 3 → IF on a float 1×6×6 input, saved as model.snnc."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    b = GraphBuilder("real")
    conv = b.add("conv", Conv2d(rng.normal(0, 0.5, (4, 1, 3, 3)).astype(np.float32)), b.input("x", (1, 6, 6), FLOAT))
    flat = b.add("flat", Flatten(), b.add("if1", Neuron(threshold=1.0), conv))
    fc = b.add("fc", Linear(rng.normal(0, 0.5, (3, 64)).astype(np.float32)), flat)
    b.output("out", b.add("if2", Neuron(threshold=1.0), fc))
    serialize.save(b.build(), tmp_path / "model.snnc")
    x = rng.uniform(-0.5, 1.5, (10, 2, 1, 6, 6)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    return x


def call(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(args))
    except SystemExit as e:  # argparse refusing an option
        code = int(e.code)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_the_input_range_option_or_an_assumed_range(model, capsys):
    code, out, _ = call(capsys, "compile", "model.snnc", "--target", "sim", "--input-range=-0.5,1.5", "-o", "a")
    assert code == 0 and f"s8 input, scale {127 / 1.5:.6g} for the range [-0.5, 1.5] (declared)" in out
    assert "QUANT-INPUT-RANGE" not in out
    code, out, _ = call(capsys, "compile", "model.snnc", "--target", "sim", "-o", "b")
    assert code == 0 and "warning: QUANT-INPUT-RANGE [x]" in out and "(assumed)" in out
    code, _, err = call(capsys, "compile", "model.snnc", "--target", "sim", "--input-range", "1,0")
    assert code == 2 and "LO must be below HI" in err


def test_check_with_calibration_data(model, capsys):
    code, out, _ = call(capsys, "check", "model.snnc", "--target", "sim", "--calib", "x.npz", "--format", "json")
    assert code == 0
    found = json.loads(out)["diagnostics"]
    (loss,) = [d for d in found if d["rule"] == "QUANT-LOSS" and d["node"] == "x"]
    assert "s8 input" in loss["message"] and "(of the calibration data)" in loss["message"]
    assert not [d for d in found if d["rule"] == "QUANT-INPUT-RANGE"]


def test_simulate_takes_float_data_or_the_inputs_integers(model, tmp_path, capsys):
    assert call(capsys, "compile", "model.snnc", "--target", "sim", "--calib", "x.npz", "-o", "out")[0] == 0
    compiled = tmp_path / "out" / "real.sim.snnc"
    fmt = serialize.load(compiled).node("x").op.format
    np.savez(tmp_path / "q.npz", x=fmt.encode(model).astype(np.int8))
    for data, result in (("x.npz", "from_float.npz"), ("q.npz", "from_int.npz")):
        assert call(capsys, "simulate", str(compiled), "--data", data, "-o", result)[0] == 0
    with np.load(tmp_path / "from_float.npz") as a, np.load(tmp_path / "from_int.npz") as b:
        assert a["out"].sum() > 0 and np.array_equal(a["out"], b["out"])
