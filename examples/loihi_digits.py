"""A small snnTorch network trained for Loihi 2 on scikit-learn's bundled digits, end to end.

    python examples/loihi_digits.py            # train (< 1 min on a CPU), save, compile, run in Lava

The 8×8 digit images (sklearn.datasets.load_digits, 1,797 images, bundled: no download) are
rate-coded as spikes: at each of T = 25 steps, pixel p (0..16) spikes with probability
0.8 · p / 16, drawn from a seeded generator (`encode`). The network is what Loihi runs exactly:

    64 spikes → Linear(64, 64) → Leaky → Linear(64, 10) → Leaky → spike counts = class scores

with snnTorch's `Leaky(reset_mechanism="zero", reset_delay=False)`: a hard reset in the step the
neuron fires, which is Lava's LIF (the default subtract reset one step late is not; `snnc check
--target loihi` says so for `oversize`). snnTorch models are often not picklable, so the model is
saved as a factory (`loihi_digits:model`) plus a state dict (`loihi_digits.pt`), which is how
snnc loads it:

    PYTHONPATH=examples snnc compile loihi_digits:model --weights examples/loihi_digits.pt \\
        --input-shape 64 --input-dtype spike --target loihi -o out/loihi

writes `Digits.net` (NetX), `Digits.partition.txt/.json` and `Digits.loihi.snnc`; `loihi_digits:oversize`
(9,000 hidden neurons, snnTorch's default reset) shows `snnc check --target loihi` listing every
violation. Running this file trains the network, writes the state dict and a test sample
(`loihi_digits_sample.npz`: x [T, B, 64] spikes and labels), compiles it, and runs the emitted
NetX file in Lava (lava-dl's reader, fixed point) to show it gives snnc's spikes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

T = 25  # steps per image
RATE = 0.8  # spike probability of the brightest pixel per step
HIDDEN = 64
HERE = Path(__file__).parent


def _leaky() -> nn.Module:
    import snntorch as snn

    return snn.Leaky(beta=0.9, threshold=1.0, reset_mechanism="zero", reset_delay=False, init_hidden=True)


class Digits(nn.Sequential):
    """nn.Sequential under its own name, which snnc gives the graph and its files (digits.net, ...)."""


def model() -> nn.Module:
    """The network snnc loads (`loihi_digits:model`); weights come from the state dict."""
    torch.manual_seed(0)
    return Digits(nn.Linear(64, HIDDEN), _leaky(), nn.Linear(HIDDEN, 10), _leaky())


def oversize() -> nn.Module:
    """Too big and the wrong neuron for one Loihi chip: 9,000 hidden neurons feeding each output
    neuron through more axons than a core has, and snnTorch's default reset (subtract, one step late)."""
    import snntorch as snn

    torch.manual_seed(0)  # untrained, but the same weights every time: the same diagnostics
    return nn.Sequential(nn.Linear(64, 9000), snn.Leaky(beta=0.9, init_hidden=True), nn.Linear(9000, 10),
                         snn.Leaky(beta=0.9, init_hidden=True))  # fmt: skip


def encode(images: np.ndarray, steps: int = T, seed: int = 0) -> np.ndarray:
    """Rate code: [steps, B, 64] uint8 spikes, pixel p firing with probability RATE · p / 16."""
    rng = np.random.default_rng(seed)
    p = RATE * images.reshape(len(images), -1) / 16.0
    return (rng.random((steps, *p.shape)) < p).astype(np.uint8)


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels): a fixed 80/20 split."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    cut = int(0.8 * len(order))
    train, test = order[:cut], order[cut:]
    return data.images[train], data.target[train], data.images[test], data.target[test]


def forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Spike counts [B, 10] of a [T, B, 64] input (snnTorch's hidden state reset first)."""
    import snntorch.utils

    snntorch.utils.reset(net)
    return torch.stack([net(x[t]) for t in range(x.shape[0])]).sum(0)


def train(epochs: int = 10, seed: int = 0) -> nn.Module:
    """BPTT through snnTorch's surrogate gradient, cross-entropy on the spike counts. One thread:
    the net is tiny, so more threads only add synchronisation (and contend on a shared machine)."""
    torch.set_num_threads(1)
    images, labels, _, _ = digits()
    net = model()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    targets = torch.as_tensor(labels)
    for epoch in range(epochs):
        x = torch.as_tensor(encode(images, seed=seed + epoch), dtype=torch.float32)  # fresh spikes each epoch
        for batch in torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch)).split(128):
            loss = nn.functional.cross_entropy(forward(net, x[:, batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net


def accuracy(counts: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(counts).argmax(-1) == labels).mean())


def main() -> None:
    import snnc

    started = time.perf_counter()
    net = train()
    print(f"trained in {time.perf_counter() - started:.1f} s")
    torch.save(net.state_dict(), HERE / "loihi_digits.pt")
    _, _, images, labels = digits()
    x = encode(images, seed=1000)
    with torch.no_grad():
        float_counts = forward(net.eval(), torch.as_tensor(x, dtype=torch.float32)).numpy()
    np.savez_compressed(HERE / "loihi_digits_sample.npz", x=x[:, :16], labels=labels[:16])

    graph = snnc.load("loihi_digits:model", weights=HERE / "loihi_digits.pt", input_shape=(64,), input_dtype="spike")
    compiled = snnc.compile(graph, "loihi")
    integer = compiled.simulate(x).output.sum(0)
    print(f"test accuracy ({len(labels)} images): snnTorch {accuracy(float_counts, labels):.3f}, "
          f"snnc integer (Loihi) {accuracy(integer, labels):.3f}")  # fmt: skip
    sample = x[:, :16]
    lava = compiled.simulate(sample, via="netx").output
    same = np.array_equal(lava, compiled.simulate(sample).output)
    print(f"Lava (lava-dl's NetX reader, fixed_pt) on 16 test images: {'identical to' if same else 'DIFFERS from'} "
          f"snnc's spikes; accuracy {accuracy(lava.sum(0), labels[:16]):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
