"""Getting a NIR graph into one flat, ordered node table, whatever state the file is in.

`read_graph` reads a `.nir` file's HDF5 tree (nir's `hdf2dict`, in a bounded child process:
snnc/nir/hdf5.py) and builds the graph from it as `nir.read` does; where NIR's own type check or
a node's constructor rejects it (0-d parameters, batch axes in shapes: docs/environment.md §5),
it builds the nodes without that check, noting what it did. `flatten` inlines nested NIRGraphs,
adds the Input/Output nodes a graph leaves implicit (as nir/ir/graph.py `infer_types` does) and
`Flat` orders the result, finding the back edges of cycles that no Delay breaks.
"""

from __future__ import annotations

import copy
import heapq
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, SnncError, input_error
from snnc.nir.hdf5 import read_tree

_BOUNDARY = ("Input", "Output")


def note(notes: list[Diagnostic], message: str, node: str | None = None) -> None:
    """Record what the reader normalized in a file (FE-NIR-NORMALIZED, an info)."""
    notes.append(Diagnostic("FE-NIR-NORMALIZED", message, node=node, severity=Severity.INFO))


def read_graph(source: Any, notes: list[Diagnostic]) -> tuple[Any, str]:
    """The NIRGraph of a path or of an in-memory graph, and a name for the IR graph."""
    import nir

    if not isinstance(source, (str, Path)):
        return source, "nir_graph"
    path = Path(source)
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"{path}: no such file", hint="check the path to the .nir file")
    tree = read_tree(path)  # checked and bounded: snnc/nir/hdf5.py
    if _known_types(tree):
        try:  # what nir.read does with the tree (nir/serialization.py), on a copy: from_dict edits it
            return nir.dict2NIRNode({**copy.deepcopy(tree), "type_check": True}), path.stem
        except Exception as e:  # NIR's type check or a node constructor rejected the file
            rejected = f"{type(e).__name__}: {str(e)[:200]}"
    else:
        rejected = "a node type that is no NIR primitive"
    try:
        graph = _graph(tree, "", notes)
    except SnncError:
        raise
    except Exception as e:  # a tree whose values are not what NIR's node fields hold
        raise input_error("FE-NIR-READ", f"{path}: cannot read the NIR graph ({type(e).__name__}: {e})") from None
    note(notes, f"nir.read with type checking rejects the file ({rejected}); read without it, shapes inferred by snnc")
    return graph, path.stem


def _known_types(tree: Any) -> bool:
    """Whether every node of the tree names a NIR primitive (nir's own lookup asserts it)."""
    import nir

    if not (isinstance(tree, dict) and isinstance(tree.get("nodes"), dict)):
        return False
    if not (isinstance(tree.get("type"), str) and tree["type"] == "NIRGraph"):
        return False
    for node in tree["nodes"].values():
        kind = node.get("type") if isinstance(node, dict) else None
        cls = getattr(nir, kind, None) if isinstance(kind, str) and kind.isidentifier() else None
        if not (isinstance(cls, type) and issubclass(cls, nir.NIRNode)):
            return False
        if kind == "NIRGraph" and not _known_types(node):
            return False
    return True


def _graph(data: Any, prefix: str, notes: list[Diagnostic]) -> Any:
    import nir

    if not isinstance(data, dict) or "nodes" not in data or "edges" not in data:
        raise input_error("FE-NIR-READ", f"graph {prefix or '(top)'!r} lacks its 'nodes' or 'edges'")
    nodes = {}
    for key, value in data["nodes"].items():
        name = prefix + key
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise input_error("FE-NIR-READ", "the node has no 'type' naming a NIR primitive", node=name)
        nodes[key] = _graph(value, name + ".", notes) if value["type"] == "NIRGraph" else _leaf(name, value, notes)
    edges = np.asarray(data["edges"])
    if edges.size % 2 or edges.dtype.kind not in "SUO":
        raise input_error("FE-NIR-READ", f"graph {prefix or '(top)'!r}: its edges are not pairs of node names")
    edges = [(_text(a), _text(b)) for a, b in edges.reshape(-1, 2)]
    return nir.NIRGraph(nodes, edges, metadata=dict(data.get("metadata", {})), type_check=False)


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _leaf(name: str, data: dict[str, Any], notes: list[Diagnostic]) -> Any:
    import nir

    kind = data["type"]
    cls = getattr(nir, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, nir.NIRNode)) or kind == "NIRGraph":
        raise input_error(
            "FE-UNSUPPORTED-OP",
            f"NIR node type {kind!r} is not a primitive of nir {nir.version}",
            node=name,
            hint="export with a NIR version whose primitives snnc reads (nir 1.0.x)",
        )
    try:
        return nir.dict2NIRNode(dict(data))
    except Exception as e:  # NIR's constructor or type inference rejects the stored values
        rejected = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    node = cls.__new__(cls)  # NIR's constructor rejects it: keep the stored values, judged later
    values = {k: v for k, v in data.items() if k != "type"}
    if kind in _BOUNDARY:
        node.input_type = node.output_type = {"input" if kind == "Input" else "output": values.pop("shape", None)}
    node.metadata = dict(values.pop("metadata", {}))
    for f in fields(cls):
        if f.name in values:
            setattr(node, f.name, values[f.name])
        elif f.name == "v_reset" and "v_threshold" in values:  # NIR's default (nir/ir/neuron.py from_dict)
            node.v_reset = np.zeros_like(np.asarray(values["v_threshold"]))
        elif f.name == "w_in":
            node.w_in = 1.0
        elif f.name not in ("input_type", "output_type", "metadata") and not hasattr(node, f.name):
            raise input_error("FE-NIR-READ", f"NIR {kind} node lacks its field {f.name!r}", node=name) from None
    note(notes, f"NIR's {kind} constructor rejects the node ({rejected}); its stored parameters are used", name)
    return node


@dataclass
class Flat:
    """A NIR graph with nested graphs inlined: leaf nodes by dotted name, edges, and the
    Input/Output nodes of inner graphs, which only pass their input on (`junctions`)."""

    nodes: dict[str, Any] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    junctions: set[str] = field(default_factory=set)

    def _dependencies(self, breakers: set[str]) -> dict[str, list[str]]:
        """Successors of each node, without the edges into a Delay that breaks cycles."""
        succ: dict[str, list[str]] = {k: [] for k in self.nodes}
        for s, d in self.edges:
            if d not in breakers:
                succ[s].append(d)
        return succ

    def back_edges(self, breakers: set[str]) -> list[tuple[str, str]]:
        """Edges that close a cycle no breaker (Delay) is on, found by a depth-first search from
        the inputs in file order: the edge into a node still on the search path."""
        succ = self._dependencies(breakers)
        state: dict[str, int] = {}  # 1 on the path, 2 done
        back: list[tuple[str, str]] = []
        roots = [k for k, n in self.nodes.items() if type(n).__name__ == "Input" and k not in self.junctions]
        for root in roots + list(self.nodes):
            if root in state:
                continue
            state[root] = 1
            stack = [(root, iter(succ[root]))]
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    state[node] = 2
                    stack.pop()
                elif state.get(nxt) == 1:
                    back.append((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
        return back

    def order(self, back: list[tuple[str, str]], breakers: set[str]) -> list[str]:
        """Topological order of the nodes without back edges, ties broken by file order."""
        position = {k: i for i, k in enumerate(self.nodes)}
        succ = self._dependencies(breakers)
        for s, d in back:
            succ[s].remove(d)
        indegree = dict.fromkeys(self.nodes, 0)
        for targets in succ.values():
            for d in targets:
                indegree[d] += 1
        ready = [position[k] for k, n in indegree.items() if n == 0]
        heapq.heapify(ready)
        keys = list(self.nodes)
        out: list[str] = []
        while ready:
            key = keys[heapq.heappop(ready)]
            out.append(key)
            for d in succ[key]:
                indegree[d] -= 1
                if indegree[d] == 0:
                    heapq.heappush(ready, position[d])
        return out


def flatten(graph: Any, notes: list[Diagnostic]) -> Flat:
    flat = Flat()
    _inline(flat, graph, "", top=True)
    _close(flat, notes)
    return flat


def _is_graph(node: Any) -> bool:
    return type(node).__name__ == "NIRGraph"


def _inline(flat: Flat, graph: Any, prefix: str, top: bool) -> None:
    for key, node in graph.nodes.items():
        name = prefix + key
        if _is_graph(node):
            _inline(flat, node, name + ".", top=False)
            continue
        flat.nodes[name] = node
        if not top and type(node).__name__ in _BOUNDARY:
            flat.junctions.add(name)
    for src, dst in graph.edges:
        flat.edges.append((_endpoint(graph, prefix, src, "Output"), _endpoint(graph, prefix, dst, "Input")))


def _endpoint(graph: Any, prefix: str, key: str, boundary: str) -> str:
    """The flat name an edge end refers to: a node, a nested graph's only Input/Output, or
    "graph.node" naming a node inside a nested graph."""
    node = graph.nodes.get(key)
    if node is not None and not _is_graph(node):
        return prefix + key
    if node is not None:
        ends = [k for k, n in node.nodes.items() if type(n).__name__ == boundary]
        if len(ends) == 1:
            return f"{prefix}{key}.{ends[0]}"
        raise input_error(
            "FE-UNSUPPORTED-ATTR",
            f"an edge meets the nested graph {key!r}, which has {len(ends)} {boundary} nodes",
            node=prefix + key,
            hint=f"name the {boundary} node in the edge as '{key}.<node>'",
        )
    head, _, rest = key.partition(".")
    inner = graph.nodes.get(head)
    if inner is not None and _is_graph(inner) and rest:
        return _endpoint(inner, f"{prefix}{head}.", rest, boundary)
    raise input_error("FE-NIR-READ", f"an edge refers to {key!r}, which is not a node of the graph", node=prefix + key)


def _close(flat: Flat, notes: list[Diagnostic]) -> None:
    """Give the graph explicit Input and Output nodes where it leaves them implicit."""
    import nir

    has_input = {d for _, d in flat.edges}
    for key, node in list(flat.nodes.items()):
        kind = type(node).__name__
        if key in has_input or kind == "Input" or key in flat.junctions:
            continue
        shape = next(iter((getattr(node, "input_type", None) or {}).values()), None)
        if shape is None:
            raise input_error("FE-NIR-READ", f"{kind} node has no input edge and no declared input type", node=key)
        name = _free(flat, f"input_{key}")
        flat.nodes = {name: nir.Input(input_type=np.asarray(shape)), **flat.nodes}
        flat.edges.append((name, key))
        note(notes, f"the graph has no Input node before {key!r}; added {name!r} with its declared shape", key)
    has_output = {s for s, _ in flat.edges}
    for key, node in list(flat.nodes.items()):
        if key in has_output or type(node).__name__ == "Output" or key in flat.junctions:
            continue
        name = _free(flat, f"output_{key}")
        flat.nodes[name] = nir.Output(output_type=np.zeros(0))
        flat.edges.append((key, name))
        note(notes, f"nothing reads {key!r}; it becomes the graph output {name!r}", key)


def _free(flat: Flat, name: str) -> str:
    k, base = 0, name
    while name in flat.nodes:
        name, k = f"{base}_{k}", k + 1
    return name
