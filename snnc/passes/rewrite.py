"""Graph editing for the rewriting passes: a working copy of a graph's nodes, and the walks they share.

A pass never edits its input (ARCHITECTURE §3). It copies the nodes into a `Rewriter`, replaces
ops, inserts and removes nodes and redirects edges by name, then `build()` re-infers every type
in evaluation order, so a rewrite that changes a dtype (AvgPool's float becomes SumPool's count)
propagates to every node downstream, as GraphBuilder would have inferred it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from snnc.diagnostics import Diagnostic, Kind, SnncError
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import (
    SYNAPTIC,
    AvgPool2d,
    Delay,
    Flatten,
    Linear,
    MaxPool2d,
    Neuron,
    Op,
    ShapeError,
    SumPool2d,
    infer_type,
)
from snnc.ir.types import TensorType
from snnc.passes.base import PassContext


class Rewriter:
    """The nodes of one graph, editable by name; `build()` returns the new, re-typed graph."""

    def __init__(self, graph: Graph) -> None:
        self._source = graph  # kept for what is not a node (name, arithmetic)
        self._order: list[str] = [n.name for n in graph.nodes]
        self._nodes: dict[str, Node] = {n.name: n for n in graph.nodes}

    def node(self, name: str) -> Node:
        return self._nodes[name]

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    def nodes(self) -> list[Node]:
        """The current nodes in order (a snapshot: editing while iterating over it is safe)."""
        return [self._nodes[name] for name in self._order]

    def users(self, name: str) -> list[Node]:
        return [n for n in self.nodes() if name in n.inputs]

    def input_types(self, node: Node) -> list[TensorType]:
        """The types of `node`'s inputs as last built (a rewrite re-types only at `build`)."""
        return [self._nodes[i].type for i in node.inputs]

    def fresh(self, name: str) -> str:
        """`name`, or `name_1`, `name_2`, … if it is taken (GraphBuilder.fresh's spelling)."""
        k, candidate = 0, name
        while candidate in self._nodes:
            k += 1
            candidate = f"{name}_{k}"
        return candidate

    def set_op(self, name: str, op: Op) -> None:
        self._nodes[name] = self._nodes[name].replace(op=op)

    def set_inputs(self, name: str, *inputs: str) -> None:
        self._nodes[name] = self._nodes[name].replace(inputs=tuple(inputs))

    def insert_after(self, anchor: str, name: str, op: Op, *inputs: str) -> str:
        """Add a node (a fresh name based on `name`) right after `anchor`; its type comes from build()."""
        name = self.fresh(name)
        placeholder = self._nodes[anchor].type
        before = self._nodes[anchor]
        self._nodes[name] = Node(name, op, tuple(inputs), placeholder, before.origin, before.source)
        self._order.insert(self._order.index(anchor) + 1, name)
        return name

    def redirect(self, old: str, new: str, *, keep: tuple[str, ...] = ()) -> None:
        """Every node reading `old` reads `new` instead, except the nodes named in `keep`."""
        for node in self.users(old):
            if node.name not in keep and node.name != new:
                self.set_inputs(node.name, *(new if i == old else i for i in node.inputs))

    def remove(self, name: str) -> None:
        del self._nodes[name]
        self._order.remove(name)

    def bypass(self, name: str, *, folded_into: tuple[str, ...] = ()) -> None:
        """Remove a one-input node, its users reading its input instead. `folded_into`: the nodes
        that now compute what it did, which record its layer in their `folded` (Node)."""
        removed = self._nodes[name]
        for target in folded_into:
            node = self._nodes[target]
            self._nodes[target] = node.replace(folded=(*node.folded, removed.source, *removed.folded))
        (source,) = removed.inputs
        self.redirect(name, source)
        self.remove(name)

    def build(self) -> Graph:
        """The edited graph with every type re-inferred. A Delay takes its input's type; since a
        cycle is typed through its Delay, sweeps repeat until no type changes."""
        draft = self._source.with_nodes(self._nodes[name] for name in self._order)
        types: dict[str, TensorType] = {}
        for _ in range(sum(isinstance(n.op, Delay) for n in draft) + 1):
            changed = False
            for node in draft.order:
                ty = self._infer(node, types)
                changed |= types.get(node.name) != ty
                types[node.name] = ty
            if not changed:
                break
        return draft.with_nodes(n.replace(type=types[n.name]) for n in draft.nodes)

    @staticmethod
    def _infer(node: Node, types: dict[str, TensorType]) -> TensorType:
        if isinstance(node.op, Delay):
            return types.get(node.inputs[0], node.type) if node.inputs else node.type
        try:
            return infer_type(node.op, [types[i] for i in node.inputs])
        except ShapeError as e:  # a pass rewrote something it should have refused: a bug in snnc
            note = Diagnostic(
                "PASS-BROKE-GRAPH",
                f"a rewrite left this node ill-typed: {e.message}",
                node=node.name,
                hint="this is a bug in snnc; please report it with the model",
            )
            raise SnncError([note], kind=Kind.CHECK) from None


Outcome = int | Diagnostic
"""What a rewrite did at one node: how many rewrites it made (True: one; False or 0: nothing to
do), or a Diagnostic saying why it could not (and is reported)."""


def rewrite_each(
    graph: Graph,
    ctx: PassContext,
    pass_name: str,
    select: Callable[[Node], bool],
    apply: Callable[[Rewriter, Node], Outcome],
    *,
    consumers_first: bool = False,
) -> Graph:
    """The loop every rewriting pass shares (xdsl's PatternRewriteWalker, in small): `apply` each
    selected node in turn (graph order, or reversed evaluation order with `consumers_first`, so a
    node folds into a reader that is already final), counting rewrites and reporting refusals.
    The input graph comes back unchanged when nothing was rewritten."""
    rw = Rewriter(graph)
    chosen = reversed(graph.order) if consumers_first else graph.nodes
    done = 0
    for name in [n.name for n in chosen if select(n)]:
        outcome = apply(rw, rw.node(name))
        if isinstance(outcome, Diagnostic):
            ctx.emit(outcome)
        else:
            done += int(outcome)
    if not done:
        return graph
    ctx.count(pass_name, done)
    return rw.build()


@dataclass(frozen=True)
class Reader:
    """A synaptic layer reading a tensor, possibly through a Flatten (Linear on a (C, H, W) map)."""

    layer: Node
    flatten: Node | None  # the Flatten between the tensor and the layer, if any


def flattens_all(op: Flatten, x: TensorType) -> bool:
    """True if `op` flattens every axis of `x` into one, as nn.Flatten does before a Linear."""
    rank = len(x.shape)
    return op.start % rank == 0 and op.end % rank == rank - 1


def synaptic_reader(rw: Rewriter, name: str) -> tuple[Reader | None, str]:
    """The one synaptic layer that reads `name` (directly, or through a Flatten of every axis
    that nothing else reads), or None and the reason there is none, for a diagnostic."""
    users = rw.users(name)
    if len(users) != 1:
        return None, f"its output has {len(users)} readers ({_names(users)}), not one synaptic layer"
    (user,) = users
    if isinstance(user.op, Flatten):
        if not flattens_all(user.op, rw.node(name).type):
            return None, f"it is read by {user.name}, a flatten of only some axes"
        after = rw.users(user.name)
        if len(after) != 1 or not isinstance(after[0].op, Linear):
            return None, f"it is flattened by {user.name}, which feeds {_names(after)}, not one linear layer"
        return Reader(after[0], user), ""
    if not isinstance(user.op, SYNAPTIC):
        return None, f"it feeds {user.name} ({user.op.kind}), not a linear or convolution layer"
    return Reader(user, None), ""


def threshold_neuron(threshold: float) -> Neuron:
    """A neuron that keeps no state: h = 0·v + x, fires where h ≥ θ, resets to 0."""
    theta = np.asarray(threshold, np.float32)
    return Neuron(threshold=theta, v_decay=np.zeros((), np.float32), reset="zero", fire_op="ge")


def sum_pool(op: AvgPool2d | MaxPool2d) -> SumPool2d:
    """The sum pool over the same windows as the pooling `op`."""
    return SumPool2d(kernel=op.kernel, stride=op.stride, padding=op.padding, ceil_mode=op.ceil_mode)


def describe(node: Node) -> str:
    """`name (kind)`, how messages refer to a node."""
    return f"{node.name} ({node.op.kind})"


def _names(nodes: list[Node]) -> str:
    return ", ".join(describe(n) for n in nodes) or "nothing"
