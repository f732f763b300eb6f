"""snnc's semantics sidecar in a NIR file: the exact graph, so that IR → NIR → IR is exact.

The writer (write.py) stores the graph's `.snnc` bytes (snnc/ir/serialize.py, checksummed) in the
NIR graph's `metadata["snnc"]` with the dt it was written with. `restore` returns that exact graph
only when the NIR part still says what the writer wrote: every NIR node is regenerated from the
restored IR node and compared field by field, and the edges too. A file edited by another tool
since (new weights, a removed node) is read from its NIR part instead, with a FE-NIR-SIDECAR
warning.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, SnncError
from snnc.ir.graph import Graph
from snnc.ir.serialize import dumps, loads
from snnc.nir.plain import Unsupported, nir_key, plain_node

SIDECAR_VERSION = 1
_NIR_ONLY = ("metadata", "input_type", "output_type")


def sidecar(graph: Graph, dt: float) -> dict[str, Any]:
    """The metadata entry holding `graph` exactly, and the dt its NIR part was written with."""
    return {"version": SIDECAR_VERSION, "dt": float(dt), "graph": np.frombuffer(dumps(graph), np.uint8)}


def restore(nir_graph: Any, name: str, notes: list[Diagnostic]) -> tuple[Graph | None, float | None]:
    """The exact IR graph the file's snnc sidecar holds, if the NIR part still matches it, and
    the dt it was written with (None, None without a sidecar)."""
    entry = (getattr(nir_graph, "metadata", None) or {}).get("snnc")
    if not isinstance(entry, dict):
        return None, None
    try:
        version, dt = int(np.asarray(entry["version"])), float(np.asarray(entry["dt"]))
        if version != SIDECAR_VERSION:
            raise ValueError(f"sidecar version {version}; this snnc reads version {SIDECAR_VERSION}")
        graph = loads(np.asarray(entry["graph"], np.uint8).tobytes(), source=f"{name} (snnc sidecar)")
    except (KeyError, TypeError, ValueError, SnncError) as e:
        notes.append(_stale(f"its snnc sidecar cannot be used ({str(e).splitlines()[0]})"))
        return None, None
    differences = _differences(nir_graph, graph, dt)
    if differences:
        notes.append(_stale("its NIR part was changed after snnc wrote it: " + "; ".join(differences[:5])))
        return None, dt
    return graph, dt


def _stale(why: str) -> Diagnostic:
    return Diagnostic(
        "FE-NIR-SIDECAR",
        f"the file carries snnc metadata, but {why}; the NIR graph is read as any NIR file",
        hint="export the model from snnc again to keep snnc's exact semantics",
        severity=Severity.WARNING,
    )


def _differences(nir_graph: Any, graph: Graph, dt: float) -> list[str]:
    keys = {nir_key(n.name): n for n in graph.nodes}
    if set(keys) != set(nir_graph.nodes):
        return [f"nodes {sorted(set(keys) ^ set(nir_graph.nodes))[:5]} were added or removed"]
    edges = {(nir_key(i), key) for key, n in keys.items() for i in n.inputs}
    if edges != {tuple(e) for e in nir_graph.edges}:
        return ["the edges differ"]
    found = []
    for key, node in keys.items():
        try:
            expected, _ = plain_node(node, graph, dt)
        except Unsupported:
            return [f"{node.name} has no NIR form"]
        if not _same(expected, nir_graph.nodes[key]):
            found.append(f"node {node.name!r} differs")
    return found


def _values(node: Any) -> dict[str, Any]:
    out = {f.name: getattr(node, f.name, None) for f in dataclasses.fields(node) if f.name not in _NIR_ONLY}
    if type(node).__name__ in ("Input", "Output", "Flatten"):
        types = getattr(node, "input_type", None) or getattr(node, "output_type", None) or {}
        out["shape"] = next(iter(types.values()), None)
    return out


def _same(a: Any, b: Any) -> bool:
    if type(a).__name__ != type(b).__name__:
        return False
    va, vb = _values(a), _values(b)
    return va.keys() == vb.keys() and all(_equal(va[k], vb[k]) for k in va)


def _equal(a: Any, b: Any) -> bool:
    if hasattr(b, "detach"):
        b = b.detach().cpu().numpy()
    if isinstance(a, str) or isinstance(b, (str, bytes)):
        return str(a) == (b.decode() if isinstance(b, bytes) else str(b))
    try:
        return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True)
    except (TypeError, ValueError):
        return False
