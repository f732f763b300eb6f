"""check-spike-driven: every synaptic operation must be an accumulate triggered by an event.

Why: a neuromorphic synapse adds its stored weight to a neuron when an event arrives; it never
multiplies a weight by a real number. A Linear/Conv whose input holds real values (an unfolded
BatchNorm, an average pool, a ReLU, a Scale, another layer's output with no neuron between, a
real-valued graph input) is a multiply-accumulate no such core can host, and its cost is a MAC,
not a synaptic op. This analysis finds each one, and the path that makes its input real, so the
user sees which layer to change. It also flags Elementwise mul of two event tensors (spiking
self-attention's Q·K products): both operands must be present at once, which no synaptic crossbar
(weights times events) computes; the cost model still counts them.

What it preserves: everything — it returns the graph unchanged and only reports.

- SPIKE-DRIVEN, per Linear/Conv whose input is not events: spikes, or counts up to `max_count`
  (None: any count, each unit one event, as Speck's sum pooling emits them). Encoding layers are
  exempt: by default, a layer that reaches only graph inputs when walking back through
  non-synaptic, non-neuron ops (the first layer on a real-valued input, as in direct encoding);
  `encoding` names them explicitly instead.
- SPIKE-PRODUCT, per Elementwise mul of two event tensors.

Both with `severity`: errors for a chip target, warnings where the target runs real values
anyway (the reference simulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import SYNAPTIC, AvgPool2d, BatchNorm, Elementwise, Input, Neuron, Op, ReLU, Scale
from snnc.ir.types import Count, DType, Spike
from snnc.passes.base import PassContext
from snnc.passes.rewrite import describe

_HINTS: tuple[tuple[type[Op] | tuple[type[Op], ...], str], ...] = (  # (what isinstance takes, hint)
    (BatchNorm, "fold the BatchNorm (fold-bn): put it right after a Linear/Conv that feeds nothing else"),
    (AvgPool2d, "use sum pooling (avgpool-to-sumpool) and absorb its 1/k² into the next weights"),
    (Scale, "absorb the scale into the next weights (absorb-scale)"),
    (ReLU, "replace the ReLU by a spiking neuron"),
    (Input, "feed events to the graph, or mark this layer as an encoding layer"),
    (SYNAPTIC, "put a spiking neuron between the two layers"),
    (Neuron, "cap the neuron's multi-spikes (max_spikes) at what the target's synapses take"),
)


@dataclass(frozen=True)
class CheckSpikeDriven:
    name: ClassVar[str] = "check-spike-driven"
    encoding: tuple[str, ...] | None = None  # layers allowed real inputs; None: those fed by graph inputs
    max_count: int | None = None  # largest count per input event a synapse takes; None: any count
    severity: Severity = Severity.ERROR

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        encoding = set(self.encoding) if self.encoding is not None else _encoding_layers(graph)
        for node in graph.order:
            if isinstance(node.op, SYNAPTIC) and node.name not in encoding:
                source = graph.node(node.inputs[0])
                if not self.accepts(source.type.dtype):
                    ctx.emit(self._not_driven(graph, node))
            elif _is_event_product(graph, node):
                ctx.emit(self._product(graph, node))
        return graph

    def accepts(self, dtype: DType) -> bool:
        """Whether a synapse can take values of `dtype` as events."""
        if isinstance(dtype, Spike):
            return True
        if isinstance(dtype, Count):
            return self.max_count is None or (dtype.max is not None and dtype.max <= self.max_count)
        return False

    def _not_driven(self, graph: Graph, layer: Node) -> Diagnostic:
        path = self._path(graph, layer)
        origin = path[0]
        received = graph.node(layer.inputs[0]).type
        hint = next((h for kind, h in _HINTS if isinstance(origin.op, kind)), "make its input a neuron's spikes")
        limit = f"spike or {Count(self.max_count)}"
        return Diagnostic(
            "SPIKE-DRIVEN",
            f"{describe(layer)} multiplies its weights by {received.dtype} values, not events: they come from "
            f"{describe(origin)} (path {' → '.join(n.name for n in path)})",
            node=layer.name,
            hint=hint,
            severity=self.severity,
            measured=str(received.dtype),
            limit=limit,
        )

    def _path(self, graph: Graph, layer: Node) -> list[Node]:
        """From the op that produced the non-event values to `layer`: walk back along inputs that
        are not events, through ops that merely pass values on, until an op whose own inputs are
        events (it made the values real), a synaptic layer, a neuron or a graph input."""
        path = [layer]
        node = graph.node(layer.inputs[0])
        while True:
            path.append(node)
            if isinstance(node.op, (*SYNAPTIC, Neuron, Input)):
                break
            real = [graph.node(i) for i in node.inputs if not self.accepts(graph.node(i).type.dtype)]
            if not real or real[0] in path:
                break
            node = real[0]
        return path[::-1]

    def _product(self, graph: Graph, node: Node) -> Diagnostic:
        a, b = (graph.node(i) for i in node.inputs)
        return Diagnostic(
            "SPIKE-PRODUCT",
            f"multiplies two event tensors, {a.name} ({a.type}) and {b.name} ({b.type}): a synapse multiplies an "
            "event by a stored weight, never two events arriving together",
            node=node.name,
            hint="run this product (e.g. spiking self-attention) off-chip, or express it with weights and neurons",
            severity=self.severity,
        )


def _is_event_product(graph: Graph, node: Node) -> bool:
    return (
        isinstance(node.op, Elementwise)
        and node.op.fn == "mul"
        and all(graph.node(i).type.dtype.is_event for i in node.inputs)
    )


def _encoding_layers(graph: Graph) -> set[str]:
    """Synaptic layers whose input depends only on graph inputs, through ops that are neither
    synaptic nor neurons (the network's first layers: they encode the raw input)."""
    found = set()
    for node in graph:
        if not isinstance(node.op, SYNAPTIC):
            continue
        stack, seen, only_inputs = list(node.inputs), set(), True
        while stack and only_inputs:
            current = graph.node(stack.pop())
            if current.name in seen:
                continue
            seen.add(current.name)
            only_inputs = not isinstance(current.op, (*SYNAPTIC, Neuron))
            stack.extend(current.inputs)
        if only_inputs:
            found.add(node.name)
    return found
