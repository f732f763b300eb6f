"""Which float32 sums are exact, so that their order cannot change a result.

A float op that adds many terms (a Linear's or Conv's weighted sum, a pooled window) may add them
in any order: BLAS and oneDNN pick the order from the number of rows they are given, and the
simulator mirrors the source library's batching to reproduce its floats (snnc/ir/graph.py
BATCHING). Where every partial sum is exactly representable, every order gives the same float, and
the simulator is free to batch, to window, or to add only the terms that are not zero.

The fact used: if every weight and bias is an integer multiple of 2^k and every input an integer
of magnitude at most X, every product and partial sum is an integer multiple of 2^k of magnitude
at most S = max over outputs of (Σ|w|·X + |b|); when S / 2^k < 2^24 all of them are float32
numbers, so no addition rounds. Spikes (X = 1) times integer or dyadic weights, as in quantized or
quantization-aware trained nets, pass; trained float weights generally do not, and keep the
library's batching. (CPU convolutions are sums of products: oneDNN's direct algorithm or
im2col + GEMM; a transform such as Winograd's, which cuDNN may pick, is not, which is one reason a
CUDA run may differ.)
"""

from __future__ import annotations

import math

import numpy as np

from snnc.ir.graph import Graph
from snnc.ir.ops import SYNAPTIC, Conv1d, Conv2d, Linear, SumPool2d
from snnc.ir.types import Count, Int, Spike, TensorType

EXACT_FLOAT32 = 2**24  # integers below it are float32 numbers, and so are their multiples of 2^k


def integer_bound(ty: TensorType) -> int | None:
    """The largest magnitude of an integer-valued tensor type; None for real values or no bound."""
    dtype = ty.dtype
    if isinstance(dtype, Spike):
        return 1
    if isinstance(dtype, Count):
        return dtype.max
    if isinstance(dtype, Int):
        return max(-dtype.min, dtype.max)
    return None


def grid(*arrays: np.ndarray | None) -> int | None:
    """The largest k such that every value is an integer multiple of 2^k (None: all zero).
    A float32 is m·2^(e−53) with m an integer of at most 53 bits (frexp in float64), whose
    lowest set bit is the value's own grid."""
    values = np.concatenate([np.ravel(a).astype(np.float64) for a in arrays if a is not None])
    values = values[values != 0]
    if not values.size:
        return None
    mantissa, exponent = np.frexp(values)
    digits = np.abs(mantissa * 2.0**53).astype(np.int64)
    lowest = np.frexp((digits & -digits).astype(np.float64))[1] - 1  # log2 of the lowest set bit
    return int((exponent - 53 + lowest).min())


def sums_exactly(op: Linear | Conv1d | Conv2d, input_type: TensorType) -> bool:
    """Whether every partial sum of `op` on inputs of `input_type` is exact in float32."""
    bound = integer_bound(input_type)
    k = grid(op.weight, op.bias)
    if bound is None or k is None:
        return bound is not None  # zero weights and bias: every sum is 0
    unit = 2.0**-k
    weight = np.abs(op.weight.astype(np.float64)) * unit
    if weight.max() * bound >= EXACT_FLOAT32:
        return False
    rows = weight.reshape(weight.shape[0], -1).astype(np.int64).sum(axis=1) * bound  # exact: integers below 2^24·n
    if op.bias is not None:
        rows = rows + (np.abs(op.bias.astype(np.float64)) * unit).astype(np.int64)
    return int(rows.max()) < EXACT_FLOAT32


def pools_exactly(op: SumPool2d, input_type: TensorType) -> bool:
    """Whether every window sum of `op` is an exact float32 integer: integer inputs whose bound
    times the window area stays below 2^24."""
    bound = integer_bound(input_type)
    return bound is not None and bound * math.prod(op.kernel) < EXACT_FLOAT32


def order_dependent(graph: Graph) -> frozenset[str]:
    """The synaptic nodes whose float sums may depend on their summation order, and so on how
    many rows the source library batched into one call."""
    return frozenset(
        node.name
        for node in graph
        if isinstance(node.op, SYNAPTIC) and not sums_exactly(node.op, graph.node(node.inputs[0]).type)
    )
