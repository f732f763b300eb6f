"""Which nodes of a lowered graph each Speck core implements (docs/targets/speck.md §2.2).

A core computes one fixed pipeline: Conv → IAF → per destination one sum pooling, sending its
events to at most two destinations ([DS §3.2.4]; sinabs `connectivity_specs.py`). So a layer is a
Conv2d, the one neuron reading it, and the paths from that neuron through sum pools (chained
pools multiply: sinabs `dynapcnn_layer_utils.py::consolidate_dest_pooling`), flattens and reshapes
(address-preserving) and merges (an add of event streams: several cores sending to one, sinabs
`sl.Merge`) to the next Conv2d or to a graph output. A layer reading the graph input may read it
through sum pools, crops and flips: the DVS layer's pooling, region of interest and mirroring
(speck.md §2.5; dvs.py). A crop or flip anywhere else has no hardware (SPECK-CROP-FLIP-PLACEMENT).

Layers are numbered as sinabs numbers them: a topological order of the layer graph by Kahn's
algorithm from the entry layers (sinabs `utils.py::topological_sorting`, then
`DynapcnnNetworkModule.reindex_layers`). sinabs breaks ties between independent branches by the
iteration order of Python sets (speck.md §8), snnc by the graph's node order; both agree on every
chain. Within a core, destinations to other layers come first, those without pooling before those
with pooling, as sinabs appends them (`sinabs_edges_handler.py::collect_dynapcnn_layer_info`).

Anything that does not fit this shape is reported here, once, as a structure diagnostic naming the
node; the rules in rules.py judge the shapes and numbers of what does fit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from snnc.backends.speck.dvs import View
from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Conv2d, Crop, Delay, Elementwise, Flatten, Flip, Input, Neuron, Output, Reshape, SumPool2d

_ADDRESS_ONLY = (Flatten, Reshape)  # (C, 1, 1) ↔ (C,): the same events at the same addresses
_VIEWS = (Crop, Flip)  # the DVS layer's region of interest and mirroring


@dataclass(frozen=True)
class Destination:
    """Where a core's events go: a layer (its Conv2d's name) or, with `layer` None, a graph output
    (the core is then monitored); `pools` are the sum pools on the way, `pooling` their product."""

    layer: str | None
    pools: tuple[Node, ...] = ()
    output: str | None = None

    @property
    def pooling(self) -> tuple[int, int]:
        return (math.prod(p.op.kernel[0] for p in self.pools), math.prod(p.op.kernel[1] for p in self.pools))


@dataclass(frozen=True)
class Layer:
    """One core's worth of the graph: conv → neuron → destinations."""

    conv: Node
    neuron: Node
    in_shape: tuple[int, ...]
    destinations: tuple[Destination, ...]
    sources: tuple[str, ...]  # the layers sending to it
    entry: bool  # reads the graph input

    @property
    def name(self) -> str:
        return self.conv.name

    @property
    def to_layers(self) -> tuple[Destination, ...]:
        return tuple(d for d in self.destinations if d.layer is not None)

    @property
    def exits(self) -> tuple[Destination, ...]:
        return tuple(d for d in self.destinations if d.layer is None)


@dataclass(frozen=True)
class InputStage:
    """The graph input and the sum pools, crops and flips between it and the layers reading it (the
    DVS layer's pooling, region of interest and mirroring when the input comes from the sensor)."""

    node: Node
    chain: tuple[Node, ...]  # in the order the events pass them
    layers: tuple[str, ...]  # the entry layers, in layer order

    @property
    def pools(self) -> tuple[Node, ...]:
        return tuple(n for n in self.chain if isinstance(n.op, SumPool2d))

    @property
    def views(self) -> tuple[Node, ...]:
        return tuple(n for n in self.chain if isinstance(n.op, _VIEWS))

    @property
    def pooling(self) -> tuple[int, int]:
        return Destination(None, self.pools).pooling

    @property
    def view(self) -> View:
        """The crops and flips as one view of the map they read (the pooled map: SPECK-DVS-POOL-AFTER-CROP
        refuses pooling after them)."""
        first = next((k for k, n in enumerate(self.chain) if isinstance(n.op, _VIEWS)), len(self.chain))
        _, height, width = (self.chain[first - 1] if first else self.node).type.shape
        view = View.whole(height, width)
        for node in self.views:
            view = view.then(node.op)
        return view

    @property
    def dvs_layer(self) -> bool:
        """The model has a DVS layer (sinabs DVSLayer, converted to these pools, crops and flips)."""
        return any((p.origin or "").endswith(".DVSLayer") for p in self.chain)


@dataclass
class Network:
    graph: Graph
    layers: tuple[Layer, ...] = ()
    input: InputStage | None = None
    problems: list[Diagnostic] = field(default_factory=list)


def group(graph: Graph) -> Network:
    """The layers of `graph` in sinabs' order, and every node that fits no layer (`problems`)."""
    net = Network(graph)
    layers: dict[str, Layer] = {}
    input_chains: dict[str, tuple[Node, ...]] = {}
    for node in graph:
        if isinstance(node.op, Conv2d):
            layer = _layer(graph, node, net.problems, input_chains)
            if layer is not None:
                layers[layer.name] = layer
        elif isinstance(node.op, Neuron) and not _fed_by_conv(graph, node):
            net.problems.append(_structure(node, "this neuron is not fed by a convolution or linear layer alone"))
        elif isinstance(node.op, Delay):
            net.problems.append(_recurrent(node))
        elif not _supported(node):
            net.problems.append(_unsupported(node))
    net.layers = _ordered(graph, layers)
    on_input = {n.name for chain in input_chains.values() for n in chain}
    net.problems += [_misplaced_view(n) for n in graph if isinstance(n.op, _VIEWS) and n.name not in on_input]
    inputs = graph.inputs
    if len(inputs) == 1:
        entries = tuple(layer.name for layer in net.layers if layer.entry)
        chains = {input_chains[name] for name in entries}
        net.input = InputStage(inputs[0], next(iter(chains)) if len(chains) == 1 else (), entries)
        if not entries and not net.problems:
            net.problems.append(_structure(inputs[0], "no layer reads the graph input"))
        net.problems += _branches_differ(inputs[0], chains)
    elif len(inputs) > 1:
        net.problems.append(
            _structure(inputs[1], f"the graph has {len(inputs)} inputs; Speck has one event input (host or DVS)")
        )
    return net


def _supported(node: Node) -> bool:
    if isinstance(node.op, Elementwise):
        return node.op.fn == "add"
    return isinstance(node.op, (Input, Output, SumPool2d, *_ADDRESS_ONLY, *_VIEWS, Neuron))


def _branches_differ(node: Node, chains: set[tuple[Node, ...]]) -> list[Diagnostic]:
    """The DVS layer pools, crops and mirrors once for all the layers it sends to."""
    pools = {tuple(n for n in chain if isinstance(n.op, SumPool2d)) for chain in chains}
    views = {tuple(n for n in chain if isinstance(n.op, _VIEWS)) for chain in chains}
    found = []
    if len(pools) > 1:
        found.append(
            Diagnostic(
                "SPECK-DVS-POOLING",
                f"the layers reading the input pool it differently ({_pool_list(pools)}); the DVS layer has one "
                "pooling for all its destinations",
                node=node.name,
                hint="pool the input once, before it branches",
                measured=sorted(Destination(None, p).pooling for p in pools),
            )
        )
    if len(views) > 1:
        listed = sorted([", ".join(f"{n.name} ({n.op.kind})" for n in v) or "none" for v in views])
        named = "; ".join(listed)
        found.append(
            Diagnostic(
                "SPECK-CROP-FLIP-PLACEMENT",
                f"the layers reading the input crop or mirror it differently ({named}); the DVS layer has one "
                "region of interest and one mirroring for all its destinations",
                node=node.name,
                hint="crop and flip the input once, before it branches",
            )
        )
    return found


def _pool_list(pools: set[tuple[Node, ...]]) -> str:
    return ", ".join("x".join(map(str, Destination(None, p).pooling)) for p in sorted(pools, key=len))


def _fed_by_conv(graph: Graph, neuron: Node) -> bool:
    return len(neuron.inputs) == 1 and isinstance(graph.node(neuron.inputs[0]).op, Conv2d)


def _layer(graph: Graph, conv: Node, problems: list[Diagnostic], input_chains: dict) -> Layer | None:
    users = graph.users(conv.name)
    neuron = users[0] if len(users) == 1 and isinstance(users[0].op, Neuron) else None
    if neuron is None or neuron.inputs != (conv.name,):
        what = ", ".join(f"{u.name} ({u.op.kind})" for u in users) or "nothing"
        problems.append(_structure(conv, f"a core computes conv → IAF, but this layer feeds {what}"))
        return None
    destinations = _destinations(graph, neuron)
    sources, entry = _sources(graph, conv, problems, input_chains)
    return Layer(conv, neuron, graph.node(conv.inputs[0]).type.shape, destinations, sources, entry)


def _destinations(graph: Graph, neuron: Node) -> tuple[Destination, ...]:
    found: list[Destination] = []

    def walk(name: str, pools: tuple[Node, ...]) -> None:
        for user in graph.users(name):
            op = user.op
            if isinstance(op, SumPool2d):
                walk(user.name, (*pools, user))
            elif isinstance(op, (*_ADDRESS_ONLY, *_VIEWS)) or (isinstance(op, Elementwise) and op.fn == "add"):
                walk(user.name, pools)  # a crop or flip here is reported as misplaced
            elif isinstance(op, Conv2d):
                found.append(Destination(user.name, pools))
            elif isinstance(op, Output):
                found.append(Destination(None, pools, output=user.name))
            # anything else is reported where the graph is scanned (unsupported op, recurrence)

    walk(neuron.name, ())
    # sinabs: destinations without pooling, then those with; exits (no slot) last
    return tuple(sorted(found, key=lambda d: (d.layer is None, bool(d.pools))))


def _sources(graph: Graph, conv: Node, problems: list[Diagnostic], input_chains: dict) -> tuple[tuple[str, ...], bool]:
    """The layers (conv names) whose events reach `conv`, and whether the graph input does (then
    `input_chains[conv]` holds the pools, crops and flips on the way, in the events' order)."""
    sources: list[str] = []
    entry = False
    stack = [(conv.inputs[0], ())]
    while stack:
        name, path = stack.pop()
        node = graph.node(name)
        op = node.op
        if isinstance(op, Neuron):
            if _fed_by_conv(graph, node) and node.inputs[0] not in sources:
                sources.append(node.inputs[0])
        elif isinstance(op, Input):
            entry = True
            input_chains[conv.name] = tuple(reversed(path))
        elif isinstance(op, (SumPool2d, *_VIEWS)):
            stack.append((node.inputs[0], (*path, node)))
        elif isinstance(op, _ADDRESS_ONLY) or (isinstance(op, Elementwise) and op.fn == "add"):
            stack.extend((i, path) for i in node.inputs)
        # a Conv2d read directly is reported at that conv (it does not feed one IAF)
    if entry and sources:
        problems.append(_structure(conv, "it adds graph input events to events of other layers"))
    return tuple(sources), entry


def _ordered(graph: Graph, layers: dict[str, Layer]) -> tuple[Layer, ...]:
    """Kahn's algorithm over the layer graph, entry layers first, ties in graph order."""
    indegree = {name: len(layer.sources) for name, layer in layers.items()}
    queue = deque(name for name in layers if indegree[name] == 0)
    order: list[str] = []
    while queue:
        name = queue.popleft()
        order.append(name)
        for d in layers[name].to_layers:
            if d.layer in indegree:
                indegree[d.layer] -= 1
                if indegree[d.layer] == 0:
                    queue.append(d.layer)
    order += [name for name in layers if name not in order]  # on a cycle: reported as recurrence
    return tuple(layers[name] for name in order)


def _structure(node: Node, why: str) -> Diagnostic:
    return Diagnostic(
        "SPECK-LAYER-STRUCTURE",
        f"{node.name} ({node.op.kind}) does not fit a Speck core: {why}",
        node=node.name,
        hint="each core runs Conv2d/Linear → IAF → optional sum pooling; merge branches only by adding events "
        "before a layer",
    )


def _misplaced_view(node: Node) -> Diagnostic:
    return Diagnostic(
        "SPECK-CROP-FLIP-PLACEMENT",
        f"{node.name} ({node.op.kind}) crops or mirrors events after a layer; only the DVS layer crops and "
        "mirrors, between the sensor and the first layers",
        node=node.name,
        hint="crop or flip the input (a sinabs DVSLayer's crop, flip_x, flip_y, swap_xy), or shrink the map "
        "with the layer's padding and stride",
    )


def _unsupported(node: Node) -> Diagnostic:
    what = f"{node.op.kind}" + (f" {node.op.fn}" if isinstance(node.op, Elementwise) else "")
    return Diagnostic(
        "SPECK-OP-UNSUPPORTED",
        f"Speck has no hardware for {what}",
        node=node.name,
        hint="use Conv2d/Linear, IAF neurons, sum or average pooling, flatten and merges (adds of events); "
        "fold BatchNorm and scales into the layers",
    )


def _recurrent(node: Node) -> Diagnostic:
    return Diagnostic(
        "SPECK-RECURRENCE",
        "the network feeds a layer's events back to an earlier layer; Speck (and sinabs) support feed-forward "
        "graphs only",
        node=node.name,
        hint="remove the recurrent connection; recurrence on chip can deadlock it (sinabs "
        "faqs/available_network_arch.md)",
    )
