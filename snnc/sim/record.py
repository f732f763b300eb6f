"""What a run keeps of each node's output, filled window by window: activity, outputs, traces.

Activity feeds every SOP and energy figure, so it must be exact, and it is measured on every node
of every run, so it must be cheap. Both come from one fact: float32 sums of non-negative integers
are exact while they stay below 2^24 (every partial sum is then an exact integer), and torch sums
float32 rows far faster than it counts booleans or sums in float64. A sum that reaches 2^24 is
redone in float64.
"""

from __future__ import annotations

import numpy as np
import torch

from snnc.ir.types import Count, DType, Int, Spike, TensorType
from snnc.sim.result import Activity

Tensor = torch.Tensor
_EXACT_FLOAT32 = 2**24


def _exact_sums(rows: Tensor, dim: int) -> np.ndarray:
    """Exact int64 sums along `dim` of a [N, M] float32 tensor of non-negative integers."""
    sums = rows.sum(dim)
    if sums.numel() and float(sums.max()) >= _EXACT_FLOAT32:
        sums = rows.sum(dim, dtype=torch.float64)
    return sums.long().cpu().numpy()


class ActivityMeter:
    """Accumulates one node's `Activity` over the windows of a run."""

    def __init__(self, ty: TensorType, steps: int, batch: int) -> None:
        self.ty = ty
        self.events = np.zeros((steps, batch), np.int64)
        self.nonzero = np.zeros((steps, batch), np.int64)
        self.event_map = np.zeros(ty.shape, np.int64)

    def add(self, window: slice, value: Tensor) -> None:
        """Count the node's output [n, B, *shape] for the steps `window`."""
        n, b = value.shape[:2]
        rows = value.reshape(n * b, -1)
        if rows.dtype == torch.uint8:  # a byte carrier: torch sums bytes into int64 some 20x slower
            rows = rows.float()
        # 1.0 where an element is non-zero (a spike tensor already is that); comparing into a float
        # tensor is several times faster than making a bool mask and converting it
        # (float32 also for integer outputs of a quantized graph: torch sums int32 rows 4x slower)
        ones = (
            rows
            if isinstance(self.ty.dtype, Spike)
            else torch.ne(rows, 0, out=torch.empty_like(rows, dtype=torch.float32))
        )
        self.nonzero[window] = _exact_sums(ones, 1).reshape(n, b)
        if isinstance(self.ty.dtype, Count):  # a count of k is k events
            self.events[window] = _exact_sums(rows, 1).reshape(n, b)
            self.event_map += _exact_sums(rows, 0).reshape(self.ty.shape)
        else:
            self.events[window] = self.nonzero[window]
            self.event_map += _exact_sums(ones, 0).reshape(self.ty.shape)

    def activity(self) -> Activity:
        return Activity(self.events, self.nonzero, self.event_map, self.ty.numel)


def host_dtype(dtype: DType) -> type[np.generic]:
    """How an output leaves the simulator: uint8 spikes, int32 counts and ints, float32 otherwise."""
    if isinstance(dtype, Spike):
        return np.uint8
    if isinstance(dtype, (Count, Int)):
        return np.int32
    return np.float32


class SequenceSink:
    """A host array [T, B, *shape] filled window by window (an output or an "out" trace)."""

    def __init__(self, ty: TensorType, steps: int, batch: int, dtype: type[np.generic]) -> None:
        self.array = np.empty((steps, batch, *ty.shape), dtype)

    def add(self, window: slice, value: Tensor) -> None:
        self.array[window] = value.cpu().numpy()  # exact: the values are integers where dtype is
