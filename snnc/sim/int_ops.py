"""Integer evaluation of quantized graphs: a plan of exact kernels, and one implementation per op.

A quantized graph (ARCHITECTURE §2.4) is run in integers only, following its `Arithmetic`: the
results are the target's. The planner walks the graph once and bounds every node's values (max
|x|), which decides, per node, tensors that hold them exactly:

- state and integer values (Int tensors) are int32 where the bound fits, int64 otherwise;
- spikes and counts are float32 0/1 and small integers where below 2^24 (exact in float32), so a
  synaptic kernel reads them without a conversion; uint8 (input events too) where they stay
  below 256 and every user reads bytes (a sum pool or shape op that keeps them, an int8
  convolution, a Linear: `byte_nodes`), a quarter of the memory traffic;
- a Linear/Conv runs the fastest kernel that is exact for its bound S = max over outputs of
  Σ|w|·max|x| + |b|: float32 (S < 2^24: every product and partial sum is an integer below 2^24,
  so any summation order gives the exact sum), else int32 (S < 2^31), else int64 — torch's
  integer conv and matmul, plain integer arithmetic. A Conv2d with 8-bit weights on spikes or
  counts up to 128 (S < 2^24) runs on oneDNN's int8 kernel instead (int8_conv.py), the same
  sums in a third to a half of the time. The exact sum then enters the synapse register
  (`Arithmetic.synapse`, or `.conv`), whose overflow rule is skipped where S fits.

A Linear or convolution reading events takes an event-driven path (each event adds its weights to
the outputs it reaches, as a chip does; event_driven.py) in the windows whose measured density
makes it cheaper; the sum is the same integer either way. A quantized real-valued input
(`Input.format`) arrives as its integers (checks.py encodes float data). Graphs with real-valued
nodes (BatchNorm, Scale, AvgPool, float inputs) cannot run in integers: SIM-QUANTIZED names them.
"""

from __future__ import annotations

import functools
import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from snnc.diagnostics import input_error
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import (
    OPS,
    REAL_ONLY,
    Concat,
    Conv1d,
    Conv2d,
    Delay,
    Elementwise,
    Flatten,
    Input,
    Linear,
    MaxPool2d,
    Neuron,
    Op,
    Output,
    ReLU,
    Reshape,
    SumPool2d,
)
from snnc.ir.quant import Arithmetic, IntRange
from snnc.ir.types import Count, DType, Float, Int, Spike, TensorType
from snnc.sim import event_driven
from snnc.sim.carriers import BYTE_MAX, byte_carriers
from snnc.sim.event_driven import EventConv, EventLinear
from snnc.sim.int8_conv import Int8Conv2d, exact_for
from snnc.sim.int_arith import in_register
from snnc.sim.int_neuron import IntNeuronState, NeuronPlan, runs_compiled
from snnc.sim.ops import (
    IMPLS,
    Impl,
    Init,
    OpT,
    Params,
    Run,
    Setup,
    concat,
    elementwise,
    flatten,
    identity,
    padded,
    reshape,
    window_sums,
)

Tensor = torch.Tensor
EXACT_FLOAT32 = 2**24
INT32_MAX = 2**31 - 1
BYTE_CARRIERS = True  # tests and benchmarks switch uint8 carriers off (byte_nodes) to compare
SUPPORTED = tuple(op for op in OPS if op not in REAL_ONLY)


@dataclass(frozen=True)
class Plan:
    """Static facts of one integer run: each node's value bound and the dtype that carries it."""

    arithmetic: Arithmetic
    bounds: dict[str, int]
    carriers: dict[str, torch.dtype]
    cpu: bool = True  # else CUDA: float32-exact synaptic kernels only, convolutions without cuDNN


def is_quantized(graph: Graph) -> bool:
    return graph.arithmetic is not None or any(n.op.formats() for n in graph)


def integer_plan(graph: Graph, arrays: dict[str, np.ndarray], device: torch.device) -> Plan:
    """The plan for running the quantized `graph` on the input `arrays` (their maxima bound the
    inputs), on `device`. On CUDA, torch has no integer convolution or matrix product, so every
    Linear/Conv must be exact in float32 (sums below 2^24, inputs carried in float32), so must
    every node's values (shape and pooling ops then run on float32 as well), and convolutions
    run without cuDNN, whose FFT and Winograd algorithms round (`_conv`): plain sums of exact
    integer products, the CPU's integers. SIM-DEVICE names a node that needs wider values."""
    plan = make_plan(graph, {name: _max_abs(a) for name, a in arrays.items()})
    if device.type == "cpu":
        return replace(plan, carriers=plan.carriers | dict.fromkeys(byte_nodes(graph, plan), torch.uint8))
    plan = replace(plan, cpu=False)
    for node in graph:
        op = node.op
        synaptic = isinstance(op, (Linear, Conv1d, Conv2d))
        if synaptic and synapse_kernel(plan, node, graph.node(node.inputs[0]).type) != "float32":
            reach = f"its sums reach {synaptic_sum_bound(op, plan.bounds[node.inputs[0]])}"
        elif plan.carriers[node.name] != torch.float32:
            reach = f"its values reach {plan.bounds[node.name]}"
        else:
            continue
        raise input_error(
            "SIM-DEVICE",
            f"{reach}, beyond float32's exact integers (2^24); torch has no integer kernels for it on {device.type}",
            node=node.name,
            hint='simulate on device="cpu", or quantize this layer\'s weights or inputs to fewer bits',
        )
    return plan


def _max_abs(a: np.ndarray) -> int:
    """max |a| without the copy np.abs makes (in Python ints: −min of an unsigned array wraps; an
    unsigned array's max is its max |a|, one pass instead of two)."""
    if not a.size:
        return 0
    return int(a.max()) if a.dtype.kind in "ub" else max(int(a.max()), -int(a.min()))


def make_plan(graph: Graph, input_max: dict[str, int]) -> Plan:
    """Bounds and carriers for `graph`; SIM-QUANTIZED if some node cannot run in integers."""
    _check_integer(graph)
    arith = graph.arithmetic
    assert arith is not None  # a quantized graph has one (the verifier ensured it)
    bounds: dict[str, int] = {}
    for node in graph.order:
        b = _bound(node, bounds, arith, input_max)
        bounds[node.name] = min(b, _type_bound(node.type.dtype))
    carriers = {name: _carrier(graph.node(name).type.dtype, b) for name, b in bounds.items()}
    return Plan(arith, bounds, carriers)


def byte_nodes(graph: Graph, plan: Plan) -> set[str]:
    """The nodes whose values travel as uint8: input events, spikes of a compiled neuron and
    sum-pooled counts up to 255 whose every user reads bytes: a byte sum pool or shape op, an
    int8 convolution, or a Linear (which converts its input for its kernel anyway).
    Their windows take a quarter of float32's memory, written by the neuron loop and read by the
    pools, and reach oneDNN's int8 convolution without a conversion. (Pools with ceil_mode divide
    in avg_pool2d, which has no uint8 kernel: they keep float32.)"""
    if not BYTE_CARRIERS:
        return set()

    def writes(node: Node) -> bool:
        small = plan.bounds[node.name] <= BYTE_MAX and node.type.dtype.is_event
        return small and _writes_bytes(node, plan)

    def reads(user: Node, source: Node) -> bool:
        if isinstance(user.op, Linear):  # converts its input for its kernel anyway (`synapse`)
            return True
        return isinstance(user.op, Conv2d) and synapse_kernel(plan, user, source.type) == "int8"

    return byte_carriers(graph, writes, reads)


def _writes_bytes(node: Node, plan: Plan) -> bool:
    """An input (spike or count data, read as bytes without a conversion), a shape op, a sum pool
    without ceil_mode, or a neuron the compiled loop runs: torch's own loop writes comparisons
    into bytes several times slower than into float32."""
    op = node.op
    if isinstance(op, (Input, Flatten, Reshape)):
        return True
    if isinstance(op, SumPool2d):
        return not op.ceil_mode
    if not isinstance(op, Neuron) or len(node.inputs) != 1:
        return False
    state = NeuronPlan.state_dtype(op, plan.arithmetic, plan.bounds[node.inputs[0]])
    return runs_compiled(op, plan.arithmetic, state)


def _check_integer(graph: Graph) -> None:
    bad = [
        n.name
        for n in graph
        if not isinstance(n.op, SUPPORTED)
        or isinstance(n.type.dtype, Float)
        or (isinstance(n.op, (Linear, Conv1d, Conv2d, Neuron)) and not n.op.formats())
    ]
    if bad:
        raise input_error(
            "SIM-QUANTIZED",
            f"{len(bad)} node(s) of this quantized graph cannot run in integers (real-valued or unquantized): "
            + ", ".join(bad[:8]),
            node=bad[0],
            hint="quantize the whole graph (snnc.passes.quantize) after folding BatchNorm and scales, "
            "or simulate the float graph",
        )


def _type_bound(dtype: DType) -> int:
    if isinstance(dtype, Spike):
        return 1
    if isinstance(dtype, Count) and dtype.max is not None:
        return dtype.max
    if isinstance(dtype, Int):
        return max(-dtype.min, dtype.max)  # uint8: 255
    return 2**62


def _register(node: Node, arith: Arithmetic) -> IntRange:
    return arith.conv_range() if isinstance(node.op, (Conv1d, Conv2d)) else arith.synapse


def _bound(node: Node, bounds: dict[str, int], arith: Arithmetic, input_max: dict[str, int]) -> int:
    op = node.op
    ins = [bounds.get(i, 2**62) for i in node.inputs]  # a Delay's input comes later: its type bounds it
    if isinstance(op, Input):
        return input_max[node.name]
    if isinstance(op, (Linear, Conv1d, Conv2d)):
        return min(synaptic_sum_bound(op, ins[0]), 2 ** (_register(node, arith).bits - 1))
    if isinstance(op, SumPool2d):
        total = ins[0] * math.prod(op.kernel)
        return total if node.type.dtype.is_event else min(total, 2 ** (arith.synapse.bits - 1))
    if isinstance(op, Elementwise):
        if op.fn in ("and", "or", "iand"):
            return 1
        total = ins[0] * ins[1] if op.fn == "mul" else ins[0] + ins[1]
        return total if node.type.dtype.is_event else min(total, 2 ** (arith.synapse.bits - 1))
    if isinstance(op, Neuron):
        if op.spikes == "single":
            return 1
        if op.spikes == "none":  # the membrane, in the voltage register
            return 2 ** (arith.voltage.bits - 1)
        reach = 2 ** (arith.voltage.bits - 1) // max(1, int(np.min(op.threshold)))
        return reach if op.max_spikes is None else min(reach, op.max_spikes)
    return max(ins) if ins else 2**62  # shape ops, pooling by max, ReLU, Delay, Output


def synaptic_sum_bound(op: Linear | Conv1d | Conv2d, input_bound: int) -> int:
    """max over outputs of Σ|w|·max|x| + |b|: no product or partial sum can exceed it."""
    w, b = _magnitudes(op)
    return int((w * input_bound + b).max()) if w.size else 0


_MAGNITUDES: weakref.WeakKeyDictionary[Op, tuple[np.ndarray, np.ndarray]] = weakref.WeakKeyDictionary()


def _magnitudes(op: Linear | Conv1d | Conv2d) -> tuple[np.ndarray, np.ndarray]:
    """Σ|w| and |b| per output (int64), once per op (IR ops are immutable): the planner asks for
    them several times per run, and a run per batch."""
    if op not in _MAGNITUDES:
        w = np.abs(op.weight.astype(np.int64)).reshape(op.weight.shape[0], -1).sum(axis=1)
        _MAGNITUDES[op] = (w, np.zeros_like(w) if op.bias is None else np.abs(op.bias.astype(np.int64)))
    return _MAGNITUDES[op]


def _carrier(dtype: DType, bound: int) -> torch.dtype:
    """float32 for values below 2^24 (exact, and what the synaptic kernels and the activity meters
    read fastest), else the narrowest integer dtype that holds them."""
    if bound < EXACT_FLOAT32:
        return torch.float32
    return torch.int32 if bound <= INT32_MAX else torch.int64


def feed_dtype(carrier: torch.dtype) -> type[np.generic]:
    """The numpy dtype an input array is converted to before it becomes a tensor."""
    return {torch.float32: np.float32, torch.int32: np.int32, torch.uint8: np.uint8}.get(carrier, np.int64)


# --- kernels ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SynapseState:
    """A Linear/Conv's weights in its kernel's dtype, and where its exact sum goes."""

    fn: Callable[[Tensor], Tensor]  # the exact sum of a [N, *shape] input in its carrier, weights bound
    kernel: str  # fn's: synapse_kernel
    out: torch.dtype
    register: IntRange | None  # None: the sum provably fits, the overflow rule is a no-op
    events: EventConv | EventLinear | None  # the event-driven path, where it may be taken


def synapse_kernel(plan: Plan, node: Node, source: TensorType) -> str:
    """The exact kernel a Linear/Conv `node` runs on its input of type `source`: "int8" (oneDNN's,
    a Conv2d on small events), "float32", "int32" or "int64" (the dtype its sums are computed in)."""
    op, (name,) = node.op, node.inputs
    assert isinstance(op, (Linear, Conv1d, Conv2d))
    bound = plan.bounds[name]
    total = synaptic_sum_bound(op, bound)
    if total < EXACT_FLOAT32 and plan.carriers[name] in (torch.float32, torch.uint8):
        shapes = (source.shape, node.type.shape)
        events = source.dtype.is_event  # spikes and counts: never negative
        int8 = plan.cpu and isinstance(op, Conv2d) and exact_for(op, bound, events, shapes)
        return "int8" if int8 else "float32"
    return "int32" if total <= INT32_MAX else "int64"


def _synapse_init(plan: Plan) -> Init[Linear | Conv1d | Conv2d, SynapseState]:
    def init(op: Linear | Conv1d | Conv2d, node: Node, setup: Setup) -> SynapseState:
        (source,) = node.inputs
        total = synaptic_sum_bound(op, plan.bounds[source])
        if total >= 2**63:
            raise input_error(
                "SIM-QUANTIZED",
                f"sums of up to {total} exceed 64-bit integers",
                node=node.name,
                hint="quantize the layer's inputs to fewer bits",
            )
        kernel = synapse_kernel(plan, node, setup.inputs[0])
        compute = getattr(torch, "float32" if kernel == "int8" else kernel)
        register = _register(node, plan.arithmetic)
        weight = torch.tensor(op.weight, dtype=compute, device=setup.device)
        bias = None if op.bias is None else torch.tensor(op.bias, dtype=compute, device=setup.device)
        if kernel == "int8":
            assert isinstance(op, Conv2d)
            fn: Callable[[Tensor], Tensor] = Int8Conv2d.of(op)
        else:
            fn = functools.partial(_dense, _KERNELS[type(op)](op), weight, bias)
        events: EventConv | EventLinear | None = None
        if event_driven.applies(op, kernel, setup.inputs[0].dtype, plan.carriers[source], plan.cpu):
            events = EventLinear(weight, bias) if isinstance(op, Linear) else EventConv.of(op)
        return SynapseState(fn, kernel, plan.carriers[node.name], register if total > register.max else None, events)

    return init


def _dense(kernel: Callable[[Tensor, Tensor, Tensor | None], Tensor], w: Tensor, b: Tensor | None, x: Tensor) -> Tensor:
    """torch's kernel on x converted to the weights' dtype (the int8 kernel instead reads bytes as
    they come: a byte carrier reaches oneDNN without a conversion)."""
    return kernel(x.to(w.dtype), w, b)


def _linear(op: Linear) -> Callable[[Tensor, Tensor, Tensor | None], Tensor]:
    return F.linear


def _conv(op: Conv1d | Conv2d) -> Callable[[Tensor, Tensor, Tensor | None], Tensor]:
    conv = F.conv1d if isinstance(op, Conv1d) else F.conv2d

    def run(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
        if x.device.type == "cpu":
            return conv(x, w, b, op.stride, op.padding, op.dilation, op.groups)
        # torch's own im2col and GEMM instead of cuDNN: no FFT, no Winograd. (Not cudnn.flags(),
        # which also resets TF32 and fp32_precision to their defaults.)
        cudnn = torch.backends.cudnn
        enabled, cudnn.enabled = cudnn.enabled, False
        try:
            return conv(x, w, b, op.stride, op.padding, op.dilation, op.groups)
        finally:
            cudnn.enabled = enabled

    return run


_KERNELS: dict[type[Op], Callable[[Any], Callable[[Tensor, Tensor, Tensor | None], Tensor]]] = {
    Linear: _linear,
    Conv1d: _conv,
    Conv2d: _conv,
}


def synapse(op: Op, xs: list[Tensor], st: SynapseState) -> Tensor:
    """The exact integer sum, through the synapse register, in the node's carrier."""
    (x,) = xs
    flat = x.flatten(0, 1)
    if st.events is not None and st.events.worth(flat, event_driven.count(flat), st.kernel):
        y = st.events(flat, st.kernel)  # the window's measured density makes the event-driven path cheaper
    else:
        y = st.fn(flat)
    y = y.unflatten(0, x.shape[:2])
    if st.register is None:
        return y.to(st.out)
    return in_register(y.to(torch.int64), st.register).to(st.out)


def _pooling_init(plan: Plan) -> Init[SumPool2d, tuple[torch.dtype, IntRange | None]]:
    def init(op: SumPool2d, node: Node, setup: Setup) -> tuple[torch.dtype, IntRange | None]:
        total = plan.bounds[node.inputs[0]] * math.prod(op.kernel)
        register = plan.arithmetic.synapse
        wraps = isinstance(node.type.dtype, Int) and total > register.max
        return plan.carriers[node.name], register if wraps else None

    return init


def sumpool2d(op: SumPool2d, xs: list[Tensor], st: tuple[torch.dtype, IntRange | None]) -> Tensor:
    """Window sums, exact in the input's dtype (float32 below 2^24) in any order: strided adds of
    the zero-padded input, rows then columns (a tenth of avg_pool2d's time on spike maps), or
    avg_pool2d dividing by 1 where ceil_mode makes partial windows."""
    out, register = st
    (x,) = xs
    wide = x.to(out) if register is None else x.to(torch.int64)  # bytes stay bytes only into a byte pool
    if op.ceil_mode:
        flat = wide.flatten(0, 1)
        y = F.avg_pool2d(flat, op.kernel, op.stride, op.padding, True, True, divisor_override=1).unflatten(
            0, x.shape[:2]
        )
    else:
        assert op.stride is not None  # the op's __post_init__ replaced None by the kernel
        y = window_sums(padded(wide, op.padding), op.kernel, op.stride)
    return (y if register is None else in_register(y, register)).to(out)


def maxpool2d(op: MaxPool2d, xs: list[Tensor], st: Any) -> Tensor:
    (x,) = xs
    return F.max_pool2d(x.flatten(0, 1), op.kernel, op.stride, op.padding, ceil_mode=op.ceil_mode).unflatten(
        0, x.shape[:2]
    )


def _cast_init(plan: Plan) -> Init[Op, torch.dtype]:
    return lambda op, node, setup: plan.carriers[node.name]


def cast(kernel: Run[OpT, Params]) -> Run[OpT, torch.dtype]:
    """A dtype-agnostic float kernel without parameters, its inputs and output in the node's carrier."""
    return lambda op, xs, carrier: kernel(op, [x.to(carrier) for x in xs], {}).to(carrier)


def integer_add(op: Elementwise, xs: list[Tensor], st: tuple[torch.dtype, IntRange | None]) -> Tensor:
    """Logic on spikes, and sums or products exact in the carrier (float32 events below 2^24), else
    in int64 through the synapse register."""
    out, register = st
    if register is None:
        return elementwise(op, [x.to(out) for x in xs], {})
    a, b = (x.to(torch.int64) for x in xs)
    y = elementwise(op, [a, b], {})
    return (y if register is None else in_register(y, register)).to(out)


def _elementwise_init(plan: Plan) -> Init[Elementwise, tuple[torch.dtype, IntRange | None]]:
    def init(op: Elementwise, node: Node, setup: Setup) -> tuple[torch.dtype, IntRange | None]:
        a, b = (plan.bounds[i] for i in node.inputs)
        total = a * b if op.fn == "mul" else a + b
        register = plan.arithmetic.synapse
        wraps = isinstance(node.type.dtype, Int) and total > register.max
        return plan.carriers[node.name], register if wraps else None

    return init


def relu(op: ReLU, xs: list[Tensor], carrier: torch.dtype) -> Tensor:
    return torch.clamp_min(xs[0], 0).to(carrier)


class IntDelayLine:
    """A Delay's last `steps` inputs in the node's carrier (zeros before the run starts)."""

    def __init__(self, op: Delay, node: Node, setup: Setup, carrier: torch.dtype) -> None:
        self.buffer = torch.zeros((op.steps, setup.batch, *node.type.shape), dtype=carrier, device=setup.device)

    def upcoming(self) -> Tensor:
        return self.buffer[:1]


def integer_impls(plan: Plan) -> dict[type[Op], Impl[Any, Any]]:
    """The implementation of every op kind for this plan (the float table's, with integer kernels)."""
    carrier = _cast_init(plan)

    def neuron_init(op: Neuron, node: Node, setup: Setup) -> IntNeuronState:
        bound = plan.bounds[node.inputs[0]]
        late = plan.bounds[node.inputs[1]] if len(node.inputs) > 1 else 0
        dtype = NeuronPlan.state_dtype(op, plan.arithmetic, bound, late)
        neuron_plan = NeuronPlan(plan.arithmetic, bound, dtype, plan.carriers[node.name])
        return IntNeuronState(op, neuron_plan, node.type.shape, setup.batch, setup.device, setup.record)

    def delay_init(op: Delay, node: Node, setup: Setup) -> IntDelayLine:
        return IntDelayLine(op, node, setup, plan.carriers[node.name])

    impls = dict(IMPLS)
    synapse_init = _synapse_init(plan)
    impls.update({kind: Impl(synapse, synapse_init) for kind in (Linear, Conv1d, Conv2d)})
    impls[SumPool2d] = Impl(sumpool2d, _pooling_init(plan))
    impls[MaxPool2d] = Impl(cast(lambda op, xs, _: maxpool2d(op, xs, None)), carrier)
    impls[Elementwise] = Impl(integer_add, _elementwise_init(plan))
    impls[ReLU] = Impl(relu, carrier)
    impls[Neuron] = Impl(lambda op, xs, st: st.run(xs[0], xs[1] if len(xs) > 1 else None), neuron_init)
    impls[Delay] = Impl(IMPLS[Delay].run, delay_init)
    for kind, kernel in ((Input, identity), (Output, identity), (Flatten, flatten), (Reshape, reshape)):
        impls[kind] = Impl(cast(kernel), carrier)
    impls[Concat] = Impl(cast(concat), carrier)
    return impls
