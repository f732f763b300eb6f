"""Layers as hardware sees them: the synaptic ops whose sums reach one neuron population, and the
pooling that reads its spikes.

A chip core, a Loihi neuron group, a quantization unit and a row of the cost report all speak of
"a layer": a conv or linear (possibly several, joined by an add, as in a residual block) feeding
a population of neurons, whose spikes may be pooled on the way out (Speck pools per
destination). The IR keeps these as separate nodes, so every consumer would otherwise re-walk
the same chains; `layers(graph)` walks them once.

Values pass unchanged in meaning (a sum, a copy, a reshape, a delay) through the ops of
`PASSING`; a walk back from a neuron crosses them and stops at synaptic ops (collected) and at
anything else (inputs, other neurons, real-valued ops: the layer's `sources`).
"""

from __future__ import annotations

from dataclasses import dataclass

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import POOLING, SCALE_PRESERVING, SYNAPTIC, Elementwise, Neuron

PASSING_FNS = ("add", "sub")


def passes_values(node: Node) -> bool:
    """Whether `node` hands its inputs' values on in their own units: a reshape, concat, sum or
    max pool, ReLU, delay, or an add/subtract of them."""
    return isinstance(node.op, SCALE_PRESERVING) or (isinstance(node.op, Elementwise) and node.op.fn in PASSING_FNS)


@dataclass(frozen=True)
class Layer:
    """One layer: `synapses` whose weighted sums reach `neuron` through the value-passing ops
    `through`; `sources`, what the synapses (or, without synapses, the neuron) read where the
    walk stopped; `pools`, the pooling ops reading the neuron's output directly. A layer of
    synapses that reach no neuron (a linear readout) has `neuron` None."""

    neuron: Node | None
    synapses: tuple[Node, ...]
    through: tuple[Node, ...]
    sources: tuple[Node, ...]
    pools: tuple[Node, ...]

    @property
    def name(self) -> str:
        return self.neuron.name if self.neuron is not None else self.synapses[0].name

    @property
    def source(self) -> str:
        """The user's layer (module path) this layer is named after."""
        return self.neuron.source if self.neuron is not None else self.synapses[0].source

    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every node of the layer, synapses first."""
        return (*self.synapses, *self.through, *((self.neuron,) if self.neuron else ()), *self.pools)


def upstream(graph: Graph, start: str) -> tuple[list[Node], list[Node], list[Node]]:
    """Walking back from node `start` through value-passing ops: (the synaptic ops reached, the
    value-passing ops crossed, the other nodes where the walk stopped), each in graph order."""
    synapses: set[str] = set()
    through: set[str] = set()
    stops: set[str] = set()
    stack, seen = [start], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if isinstance(node.op, SYNAPTIC):
            synapses.add(name)
        elif passes_values(node):
            through.add(name)
            stack.extend(node.inputs)
        else:
            stops.add(name)
    return _ordered(graph, synapses), _ordered(graph, through), _ordered(graph, stops)


def layers(graph: Graph) -> list[Layer]:
    """Every neuron's layer, in graph order, then one per group of synapses reaching no neuron.
    A synapse feeding two neurons belongs to both their layers."""
    found: list[Layer] = []
    claimed: set[str] = set()
    for node in graph.nodes:
        if not isinstance(node.op, Neuron):
            continue
        synapses, through, stops = upstream(graph, node.inputs[0])
        sources = {i for s in synapses for i in _stops_behind(graph, s.name)} | {n.name for n in stops}
        pools = tuple(u for u in graph.users(node.name) if isinstance(u.op, POOLING))
        found.append(Layer(node, tuple(synapses), tuple(through), tuple(_ordered(graph, sources)), pools))
        claimed.update(s.name for s in synapses)
    for node in graph.nodes:
        if isinstance(node.op, SYNAPTIC) and node.name not in claimed:
            sources = tuple(_ordered(graph, set(_stops_behind(graph, node.name))))
            found.append(Layer(None, (node,), (), sources, ()))
    return found


def _stops_behind(graph: Graph, synapse: str) -> list[str]:
    """What a synaptic op reads, behind value-passing ops (other synapses' sums included)."""
    (source,) = graph.node(synapse).inputs
    synapses, _, stops = upstream(graph, source)
    return [n.name for n in (*synapses, *stops)]


def _ordered(graph: Graph, names: set[str]) -> list[Node]:
    return [n for n in graph.nodes if n.name in names]
