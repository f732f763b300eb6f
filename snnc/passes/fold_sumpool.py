"""fold-sumpool: a SumPool2d read by one Conv2d, or by one Linear through a Flatten, becomes part
of that layer's weights.

Why: a sum pool is linear, so the layer after it can read the pool's input directly through
weights that repeat each of its own over the pooling window. Lava's NetX format has no pooling
layer (docs/targets/netx.md §1), and folding needs no neurons and no time step of its own, where
pooling as a separate layer of graded spikes does (snnc/backends/loihi/lava.py; the two are
measured against each other in docs/targets/loihi-backend.md).

    Linear W after Flatten(SumPool(x)): W'[o, c, y', x'] = Σ over the windows (y, x) holding
        (y', x') of W[o, c, y, x]; inputs no window covers get weight 0
    Conv2d (kernel K, stride S, padding P, dilation D) after SumPool(x) (kernel k, stride s,
        padding p): kernel s·D·(K − 1) + k, stride S·s, padding P·s + p, dilation 1, with
        W'[o, i, s·D·a + dy, s·D·b + dx] += W[o, i, a, b] for dy, dx < k

What it preserves: the layer's output, exactly in real arithmetic (in float32 the sums are
regrouped; exact for integer-valued weights and events). The convolution fold is exact unless the
layer's zero padding stands where the folded kernel would read real inputs: a window overlapping
the top/left edge (k > s + p with P > 0), or a padded row below the pooled map whose window still
covers input rows; the pool then stays, with PASS-SUMPOOL-NOT-FOLDED, as it does when the pool's
output has other readers. A Linear fold is always exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Conv2d, Linear, Op, ShapeError, SumPool2d, infer_type
from snnc.ir.types import TensorType
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Reader, Rewriter, rewrite_each, synaptic_reader


@dataclass(frozen=True)
class FoldSumpool:
    name: ClassVar[str] = "fold-sumpool"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, lambda n: isinstance(n.op, SumPool2d), _fold)


def _fold(rw: Rewriter, node: Node) -> Outcome:
    assert isinstance(node.op, SumPool2d)  # selected by the pass
    reader, why = synaptic_reader(rw, node.name)
    if reader is not None:
        (x,) = rw.input_types(node)
        op, why = _folded(reader, node.op, node.type, x)
        if op is not None:
            rw.set_op(reader.layer.name, op)
            rw.bypass(node.name)
            return True
    return Diagnostic(
        "PASS-SUMPOOL-NOT-FOLDED",
        f"sum pool not folded into the next layer's weights: {why}",
        node=node.name,
        hint="a sum pool folds into one Conv2d, or one Linear after a Flatten, that alone reads it",
        severity=Severity.WARNING,
    )


def _folded(reader: Reader, pool: SumPool2d, pooled: TensorType, x: TensorType) -> tuple[Op | None, str]:
    """The reader's op over the pool's input, or None and why it would not be exact."""
    layer = reader.layer
    if isinstance(layer.op, Linear):
        return layer.op.replace(weight=_linear_weight(layer.op.weight, pool, pooled.shape, x.shape)), ""
    if not isinstance(layer.op, Conv2d):
        return None, f"it feeds {layer.name} ({layer.op.kind}), not a 2-d convolution or a linear layer"
    op = layer.op
    for axis in (0, 1):
        size, out = x.shape[axis + 1], layer.type.shape[axis + 1]
        why = _padding_problem(op, pool, axis, size, pooled.shape[axis + 1], out)
        if why:
            return None, why
    folded = _conv(op, pool)
    try:
        same = infer_type(folded, [x]) == layer.type
    except ShapeError:
        same = False
    if not same:
        return None, f"the folded convolution would not give {layer.name}'s output shape {layer.type.shape}"
    return folded, ""


def _padding_problem(conv: Conv2d, pool: SumPool2d, axis: int, size: int, pooled: int, out: int) -> str | None:
    """Why the conv's zero padding would read real inputs after folding along `axis` (0: y, 1: x)."""
    k, s, p = pool.kernel[axis], _stride(pool)[axis], pool.padding[axis]
    pad, reach = conv.padding[axis], conv.stride[axis] * (out - 1) + conv.dilation[axis] * (conv.kernel[axis] - 1)
    if pad > 0 and k > s + p:
        return f"{conv.padding} padding before overlapping windows (kernel {pool.kernel}, stride {pool.stride})"
    if reach - pad >= pooled and s * pooled - p < size:
        return "the convolution's padding after the pooled map stands for input rows/columns the pool dropped"
    return None


def _conv(op: Conv2d, pool: SumPool2d) -> Conv2d:
    o, i, kh, kw = op.weight.shape
    (wh, ww), (sh, sw), (dh, dw) = pool.kernel, _stride(pool), op.dilation  # pool window, stride; conv dilation
    weight = np.zeros((o, i, sh * dh * (kh - 1) + wh, sw * dw * (kw - 1) + ww), np.float64)
    for a in range(kh):
        for b in range(kw):
            y, x = sh * dh * a, sw * dw * b
            weight[:, :, y : y + wh, x : x + ww] += op.weight[:, :, a : a + 1, b : b + 1]
    return op.replace(
        weight=weight.astype(np.float32),
        stride=(op.stride[0] * sh, op.stride[1] * sw),
        padding=(op.padding[0] * sh + pool.padding[0], op.padding[1] * sw + pool.padding[1]),
        dilation=(1, 1),
    )


def _stride(pool: SumPool2d) -> tuple[int, int]:
    return pool.stride or pool.kernel  # the constructor set it (None means the kernel, as in PyTorch)


def _linear_weight(weight: np.ndarray, op: SumPool2d, pooled: tuple[int, ...], x: tuple[int, ...]) -> np.ndarray:
    """W' over the flattened pool input: each pooled column's weight spread over its window."""
    c, h, w = x
    _, hp, wp = pooled
    stride = _stride(op)
    columns = weight.astype(np.float64).reshape(weight.shape[0], c, hp, wp)
    spread = np.zeros((weight.shape[0], c, h + 2 * op.padding[0] + op.kernel[0], w + 2 * op.padding[1] + op.kernel[1]))
    for y in range(hp):
        for xx in range(wp):
            y0, x0 = y * stride[0], xx * stride[1]  # in padded coordinates
            spread[:, :, y0 : y0 + op.kernel[0], x0 : x0 + op.kernel[1]] += columns[:, :, y : y + 1, xx : xx + 1]
    inside = spread[:, :, op.padding[0] : op.padding[0] + h, op.padding[1] : op.padding[1] + w]
    return inside.reshape(weight.shape[0], c * h * w).astype(np.float32)
