"""A recurrent spiking network trained in Norse on scikit-learn's digits as event streams.

    python examples/norse_digits.py         # train (well under a minute on a CPU), save, print accuracy

The 8×8 digits become events (digits_events.py, T = 16 steps), flattened to 64 inputs per step:

    64 events → LIFRecurrent(64 → 64, input and recurrent weights) → Linear(64 → 10) → LI readout

Norse's current-based LIF neurons (default LIFParameters: dt 1 ms, τ_syn 5 ms, τ_mem 10 ms,
threshold 1, reset to 0) spike into themselves one step later through the recurrent weights; the
leaky-integrator readout's membrane, averaged over the steps, gives the class scores. Training
uses Norse's surrogate gradient (SuperSpike) and Adam with fresh events every epoch, seeded.

Norse parameter objects cannot be pickled as part of a model (docs/environment.md §8), so the
model is a factory (`norse_digits:model`) and the trained weights a state dict, which is how snnc
loads it:

    PYTHONPATH=examples snnc validate norse_digits:model --weights examples/norse_digits.pt \\
        --input-shape 64 --input-dtype spike --target sim \\
        --data examples/norse_digits_sample.npz --labels examples/norse_digits_sample.npz

Writes norse_digits.pt (the state dict) and norse_digits_sample.npz (x [16, 64, 64]: 64 test
digits as events, y: their labels).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))  # digits_events.py beside this file
from digits_events import digits, digits_events, events

HERE = Path(__file__).parent
STEPS = 16


def model() -> nn.Module:
    """The architecture snnc loads (`norse_digits:model`); the weights come from the state dict."""
    import norse.torch as nt

    torch.manual_seed(0)
    return nt.SequentialState(nt.LIFRecurrent(64, 64), nn.Linear(64, 10), nt.LI())


def scores(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Class scores [B, 10]: the readout membrane averaged over the steps of x [T, B, 64]."""
    out, _ = net(x)
    return out.mean(0)


def train(epochs: int = 15) -> nn.Module:
    torch.manual_seed(0)
    net = model()
    train_x, train_y, _, _ = digits()
    labels = torch.from_numpy(train_y)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for epoch in range(epochs):
        x = torch.from_numpy(events(train_x, STEPS, seed=epoch)).reshape(STEPS, -1, 64)  # fresh events
        order = torch.randperm(len(labels))
        for k in range(0, len(labels), 64):
            batch = order[k : k + 64]
            loss = nn.functional.cross_entropy(scores(net, x[:, batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


def main() -> None:
    torch.set_num_threads(1)  # tiny tensors: one thread is faster than several on a busy CPU
    start = time.perf_counter()
    net = train()
    seconds = time.perf_counter() - start
    x, y = digits_events(360, STEPS)
    x = x.reshape(STEPS, -1, 64)
    with torch.no_grad():
        accuracy = (scores(net, torch.from_numpy(x)).argmax(1).numpy() == y).mean()
    torch.save(net.state_dict(), HERE / "norse_digits.pt")
    np.savez_compressed(HERE / "norse_digits_sample.npz", x=x[:, :64], y=y[:64])
    print(f"trained in {seconds:.1f} s")
    print(f"accuracy on the {len(y)} test digits ({STEPS} steps): {accuracy:.1%}")
    print(f"wrote {HERE / 'norse_digits.pt'} and {HERE / 'norse_digits_sample.npz'}")


if __name__ == "__main__":
    main()
