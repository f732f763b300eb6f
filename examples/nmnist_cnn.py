"""The "nmnist-cnn" standard net: a small spiking CNN for N-MNIST-shaped input (2 × 34 × 34 spikes).

    x → conv1 (2→12, 5×5) → if1 → pool1 (sum 2×2) → conv2 (12→32, 5×5) → if2 → pool2 (sum 2×2)
      → flatten → fc (800→10) → if3 → out

No biases; weights are integers drawn uniformly from [−8, 8] (stored as float32), so every sum is
exact in float32 and the simulator, SpikingJelly and a plain torch loop must agree spike for spike.
The neurons are SpikingJelly's IFNode(v_threshold=16, v_reset=0): integrate, fire at h ≥ 16,
reset to zero. Running this file writes the net and a small input sample next to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from snnc.ir import Conv2d, Flatten, Graph, GraphBuilder, Linear, Neuron, SumPool2d

THRESHOLD = 16.0
WEIGHT_RANGE = 8


def integrate_and_fire() -> Neuron:
    """SpikingJelly's IFNode(v_threshold=16., v_reset=0.): h = v + x, s = h ≥ θ, v = 0 where s."""
    return Neuron(threshold=THRESHOLD, reset="zero", v_reset=0.0, fire_op="ge")


def build(seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)

    def weights(*shape: int) -> np.ndarray:
        return rng.integers(-WEIGHT_RANGE, WEIGHT_RANGE + 1, size=shape).astype(np.float32)

    b = GraphBuilder("nmnist-cnn")
    b.input("x", (2, 34, 34))
    b.add("conv1", Conv2d(weight=weights(12, 2, 5, 5)), "x")
    b.add("if1", integrate_and_fire(), "conv1")
    b.add("pool1", SumPool2d(kernel=2), "if1")
    b.add("conv2", Conv2d(weight=weights(32, 12, 5, 5)), "pool1")
    b.add("if2", integrate_and_fire(), "conv2")
    b.add("pool2", SumPool2d(kernel=2), "if2")
    b.add("flatten", Flatten(), "pool2")
    b.add("fc", Linear(weight=weights(10, 800)), "flatten")
    b.add("if3", integrate_and_fire(), "fc")
    b.output("out", "if3")
    return b.build()


def sample_input(T: int = 100, B: int = 16, p: float = 0.1, seed: int = 0) -> np.ndarray:
    """Bernoulli(p) spikes [T, B, 2, 34, 34] as uint8."""
    rng = np.random.default_rng(seed)
    return (rng.random((T, B, 2, 34, 34)) < p).astype(np.uint8)


def main() -> None:
    from snnc.ir.serialize import save

    here = Path(__file__).parent
    save(build(), here / "nmnist_cnn.snnc")
    np.savez_compressed(here / "nmnist_sample.npz", x=sample_input(T=20, B=2))


if __name__ == "__main__":
    main()
