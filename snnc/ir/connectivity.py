"""Static connectivity of the synaptic and pooling ops: fan-out maps and dense operation counts.

An input event of a synaptic layer costs one accumulate per output neuron it reaches. Near the
borders of a convolution, with stride, padding, dilation or groups, that number differs from
element to element, so `fr · T · FLOPs` (the papers' estimate) is not exact. The exact count is
`Σ events(i) · fan_out(i)`, with the fan-out map computed as sinabs does
(synsense/sinabs `sinabs/hooks.py`: `conv_connection_map`): a transposed convolution of an
all-ones output with an all-ones kernel gives, for every input element, the number of
(output neuron, kernel tap) pairs it takes part in (docs/cost/energy.md §4).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from snnc.ir.graph import Node
from snnc.ir.ops import POOLING, SYNAPTIC, Conv1d, Linear


def fan_out(node: Node, in_shape: tuple[int, ...], nonzero_weights: bool = False) -> np.ndarray:
    """For each input element of the synaptic `node`, how many output neurons it reaches (int64,
    shaped like one input sample). `nonzero_weights` counts only connections whose weight is not
    zero, as NeuroBench's binarised weight copy does (neurobench `metrics/utils/layers/binary_copy.py`)."""
    op = node.op
    assert isinstance(op, SYNAPTIC)
    mask = (op.weight != 0) if nonzero_weights else np.ones(op.weight.shape, bool)  # quantized weights are int64
    weight = torch.from_numpy(mask.astype(np.float32))
    if isinstance(op, Linear):
        return weight.sum(0).numpy().astype(np.int64)  # column j: the outputs input j reaches
    out_shape = node.type.shape
    # The gradient of a convolution is the transposed convolution; output_padding restores the
    # input elements past the last window (they reach nothing, so their fan-out is 0).
    out_padding = [
        n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
        for n, o, s, p, d, k in zip(in_shape[1:], out_shape[1:], op.stride, op.padding, op.dilation, op.kernel)
    ]
    transposed = F.conv_transpose1d if isinstance(op, Conv1d) else F.conv_transpose2d
    ones = torch.ones((1, *out_shape))
    fan = transposed(ones, weight, None, op.stride, op.padding, out_padding, op.groups, op.dilation)
    return fan[0].round().numpy().astype(np.int64)


def pool_fan_out(node: Node, in_shape: tuple[int, ...]) -> np.ndarray:
    """For each input element of a pooling node, the number of windows that read it: the gradient
    of the sum of all window sums (exact with padding, stride ≠ kernel and ceil_mode alike)."""
    op = node.op
    assert isinstance(op, POOLING)
    x = torch.zeros((1, *in_shape), requires_grad=True)
    windows = F.avg_pool2d(x, op.kernel, op.stride, op.padding, op.ceil_mode, True, divisor_override=1)
    windows.sum().backward()
    assert x.grad is not None  # backward() filled the leaf's gradient
    return x.grad[0].round().numpy().astype(np.int64)


def flops(node: Node, in_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one dense pass of the synaptic `node`, as the papers count them
    (Spike-driven Transformer suppl. Eq. S1–S2): conv k·(C_in/groups)·C_out·|output positions|
    (padded taps included), linear N_in·N_out."""
    op = node.op
    assert isinstance(op, SYNAPTIC)
    if isinstance(op, Linear):
        return op.in_features * op.out_features
    return math.prod(op.kernel) * (op.in_channels // op.groups) * node.type.numel


def kernel_taps(node: Node) -> int:
    """Weights one input event addresses per output channel: k_h·k_w for a conv, 1 for a linear."""
    op = node.op
    assert isinstance(op, SYNAPTIC)
    return 1 if isinstance(op, Linear) else math.prod(op.kernel)
