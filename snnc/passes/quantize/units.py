"""Which layers share a scale in `Quantize`, and the scale of the integers each layer reads.

A unit is a set of synapses and the neurons their sums reach. A neuron adds the sums of all the
synapses feeding it (through pooling, reshapes, adds and delays) into one state, so they must
share one scale; neurons fed by the same synapse share its.

The integers a layer reads carry a scale of their own (`value_scales`): 1 for events and for
integer data the user quantized, the format's scale for a quantized real-valued input. A synapse
whose sum has scale S and whose input has scale s_x holds weights of scale S / s_x (quantize.py).
Weighted sums and a non-spiking neuron's membrane get their scale only when their own unit is
quantized, so a layer reading them is refused: its integers would be read at the wrong scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph, Node
from snnc.ir.layers import passes_values
from snnc.ir.ops import (
    SYNAPTIC,
    Input,
    Neuron,
)
from snnc.ir.quant import NumberFormat
from snnc.ir.types import Float

_MEMBRANE_HINT = "read a non-spiking neuron's membrane only as a graph output (a readout)"


@dataclass
class Unit:
    synapses: list[Node] = field(default_factory=list)
    neurons: list[Node] = field(default_factory=list)
    input_scales: dict[str, float] = field(default_factory=dict)  # synapse → scale of the integers it reads
    source_scale: float = 1.0  # a neuron fed without synapses: the scale of what it reads

    @property
    def pair(self) -> bool:
        """One synapse feeding one neuron directly and nothing else: parameters may move between them."""
        return len(self.synapses) == 1 and len(self.neurons) == 1 and self.neurons[0].inputs == (self.synapses[0].name,)


def value_scales(graph: Graph, formats: dict[str, NumberFormat]) -> dict[str, float | None]:
    """Per node, the scale of the integers it outputs once quantized, where that is known before
    any unit is: 1 for events and integer inputs, the format's scale for a quantized real input
    (`formats`: input name → its format), the common scale of its inputs for an op that passes
    values on. None for weighted sums, membranes, real values and mixed scales."""
    scales: dict[str, float | None] = {}
    for node in graph.order:
        scales[node.name] = _value_scale(node, formats, scales)
    return scales


def _value_scale(node: Node, formats: dict[str, NumberFormat], scales: dict[str, float | None]) -> float | None:
    if node.type.dtype.is_event:
        return 1.0
    if isinstance(node.op, Input):
        if node.name in formats:
            return formats[node.name].single_scale
        return None if isinstance(node.type.dtype, Float) else 1.0
    if not passes_values(node):
        return None
    found = {scales.get(i) for i in node.inputs}  # a Delay's input comes later: unknown here
    return found.pop() if len(found) == 1 else None


def find_units(graph: Graph, found: list[Diagnostic], scales: dict[str, float | None]) -> list[Unit]:
    """Union of each neuron with the synapses whose sums reach it (through pooling, reshapes,
    adds and delays); a synapse reaching no neuron is a unit of its own (a readout). `scales`
    are `value_scales(graph, ...)`."""
    parent: dict[str, str] = {}
    direct: dict[str, float] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            name = parent[name]
        return name

    for node in graph:
        if not isinstance(node.op, Neuron):
            continue
        root(node.name)
        source, *late = node.inputs
        if late:
            found.append(unsupported(node.name, "a neuron with a second (late) input", "feed the neuron one sum"))
        synapses, direct[node.name] = _feeding(graph, source, found, node.name, scales)
        for syn in synapses:
            parent[root(syn)] = root(node.name)
    input_scales: dict[str, float] = {}
    for node in graph:
        if isinstance(node.op, SYNAPTIC):
            root(node.name)
            (source,) = node.inputs
            scale = scales[source]
            if scale is not None:
                input_scales[node.name] = scale
                continue
            why = _unscaled(graph, source, scales)
            if why:
                found.append(unsupported(node.name, why, "put a spiking neuron between"))
    units: dict[str, Unit] = {}
    for node in graph:
        if node.name in parent:
            unit = units.setdefault(root(node.name), Unit())
            if isinstance(node.op, Neuron):
                unit.neurons.append(node)
                unit.source_scale = direct[node.name]  # a unit without synapses has one neuron
            else:
                unit.synapses.append(node)
                unit.input_scales[node.name] = input_scales.get(node.name, 1.0)
    return list(units.values())


def _feeding(
    graph: Graph, start: str, found: list[Diagnostic], neuron: str, scales: dict[str, float | None]
) -> tuple[set[str], float]:
    """The synapses whose outputs reach `start` through scale-keeping ops, and the scale of what
    reaches it without a synapse (events, integer or quantized inputs); a neuron may take those
    only without synapses, since its state has one scale."""
    synapses: set[str] = set()
    direct: set[float] = set()
    seen: set[str] = set()
    stack = [start]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        scale = scales[name]
        if isinstance(node.op, SYNAPTIC):
            synapses.add(name)
        elif scale is not None:
            direct.add(scale)
        elif isinstance(node.op, Neuron):  # only a non-spiking one has no scale
            found.append(unsupported(neuron, f"reads the membrane of the non-spiking neuron {name}", _MEMBRANE_HINT))
        elif passes_values(node):
            stack.extend(node.inputs)
    if synapses and direct:
        found.append(
            unsupported(neuron, "adds raw events or inputs to weighted sums", "weight them through a synaptic layer")
        )
    elif len(direct) > 1:
        found.append(unsupported(neuron, "adds values of different scales", "feed the neuron through one layer"))
    return synapses, min(direct, default=1.0)


def _unscaled(graph: Graph, start: str, scales: dict[str, float | None]) -> str | None:
    """Why a synapse reading `start` cannot be quantized: the weighted sums or membrane it reads,
    or values of different scales; None where the values are real (`real_valued` reports them)."""
    seen: set[str] = set()
    stack = [start]
    leaves: list[Node] = []
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = graph.node(name)
        if scales[name] is None and passes_values(node):
            stack.extend(node.inputs)
        else:
            leaves.append(node)
    for leaf in leaves:
        if isinstance(leaf.op, SYNAPTIC):
            return f"reads the weighted sums of {leaf.name} directly"
        if isinstance(leaf.op, Neuron) and scales[leaf.name] is None:
            return f"reads the membrane of the non-spiking neuron {leaf.name}"
    if leaves and all(scales[leaf.name] is not None for leaf in leaves):
        return "reads values of different scales joined together"
    return None


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
