"""scikit-learn's bundled handwritten digits (1,797 images of 8×8 pixels, intensities 0–16) as
event streams, the input an event chip such as Speck takes.

Encoding (rate code, seeded): in every time step each pixel emits one event with probability
`max_rate · intensity / 16`, independently of the other steps and pixels, drawn from
`numpy.random.default_rng(seed)`: the same arguments always give the same events. The result is
`[T, B, 1, 8, 8]` float32 counts (0 or 1), time-major as snnc takes data.
"""

from __future__ import annotations

import numpy as np

MAX_INTENSITY = 16.0  # sklearn.datasets.load_digits: pixels are integers 0..16


def digits(split: float = 0.8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images, train labels, test images, test labels): the images [N, 8, 8] in 0..16, shuffled
    with `seed` and split `split` : 1 − `split`."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(seed).permutation(len(data.target))
    images, labels = data.images[order].astype(np.float32), data.target[order].astype(np.int64)
    cut = int(split * len(labels))
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def events(images: np.ndarray, steps: int = 16, max_rate: float = 0.5, seed: int = 0) -> np.ndarray:
    """Rate-coded events [T, B, 1, 8, 8] of `images` [B, 8, 8] (module docstring)."""
    rng = np.random.default_rng(seed)
    p = max_rate * np.clip(images, 0, MAX_INTENSITY) / MAX_INTENSITY
    return (rng.random((steps, *images.shape)) < p).astype(np.float32)[:, :, None]


def digits_events(n: int, steps: int = 16, seed: int = 0, max_rate: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The first `n` test digits (of the seeded split) as events [steps, n, 1, 8, 8] and their
    labels [n] (int64): the sample the examples are validated on."""
    _, _, test_images, test_labels = digits(seed=seed)
    return events(test_images[:n], steps, max_rate, seed=1000 + seed), test_labels[:n]
