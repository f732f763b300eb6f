"""Scheduling, evaluation and measurement of one simulation run.

A node that is not on a Delay cycle depends only on its inputs' values, so it is evaluated for
many steps at once (layer at a time, as SpikingJelly's multi-step mode does): stateless ops as
one batch of n·B samples, neurons looping over the n steps inside. Nodes on a Delay cycle feed
themselves, so each such strongly connected component is evaluated step by step, all its nodes
per step.

The sequence is cut into windows of n steps (`window_length`), and the whole schedule runs
window after window, the states carrying over. One window of T steps is the textbook layer at a
time; shorter windows give the same values, because every op maps each sample and step alone,
and run faster: a whole-sequence tensor of a large layer is a fresh allocation of tens of MB
whose page faults cost more than its arithmetic, while a window's tensors stay in cache.

All orders compute the same float operations on the same values, with one exception: a Linear or
Conv may sum its products in a different order for a different number of rows (BLAS and oneDNN
choose by batch size), which changes a float only where the sums are inexact in float32. A graph
imported from a library records how the library batched (snnc/ir/graph.py BATCHING); the layers
whose sums are not provably exact (snnc/sim/exact.py) are then evaluated as the library did: each
step alone ("step"), or the whole sequence in one window ("sequence"). Every other layer, and
every layer of a graph built in code, is free. Private flags force the step-by-step order or a
window length so that tests can hold the orders against each other.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from snnc.diagnostics import input_error
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Delay, Input
from snnc.ir.verify import verify_or_raise
from snnc.sim import budget
from snnc.sim.carriers import float_byte_nodes
from snnc.sim.checks import ACTIVITY, OUT, check_device, check_inputs, parse_record
from snnc.sim.exact import order_dependent
from snnc.sim.int_neuron import IntNeuronState
from snnc.sim.int_ops import Plan, feed_dtype, integer_impls, integer_plan, is_quantized
from snnc.sim.neuron import NeuronState
from snnc.sim.ops import IMPLS, Setup
from snnc.sim.record import ActivityMeter, SequenceSink, host_dtype
from snnc.sim.result import ActivityMap, SimResult

Tensor = torch.Tensor
Block = tuple[tuple[Node, ...], bool]  # nodes in evaluation order, and whether they run step by step
WINDOW_BYTES = 8 << 20
Observer = Callable[[Tensor, int], None]  # (a node's output chunk [n, B, *shape], its first step)


def run(
    graph: Graph,
    x: Any,
    *,
    record: Iterable[str] = (),
    device: str | torch.device = "cpu",
    observers: Mapping[str, Observer] | None = None,
    _stepwise: bool = False,
    _window: int | None = None,
) -> SimResult:
    """Simulate `graph` on `x` ([T, B, *input shape], or a dict input name → array); a quantized
    graph runs in integers with its target's arithmetic (int_ops.py), on the CPU.

    `record` names variables to trace: "v", "h", "i", "out" for every node that has them, or
    "node:var" for one; "activity" measures every node's events (SimResult.activity), which
    costs a pass over each output, so it is only done where asked. `observers` maps a node name
    to a callable that sees each chunk of that node's output as it is computed,
    `observer(chunk [n, B, *shape] tensor, first_step)` (float32;
    in a quantized graph the integer or float32 dtype that holds the node's values exactly),
    chunks in step order and covering every step once: analyses such as the cost model's per-step
    synaptic operations read what they need without keeping whole traces. An observer must not
    modify the chunk. Raises SnncError (SIM-*) for unusable input. Tests only: `_stepwise`
    evaluates every node step by step, `_window` sets the steps per window (T: the whole
    sequence layer at a time).
    """
    verify_or_raise(graph)
    dev = check_device(device)
    arrays = check_inputs(graph, x)
    plan = integer_plan(graph, arrays, dev) if is_quantized(graph) else None  # integers only (int_ops.py)
    requests = parse_record(graph, record)
    steps, batch = next(iter(arrays.values())).shape[:2]
    inexact = frozenset() if plan is not None else order_dependent(graph)  # integer sums are exact in any order
    window = _window or window_length(graph, steps, batch, inexact)
    budget.check(graph, steps, batch, window, requests)  # before any state is allocated
    watched = dict(observers or {})
    unknown = sorted(set(watched) - {n.name for n in graph})
    if unknown:
        raise input_error(
            "SIM-RECORD", f"cannot observe {unknown[0]!r}: there is no such node", hint="observe nodes of this graph"
        )
    steps_apart = inexact if graph.batching == "step" else frozenset()
    with _ieee_float32():
        simulation = _Run(graph, arrays, requests, dev, watched, plan, steps_apart)
        return simulation.execute(schedule(graph, _stepwise), window)


@contextmanager
def _ieee_float32() -> Iterator[None]:
    """Plain float32 convolutions and matmuls: cuDNN would otherwise use TF32 (10-bit mantissas) and
    CUDA results would differ from CPU ones."""
    backends = torch.backends
    # cudnn and mkldnn replace their module by a PropModule whose class holds `conv` and `matmul`
    # (torch/backends/cudnn/__init__.py: CudnnModule; .../mkldnn/__init__.py: MkldnnModule); the
    # module-level annotations that type checkers read do not declare them.
    knobs = [
        backends.cuda.matmul,
        backends.cudnn.conv,  # pyright: ignore[reportAttributeAccessIssue]
        backends.mkldnn.matmul,  # pyright: ignore[reportAttributeAccessIssue]
        backends.mkldnn.conv,  # pyright: ignore[reportAttributeAccessIssue]
    ]
    saved = [k.fp32_precision for k in knobs]
    try:
        for k in knobs:
            k.fp32_precision = "ieee"
        yield
    finally:
        for k, value in zip(knobs, saved):
            k.fp32_precision = value


# --- schedule ---------------------------------------------------------------------------------


def schedule(graph: Graph, stepwise: bool = False) -> list[Block]:
    """Blocks in an order where every block's inputs come from earlier blocks: one node for all
    steps at a time, or a component holding a Delay cycle (in `graph.order`, step by step)."""
    order = graph.order
    if stepwise:
        return [(order, True)]
    position = {n.name: k for k, n in enumerate(order)}
    leader = {n.name: n.name for n in order}
    members: dict[str, list[Node]] = {n.name: [n] for n in order}
    for cycle in _delay_cycles(graph):
        first = min(cycle, key=position.__getitem__)
        members[first] = sorted((graph.node(name) for name in cycle), key=lambda n: position[n.name])
        for name in cycle - {first}:
            leader[name] = first
            del members[name]
    after: dict[str, set[str]] = {name: set() for name in members}
    waiting = {name: 0 for name in members}
    for node in order:
        block = leader[node.name]
        for source in {leader[i] for i in node.inputs} - {block}:
            if block not in after[source]:
                after[source].add(block)
                waiting[block] += 1
    ready = [position[name] for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    blocks: list[Block] = []
    while ready:
        name = order[heapq.heappop(ready)].name
        blocks.append((tuple(members[name]), len(members[name]) > 1 or name in graph.node(name).inputs))
        for user in after[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, position[user])
    return blocks


def _delay_cycles(graph: Graph) -> list[set[str]]:
    """The strongly connected components that contain a cycle. Every cycle passes through a Delay,
    so the component of Delay d is what d reaches and what reaches d."""
    successors: dict[str, list[str]] = {n.name: [u.name for u in graph.users(n.name)] for n in graph}
    predecessors: dict[str, list[str]] = {n.name: list(n.inputs) for n in graph}
    cycles: list[set[str]] = []
    seen: set[str] = set()
    for node in graph:
        if not isinstance(node.op, Delay) or node.name in seen:
            continue
        component = _reach(node.name, successors) & _reach(node.name, predecessors)
        if len(component) > 1 or node.name in node.inputs:
            cycles.append(component)
            seen |= component
    return cycles


def _reach(start: str, edges: dict[str, list[str]]) -> set[str]:
    found, stack = {start}, [start]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in found:
                found.add(nxt)
                stack.append(nxt)
    return found


# --- evaluation -------------------------------------------------------------------------------


def window_length(graph: Graph, steps: int, batch: int, inexact: frozenset[str] = frozenset()) -> int:
    """Steps per window. A graph imported from a library that batched the whole sequence runs it
    in one window if some `inexact` layer's float sums depend on their order (snnc/ir/graph.py
    BATCHING; a "step" library's such layers take each step alone, `_Run._setup`). Otherwise as
    many steps as keep the largest node output of a window within `WINDOW_BYTES`: whole-sequence
    tensors of a large layer are fresh allocations of tens of MB whose page faults cost more
    than the arithmetic; windows reuse cached, warm memory."""
    if graph.batching == "sequence" and inexact:
        return steps
    largest = max(n.type.numel for n in graph) * batch * 4
    return max(1, min(steps, WINDOW_BYTES // largest))


class _Run:
    """The states and recordings of one simulation, filled window by window. A window's values
    are dropped as soon as their last user is evaluated, so memory holds a few layers' windows."""

    def __init__(
        self,
        graph: Graph,
        arrays: dict[str, np.ndarray],
        requests: dict[str, frozenset[str]],
        device: torch.device,
        observers: dict[str, Observer],
        plan: Plan | None = None,
        steps_apart: frozenset[str] = frozenset(),
    ) -> None:
        self.graph = graph
        self.impls = IMPLS if plan is None else integer_impls(plan)  # a quantized graph runs in integers
        self.carriers = plan.carriers if plan is not None else {}  # node → tensor dtype; float32 if absent
        if plan is None and device.type == "cpu":
            self.carriers = dict.fromkeys(float_byte_nodes(graph, requests), torch.uint8)
        self.observers = observers
        self.device = device
        self.requests = requests
        self.steps, self.batch = next(iter(arrays.values())).shape[:2]
        self.arrays = arrays
        self.steps_apart = steps_apart  # nodes evaluated one step at a time, as their library did
        self.feeds: dict[str, Tensor] = {}  # the current window of each graph input
        self.values: dict[str, Tensor] = {}  # the current window of each node output still to be read
        self.states = {n.name: self.impls[type(n.op)].init(n.op, n, self._setup(n)) for n in graph}
        self.meters = {
            n.name: ActivityMeter(n.type, self.steps, self.batch) for n in graph if ACTIVITY in requests.get(n.name, ())
        }
        self.outputs = {n.name: self._sink(n, host_dtype(n.type.dtype)) for n in graph.outputs}
        self.out_traces = {n.name: self._sink(n, np.float32) for n in graph if OUT in requests.get(n.name, ())}

    def _setup(self, node: Node) -> Setup:
        return Setup(
            self.batch,
            self.device,
            self.requests.get(node.name, frozenset()) - {OUT, ACTIVITY},
            tuple(self.graph.node(i).type for i in node.inputs),
            node.name in self.steps_apart,
            self.carriers.get(node.name, torch.float32),
        )

    def _feed_dtype(self, name: str) -> type[np.generic]:
        return feed_dtype(self.carriers[name]) if name in self.carriers else np.float32

    def _sink(self, node: Node, dtype: type[np.generic]) -> SequenceSink:
        return SequenceSink(node.type, self.steps, self.batch, dtype)

    def execute(self, blocks: list[Block], window: int) -> SimResult:
        for start in range(0, self.steps, window):
            steps = slice(start, min(start + window, self.steps))
            self.feeds = {
                # writable, C-ordered: torch cannot wrap read-only (e.g. broadcast) arrays safely
                name: torch.from_numpy(np.require(a[steps], self._feed_dtype(name), ["C", "W"])).to(self.device)
                for name, a in self.arrays.items()
            }
            unread = {n.name: len(self.graph.users(n.name)) for n in self.graph}
            for nodes, stepwise in blocks:
                if stepwise:
                    self._run_steps(nodes, steps.stop - steps.start)
                else:
                    (node,) = nodes
                    self.values[node.name] = self._evaluate(node, slice(None))
                for node in nodes:
                    self._record(node, steps)
                self._release(nodes, unread)
        return self._result()

    def _evaluate(self, node: Node, part: slice) -> Tensor:
        """The node's output over `part` of the window, advancing its state."""
        sources = [self.feeds[node.name]] if isinstance(node.op, Input) else [self.values[i] for i in node.inputs]
        try:
            out = self.impls[type(node.op)].run(node.op, [s[part] for s in sources], self.states[node.name])
            carrier = self.carriers.get(node.name, out.dtype)  # a byte pool or shape op on float32 input
            return out if out.dtype == carrier else out.to(carrier)
        except Exception as e:  # a kernel failing is a bug in snnc: say where, as torch.fx's Interpreter does
            e.add_note(f"while simulating node {node.name} ({node.op.kind}, from {node.source}; origin {node.origin})")
            raise

    def _run_steps(self, nodes: tuple[Node, ...], length: int) -> None:
        """Evaluate `nodes` together one step at a time. A Delay's output at step t is known before
        its input is (steps ≥ 1); its input is pushed once the whole step is done."""
        for node in nodes:
            shape, dtype = (length, self.batch, *node.type.shape), self.carriers.get(node.name, torch.float32)
            self.values[node.name] = torch.empty(shape, dtype=dtype, device=self.device)
        delays = [n for n in nodes if isinstance(n.op, Delay)]
        for k in range(length):
            step = slice(k, k + 1)
            for node in nodes:
                is_delay = isinstance(node.op, Delay)
                self.values[node.name][step] = (
                    self.states[node.name].upcoming() if is_delay else self._evaluate(node, step)
                )
            for node in delays:
                self._evaluate(node, step)

    def _record(self, node: Node, steps: slice) -> None:
        value = self.values[node.name]
        for sinks in (self.meters, self.outputs, self.out_traces):
            if node.name in sinks:
                sinks[node.name].add(steps, value)
        if node.name in self.observers:  # a byte carrier (int_ops.byte_nodes) is seen as float32, as elsewhere
            self.observers[node.name](value.float() if value.dtype == torch.uint8 else value, steps.start)

    def _release(self, nodes: tuple[Node, ...], unread: dict[str, int]) -> None:
        for node in nodes:
            for name in node.inputs:
                unread[name] -= 1
                if unread[name] == 0:
                    self.values.pop(name, None)
            if unread[node.name] == 0:
                self.values.pop(node.name, None)

    def _result(self) -> SimResult:
        traces: dict[str, dict[str, np.ndarray]] = {
            name: {} for name, wanted in self.requests.items() if wanted - {ACTIVITY}
        }
        for name, sink in self.out_traces.items():
            traces[name][OUT] = sink.array
        for name in traces:
            state = self.states[name]
            if isinstance(state, (NeuronState, IntNeuronState)):
                traces[name].update({var: t.cpu().numpy() for var, t in state.recorded().items()})
        return SimResult(
            outputs={name: sink.array for name, sink in self.outputs.items()},
            activity=ActivityMap({name: meter.activity() for name, meter in self.meters.items()}),
            traces=traces,
        )
