"""An ANN trained on scikit-learn's digits and converted into a spiking network by sinabs'
`from_model`, the way sinabs users build networks for Speck; snnc then compiles and validates it.

    python examples/sinabs_digits.py        # train (seconds on a CPU), convert, save, print accuracy

The ANN sees what the SNN will see on average: each pixel's event rate, 0.5 · intensity / 16 per
step (digits_events.py), through

    [1, 8, 8] → conv (1→8, 3×3, pad 1) → ReLU → avg pool 2 → conv (8→16, 3×3, pad 1) → ReLU
      → avg pool 2 → flatten → linear (64→10)

without biases. sinabs' `normalize_weights` scales each layer so that the 99.9th percentile of its
activations is 1 (Rueckauer et al. 2017), and `from_model` replaces every ReLU by an IAFSqueeze
neuron (threshold 1, subtract reset, multi-spike, v ≥ −1) and adds one after the linear layer:
the class with the most output spikes wins. The network runs T = 32 steps of events. Writes:

    sinabs_digits.pt            the spiking network (torch.save; snnc's safe loader reads it)
    sinabs_digits_sample.npz    x [32, 64, 1, 8, 8]: 64 test digits as events; y: their labels

Then, for example:

    snnc validate examples/sinabs_digits.pt --input-dtype spike --target sim \\
        --data examples/sinabs_digits_sample.npz --labels examples/sinabs_digits_sample.npz
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parent))  # digits_events.py beside this file
from digits_events import MAX_INTENSITY, digits, digits_events

HERE = Path(__file__).parent
STEPS = 32
RATE = 0.5  # digits_events' default max_rate: the brightest pixel's events per step


def ann() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1, bias=False),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10, bias=False),
    )


def rates(images: np.ndarray) -> torch.Tensor:
    """Images [N, 8, 8] as the expected events per step [N, 1, 8, 8]: the ANN's input."""
    return torch.from_numpy(images[:, None] / MAX_INTENSITY * RATE).float()


def train(epochs: int = 30) -> nn.Sequential:
    torch.manual_seed(0)
    net = ann()
    train_x, train_y, _, _ = digits()
    x, y = rates(train_x), torch.from_numpy(train_y)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(epochs):
        order = torch.randperm(len(y))
        for k in range(0, len(y), 64):
            batch = order[k : k + 64]
            loss = nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()


def convert(net: nn.Sequential) -> nn.Sequential:
    """The spiking network: weights normalized on training rates, ReLUs replaced by sinabs."""
    from sinabs.from_torch import from_model
    from sinabs.utils import normalize_weights

    train_x, _, _, _ = digits()
    scaled = copy.deepcopy(net)
    normalize_weights(
        scaled, rates(train_x[:500]), output_layers=["1", "4", "7"], param_layers=["0", "3", "7"], percentile=99.9
    )
    snn = from_model(scaled, input_shape=(1, 8, 8), num_timesteps=STEPS, add_spiking_output=True).spiking_model
    snn.input_shape = (1, 8, 8)  # per sample, read by snnc
    return snn


def spike_counts(snn: nn.Module, x: np.ndarray) -> np.ndarray:
    """Output spikes per class [B, 10] of events x [T, B, 1, 8, 8], sinabs' [B·T, ...] layout."""
    for m in snn.modules():
        if hasattr(m, "reset_states"):
            m.reset_states()
    steps, batch = x.shape[:2]
    with torch.no_grad():
        out = snn(torch.from_numpy(x).transpose(0, 1).reshape(batch * steps, 1, 8, 8))
    return out.reshape(batch, steps, -1).sum(1).numpy()


def main() -> None:
    torch.set_num_threads(1)  # tiny tensors: one thread is faster than several on a busy CPU
    start = time.perf_counter()
    net = train()
    snn = convert(net)
    seconds = time.perf_counter() - start
    torch.save(snn, HERE / "sinabs_digits.pt")  # before any run: its neuron states are still empty
    _, _, test_x, test_y = digits()
    with torch.no_grad():
        ann_accuracy = (net(rates(test_x)).argmax(1).numpy() == test_y).mean()
    x, y = digits_events(len(test_y), STEPS)
    snn_accuracy = (spike_counts(snn, x).argmax(1) == y).mean()
    np.savez_compressed(HERE / "sinabs_digits_sample.npz", x=x[:, :64], y=y[:64])
    print(f"trained and converted in {seconds:.1f} s")
    print(
        f"accuracy on the {len(y)} test digits: ANN {ann_accuracy:.1%}, sinabs SNN ({STEPS} steps) {snn_accuracy:.1%}"
    )
    print(f"wrote {HERE / 'sinabs_digits.pt'} and {HERE / 'sinabs_digits_sample.npz'}")


if __name__ == "__main__":
    main()
