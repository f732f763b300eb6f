"""Writing IR graphs as NIR, with a semantics sidecar so that IR → NIR → IR is exact.

Two readers must be served. A plain NIR reader (nirtorch, Norse, SpikingJelly, snnc without the
sidecar) gets the graph NIR can express: each IR node becomes the NIR primitive with the same
continuous-time meaning under snnc's forward-Euler rule (nir_primitives.py, inverted: k = 1 −
v_decay, τ = dt/k, R = gain/k, v_leak = bias/k; an IF's R = gain/dt). What NIR has no field for
— subtract or no reset, v ≥ θ, next-step reset, multi-spikes, v_min, initial state, the late
input, quantization formats, the float order — is reported per node as a EXPORT-NIR-LOSSY
warning (what that plain reader will compute differently), and each neuron's switches are also
written as readable text into its NIR `metadata["snnc"]`.

snnc itself reads the sidecar (sidecar.py): the graph's `.snnc` bytes, stored in the NIR graph's
`metadata["snnc"]` with the dt they were written with. Ops with no NIR primitive (BatchNorm, ReLU,
Concat, Reshape other than to 1-d, Crop, Flip, Elementwise other than add) stop the export with
EXPORT-NIR-UNSUPPORTED, naming every such node.

Max pooling has no NIR primitive either. `maxpool` chooses: "or" (the default) writes a max pool
of spikes exactly, as the OR it is (snnc/passes/maxpool_to_or.py): the window's sum pool, then a
stateless comparator Σ > 0.5 (NIR's Threshold, exact for the integer sums of spikes); a max pool
of other values is refused. "avg" writes every max pool as an average pool, and the EXPORT-NIR-LOSSY
warning says that a NIR reader computes the window's mean instead of its maximum.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from snnc.atomic import write_atomically
from snnc.diagnostics import Diagnostic, Severity, SnncError, input_error
from snnc.ir.graph import Graph
from snnc.ir.ops import MaxPool2d, Neuron
from snnc.nir.plain import HINTS, Unsupported, nir_key, plain_node
from snnc.nir.sidecar import sidecar

MAXPOOL = ("or", "avg")


def to_nir(graph: Graph, dt: float, maxpool: str = "or") -> tuple[Any, list[Diagnostic]]:
    """The NIRGraph of `graph` (sidecar included) and a warning per node a plain reader loses;
    max pools are written as average pools only with maxpool="avg"."""
    import nir

    nodes, warnings, unsupported = {}, [], []
    for node in graph.nodes:
        try:
            if isinstance(node.op, MaxPool2d) and maxpool != "avg":
                raise Unsupported(_unconverted(node, graph), HINTS["maxpool2d"])
            nir_node, lost = plain_node(node, graph, dt)
        except Unsupported as e:
            unsupported.append(Diagnostic("EXPORT-NIR-UNSUPPORTED", str(e), node=node.name, hint=e.hint))
            continue
        nodes[nir_key(node.name)] = nir_node
        if lost:
            warnings.append(
                Diagnostic(
                    "EXPORT-NIR-LOSSY",
                    "a plain NIR reader computes this node differently: " + "; ".join(lost),
                    node=node.name,
                    hint="snnc reads the exact node back from the file's snnc metadata",
                    severity=Severity.WARNING,
                )
            )
    if unsupported:
        raise SnncError(unsupported)
    edges = [(nir_key(i), nir_key(n.name)) for n in graph.nodes for i in n.inputs]
    return nir.NIRGraph(nodes, edges, metadata={"snnc": sidecar(graph, dt)}, type_check=False), warnings


def _fold_batchnorm(graph: Graph) -> tuple[Graph, list[Diagnostic]]:
    """NIR has no BatchNorm primitive (nir/ir/__init__.py), so export folds eval-mode BatchNorm into
    the neighbouring layer first (snnc/passes/fold_bn.py: exact in real arithmetic, float sums may
    differ in the last bit); what cannot be folded stays and is reported as unsupported."""
    from snnc.passes.base import PassContext
    from snnc.passes.fold_bn import FoldBN

    if not any(n.op.kind == "batchnorm" for n in graph.nodes):
        return graph, []
    ctx = PassContext()
    folded = FoldBN()(graph, ctx)
    n = ctx.rewrites[FoldBN.name]
    note = Diagnostic(
        "EXPORT-BN-FOLDED",
        f"folded {n} BatchNorm node(s) into the neighbouring layers, since NIR has no BatchNorm",
        severity=Severity.INFO,
        hint="the exported weights and biases include the BatchNorm; results agree up to float rounding",
    )
    return folded, ([note] if n else []) + [d for d in ctx.diagnostics if d.severity is not Severity.ERROR]


def _unconverted(node: Any, graph: Graph) -> str:
    (x,) = graph.input_types(node)
    return f"NIR has no max pooling, and this one pools {x} values, so no exact NIR form exists (an OR needs spikes)"


def _max_as_or(graph: Graph) -> tuple[Graph, list[Diagnostic]]:
    """Max pools of spikes as exact ORs: the maxpool-to-or pass (its sum pool and its threshold-1
    neuron h ≥ 1), the neuron then written as the comparator h > 0.5, the same for integer sums
    and NIR's Threshold; the rest stays (refused by `to_nir` unless maxpool="avg")."""
    from snnc.passes.base import PassContext
    from snnc.passes.maxpool_to_or import MaxpoolToOr
    from snnc.passes.rewrite import Rewriter

    if not any(isinstance(n.op, MaxPool2d) for n in graph.nodes):
        return graph, []
    before = {n.name for n in graph.nodes}
    lowered = MaxpoolToOr()(graph, PassContext())
    rw = Rewriter(lowered)
    added = [n for n in lowered.nodes if n.name not in before and isinstance(n.op, Neuron)]
    for node in added:
        rw.set_op(node.name, node.op.replace(threshold=np.float32(0.5), fire_op="gt"))
    note = Diagnostic(
        "EXPORT-NIR-MAXPOOL",
        f"wrote {len(added)} max pool(s) of spikes as their exact OR: a sum pool, then NIR's Threshold(0.5)",
        node=added[0].source if added else None,
        severity=Severity.INFO,
    )
    return (rw.build(), [note]) if added else (graph, [])


def write_nir(graph: Graph, path: str | Path, dt: float, maxpool: str = "or") -> list[Diagnostic]:
    """Write `graph` as a NIR file, atomically (nothing is left at `path` if anything fails).
    `maxpool`: "or" (max pools of spikes as exact ORs, others refused) or "avg" (as average pools)."""
    import nir

    if not (np.isfinite(dt) and dt > 0):
        raise input_error("FE-NIR-DT", f"dt = {dt!r} is not a positive time step in seconds", hint="e.g. dt=1e-4")
    if maxpool not in MAXPOOL:
        raise input_error("EXPORT-FORMAT", f"maxpool={maxpool!r} is not one of {MAXPOOL}", hint="or, avg")
    graph, folded = _fold_batchnorm(graph)
    ored: list[Diagnostic] = []
    if maxpool == "or":
        graph, ored = _max_as_or(graph)
    nir_graph, warnings = to_nir(graph, dt, maxpool)
    warnings = folded + ored + warnings
    buffer = io.BytesIO()
    try:
        nir.write(buffer, nir_graph)
    except Exception as e:  # a value h5py cannot store (the graph itself is verified)
        raise input_error(
            "EXPORT-NIR-UNSUPPORTED",
            f"NIR's writer cannot store this graph ({type(e).__name__}: {str(e)[:200]})",
            hint="check the node names and parameters the message names; please report it if the graph is ordinary",
        ) from e
    write_atomically(path, buffer.getvalue(), rule="EXPORT-WRITE")
    return warnings


# --- IR node → plain NIR node -------------------------------------------------------------------
