"""A small convolutional SNN for SynSense Speck, trained in sinabs on scikit-learn's digits as event
streams (digits_events.py), compiled with snnc for Speck, and run in both of snnc's Speck models.

    events [1, 8, 8] → conv1 (1→8, 3×3, pad 1) → IAF → sum pool 2 → conv2 (8→16, 3×3, pad 1) → IAF
      → sum pool 2 → flatten → fc (64→10) → IAF → 10 class neurons (the most spikes wins)

The neurons are sinabs' IAFSqueeze as sinabs.from_model makes them for Speck: threshold 1,
min_v_mem −1, subtract reset, MultiSpike; gradients through sinabs' surrogate. Training takes well
under a minute on a CPU (seeded: the same run gives the same model). Running this file writes, next
to it:

    speck_digits.pt             the trained model (torch.save of the module; snnc's safe loader reads it)
    speck_digits_sample.npz     x [16, 64, 1, 8, 8]: 64 test digits as events, and their labels y

and prints the test accuracy of the float model, of snnc's time-stepped integer simulation (equal to
sinabs' discretized DynapcnnNetwork) and of the event-driven chip model. Then:

    snnc compile examples/speck_digits.pt --target speck -o out/
    snnc simulate out/Sequential.speck.json --data examples/speck_digits_sample.npz

`--oversize PATH` writes instead, untrained, the same network 80 times wider (29 MB), which no Speck
holds: `snnc check PATH --target speck` lists every reason (exit code 1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from digits_events import digits, events  # beside this file, on sys.path when it runs as a script
from torch import nn

HERE = Path(__file__).parent
STEPS = 16


def network(width: int = 1) -> nn.Sequential:
    import sinabs.layers as sl

    def iaf() -> nn.Module:
        return sl.IAFSqueeze(num_timesteps=STEPS, min_v_mem=-1.0)

    net = nn.Sequential(
        nn.Conv2d(1, 8 * width, 3, padding=1, bias=False),
        iaf(),
        sl.SumPool2d(2),
        nn.Conv2d(8 * width, 16 * width, 3, padding=1, bias=False),
        iaf(),
        sl.SumPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * width * 2 * 2, 10, bias=False),
        iaf(),
    )
    net.input_shape = (1, 8, 8)  # per sample: snnc reads it from the model
    return net


def forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Spike counts [B, 10] of events x [T, B, 1, 8, 8] (sinabs squeeze layers take [B·T, ...])."""
    for m in net.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    steps, batch = x.shape[:2]
    out = net(x.transpose(0, 1).reshape(batch * steps, *x.shape[2:]))
    return out.reshape(batch, steps, -1).sum(1)


def train(seed: int = 0, epochs: int = 15) -> tuple[nn.Module, float]:
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # small tensors: one thread is several times faster than two on a busy CPU
    train_x, train_y, _, _ = digits(seed=seed)
    net = network()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    labels = torch.from_numpy(train_y)
    for epoch in range(epochs):
        x = torch.from_numpy(events(train_x, STEPS, seed=seed + epoch))  # fresh events every epoch
        order = torch.randperm(len(labels))
        for k in range(0, len(labels), 64):
            batch = order[k : k + 64]
            loss = nn.functional.cross_entropy(forward(net, x[:, batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval(), float(loss.detach())


def evaluate(net: nn.Module, sample: Path) -> None:
    """Accuracy on the saved test sample: the float model, and snnc's two Speck models."""
    import snnc

    data = np.load(sample)
    x, y = data["x"], data["y"]
    with torch.no_grad():
        float_acc = (forward(net, torch.from_numpy(x)).argmax(1).numpy() == y).mean()
    compiled = snnc.compile(snnc.load(net), "speck")
    steps = compiled.simulate(x).output.sum(0).reshape(len(y), -1)
    chip = next(iter(compiled.simulate(x, mode="events").outputs.values())).sum(0).reshape(len(y), -1)
    print(
        f"test accuracy on {len(y)} digits: float {float_acc:.3f}, "
        f"Speck time-stepped {(steps.argmax(1) == y).mean():.3f}, "
        f"Speck event-driven {(chip.argmax(1) == y).mean():.3f}"
    )
    print(
        f"output spikes: time-stepped {int(steps.sum())}, event-driven {int(chip.sum())}; "
        f"samples whose class differs between them: {int((steps.argmax(1) != chip.argmax(1)).sum())}"
    )


def main() -> None:
    if "--oversize" in sys.argv:
        path = Path(sys.argv[sys.argv.index("--oversize") + 1])
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(network(width=80), path)
        print(f"wrote {path}")
        return
    start = time.perf_counter()
    net, loss = train()
    print(f"trained in {time.perf_counter() - start:.1f} s (last batch loss {loss:.3f})")
    torch.save(net, HERE / "speck_digits.pt")
    _, _, test_x, test_y = digits()
    np.savez_compressed(HERE / "speck_digits_sample.npz", x=events(test_x[:64], STEPS, seed=1000), y=test_y[:64])
    print(f"wrote {HERE / 'speck_digits.pt'} and {HERE / 'speck_digits_sample.npz'}")
    evaluate(net, HERE / "speck_digits_sample.npz")


if __name__ == "__main__":
    main()
