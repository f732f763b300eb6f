"""An ANN trained in PyTorch on scikit-learn's digits and exported to ONNX, for `snnc convert` to
turn into a spiking network.

    python examples/onnx_digits.py          # train (seconds on a CPU), export, save, print accuracy

    64 pixels (intensity / 16, in [0, 1]) → Linear(64 → 64) → BatchNorm1d → ReLU → Linear(64 → 10)

`snnc convert` folds the BatchNorm, replaces the ReLU by integrate-and-fire neurons with subtract
reset whose thresholds are the 99.9th percentile of the ReLU's activations on calibration samples
(Rueckauer et al. 2017), and, with `--encoding rate`, takes the input as spikes: a pixel of
intensity i spikes with probability i / 16 per step, which is digits_events.py's encoder at
max_rate 1. Writes:

    onnx_digits.onnx            the trained ANN
    onnx_digits_calib.npz       x [200, 64]: training digits for the thresholds; y: labels
    onnx_digits_sample.npz      x [32, 64, 64]: 64 test digits as events (max_rate 1); y: labels

Then:

    snnc convert examples/onnx_digits.onnx --calib examples/onnx_digits_calib.npz --encoding rate \\
        -o out/onnx_digits.snnc
    snnc validate out/onnx_digits.snnc --target sim --data examples/onnx_digits_sample.npz \\
        --labels examples/onnx_digits_sample.npz
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))  # digits_events.py beside this file
from digits_events import MAX_INTENSITY, digits, digits_events

HERE = Path(__file__).parent
STEPS = 32
RATE = 1.0  # a pixel of intensity 16 spikes at every step: the converted SNN's rate code


def ann() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))


def pixels(images: np.ndarray) -> np.ndarray:
    """Images [N, 8, 8] (0..16) as the ANN's input [N, 64] in [0, 1]."""
    return (images.reshape(len(images), 64) / MAX_INTENSITY).astype(np.float32)


def train(epochs: int = 40) -> nn.Sequential:
    torch.manual_seed(0)
    net = ann()
    train_x, train_y, _, _ = digits()
    x, y = torch.from_numpy(pixels(train_x)), torch.from_numpy(train_y)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for k in range(0, len(y), 64):
            batch = order[k : k + 64]
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


def export(net: nn.Module, path: Path) -> None:
    """The ANN as ONNX (torch's TorchScript exporter: no onnxscript needed, deterministic)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice
        torch.onnx.export(net, (torch.zeros(1, 64),), str(path), dynamo=False, input_names=["x"], output_names=["y"])


def main() -> None:
    torch.set_num_threads(1)  # tiny tensors: one thread is faster than several on a busy CPU
    start = time.perf_counter()
    net = train()
    seconds = time.perf_counter() - start
    export(net, HERE / "onnx_digits.onnx")
    train_x, train_y, test_x, test_y = digits()
    np.savez_compressed(HERE / "onnx_digits_calib.npz", x=pixels(train_x[:200]), y=train_y[:200])
    x, y = digits_events(len(test_y), STEPS, max_rate=RATE)
    np.savez_compressed(HERE / "onnx_digits_sample.npz", x=x[:, :64].reshape(STEPS, 64, 64), y=y[:64])
    with torch.no_grad():
        accuracy = (net(torch.from_numpy(pixels(test_x))).argmax(1).numpy() == test_y).mean()
    print(f"trained in {seconds:.1f} s; ANN accuracy on the {len(test_y)} test digits: {accuracy:.1%}")
    print(f"wrote {HERE / 'onnx_digits.onnx'}, onnx_digits_calib.npz and onnx_digits_sample.npz")


if __name__ == "__main__":
    main()
