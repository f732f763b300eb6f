"""Which inputs reach which neuron of a block (its synapses with a non-zero weight), for
partition.py to count synapses, input axons and output axons exactly.

For a dense layer a neuron's inputs are its row's non-zero columns. For a convolution (and a
graded pool, a depthwise convolution of ones) they are the input elements (i, y·s + a·d − p,
x·s + b·d − p) inside the input for every kernel tap (a, b) whose weight from channel i is
non-zero: a zero-padding tap is no synapse. Inputs and neurons are numbered in flat C-H-W order.
Nothing of size neurons × inputs is ever built: one neuron's inputs are computed when asked for.
"""

from __future__ import annotations

import math

import numpy as np

from snnc.backends.loihi.blocks import Block
from snnc.ir.ops import Conv1d, Linear


class ReceptiveFields:
    """`of(n)`: the flat input indices with a synapse into neuron n (distinct, int64)."""

    def __init__(self, block: Block) -> None:
        op = block.synapse.op
        self.inputs = math.prod(block.in_shape)
        self.neurons = block.neurons
        if isinstance(op, Linear):
            self._rows = np.asarray(op.weight) != 0
            return
        self._rows = None
        weight, stride, padding, dilation, groups = conv_view(block)
        c_in, h_in, w_in = as_3d(block.in_shape)
        c_out, h_out, w_out = as_3d(block.out_shape)
        kh, kw = weight.shape[2:]
        per_group = c_in // groups
        ys = stride[0] * np.arange(h_out)[:, None] + dilation[0] * np.arange(kh)[None, :] - padding[0]
        xs = stride[1] * np.arange(w_out)[:, None] + dilation[1] * np.arange(kw)[None, :] - padding[1]
        inside = ((ys >= 0) & (ys < h_in))[:, None, :, None] & ((xs >= 0) & (xs < w_in))[None, :, None, :]
        spatial = np.where(inside, ys[:, None, :, None] * w_in + xs[None, :, None, :], -1)
        self._spatial = spatial.reshape(h_out * w_out, kh * kw)  # (position, tap) -> input y·W + x, or -1
        self._positions = h_out * w_out
        self._taps = []  # per output channel: (input channel offsets, taps) of its non-zero weights
        for o in range(c_out):
            channels, taps = np.nonzero(np.asarray(weight[o]).reshape(per_group, kh * kw) != 0)
            channels = channels + (o // (c_out // groups)) * per_group
            self._taps.append((channels * (h_in * w_in), taps))

    def of(self, n: int) -> np.ndarray:
        if self._rows is not None:
            return np.flatnonzero(self._rows[n])
        o, position = divmod(n, self._positions)
        offsets, taps = self._taps[o]
        spatial = self._spatial[position, taps]
        keep = spatial >= 0
        return offsets[keep] + spatial[keep]

    def synapses(self) -> np.ndarray:
        """Synapses into each neuron."""
        if self._rows is not None:
            return self._rows.sum(1).astype(np.int64)
        counts = np.empty(self.neurons, np.int64)
        for o, (_, taps) in enumerate(self._taps):
            inside = (self._spatial[:, taps] >= 0).sum(1)
            counts[o * self._positions : (o + 1) * self._positions] = inside
        return counts


def as_3d(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W); a 1-d conv's (C, L) as (C, 1, L)."""
    if len(shape) == 2:
        return (shape[0], 1, shape[1])
    return shape  # type: ignore[return-value]


def conv_view(block: Block):
    """Weight (O, I/g, kH, kW), stride, padding, dilation, groups of a conv or graded-pool block."""
    op = block.synapse.op
    if block.kind == "pool":
        channels = block.out_shape[0]
        return np.ones((channels, 1, *op.kernel)), op.stride, op.padding, (1, 1), channels
    if isinstance(op, Conv1d):
        return (op.weight[:, :, None, :], (1, op.stride[0]), (0, op.padding[0]), (1, op.dilation[0]), op.groups)
    return op.weight, op.stride, op.padding, op.dilation, op.groups
