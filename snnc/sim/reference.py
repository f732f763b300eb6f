"""The literal, slow definition of every IR op, float and integer: what the fast simulator is tested
against, and every target model (the Speck event simulator, the Lava runs) is to be.

`run(graph, x)` steps time as ARCHITECTURE §2.1 says: at every step t the nodes are evaluated in
`graph.order`, each on its inputs' values at step t, and a Delay is a ring buffer read during the
step and written after it. It returns every node's output [T, B, *shape].

One small function per op kind, registered in `DEFINITIONS` (tests/sim/test_reference.py checks
that it covers snnc.ir.ops.OPS), each citing the text it implements: the op's docstring in
snnc/ir/ops.py and, where torch defines the op, the torch source read for it. Nothing is fast:
windows are Python loops over output positions, and every register rule is applied wherever the
text names it, whether or not a value can leave the register. The Neuron is in reference_neuron.py.

Numbers. A float graph computes in numpy float32, each operation in the order its docstring writes
it. A quantized graph (one with an `Arithmetic`) computes in exact integers (numpy arrays of Python
ints), so no intermediate can overflow before the rule the Arithmetic names applies:
- the exact sum of a Linear/Conv (weights times inputs plus bias) enters the synapse register, the
  conv register for a Conv (`Arithmetic.synapse`, `.conv`); so does a pooled sum or an add, sub
  or mul whose values are integers of a format (Int dtype). Sums and products of events (spike and
  count dtypes) are counts, exact;
- a neuron follows the "Integer semantics" of its docstring;
- real-valued nodes (BatchNorm, Scale, AvgPool2d, float-typed nodes) have no integer semantics.

What the IR leaves open stays open: the order in which a float sum adds its terms (Linear, Conv,
pooled sums) is not part of the semantics (BLAS picks it, snnc/sim/engine.py), so a fast path is
held to these sums on values whose every partial sum is exact in float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from snnc.ir.graph import Graph
from snnc.ir.ops import (
    LOGIC_KINDS,
    STATEFUL,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv1d,
    Conv2d,
    Crop,
    Delay,
    Elementwise,
    Flatten,
    Flip,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    Op,
    Output,
    ReLU,
    Reshape,
    Scale,
    SumPool2d,
)
from snnc.ir.quant import Arithmetic
from snnc.ir.types import Float, Int, TensorType
from snnc.ir.verify import verify_or_raise
from snnc.sim.reference_neuron import FloatNeuron, IntNeuron, as_float, decayed, in_register

__all__ = ["DEFINITIONS", "FloatNeuron", "IntNeuron", "decayed", "in_register", "neuron", "run"]

Array = np.ndarray
f32 = np.float32

DEFINITIONS: dict[type[Op], Callable[..., Any]] = {}
"""op kind → its definition: for a stateless op a function (op, input values at step t, the
node's output type, arithmetic or None) → output value at step t; for a stateful op (Neuron,
Delay) a constructor (op, output type, arithmetic or None, batch) of a node's state for one run."""


def define(*kinds: type[Op]) -> Callable[[Any], Any]:
    def register(definition: Any) -> Any:
        for kind in kinds:
            DEFINITIONS[kind] = definition
        return definition

    return register


# --- running a graph --------------------------------------------------------------------------


def run(graph: Graph, x: Any) -> dict[str, Array]:
    """Every node's output [T, B, *shape] for the data x ([T, B, *input shape], or a dict input
    name → array): float32 for a float graph, int64 for a quantized one."""
    verify_or_raise(graph)
    arith = graph.arithmetic
    if arith is not None:
        _check_integer(graph)
    data = _inputs(graph, x)
    steps, batch = next(iter(data.values())).shape[:2]
    states = {n.name: DEFINITIONS[type(n.op)](n.op, n.type, arith, batch) for n in graph if isinstance(n.op, STATEFUL)}
    series: dict[str, list[Array]] = {n.name: [] for n in graph}
    for t in range(steps):
        values: dict[str, Array] = {}
        for node in graph.order:
            if isinstance(node.op, Delay):
                values[node.name] = states[node.name].read()  # x[t − steps]; x[t] may not exist yet
                continue
            sources = [data[node.name][t]] if isinstance(node.op, Input) else [values[i] for i in node.inputs]
            if isinstance(node.op, Neuron):
                values[node.name] = states[node.name](*sources)  # the input and the late input, if any
            else:
                values[node.name] = DEFINITIONS[type(node.op)](node.op, sources, node.type, arith)
        for node in graph:
            if isinstance(node.op, Delay):
                states[node.name].write(values[node.inputs[0]])
        for name, value in values.items():
            series[name].append(value)
    return {name: _result(np.stack(values), arith) for name, values in series.items()}


def neuron(op: Neuron, x: Any, arith: Arithmetic | None = None, late: Any = None) -> dict[str, Array]:
    """One Neuron op driven by x [T, B, *shape] (and the late input): its output "s" (spikes, or
    the membrane for spikes "none") and the traces "h", "v" (and "i") of every step."""
    x = np.asarray(x)
    shape, batch = x.shape[2:], x.shape[1]
    state = FloatNeuron(op, shape, batch) if arith is None else IntNeuron(op, arith, shape, batch)
    numbers = (lambda a: np.asarray(a).astype(f32)) if arith is None else _integers
    out = [state(numbers(x[t]), None if late is None else numbers(np.asarray(late)[t])) for t in range(x.shape[0])]
    return {name: _result(value, arith) for name, value in ({"s": np.stack(out)} | state.stacked()).items()}


def _check_integer(graph: Graph) -> None:
    """A quantized graph runs in integers: every parameter an integer, no real-valued node."""
    real = [
        n.name
        for n in graph
        if isinstance(n.type.dtype, Float) or any(not np.issubdtype(a.dtype, np.integer) for _, a in n.op.params())
    ]
    if real:
        raise ValueError(f"nodes {real} of the quantized graph {graph.name!r} have no integer semantics")


def _inputs(graph: Graph, x: Any) -> dict[str, Array]:
    names = [n.name for n in graph.inputs]
    given = dict(x) if isinstance(x, Mapping) else dict(zip(names, [x]))
    if set(given) != set(names):
        raise ValueError(f"the graph's inputs are {names}, got {sorted(given)}")
    return {name: np.asarray(value) for name, value in given.items()}


def _integers(x: Array) -> Array:
    """Integer data as exact Python integers (a numpy object array)."""
    x = np.asarray(x)
    if x.dtype.kind == "f" and not (x == np.round(x)).all():
        raise ValueError("a quantized graph takes integer data")
    return x.astype(np.int64).astype(object)


def _number(value: Array, arith: Arithmetic | None) -> Array:
    """A parameter or value in the graph's numbers: float32, or exact integers."""
    return np.asarray(value, f32) if arith is None else _integers(value)


def _zeros(shape: tuple[int, ...], arith: Arithmetic | None) -> Array:
    return np.zeros(shape, f32 if arith is None else object)


def _result(value: Array, arith: Arithmetic | None) -> Array:
    """float32, or int64 (an integer beyond int64 raises OverflowError instead of wrapping)."""
    return value.astype(f32) if arith is None else value.astype(np.int64)


# --- graph boundary ---------------------------------------------------------------------------


@define(Input)
def graph_input(op: Input, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """The data at step t (Input docstring): float32; in a quantized graph integers, real data
    for a quantized input (`format`) first turned into its integers by `format.encode`."""
    (x,) = xs
    if arith is not None and op.format is not None and x.dtype.kind == "f":
        x = op.format.encode(x)
    return _number(x, arith)


@define(Output)
def graph_output(op: Output, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    return xs[0]


# --- synaptic ---------------------------------------------------------------------------------


@define(Linear)
def linear(op: Linear, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """y = W x + b (Linear docstring): y[o] = Σ_i W[o, i]·x[i] + b[o]; in integers the exact sum
    enters the synapse register."""
    (x,) = xs
    y = (x[:, None, :] * _number(op.weight, arith)).sum(axis=-1)  # [B, out]
    if op.bias is not None:
        y = y + _number(op.bias, arith)
    return y if arith is None else in_register(y, arith.synapse)


@define(Conv1d, Conv2d)
def conv(op: Conv1d | Conv2d, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """Cross-correlation as torch.nn.functional.conv1d/conv2d (Conv docstrings): output channel o,
    in group g = o // (out/groups), at position p is the sum over its group's input channels c and
    kernel taps k of w[o, c, k] · x[g·(in/groups) + c, p·stride + k·dilation − padding] (zero
    outside the input), plus bias[o]; in integers the exact sum enters the conv register."""
    (x,) = xs
    weight = _number(op.weight, arith)
    padded = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in op.padding])  # zeros
    out_channels, *spatial = out.shape
    per_group, group_inputs = out_channels // op.groups, weight.shape[1]
    y = _zeros((x.shape[0], *out.shape), arith)
    for o in range(out_channels):
        first = (o // per_group) * group_inputs
        for position in np.ndindex(*spatial):
            taps = tuple(
                slice(p * s, p * s + d * (k - 1) + 1, d)
                for p, s, d, k in zip(position, op.stride, op.dilation, op.kernel)
            )
            window = padded[(slice(None), slice(first, first + group_inputs), *taps)]  # [B, in/groups, *kernel]
            y[(slice(None), o, *position)] = (window * weight[o]).sum(axis=tuple(range(1, window.ndim)))
    if op.bias is not None:
        y = y + _number(op.bias, arith).reshape(-1, *([1] * len(spatial)))
    return y if arith is None else in_register(y, arith.conv_range())


# --- per-channel affine (real-valued only) ----------------------------------------------------


@define(BatchNorm)
def batchnorm(op: BatchNorm, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """y = (x − mean) / sqrt(var + eps) · weight + bias per channel (BatchNorm docstring)."""
    mean, var, weight, bias = (as_float(p, out.shape) for p in (op.mean, op.var, op.weight, op.bias))
    return (xs[0] - mean) / np.sqrt(var + f32(op.eps)) * weight + bias


@define(Scale)
def scale(op: Scale, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """y = x · factor, one factor per channel or one for all (Scale docstring)."""
    return xs[0] * as_float(op.factor, out.shape)


# --- pooling ----------------------------------------------------------------------------------

Pool = AvgPool2d | SumPool2d | MaxPool2d


def _windows(
    op: Pool, size: tuple[int, ...], out: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...], int]]:
    """(output position, the window's rows and columns inside the input, its area counting padding)
    for every output position. As torch defines pooling windows (torch/_inductor/lowering.py
    `_avg_poolnd`, fn_count): a window starts at o·stride − padding and ends at
    min(start + kernel, size + padding), so a ceil_mode window may be cut at the right padding;
    positions outside the input hold nothing (zero for a sum, never the maximum)."""
    stride = op.stride or op.kernel  # None: equal to the kernel, as in PyTorch
    for position in np.ndindex(*out):
        spans, area = [], 1
        for o, n, k, s, p in zip(position, size, op.kernel, stride, op.padding):
            start = o * s - p
            end = min(start + k, n + p)
            area *= end - start
            spans.append(slice(max(start, 0), min(end, n)))
        yield position, tuple(spans), area


def _pool(op: Pool, x: Array, out: TensorType, arith: Arithmetic | None, reduce: Callable[[Array, int], Any]) -> Array:
    """y[..., position] = reduce(values of the window [B, C, rows, cols], its padded area)."""
    y = _zeros((x.shape[0], *out.shape), arith)
    for position, (rows, cols), area in _windows(op, x.shape[2:], out.shape[1:]):
        y[(slice(None), slice(None), *position)] = reduce(x[:, :, rows, cols], area)
    return y


@define(AvgPool2d)
def avgpool2d(op: AvgPool2d, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """torch.nn.functional.avg_pool2d (AvgPool2d docstring): the window's sum divided by its area
    counting padding (count_include_pad), or by the number of input values in it."""

    def mean(window: Array, area: int) -> Array:
        count = area if op.count_include_pad else window.shape[-2] * window.shape[-1]
        return window.sum(axis=(-2, -1)) / f32(count)

    return _pool(op, xs[0], out, arith, mean)


@define(SumPool2d)
def sumpool2d(op: SumPool2d, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """The sum over each window (SumPool2d docstring). In float32 in sinabs' order, the window
    mean times the kernel area, fl(fl(Σ / area) · area) (sinabs/layers/pool2d.py SumPool2d is
    nn.LPPool2d(1, k); torch/nn/functional.py lp_pool2d); in integers the exact sum, which enters
    the synapse register if it is an integer of a format (Int dtype)."""
    area = f32(math.prod(op.kernel))
    if arith is None:
        return _pool(op, xs[0], out, arith, lambda window, _: window.sum(axis=(-2, -1)) / area * area)
    y = _pool(op, xs[0], out, arith, lambda window, _: window.sum(axis=(-2, -1)))
    return in_register(y, arith.synapse) if isinstance(out.dtype, Int) else y


@define(MaxPool2d)
def maxpool2d(op: MaxPool2d, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """torch.nn.functional.max_pool2d (MaxPool2d docstring): the largest input value in the window."""
    return _pool(op, xs[0], out, arith, lambda window, _: window.max(axis=(-2, -1)))


# --- shape ------------------------------------------------------------------------------------


@define(Flatten)
def flatten(op: Flatten, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """Per-sample axes start..end (inclusive, negative from the end) joined, row-major (Flatten docstring)."""
    (x,) = xs
    shape = x.shape[1:]
    start, end = op.start % len(shape), op.end % len(shape)
    return x.reshape(x.shape[0], *shape[:start], math.prod(shape[start : end + 1]), *shape[end + 1 :])


@define(Reshape)
def reshape(op: Reshape, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """Row-major reshape of the per-sample tensor (Reshape docstring)."""
    return xs[0].reshape(xs[0].shape[0], *op.shape)


@define(Concat)
def concat(op: Concat, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """Concatenation along a per-sample axis (Concat docstring)."""
    return np.concatenate(xs, axis=op.axis + 1)


@define(Crop)
def crop(op: Crop, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """y[c, i, j] = x[c, top + i, left + j] for i < bottom − top, j < right − left (Crop docstring)."""
    (x,) = xs
    y = np.empty((x.shape[0], *out.shape), x.dtype)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            y[:, :, i, j] = x[:, :, op.top + i, op.left + j]
    return y


@define(Flip)
def flip(op: Flip, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """Output position (i, j) reads input (i, j), or (j, i) with swap_xy; the row it reads is
    counted from the bottom with flip_y, the column from the right with flip_x (Flip docstring:
    the mirrors come before the transpose)."""
    (x,) = xs
    h, w = x.shape[-2:]
    y = np.empty((x.shape[0], *out.shape), x.dtype)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            row, col = (j, i) if op.swap_xy else (i, j)
            y[:, :, i, j] = x[:, :, h - 1 - row if op.flip_y else row, w - 1 - col if op.flip_x else col]
    return y


# --- elementwise ------------------------------------------------------------------------------


@define(Elementwise)
def elementwise(op: Elementwise, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """a + b, a − b, a · b; on spikes a and b, a or b, iand(a, b) = (not a) and b (Elementwise
    docstring). In integers a result that is an integer of a format enters the synapse register."""
    a, b = xs
    if op.fn in LOGIC_KINDS:
        p, q = a != 0, b != 0
        truth = p & q if op.fn == "and" else p | q if op.fn == "or" else ~p & q
        return _number(truth, arith)
    y = a + b if op.fn == "add" else a - b if op.fn == "sub" else a * b
    return in_register(y, arith.synapse) if arith is not None and isinstance(out.dtype, Int) else y


@define(ReLU)
def relu(op: ReLU, xs: list[Array], out: TensorType, arith: Arithmetic | None) -> Array:
    """max(x, 0) (ReLU docstring)."""
    return np.maximum(xs[0], f32(0) if arith is None else 0)


# --- stateful ---------------------------------------------------------------------------------


@define(Neuron)
def neuron_state(op: Neuron, out: TensorType, arith: Arithmetic | None, batch: int) -> FloatNeuron | IntNeuron:
    """A Neuron node's state for one run, stepped by the equations of its docstring (reference_neuron.py)."""
    return FloatNeuron(op, out.shape, batch) if arith is None else IntNeuron(op, arith, out.shape, batch)


@define(Delay)
class DelayLine:
    """y[t] = x[t − steps], zero for t < steps (Delay docstring): a ring of `steps` slots, where
    slot t mod steps holds x[t − steps] during step t and x[t] after it."""

    def __init__(self, op: Delay, out: TensorType, arith: Arithmetic | None, batch: int) -> None:
        self.slots = [_zeros((batch, *out.shape), arith)] * op.steps
        self.t = 0

    def read(self) -> Array:
        return self.slots[self.t % len(self.slots)]

    def write(self, x: Array) -> None:
        self.slots[self.t % len(self.slots)] = x
        self.t += 1
