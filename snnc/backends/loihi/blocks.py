"""A lowered graph as Loihi blocks: one synapse (Dense, Conv, or a graded sum pool) and what it feeds.

Loihi computes a layer as a synaptic process (Lava `Dense`/`Conv`) whose output enters one LIF
process's `a_in` (docs/targets/loihi.md §3.1); NetX calls the pair a block (netx.md §2). `blocks`
reads that structure off a lowered, quantized graph:

    [Delay d →] [Flatten →] Linear | Conv1d | Conv2d → Neuron        a dense or conv block
    SumPool2d                                                      a graded pool block (Lava only:
                                                                   Conv with a ones kernel → GradedVec)

Each block reads the graph input or one earlier block's output; graph outputs read neurons. Any
other node (a Concat, an add, a leftover pooling, a synapse that feeds no neuron, ...) is reported
as LOIHI-LAYER, naming it, and the blocks found around it are still returned, so every check can
run. A block's delay in Lava time (`lava_delay`) follows from its position: each synaptic process
adds one step (loihi.md §2.1, §7.4; netx.md §5).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph, Node
from snnc.ir.layers import Layer, layers
from snnc.ir.ops import SYNAPTIC, Delay, Flatten, Input, Linear, Neuron, Output, Reshape, SumPool2d
from snnc.ir.types import Count, Int, Spike, count_max

Kind = Literal["dense", "conv", "pool"]


@dataclass(frozen=True)
class Block:
    """One synapse and the neurons it feeds. Shapes are the IR's (C, H, W), (C, L) or (N,)."""

    index: int
    kind: Kind
    synapse: Node  # Linear/Conv1d/Conv2d, or the SumPool2d of a graded pool
    neuron: Node | None  # None for a graded pool block (its GradedVec has no parameters)
    source: int | None  # the block it reads; None: the graph input
    flatten: bool  # the synapse reads its source's (C, H, W) through a Flatten, in C-H-W order
    delay: int  # steps of a Delay in front of the synapse (0: none)
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    input_bits: int  # 0: binary spikes in; else the payload bits of graded input (integers, counts)

    @property
    def name(self) -> str:
        """The user's layer: the neuron's name, or the pool's."""
        return (self.neuron or self.synapse).name

    @property
    def neurons(self) -> int:
        return math.prod(self.out_shape)

    @property
    def spiking(self) -> bool:
        return self.neuron is None or self.neuron.op.spikes != "none"


@dataclass(frozen=True)
class LoihiNet:
    """The blocks of a graph, its one input, and which block each output reads."""

    graph: Graph
    blocks: tuple[Block, ...]
    input: Node | None
    outputs: dict[str, int]  # output name -> block index
    problems: tuple[Diagnostic, ...] = field(default=())

    def lava_delay(self, index: int) -> int:
        """The Lava step (1-based) at which block `index`'s neurons compute snnc's step 0: 2 for a
        block reading the input (the source RingBuffer and the synapse each add one, netx.md
        §5), one more per synaptic process on the way. A Delay is not counted: it delays the
        data in snnc's time too, and Lava's DelayDense does the same."""
        block = self.blocks[index]
        return (1 if block.source is None else self.lava_delay(block.source)) + 1

    @property
    def has_delays(self) -> bool:
        """Whether a synaptic delay holds spikes back: its buffer then carries the last spikes of one
        sample into the next, so samples cannot follow each other in one Lava run."""
        return any(b.delay for b in self.blocks)

    @property
    def is_chain(self) -> bool:
        """Whether block k reads block k − 1 (the input for k = 0), as NetX connects its layers."""
        return all(b.source == (None if b.index == 0 else b.index - 1) for b in self.blocks)


def payload_bits(dtype) -> int:
    """Message bits a graded input of `dtype` needs (0 for binary spikes)."""
    if isinstance(dtype, Spike):
        return 0
    if isinstance(dtype, Int):
        return dtype.bits
    if isinstance(dtype, Count):
        m = count_max(dtype)
        return 32 if math.isinf(m) else max(1, int(m).bit_length())
    return 32  # real values: refused elsewhere (a quantized graph has none)


def layer_error(node: Node, why: str, hint: str) -> Diagnostic:
    return Diagnostic("LOIHI-LAYER", f"{node.op.kind} {why}", node=node.name, hint=hint)


def blocks(graph: Graph) -> LoihiNet:
    """The Loihi blocks of the lowered `graph` (see the module docstring), with LOIHI-LAYER for
    every node that fits none."""
    problems: list[Diagnostic] = []
    inputs = graph.inputs
    if len(inputs) != 1:
        problems.append(
            Diagnostic(
                "LOIHI-LAYER",
                f"the graph has {len(inputs)} inputs; a Loihi network is fed by one",
                hint="merge the inputs into one tensor",
            )
        )
    source_of: dict[str, int | None] = {inputs[0].name: None} if inputs else {}
    found: list[Block] = []
    used: set[str] = {n.name for n in inputs}
    layer_of = {layer.neuron.name: layer for layer in layers(graph) if layer.neuron is not None}
    for node in _data_order(graph):
        block = _block_at(graph, node, layer_of.get(node.name), source_of, len(found))
        if block is None:
            continue
        found.append(block)
        for name in _members(graph, block):
            used.add(name)
        source_of[block.name] = block.index
    outputs: dict[str, int] = {}
    for out in graph.outputs:
        used.add(out.name)
        (src,) = out.inputs
        if src in source_of and source_of[src] is not None and found[source_of[src]].neuron is not None:
            outputs[out.name] = source_of[src]  # type: ignore[assignment]
        elif src in used:
            problems.append(
                layer_error(
                    out,
                    f"reads {src}, which is not a Loihi neuron",
                    "end the network with a neuron (a non-spiking one reads out its membrane)",
                )
            )
    problems += _unplaced_roots(graph, used)
    return LoihiNet(graph, tuple(found), inputs[0] if inputs else None, outputs, tuple(problems))


def _data_order(graph: Graph) -> list[Node]:
    """The nodes in the order data flows, a Delay after its input too (`Graph.order` puts a Delay
    first, as its output at step t is known before the step); ties in graph order. A cycle, which
    only a recurrent Delay makes and which Loihi cannot run, falls back to `Graph.order`."""
    position = {n.name: k for k, n in enumerate(graph.nodes)}
    waiting = {n.name: len(n.inputs) for n in graph.nodes}
    ready = [position[n.name] for n in graph.nodes if not n.inputs]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = graph.nodes[heapq.heappop(ready)]
        order.append(node)
        for user in {u.name for u in graph.users(node.name)}:
            waiting[user] -= sum(i == node.name for i in graph.node(user).inputs)
            if waiting[user] == 0:
                heapq.heappush(ready, position[user])
    return order if len(order) == len(graph.nodes) else list(graph.order)


def _members(graph: Graph, block: Block) -> list[str]:
    """The nodes a block stands for: its neuron, synapse, and the Flatten/Delay in front."""
    names = [block.synapse.name] + ([block.neuron.name] if block.neuron else [])
    name = block.synapse.inputs[0]
    while isinstance(graph.node(name).op, (Flatten, Reshape, Delay)) and len(graph.users(name)) == 1:
        names.append(name)
        name = graph.node(name).inputs[0]
    return names


def _block_at(
    graph: Graph, node: Node, layer: Layer | None, source_of: dict[str, int | None], index: int
) -> Block | None:
    """The block whose last node is `node` (a neuron fed by a synapse, or a graded sum pool), if any.
    A neuron's layer (snnc/ir/layers.py) must be one synapse feeding it alone and directly: Lava
    connects one synaptic process's a_out to the LIF's a_in, and adds no other input to it."""
    if isinstance(node.op, Neuron):
        if layer is None or len(node.inputs) != 1 or len(layer.synapses) != 1 or layer.through:
            return None
        (synapse,) = layer.synapses
        if len(graph.users(synapse.name)) != 1:
            return None
        kind: Kind = "dense" if isinstance(synapse.op, Linear) else "conv"
        neuron: Node | None = node
    elif isinstance(node.op, SumPool2d):
        synapse, neuron, kind = node, None, "pool"
    else:
        return None
    reach = _reach(graph, synapse.inputs[0])
    if reach is None or reach[0] not in source_of:
        return None
    origin, flatten, delay = reach
    if (kind == "pool" and flatten) or (kind != "dense" and delay):
        return None  # a delay reaches Loihi only as a dense layer's synaptic delay (DelayDense)
    src = graph.node(origin)
    return Block(
        index=index,
        kind=kind,
        synapse=synapse,
        neuron=neuron,
        source=source_of[origin],
        flatten=flatten,
        delay=delay,
        in_shape=src.type.shape,
        out_shape=node.type.shape,
        input_bits=payload_bits(src.type.dtype),
    )


def _reach(graph: Graph, name: str) -> tuple[str, bool, int] | None:
    """Walk back from a synapse's input through at most one flatten of every axis (a Flatten, or a
    Reshape to one axis: both row-major, C-H-W) and one Delay: (the node it reads, whether it
    flattens, the delay), or None if something else is in between."""
    flatten, delay = False, 0
    while True:
        node = graph.node(name)
        if len(graph.users(name)) != 1 and isinstance(node.op, (Flatten, Reshape, Delay)):
            return None
        if isinstance(node.op, (Flatten, Reshape)) and not flatten and not delay:
            (x,) = graph.input_types(node)
            if node.type.shape != (math.prod(x.shape),):
                return None
            flatten = len(x.shape) > 1
        elif isinstance(node.op, Delay) and not delay:
            delay = node.op.steps
        else:
            return name, flatten, delay
        name = node.inputs[0]


def _unplaced_roots(graph: Graph, used: set[str]) -> list[Diagnostic]:
    """LOIHI-LAYER for each node that belongs to no block, except the layers that only lack a
    placed input (a linear layer and its neuron after a refused crop would fit): they are counted
    in the message of the node that stops them, instead of one error each."""
    unplaced = [n for n in graph if n.name not in used]
    names = {n.name for n in unplaced}

    def follows(node: Node) -> bool:
        if not node.inputs or not all(i in names for i in node.inputs):
            return False
        if isinstance(node.op, SYNAPTIC):
            users = graph.users(node.name)
            return len(users) == 1 and isinstance(users[0].op, Neuron)
        return isinstance(node.op, (Neuron, Flatten, Reshape, Delay, Output)) and len(node.inputs) == 1

    roots = [n for n in unplaced if not follows(n)]
    after = {root.name: 0 for root in roots}
    for node in unplaced:
        if node.name not in after:
            root = _root_of(graph, node, after)
            if root is None:  # a loop of such layers that no refused node feeds: reported as it is
                roots.append(node)
                after[node.name] = 0
            else:
                after[root] += 1
    found = []
    for root in roots:
        problem = _unplaced(graph, root)
        if after[root.name]:
            waiting = f"{after[root.name]} node{'s' if after[root.name] > 1 else ''}"
            problem = replace(problem, message=f"{problem.message} ({waiting} after it wait on it, unchecked)")
        found.append(problem)
    return found


def _root_of(graph: Graph, node: Node, roots: dict[str, int]) -> str | None:
    seen = set()
    while node.name not in roots:
        if node.name in seen:
            return None
        seen.add(node.name)
        node = graph.node(node.inputs[0])
    return node.name


def _unplaced(graph: Graph, node: Node) -> Diagnostic:
    """Why `node` belongs to no block."""
    if isinstance(node.op, SYNAPTIC):
        users = graph.users(node.name)
        if not (len(users) == 1 and isinstance(users[0].op, Neuron)):
            return layer_error(
                node,
                f"feeds {', '.join(u.name for u in users) or 'nothing'}, not one neuron: Loihi's synapses end in "
                "neurons (a Lava Dense/Conv a_out goes into a LIF's a_in)",
                "follow every linear and convolution layer by one neuron layer",
            )
        return layer_error(node, "reads something that is not the graph input or a Loihi neuron", _STRUCTURE_HINT)
    if isinstance(node.op, Neuron):
        if len(node.inputs) > 1:
            return layer_error(
                node,
                "has a second (late, recurrent) input: Lava's LIF adds every input into its current u",
                "remove the recurrent connection",
            )
        return layer_error(
            node, "is not fed by a linear or convolution layer of its own", "put one synapse in front of each neuron"
        )
    if isinstance(node.op, SumPool2d):
        return layer_error(
            node,
            "is a sum pool NetX cannot hold: it could not be folded into the next layer's weights",
            "compile with --pooling graded --format lava (pooling as its own Lava layer of graded spikes)",
        )
    if isinstance(node.op, Delay):
        return layer_error(
            node,
            "is not a delay in front of a dense layer: Loihi delays spikes only in dense synapses "
            "(Lava's DelayDense; its Conv has none), and a recurrent loop has no Loihi form",
            "move the delay in front of a linear layer, or remove it",
        )
    if isinstance(node.op, (Input, Output)):
        return layer_error(node, "is not connected as a Loihi network", _STRUCTURE_HINT)
    return layer_error(
        node, "has no Loihi counterpart (Lava has synapses, LIF neurons and graded pools)", _STRUCTURE_HINT
    )


_STRUCTURE_HINT = (
    "Loihi runs chains of synapse → neuron layers (with flatten, sum pooling and dense delays between); "
    "express this part of the model as such layers"
)


def uniform(value: np.ndarray) -> int | None:
    """The one integer of a parameter that has the same value everywhere, else None."""
    flat = np.asarray(value).reshape(-1)
    return int(flat[0]) if flat.size and bool((flat == flat[0]).all()) else None
