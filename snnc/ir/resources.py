"""What simulating or compiling a graph costs in memory and work, from its declared types alone.

A `.snnc`, NIR or ONNX file of a few kilobytes can declare a Delay of 10¹² steps, a padding of
30 000 or an input of 2×100 000×100 000 elements, and the simulator would try to allocate
terabytes for it. The verifier therefore sums what the simulator (snnc/sim) allocates per sample
before anything is allocated, and refuses graphs past the limits of snnc/limits.py
(IR-TOO-LARGE); `snnc/sim/budget.py` adds what a run over T steps and B samples needs.

Counted per sample, with every element at 8 bytes (float32 values, int64 registers of the
integer simulator, snnc/sim/int_ops.py):
- values: each node's output for one step; a convolution's or pooling's padded copy of its input
  and, for integer convolutions (torch's unfold-based CPU kernel), the unfolded input
  (C_in/groups · kernel · output positions);
- state: a neuron's v, i and its working copies (4 per element, snnc/sim/neuron.py NeuronState),
  a Delay's `steps` buffered inputs (snnc/sim/ops.py DelayLine);
- parameters, once per graph.
Work per sample and step: the multiply-accumulates of Linear and Conv (output elements × fan-in),
the window sums of pooling, 8 operations per neuron element, one per element elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from snnc.diagnostics import Diagnostic
from snnc.ir import ops
from snnc.ir.graph import Graph, Node
from snnc.limits import Limits, current, format_bytes, format_count

ELEMENT_BYTES = 8
NEURON_STATE = 4  # v, i, and the working copies h and s


@dataclass(frozen=True)
class Cost:
    """One node's share, per sample: `values` bytes per step, `state` bytes, `work` per step."""

    values: int
    state: int
    work: int


def node_cost(graph: Graph, node: Node) -> Cost:
    op, numel = node.op, node.type.numel
    inputs = graph.input_types(node)
    if isinstance(op, ops.Output):
        return Cost(0, 0, 0)
    if isinstance(op, ops.Linear):
        return Cost(numel * ELEMENT_BYTES, 0, op.weight.size)
    if isinstance(op, (ops.Conv1d, ops.Conv2d)):
        fan_in = op.weight.shape[1] * math.prod(op.kernel)
        padded = _padded(inputs[0].shape, op.padding)
        unfolded = fan_in * math.prod(node.type.shape[1:])
        return Cost((numel + padded + unfolded) * ELEMENT_BYTES, 0, numel * fan_in)
    if isinstance(op, (ops.AvgPool2d, ops.SumPool2d, ops.MaxPool2d)):
        return Cost((numel + _padded(inputs[0].shape, op.padding)) * ELEMENT_BYTES, 0, numel * math.prod(op.kernel))
    if isinstance(op, ops.Neuron):
        return Cost(numel * ELEMENT_BYTES, NEURON_STATE * numel * ELEMENT_BYTES, 8 * numel)
    if isinstance(op, ops.Delay):
        return Cost(numel * ELEMENT_BYTES, op.steps * numel * ELEMENT_BYTES, numel)
    return Cost(numel * ELEMENT_BYTES, 0, numel)


def _padded(shape: tuple[int, ...], padding: tuple[int, ...]) -> int:
    """Elements of the zero-padded copy of a (C, *spatial) input; none without padding."""
    if not any(padding):
        return 0
    return shape[0] * math.prod(n + 2 * p for n, p in zip(shape[1:], padding))


@dataclass(frozen=True)
class Footprint:
    """A graph's costs: `parameters` bytes once; per sample `values` (bytes per step), `state`
    (bytes), `work` (operations per step); `costs` per node, for naming the largest."""

    parameters: int
    values: int
    state: int
    work: int
    costs: dict[str, Cost]

    def memory(self, batch: int = 1, window: int = 1) -> int:
        """Bytes for `batch` samples evaluated `window` steps at a time (the simulator's windows)."""
        return self.parameters + batch * (self.state + window * self.values)

    def largest(self, key: str) -> str:
        return max(self.costs, key=lambda name: getattr(self.costs[name], key))


def footprint(graph: Graph) -> Footprint:
    """The costs of a graph whose types are verified (`verify` calls this after its type checks)."""
    costs = {node.name: node_cost(graph, node) for node in graph.nodes}
    return Footprint(
        parameters=sum(int(a.nbytes) for n in graph.nodes for _, a in n.op.params()),
        values=sum(c.values for c in costs.values()),
        state=sum(c.state for c in costs.values()),
        work=sum(c.work for c in costs.values()),
        costs=costs,
    )


def check(graph: Graph, limits: Limits | None = None) -> list[Diagnostic]:
    """IR-TOO-LARGE where one sample for one step would pass a limit."""
    limits = limits or current()
    fp = footprint(graph)
    found = []
    need = fp.memory()
    if need > limits.memory:
        node = fp.largest("state" if fp.state > fp.values else "values")
        found.append(
            Diagnostic(
                "IR-TOO-LARGE",
                f"one sample of this graph needs about {format_bytes(need)} to simulate or compile "
                f"({describe(fp.costs[node])} at this node), more than the memory limit of "
                f"{format_bytes(limits.memory)}",
                node=node,
                hint=limits.memory_hint(),
                measured=need,
                limit=limits.memory,
            )
        )
    if fp.work > limits.work:
        node = fp.largest("work")
        found.append(
            Diagnostic(
                "IR-TOO-LARGE",
                f"one step of one sample takes about {format_count(fp.work)} operations "
                f"({format_count(fp.costs[node].work)} at this node), more than the work limit of "
                f"{format_count(limits.work)}",
                node=node,
                hint=limits.work_hint(),
                measured=fp.work,
                limit=limits.work,
            )
        )
    return found


def describe(cost: Cost) -> str:
    return f"{format_bytes(cost.state)} of state, {format_bytes(cost.values)} of values per step"
