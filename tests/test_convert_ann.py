"""ANN → SNN conversion on sklearn's bundled digits (8×8 images, 10 classes; no download): an MLP
and a CNN with BatchNorm are trained here, converted, and the SNN's accuracy at T = 64 must stay
within 2 percentage points of the ANN's (measured and printed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc.diagnostics import SnncError

pytest.importorskip("sklearn")
from sklearn.datasets import load_digits

STEPS = (8, 16, 32, 64)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x, y = (data.data / 16.0).astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    return x[train], y[train], x[test], y[test]


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int) -> nn.Module:
    torch.manual_seed(0)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        for start in range(0, len(x), 100):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[start : start + 100]), yt[start : start + 100]).backward()
            opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def mlp(digits):
    x, y, _, _ = digits
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    return _train(model, x, y, epochs=40)


@pytest.fixture(scope="module")
def cnn_onnx(digits, tmp_path_factory):
    """A CNN with BatchNorm, exported to ONNX with the BatchNormalization node kept."""
    x, y, _, _ = digits
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )
    _train(model, x.reshape(-1, 1, 8, 8), y, epochs=25)
    path = tmp_path_factory.mktemp("cnn") / "cnn.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False, do_constant_folding=False)
    return path


def _report(name: str, accuracy) -> None:
    snn = "  ".join(f"T={t}: {a:.2%}" for t, a in accuracy.snn.items())
    print(f"\n{name}: ANN {accuracy.ann:.2%} | SNN {snn} ({accuracy.samples} test digits)")


@pytest.mark.parametrize("encoding", ["current", "rate"])
def test_mlp_converts_within_two_points(digits, mlp, encoding):
    x, _, x_test, y_test = digits
    conversion = snnc.convert(mlp, x[:500], encoding=encoding)
    accuracy = conversion.accuracy(x_test, y_test, STEPS)
    _report(f"digits MLP, {encoding} input", accuracy)
    assert accuracy.ann > 0.95
    assert accuracy.snn[64] >= accuracy.ann - 0.02


def test_cnn_from_onnx_with_batchnorm_converts_within_two_points(digits, cnn_onnx):
    x, _, x_test, y_test = digits
    ann = snnc.load(cnn_onnx)
    assert any(n.op.kind == "batchnorm" for n in ann.nodes)
    conversion = snnc.convert(ann, x[:500].reshape(-1, 1, 8, 8))
    assert not any(n.op.kind == "batchnorm" for n in conversion.graph.nodes)  # folded by fold-bn first
    assert conversion.diagnostics == []
    accuracy = conversion.accuracy(x_test.reshape(-1, 1, 8, 8), y_test, STEPS)
    _report("digits CNN from ONNX", accuracy)
    assert accuracy.ann > 0.93
    assert accuracy.snn[64] >= accuracy.ann - 0.02


def test_max_percentile_sets_thresholds_to_the_largest_activation(digits, mlp):
    x = digits[0][:200]
    p999, p100 = snnc.convert(mlp, x), snnc.convert(mlp, x, percentile=100)
    ann = p100.ann
    traces = snnc.simulate(ann, x[None], record=[f"{r}:out" for r in p100.scales]).traces
    for relu, scale in p100.scales.items():
        assert scale == pytest.approx(float(traces[relu]["out"].max()))
        assert p999.scales[relu] <= scale
        assert p100.graph.node(relu).op.threshold.item() == pytest.approx(scale)


def test_bad_options_and_data_get_diagnostics(digits, mlp):
    x = digits[0][:50]
    cases = [
        (lambda: snnc.convert(mlp, x, percentile=0), "CONVERT-OPTION"),
        (lambda: snnc.convert(mlp, x, encoding="latency"), "CONVERT-OPTION"),
        (lambda: snnc.convert(mlp, x.reshape(-1, 8, 8)), "CONVERT-CALIB"),
        (lambda: snnc.convert(mlp, x - 0.5, encoding="rate"), "CONVERT-CALIB"),
        (lambda: snnc.convert(mlp, x).accuracy(x, np.zeros(3), STEPS), "CONVERT-CALIB"),
    ]
    for call, rule in cases:
        with pytest.raises(SnncError) as e:
            call()
        assert [d.rule for d in e.value.diagnostics] == [rule]


def test_a_layer_that_never_fires_is_reported(digits):
    model = nn.Sequential(nn.Linear(64, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    with torch.no_grad():
        model[0].bias.fill_(-100.0)
    conversion = snnc.convert(model, digits[0][:20])
    assert [(d.rule, d.node) for d in conversion.diagnostics] == [("CONVERT-DEAD-LAYER", "1")]


def test_cli_convert_writes_the_snn_and_reports_accuracy(digits, cnn_onnx, tmp_path, capsys):
    from snnc.cli import main

    x, _, x_test, y_test = digits
    np.savez(tmp_path / "calib.npz", x=x[:300].reshape(-1, 1, 8, 8))
    np.savez(tmp_path / "test.npz", x=x_test.reshape(-1, 1, 8, 8), y=y_test)
    argv = ["convert", str(cnn_onnx), "--calib", str(tmp_path / "calib.npz"), "-o", str(tmp_path / "snn.snnc")]
    assert main([*argv, "--eval", str(tmp_path / "test.npz"), "--steps", "64"]) == 0
    out = capsys.readouterr().out
    assert "SNN T=64" in out and "SNN T=8 " in out and "ANN" in out
    assert any(isinstance(n.op, snnc.ir.Neuron) for n in snnc.load(tmp_path / "snn.snnc").nodes)
    assert main([*argv, "--format", "json", "--percentile", "99"]) == 0
    assert '"thresholds"' in capsys.readouterr().out
    assert main([*argv, "--percentile", "120"]) == 2
