"""Which layers share a scale in `Quantize`: a unit is a set of synapses and the neurons their sums
reach. A neuron adds the sums of all the synapses feeding it (through pooling, reshapes, adds and
delays) into one state, so they must share one scale; neurons fed by the same synapse share its.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Concat, Delay, Elementwise, Flatten, Input, MaxPool2d, Neuron, ReLU, Reshape, SumPool2d
from snnc.ir.types import Float
from snnc.passes.rewrite import SYNAPTIC

_PASS_THROUGH = (Flatten, Reshape, SumPool2d, MaxPool2d, Concat, ReLU, Delay)  # keep a sum's scale


@dataclass
class Unit:
    synapses: list[Node] = field(default_factory=list)
    neurons: list[Node] = field(default_factory=list)

    @property
    def pair(self) -> bool:
        """One synapse feeding one neuron directly and nothing else: parameters may move between them."""
        return len(self.synapses) == 1 and len(self.neurons) == 1 and self.neurons[0].inputs == (self.synapses[0].name,)


def find_units(graph: Graph, found: list[Diagnostic]) -> list[Unit]:
    """Union of each neuron with the synapses whose sums reach it (through pooling, reshapes,
    adds and delays); a synapse reaching no neuron is a unit of its own (a readout)."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for node in graph:
        if not isinstance(node.op, Neuron):
            continue
        root(node.name)
        if len(node.inputs) > 1:
            found.append(unsupported(node.name, "a neuron with a second (late) input", "feed the neuron one sum"))
        for syn in _feeding(graph, node.inputs[0], found, node.name):
            parent[root(syn)] = root(node.name)
    for node in graph:
        if isinstance(node.op, SYNAPTIC):
            root(node.name)
            for source in node.inputs:
                dtype = graph.node(source).type.dtype
                if not dtype.is_event and not isinstance(dtype, Float):
                    found.append(unsupported(node.name, "reads another layer's weighted sums", "put a neuron between"))
    units: dict[str, Unit] = {}
    for node in graph:
        if node.name in parent:
            unit = units.setdefault(root(node.name), Unit())
            (unit.neurons if isinstance(node.op, Neuron) else unit.synapses).append(node)
    return list(units.values())


def _feeding(graph: Graph, start: str, found: list[Diagnostic], neuron: str) -> set[str]:
    """The synapses whose outputs reach `start` through scale-keeping ops. Event tensors and
    integer inputs carry their own values (scale 1); they may feed a neuron only without synapses."""
    synapses: set[str] = set()
    events = False
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if isinstance(node.op, SYNAPTIC):
            synapses.add(name)
        elif node.type.dtype.is_event or (isinstance(node.op, Input) and not isinstance(node.type.dtype, Float)):
            events = True
        elif isinstance(node.op, _PASS_THROUGH) or (isinstance(node.op, Elementwise) and node.op.fn in ("add", "sub")):
            stack.extend(node.inputs)
    if synapses and events:
        found.append(
            unsupported(neuron, "adds raw events to weighted sums", "weight the events through a synaptic layer")
        )
    return synapses


def real_valued(graph: Graph) -> list[Diagnostic]:
    """Nodes that stay real-valued after quantization, where the real values start."""
    return [
        unsupported(
            n.name,
            f"{n.op.kind} computes real values ({n.type}); integers cannot hold them",
            "fold BatchNorm and scales first (fold-bn, absorb-scale, avgpool-to-sumpool), "
            "and give the graph spike, count or integer inputs",
        )
        for n in graph
        if isinstance(n.type.dtype, Float) and not any(isinstance(graph.node(i).type.dtype, Float) for i in n.inputs)
    ]


def unsupported(node: str | None, what: str, hint: str) -> Diagnostic:
    """QUANT-UNSUPPORTED: the target's formats cannot express this."""
    return Diagnostic("QUANT-UNSUPPORTED", what, node=node, hint=hint or None)
