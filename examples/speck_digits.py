"""A small convolutional SNN for SynSense Speck, trained in SpikingJelly on scikit-learn's digits as
event streams (digits_events.py), compiled with snnc for Speck, and run in both of snnc's Speck models.

    events [1, 8, 8] → conv1 (1→8, 3×3, pad 1) → IF → avg pool 2 → conv2 (8→16, 3×3, pad 1) → IF
      → avg pool 2 → flatten → fc (64→10) → IF → 10 class neurons (the most spikes wins)

Written as SpikingJelly users write a network for Speck (spikingjelly.activation_based, multi-step
mode): `layer.Conv2d`/`layer.Linear` without bias (a Speck bias is a leak added on the chip's slow
clock, not per step: docs/targets/speck.md §4), `neuron.IFNode` with soft reset (`v_reset=None`:
v − θ after a spike, Speck's subtract reset, `return_to_zero = False`, §4) and threshold 1, firing
on v ≥ θ once per step (Speck fires on v ≥ threshold_high, once per event), trained through
SpikingJelly's ATan surrogate gradient. Speck pools by summing (an address remap of each spike,
§4); `layer.AvgPool2d(2)` is that sum pool with the 1/4 moved into the next layer's weights, which
snnc's avgpool-to-sumpool and absorb-scale passes do exactly, as sinabs does for nn.AvgPool2d
(§2.3, `dynapcnn_layer_utils.py::extract_pooling_from_module`). Training takes well under a minute
on a CPU (seeded: the same run gives the same model). Running this file writes, next to it:

    speck_digits.pt             the trained model (torch.save of the module; snnc's safe loader reads it)
    speck_digits_sample.npz     x [16, 64, 1, 8, 8]: 64 test digits as events, and their labels y

and prints the test accuracy of the float model on the 360 test digits, and on the 64-digit sample
that of the float model, of snnc's time-stepped integer simulation and of the event-driven chip
model. Then (`make demo` runs these and the other verbs):

    snnc compile examples/speck_digits.pt --input-dtype spike --target speck -o out/
    snnc simulate out/Sequential.speck.json --data examples/speck_digits_sample.npz

`--oversize PATH` writes instead, untrained, the same network 80 times wider (29 MB), which no Speck
holds: `snnc check PATH --input-dtype spike --target speck` lists every reason (exit code 1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from digits_events import digits, digits_events, events  # beside this file, on sys.path when it runs as a script
from torch import nn

HERE = Path(__file__).parent
STEPS = 16
SAMPLE = 64  # test digits in the shipped sample


def network(width: int = 1) -> nn.Sequential:
    from spikingjelly.activation_based import layer, neuron, surrogate

    def spiking() -> nn.Module:
        return neuron.IFNode(v_threshold=1.0, v_reset=None, surrogate_function=surrogate.ATan(), step_mode="m")

    net = nn.Sequential(
        layer.Conv2d(1, 8 * width, 3, padding=1, bias=False, step_mode="m"),
        spiking(),
        layer.AvgPool2d(2, step_mode="m"),
        layer.Conv2d(8 * width, 16 * width, 3, padding=1, bias=False, step_mode="m"),
        spiking(),
        layer.AvgPool2d(2, step_mode="m"),
        layer.Flatten(step_mode="m"),
        layer.Linear(16 * width * 2 * 2, 10, bias=False, step_mode="m"),
        spiking(),
    )
    net.input_shape = (1, 8, 8)  # per sample: snnc reads it from the model
    return net


def forward(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Spike counts [B, 10] of events x [T, B, 1, 8, 8] (multi-step SpikingJelly takes [T, B, ...])."""
    from spikingjelly.activation_based import functional

    functional.reset_net(net)
    return net(x).sum(0)


def train(seed: int = 0, epochs: int = 30) -> tuple[nn.Module, float]:
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


def accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    with torch.no_grad():
        return float((forward(net, torch.from_numpy(x)).argmax(1).numpy() == y).mean())


def evaluate(net: nn.Module, sample: Path) -> None:
    """Accuracy on the saved test sample: the float model, and snnc's two Speck models."""
    import snnc

    data = np.load(sample)
    x, y = data["x"], data["y"]
    compiled = snnc.compile(snnc.load(net, input_dtype="spike"), "speck")
    steps = compiled.simulate(x).output.sum(0).reshape(len(y), -1)
    chip = next(iter(compiled.simulate(x, mode="events").outputs.values())).sum(0).reshape(len(y), -1)
    print(
        f"test accuracy on the {len(y)}-digit sample: float {accuracy(net, x, y):.3f}, "
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
        torch.manual_seed(0)  # untrained, but the same weights every time: the same diagnostics
        torch.save(network(width=80), path)
        print(f"wrote {path}")
        return
    start = time.perf_counter()
    net, loss = train()
    print(f"trained in {time.perf_counter() - start:.1f} s (last batch loss {loss:.3f})")
    torch.save(net, HERE / "speck_digits.pt")
    x, y = digits_events(SAMPLE, STEPS)
    np.savez_compressed(HERE / "speck_digits_sample.npz", x=x, y=y)
    print(f"wrote {HERE / 'speck_digits.pt'} and {HERE / 'speck_digits_sample.npz'}")
    test_x, test_y = digits_events(360, STEPS)
    print(f"test accuracy on all {len(test_y)} test digits: float {accuracy(net, test_x, test_y):.3f}")
    evaluate(net, HERE / "speck_digits_sample.npz")


if __name__ == "__main__":
    main()
