"""A SpikingJelly conv net fed real-valued images, compiled for the sim target at 8 and 16 bits:
the input quantized from calibration data, BatchNorm folded, every layer in integers; the integer
simulation against the float one on the same images (bounds measured and stated below), and the
same through the command line (`snnc compile --calib`, then `snnc simulate` on the .snnc)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("spikingjelly")
pytest.importorskip("sklearn")
from sklearn.datasets import load_digits
from spikingjelly.activation_based import functional, layer, neuron

import snnc
from snnc import cli
from snnc.frontend.spikingjelly import import_sew_resnet
from snnc.ir import Int

STEPS = 16


def sj_net(seed: int = 0) -> nn.Module:
    """conv-BN-IF, max pool, conv-BN-LIF, max pool, linear-IF on 1×8×8 digits (multi-step), with
    random non-trivial BatchNorm statistics and weights scaled so that every layer fires."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Conv2d(1, 8, 3, padding=1),
        layer.BatchNorm2d(8),
        neuron.IFNode(),
        layer.MaxPool2d(2),
        layer.Conv2d(8, 16, 3, padding=1, bias=False),
        layer.BatchNorm2d(16),
        neuron.LIFNode(tau=2.0),
        layer.MaxPool2d(2),
        layer.Flatten(),
        layer.Linear(64, 10),
        neuron.IFNode(),
    )
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, layer.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(0.0, 0.3)
            elif isinstance(m, (layer.Conv2d, layer.Linear)):
                m.weight.mul_(3.0)
    return net.eval()


@pytest.fixture(scope="module")
def images() -> tuple[np.ndarray, np.ndarray]:
    """Calibration and test input [T, B, 1, 8, 8]: sklearn's digits in [0, 1], the same frame
    every step (direct encoding)."""
    x = (load_digits().data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    frames = [np.broadcast_to(part, (STEPS, *part.shape)).copy() for part in (x[:32], x[200:264])]
    return frames[0], frames[1]


# Over seeds 0-4 of `sj_net` (64 test digits, T=16; layer firing rates 4-36%), the fraction of
# equal output spikes, float vs integer: sim-int8 0.863 to 0.947 (the conv layers agree on
# 96-99%; the last IF layer integrates their differences), sim-int16 0.9972 to 0.9993. The mean
# |difference| of the output spike counts per neuron over T (counts of 0 to 16): sim-int8 0.18
# to 0.49, sim-int16 0.0016 to 0.0125. Bounds: the worst seed's figures, rounded by about one
# percent (of the disagreement; of the count difference, up).
BOUNDS = {8: (0.862, 0.49), 16: (0.997, 0.0127)}


@pytest.mark.parametrize("bits", [8, 16])
def test_a_spikingjelly_cnn_on_real_images_compiles_and_agrees(images, bits):
    calib, x = images
    graph = snnc.load(sj_net(0), input_shape=(1, 8, 8))
    compiled = snnc.compile(graph, "sim", bits=bits, calib=calib)
    quantized = compiled.graph
    fmt = quantized.node(quantized.inputs[0].name).op.format
    assert quantized.inputs[0].type.dtype == Int(bits, signed=False) and fmt.scale == pytest.approx(2**bits - 1)
    assert not any(n.op.kind == "batchnorm" for n in quantized)
    expected, got = snnc.simulate(graph, x).output, compiled.simulate(x).output
    agree = float((expected == got).mean())
    count_error = float(np.abs(expected.sum(0).astype(np.int64) - got.sum(0).astype(np.int64)).mean())
    print(f"\nsim-int{bits}: output spikes agree {agree:.4f}, mean |count difference| {count_error:.3f}")
    assert agree >= BOUNDS[bits][0] and count_error <= BOUNDS[bits][1]


def test_cli_compile_with_calibration_then_simulate_the_snnc(images, tmp_path, monkeypatch, capsys):
    calib, x = images
    monkeypatch.chdir(tmp_path)
    torch.save(sj_net(0), tmp_path / "model.pt")
    np.savez(tmp_path / "calib.npz", x=calib)
    np.savez(tmp_path / "x.npz", x=x)
    argv = ["compile", "model.pt", "--input-shape", "1,8,8", "--target", "sim", "--calib", "calib.npz", "-o", "out"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "QUANT-LOSS [input]: input: u8 input, scale 255" in out and "(of the calibration data)" in out
    written = tmp_path / "out" / "Sequential.sim.snnc"
    assert cli.main(["simulate", str(written), "--data", "x.npz", "-o", "result.npz"]) == 0
    capsys.readouterr()
    with np.load(tmp_path / "result.npz") as result:
        from_cli = result["output"]
    # the .snnc takes the float images and quantizes them as the compiled graph defines
    compiled = snnc.compile(snnc.load(tmp_path / "model.pt", input_shape=(1, 8, 8)), "sim", calib=calib)
    assert np.array_equal(from_cli, compiled.simulate(x).output)


def avgpool_csnn(seed: int = 0) -> nn.Module:
    """SpikingJelly's CSNN shape with average pooling: conv-IF, avgpool, conv-LIF, avgpool,
    linear-IF (multi-step), weights in multiples of 1/8 so that every float sum is exact."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        layer.Conv2d(1, 8, 3, padding=1, bias=False),
        neuron.IFNode(),
        layer.AvgPool2d(2),
        layer.Conv2d(8, 8, 3, padding=1, bias=False),
        neuron.LIFNode(tau=2.0),
        layer.AvgPool2d(2),
        layer.Flatten(),
        layer.Linear(32, 10, bias=False),
        neuron.IFNode(),
    )
    functional.set_step_mode(net, "m")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (layer.Conv2d, layer.Linear)):
                m.weight.copy_(torch.randint(-8, 12, m.weight.shape) / 8)
    return net.eval()


def test_a_csnn_with_average_pooling_compiles_for_sim(images):
    """The sim pipeline lowers each average pool to a sum pool and absorbs its 1/4 into the next
    layer's weights: exact here (dyadic weights, a power-of-two area), so the lowered float graph
    spikes exactly as the model, and the integer graph holds no average pool."""
    from snnc.passes.absorb_scale import AbsorbScale
    from snnc.passes.avgpool_to_sumpool import AvgpoolToSumpool
    from snnc.passes.base import PassContext, run_passes

    _, x = images
    x = (x > 0.5).astype(np.float32)  # spikes: every sum below is exact in float32
    graph = snnc.load(avgpool_csnn(), input_shape=(1, 8, 8), input_dtype="spike")
    lowered = run_passes(graph, [AvgpoolToSumpool(), AbsorbScale()], PassContext(verify_each=True))
    assert [n.op.kind for n in lowered if "pool" in n.op.kind] == ["sumpool2d", "sumpool2d"]
    expected = snnc.simulate(graph, x).output
    assert expected.any()
    np.testing.assert_array_equal(snnc.simulate(lowered, x).output, expected)
    compiled = snnc.compile(graph, "sim", bits=16)
    assert not any(n.op.kind == "avgpool2d" for n in compiled.graph)
    assert float((compiled.simulate(x).output == expected).mean()) == 1.0  # dyadic: lossless at 16 bits


def test_sew_resnet18_compiles_for_sim():
    """The library's own SEW-ResNet-18 (model/sew_resnet.py), global average pool included."""
    sew = import_sew_resnet()
    torch.manual_seed(0)
    net = sew.sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD")
    functional.set_step_mode(net, "m")
    graph = snnc.load(net.eval(), input_shape=(3, 64, 64))
    compiled = snnc.compile(graph, "sim", input_range=(0.0, 1.0))
    rewrites = {p.name: p.rewrites for p in compiled.passes}
    assert rewrites["avgpool-to-sumpool"] == 1 and rewrites["fold-bn"] == 20
    assert not any(n.op.kind in ("avgpool2d", "batchnorm") for n in compiled.graph)
    x = np.random.default_rng(0).random((2, 1, 3, 64, 64)).astype(np.float32)
    assert compiled.simulate(x).output.shape == (2, 1, 1000)
