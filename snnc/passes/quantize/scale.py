"""Scale selection and rounding for `Quantize`, in sinabs' float32 arithmetic.

One rule serves every target: a group of values gets the largest scale that puts its extreme on the
end of an integer range, and a layer takes the smallest scale over its groups, so nothing clips
(docs/targets/speck.md §3.2, sinabs `determine_discretization_scale`). The rule is computed
exactly as sinabs computes it, in float32 with torch's operation order, because on Speck that is
the bit-exact reference: `python_int / tensor` is `reciprocal(tensor) · int` in float32, the
side test multiplies |max| by the float32 ratio |lo/hi|, and `torch.round` rounds half to even
(speck.md §3.2: a float64 version differs by ±1 on a few weights per layer).
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
INF = F32(np.inf)


def fit_scale(values: np.ndarray, lo: int, hi: int) -> np.float32:
    """sinabs/backend/dynapcnn/discretize.py `determine_discretization_scale` with the range
    [lo, hi] (lo < 0 < hi): hi/max unless the negative side needs the larger factor, then lo/min.
    An all-zero (or empty) group gives inf: it constrains nothing."""
    x = np.asarray(values, dtype=F32)
    if x.size == 0:
        return INF
    mn, mx = F32(x.min()), F32(x.max())
    ratio = F32(abs(lo / hi))  # a Python float, cast to float32 by torch's tensor · scalar
    with np.errstate(divide="ignore"):
        if abs(mn) <= F32(abs(mx) * ratio):
            return F32(abs((F32(1) / mx) * F32(hi)))
        return F32(abs((F32(1) / mn) * F32(lo)))


def fit_rows(rows: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """`fit_scale` of each row of a 2-d array (one scale per channel), float32."""
    return np.array([fit_scale(r, lo, hi) for r in rows], dtype=F32).reshape(len(rows))


def quantile_scale(rows: np.ndarray, q: float, hi: int) -> np.ndarray:
    """The scale mapping the q-quantile of |w| in each row to `hi` (values beyond it will clip)."""
    top = np.quantile(np.abs(rows.astype(np.float64)), q, axis=1)
    with np.errstate(divide="ignore"):
        return np.where(top > 0, F32(hi) / top.astype(F32), INF).astype(F32)


def rounded(values: np.ndarray, scale: np.ndarray | np.float32) -> np.ndarray:
    """round(values · scale) half to even, the product in float32 (sinabs `discretize_tensor`)."""
    return np.round(np.asarray(values, F32) * np.asarray(scale, F32)).astype(np.float64)


def channel_scale(scale: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-channel (C,) scale shaped to multiply a parameter of per-sample `shape` (C, ...), or
    a one-element scale as a float32 scalar."""
    scale = np.asarray(scale, F32)
    if scale.size == 1:
        return scale.reshape(())
    return scale.reshape(scale.shape[0], *([1] * (len(shape) - 1)))


def error_stats(original: np.ndarray, restored: np.ndarray) -> tuple[float, float]:
    """Max and mean |restored − original| relative to max |original| (0 for an all-zero tensor)."""
    top = float(np.abs(original).max()) if original.size else 0.0
    if top == 0:
        return 0.0, 0.0
    err = np.abs(restored.astype(np.float64) - original.astype(np.float64)) / top
    return float(err.max()), float(err.mean())


def scale_value(scale: np.ndarray) -> float | tuple[float, ...]:
    """A scale as NumberFormat stores it: one float, or one per channel."""
    return float(scale[0]) if scale.size == 1 else tuple(float(s) for s in scale)
