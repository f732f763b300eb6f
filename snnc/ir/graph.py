"""Graph and Node: the IR's container (ARCHITECTURE §2).

A `Graph` is an immutable tuple of `Node`s. Each node has a stable, human-readable name (the
source module path, e.g. `layer1.0.conv2`), an op, the names of its input nodes and its output
`TensorType`. Graph inputs and outputs are the nodes whose op is `Input` / `Output`. Passes build
new graphs (`Graph.with_nodes`, `GraphBuilder`); nothing edits a graph in place.

A quantized graph also carries `arithmetic`, how its target computes with the integers
(snnc/ir/quant.py); a graph imported from a library carries `batching` (see BATCHING);
`with_nodes` and `GraphBuilder(arithmetic=...)` keep them.

Cycles are legal only through a `Delay`: evaluation order (`Graph.order`) ignores the edge into
a Delay, since a Delay's output at step t depends only on earlier steps.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from snnc.diagnostics import Diagnostic, SnncError
from snnc.ir.ops import Delay, Input, Op, Output, ShapeError, infer_type
from snnc.ir.quant import Arithmetic
from snnc.ir.types import SPIKE, DType, TensorType


@dataclass(frozen=True, eq=False)
class Node:
    """One node. `origin` is what it was imported from (the library class, e.g. "torch.nn.Conv2d");
    `source` is the user's layer it stands for, the module path (defaults to the node's own name,
    which the frontend takes from the module path). Every rewrite keeps `source`, so a node a pass
    inserts or renames (`pool.or`, `fc.scale`) still names the user's layer: diagnostics, `validate`
    and the backends' artefacts (the Speck configuration's per-core `source`) rely on it. `folded`
    lists the user's layers a pass folded into this node and removed (a BatchNorm folded into the
    convolution before it), so that artefacts can still name them."""

    name: str
    op: Op
    inputs: tuple[str, ...]
    type: TensorType
    origin: str | None = None
    source: str = ""
    folded: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.name)

    def replace(self, **changes) -> Node:
        fields = {
            "name": self.name,
            "op": self.op,
            "inputs": self.inputs,
            "type": self.type,
            "origin": self.origin,
            "source": self.source,
            "folded": self.folded,
        }
        return Node(**(fields | changes))


BATCHING = """How the source model evaluated its stateless layers: once per time step on the B
samples ("step": snnTorch, SpikingJelly step_mode 's', Norse cells), or once on all T·B samples of
a sequence ("sequence": SpikingJelly 'm', sinabs, Norse sequence modules). A float matmul's
summation order depends on the number of rows BLAS is given (measured: Linear(10, 12) on 3 vs 48
rows differs in 128 of 576 outputs by one ulp, docs/library-semantics.md), so the simulator
batches as the source did to reproduce its floats bit for bit; None leaves it free to batch for
speed (graphs built in code, quantized graphs, whose integer sums are exact in any order)."""


class CycleError(Exception):
    """Raised by `Graph.order` when nodes form a cycle that no Delay breaks."""

    def __init__(self, nodes: list[str]):
        super().__init__(f"cycle without a delay through {', '.join(nodes)}")
        self.nodes = nodes


@dataclass(frozen=True, eq=False)
class Graph:
    nodes: tuple[Node, ...]
    name: str = "graph"
    arithmetic: Arithmetic | None = None  # how the target computes, once the graph is quantized
    batching: Literal["step", "sequence"] | None = None  # see BATCHING

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))

    # --- lookup -------------------------------------------------------------------------------

    @cached_property
    def _by_name(self) -> dict[str, Node]:
        return {n.name: n for n in self.nodes}

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def inputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if isinstance(n.op, Input))

    @property
    def outputs(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if isinstance(n.op, Output))

    @cached_property
    def _users(self) -> dict[str, list[Node]]:
        users: dict[str, list[Node]] = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                users.setdefault(i, []).append(n)
        return users

    def users(self, name: str) -> list[Node]:
        """Nodes that read `name`'s output, in graph order."""
        return list(self._users.get(name, []))

    def input_types(self, node: Node) -> list[TensorType]:
        return [self.node(i).type for i in node.inputs]

    # --- order --------------------------------------------------------------------------------

    @cached_property
    def order(self) -> tuple[Node, ...]:
        """Evaluation order within one time step: topological, ties broken by node order.

        Edges into a Delay are not dependencies (its output at t is its input at t − steps).
        Raises CycleError if some cycle has no Delay on it, KeyError for a dangling input.
        """
        position = {n.name: k for k, n in enumerate(self.nodes)}
        deps = {n.name: [] if isinstance(n.op, Delay) else [i for i in n.inputs] for n in self.nodes}
        for n in self.nodes:
            for i in deps[n.name]:
                if i not in position:
                    raise KeyError(i)
        indegree = {name: len(d) for name, d in deps.items()}
        dependants: dict[str, list[str]] = {name: [] for name in deps}
        for name, d in deps.items():
            for i in d:
                dependants[i].append(name)
        ready = [position[name] for name, k in indegree.items() if k == 0]
        heapq.heapify(ready)
        out: list[Node] = []
        while ready:
            node = self.nodes[heapq.heappop(ready)]
            out.append(node)
            for user in dependants[node.name]:
                indegree[user] -= 1
                if indegree[user] == 0:
                    heapq.heappush(ready, position[user])
        if len(out) != len(self.nodes):
            raise CycleError(_on_cycles({n.name for n in out}, deps, dependants, self.nodes))
        return tuple(out)

    # --- building new graphs ------------------------------------------------------------------

    def with_nodes(self, nodes: Iterable[Node]) -> Graph:
        return Graph(tuple(nodes), self.name, self.arithmetic, self.batching)

    def replace_node(self, name: str, node: Node) -> Graph:
        return self.with_nodes(node if n.name == name else n for n in self.nodes)

    def parameter_count(self) -> int:
        return sum(int(a.size) for n in self.nodes for _, a in n.op.params())


def _on_cycles(done: set[str], deps, dependants, nodes) -> list[str]:
    """Nodes Kahn's algorithm could not order, minus those merely downstream of a cycle."""
    left = {n.name for n in nodes} - done
    remaining = {name: sum(u in left for u in dependants[name]) for name in left}
    leaves = [name for name, k in remaining.items() if k == 0]
    while leaves:
        name = leaves.pop()
        left.discard(name)
        for i in deps[name]:
            if i in left:
                remaining[i] -= 1
                if remaining[i] == 0:
                    leaves.append(i)
    return [n.name for n in nodes if n.name in left]


class GraphBuilder:
    """Builds a graph node by node, inferring each node's type as it is added.

    A node whose attributes do not fit its inputs raises `SnncError` with a diagnostic naming
    the node. Recurrent graphs add the Delay first (`delay`, with its type) and connect its input
    once the source exists (`connect`).
    """

    def __init__(self, name: str = "graph", arithmetic: Arithmetic | None = None):
        self.name = name
        self.arithmetic = arithmetic
        self._nodes: dict[str, Node] = {}

    def fresh(self, name: str) -> str:
        """`name`, or `name_1`, `name_2`, … if it is taken."""
        if name not in self._nodes:
            return name
        k = 1
        while f"{name}_{k}" in self._nodes:
            k += 1
        return f"{name}_{k}"

    def type_of(self, name: str) -> TensorType:
        return self._nodes[name].type

    def input(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: DType = SPIKE,
        time: Literal["sequence", "static"] = "sequence",
        steps: int | None = None,
    ) -> str:
        return self.add(name, Input(tuple(shape), dtype, time=time, steps=steps))

    def output(self, name: str, source: str) -> str:
        return self.add(name, Output(), source)

    def add(self, name: str, op: Op, *inputs: str, origin: str | None = None, source: str = "") -> str:
        if name in self._nodes:
            raise ValueError(f"node name {name!r} is already used; call fresh() first")
        try:
            ty = infer_type(op, [self._nodes[i].type for i in inputs])
        except ShapeError as e:
            raise SnncError([Diagnostic(e.rule, e.message, node=name, hint=e.hint)]) from None
        self._nodes[name] = Node(name, op, tuple(inputs), ty, origin, source)
        return name

    def delay(self, name: str, steps: int, ty: TensorType, origin: str | None = None, source: str = "") -> str:
        self._nodes[name] = Node(name, Delay(steps), (), ty, origin, source)
        return name

    def connect(self, delay: str, source: str) -> None:
        node = self._nodes[delay]
        if self._nodes[source].type != node.type:
            raise SnncError(
                [
                    Diagnostic(
                        "IR-TYPE", f"delay expects {node.type}, {source!r} gives {self._nodes[source].type}", node=delay
                    )
                ]
            )
        self._nodes[delay] = node.replace(inputs=(source,))

    def build(self) -> Graph:
        return Graph(tuple(self._nodes.values()), self.name, self.arithmetic)
