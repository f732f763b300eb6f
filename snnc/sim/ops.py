"""One implementation per op kind, registered in `IMPLS` (the executable definition of the IR).

Every implementation maps time-major input chunks [n, B, *shape] (n = T when the engine runs a
node layer at a time, n = 1 step by step) to its output chunk, on float32 tensors. Stateless ops
use torch.nn.functional exactly as PyTorch and the SNN libraries' forwards do, so results agree
bit for bit; the ones that need a batch axis see the n·B samples as one batch, as SpikingJelly's
multi-step `SeqToANNContainer` does. State that must persist across chunks (a neuron's membrane,
a delay line) lives in the object `init` builds once per run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import torch
import torch.nn.functional as F

from snnc.ir.graph import Node
from snnc.ir.ops import (
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
from snnc.ir.types import TensorType
from snnc.sim.exact import pools_exactly
from snnc.sim.neuron import NeuronState

Tensor = torch.Tensor
Params = dict[str, Tensor]
OpT = TypeVar("OpT", bound=Op)
StateT = TypeVar("StateT")


@dataclass(frozen=True)
class Setup:
    """What building a node's per-run state needs to know."""

    batch: int
    device: torch.device
    record: frozenset[str]  # neuron variables asked of this node ("v", "h", "i")
    inputs: tuple[TensorType, ...] = ()  # the types of the node's inputs
    steps_apart: bool = False  # evaluate each step on its own: the source library did, and the sums depend on it
    carrier: torch.dtype = torch.float32  # the dtype of the node's output (uint8: carriers.py)


Run = Callable[[OpT, list[Tensor], StateT], Tensor]  # (op, input chunks, node state) → output chunk
Init = Callable[[OpT, Node, Setup], StateT]  # (op, its node, the run) → the node's state


@dataclass(frozen=True)
class Impl(Generic[OpT, StateT]):
    """How the simulator evaluates one op kind: `init` builds a node's state for one run, `run`
    maps the input chunks to the output chunk and advances that state. Both take the node's op
    as its own kind, and `run` the state that `init` built."""

    run: Run[OpT, StateT]
    init: Init[OpT, StateT]


def _params(op: Op, node: Node, setup: Setup) -> Params:
    """A stateless op's parameters as float32 tensors on the run's device, converted once per run."""
    return {name: torch.tensor(value, device=setup.device) for name, value in op.params()}


IMPLS: dict[type[Op], Impl[Any, Any]] = {}
"""Op kind → its implementation, whose op type is that kind (`impl` registers them so). A dict
type cannot tie a value's type to its key's, so the engine's one lookup, `IMPLS[type(op)]`, is
where each implementation is handed an op of its own kind."""


def impl(*kinds: type[OpT], init: Init[OpT, StateT] = _params) -> Callable[[Run[OpT, StateT]], Run[OpT, StateT]]:
    """Register the decorated function as the implementation of `kinds`."""

    def register(fn: Run[OpT, StateT]) -> Run[OpT, StateT]:
        for kind in kinds:
            IMPLS[kind] = Impl(fn, init)
        return fn

    return register


def _samples(fn: Callable[[OpT, Tensor, Params], Tensor]) -> Run[OpT, Params]:
    """Lift a per-sample op on a batch [N, *shape] to chunks [n, B, *shape] (N = n·B)."""

    @functools.wraps(fn)
    def run(op: OpT, xs: list[Tensor], params: Params) -> Tensor:
        (x,) = xs
        return fn(op, x.flatten(0, 1), params).unflatten(0, x.shape[:2])

    return run


def _per_channel(value: Tensor, rank: int) -> Tensor:
    """A scalar or (C,) factor shaped to broadcast over [n, B, C, *spatial] with `rank` per-sample axes."""
    return value if value.dim() == 0 else value.reshape(value.shape[0], *([1] * (rank - 1)))


# --- boundary ---------------------------------------------------------------------------------


@impl(Input, Output)
def identity(op: Input | Output, xs: list[Tensor], params: Params) -> Tensor:
    return xs[0]


# --- synaptic ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Synapse:
    """A Linear's or Conv's parameters, and whether each step of a chunk goes alone into the
    kernel (as the source library called it; snnc/sim/exact.py says when that matters)."""

    params: Params
    steps_apart: bool


def _synapse(op: Op, node: Node, setup: Setup) -> Synapse:
    return Synapse(_params(op, node, setup), setup.steps_apart)


def _synaptic(kernel: Callable[[OpT, Tensor, Params], Tensor]) -> Run[OpT, Synapse]:
    """Lift a per-sample weighted sum to chunks: the n·B samples in one call, or with
    `steps_apart` one call of B samples per step."""

    def run(op: OpT, xs: list[Tensor], st: Synapse) -> Tensor:
        (x,) = xs
        x = x if x.is_floating_point() else x.float()  # spikes or counts carried as bytes (carriers.py)
        if st.steps_apart:
            return torch.stack([kernel(op, step, st.params) for step in x])
        return kernel(op, x.flatten(0, 1), st.params).unflatten(0, x.shape[:2])

    return run


@impl(Linear, init=_synapse)
@_synaptic
def linear(op: Linear, x: Tensor, p: Params) -> Tensor:
    return F.linear(x, p["weight"], p.get("bias"))


@impl(Conv1d, init=_synapse)
@_synaptic
def conv1d(op: Conv1d, x: Tensor, p: Params) -> Tensor:
    return F.conv1d(x, p["weight"], p.get("bias"), op.stride, op.padding, op.dilation, op.groups)


@impl(Conv2d, init=_synapse)
@_synaptic
def conv2d(op: Conv2d, x: Tensor, p: Params) -> Tensor:
    return F.conv2d(x, p["weight"], p.get("bias"), op.stride, op.padding, op.dilation, op.groups)


# --- per-channel affine -----------------------------------------------------------------------


@impl(BatchNorm)
@_samples
def batchnorm(op: BatchNorm, x: Tensor, p: Params) -> Tensor:
    return F.batch_norm(x, p["mean"], p["var"], p["weight"], p["bias"], training=False, eps=op.eps)


@impl(Scale)
def scale(op: Scale, xs: list[Tensor], p: Params) -> Tensor:
    (x,) = xs
    return x * _per_channel(p["factor"], x.dim() - 2)


# --- pooling ----------------------------------------------------------------------------------


@impl(AvgPool2d)
@_samples
def avgpool2d(op: AvgPool2d, x: Tensor, p: Params) -> Tensor:
    return F.avg_pool2d(x, op.kernel, op.stride, op.padding, op.ceil_mode, op.count_include_pad)


def _exact_pool(op: SumPool2d, node: Node, setup: Setup) -> bool:
    return pools_exactly(op, setup.inputs[0])


@impl(SumPool2d, init=_exact_pool)
def sumpool2d(op: SumPool2d, xs: list[Tensor], exact: bool) -> Tensor:
    """sinabs' float order: the window mean times the window area, fl(fl(Σ/area)·area)
    (sinabs/layers/pool2d.py: SumPool2d is nn.LPPool2d(1, k); torch/nn/functional.py: lp_pool2d;
    avg_pool2d sums a window, then divides the sum by the divisor). Where every window sum is an
    exact integer (`exact`: event inputs, exact.py), Σ comes from strided adds, a tenth of
    avg_pool2d's time on spike maps, and the two roundings are applied to it elementwise (none
    when the area is a power of two: then both are exact)."""
    (x,) = xs
    area = op.kernel[0] * op.kernel[1]
    if exact and not op.ceil_mode:
        assert op.stride is not None  # the op's __post_init__ replaced None by the kernel
        total = window_sums(padded(x, op.padding), op.kernel, op.stride)
        return total if area & (area - 1) == 0 else (total / area) * area
    flat = x.flatten(0, 1)
    mean = F.avg_pool2d(flat, op.kernel, op.stride, op.padding, op.ceil_mode, True, divisor_override=area)
    return (mean * area).unflatten(0, x.shape[:2])


def padded(x: Tensor, padding: tuple[int, int]) -> Tensor:
    """x with `padding` zeros around its last two axes (x itself, not a copy, without padding)."""
    return F.pad(x, (padding[1],) * 2 + (padding[0],) * 2) if any(padding) else x


def window_sums(x: Tensor, kernel: tuple[int, int], stride: tuple[int, int]) -> Tensor:
    """Σ over each kernel window of the last two axes (no padding, floor of the window count),
    rows then columns, by strided adds."""
    for axis, k, s in ((-2, kernel[0], stride[0]), (-1, kernel[1], stride[1])):
        count = (x.shape[axis] - k) // s + 1
        parts = [x.narrow(axis, i, s * (count - 1) + 1) for i in range(k)]
        index = [slice(None)] * x.dim()
        index[axis] = slice(None, None, s)
        total = parts[0][tuple(index)]
        for part in parts[1:]:
            total = total + part[tuple(index)]
        x = total
    return x


@impl(MaxPool2d)
@_samples
def maxpool2d(op: MaxPool2d, x: Tensor, p: Params) -> Tensor:
    return F.max_pool2d(x, op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode)


# --- shape ------------------------------------------------------------------------------------


@impl(Flatten)
def flatten(op: Flatten, xs: list[Tensor], p: Params) -> Tensor:
    (x,) = xs
    rank = x.dim() - 2
    return x.flatten(op.start % rank + 2, op.end % rank + 2)


@impl(Reshape)
def reshape(op: Reshape, xs: list[Tensor], p: Params) -> Tensor:
    (x,) = xs
    return x.reshape(*x.shape[:2], *op.shape)


@impl(Concat)
def concat(op: Concat, xs: list[Tensor], p: Params) -> Tensor:
    return torch.cat(xs, dim=op.axis + 2)


@impl(Crop)
def crop(op: Crop, xs: list[Tensor], p: Params) -> Tensor:
    (x,) = xs
    return x[..., op.top : op.bottom, op.left : op.right]


@impl(Flip)
def flip(op: Flip, xs: list[Tensor], p: Params) -> Tensor:
    """Rows, then columns reversed, then the two transposed (Flip docstring)."""
    (x,) = xs
    axes = [axis for axis, on in ((-2, op.flip_y), (-1, op.flip_x)) if on]
    y = x.flip(axes) if axes else x
    return y.transpose(-2, -1) if op.swap_xy else y


# --- elementwise ------------------------------------------------------------------------------

_ELEMENTWISE: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "and": torch.mul,  # a·b on {0, 1}
    "or": torch.maximum,  # max(a, b) on {0, 1}
    "iand": lambda a, b: (1 - a) * b,  # (not a) and b
}


@impl(Elementwise)
def elementwise(op: Elementwise, xs: list[Tensor], p: Params) -> Tensor:
    a, b = xs
    return _ELEMENTWISE[op.fn](a, b)


@impl(ReLU)
def relu(op: ReLU, xs: list[Tensor], p: Params) -> Tensor:
    return F.relu(xs[0])


# --- stateful ---------------------------------------------------------------------------------


def _neuron_state(op: Neuron, node: Node, setup: Setup) -> NeuronState:
    return NeuronState(op, node.type.shape, setup.batch, setup.device, setup.record, setup.carrier)


@impl(Neuron, init=_neuron_state)
def neuron(op: Neuron, xs: list[Tensor], state: NeuronState) -> Tensor:
    return state.run(xs[0], xs[1] if len(xs) > 1 else None)


class DelayLine:
    """The last `steps` inputs a Delay has seen (zeros before the run starts)."""

    def __init__(self, op: Delay, node: Node, setup: Setup) -> None:
        self.buffer = torch.zeros((op.steps, setup.batch, *node.type.shape), device=setup.device)

    def upcoming(self) -> Tensor:
        """The output of the next step, [1, B, *shape]: already known because steps ≥ 1."""
        return self.buffer[:1]


@impl(Delay, init=DelayLine)
def delay(op: Delay, xs: list[Tensor], line: DelayLine) -> Tensor:
    """y[t] = x[t − steps]: the chunk's output is the buffered inputs followed by the chunk's own,
    cut to its length; the chunk's last `steps` inputs stay buffered."""
    (x,) = xs
    n = x.shape[0]
    joined = torch.cat([line.buffer, x])
    line.buffer = joined[n:]
    return joined[:n]
