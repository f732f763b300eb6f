"""The IR verifier (ARCHITECTURE §2.5): every rule runs, every violation is reported.

Two layers, as in torch.fx's `Graph.lint` and xdsl's per-op `verify_`: graph structure (names,
edges, cycles, boundary nodes) here, per-op invariants in each op's `infer`. A node whose inputs
are broken is not type-checked (its errors would only echo the first one).
"""

from __future__ import annotations

import numpy as np

from snnc.diagnostics import Diagnostic, Kind, Severity, SnncError, errors
from snnc.ir.graph import CycleError, Graph, Node
from snnc.ir.ops import Delay, Output, ShapeError, infer_type


def verify(graph: Graph) -> list[Diagnostic]:
    """All structural, type and parameter violations of `graph` (empty list: the graph is valid)."""
    diags: list[Diagnostic] = []
    diags += _names_and_edges(graph)
    if errors(diags):
        return diags  # later checks need every edge to resolve
    diags += _cycles(graph)
    for node in graph.nodes:
        diags += _node_type(graph, node)
        diags += _parameters(node)
    return diags


def verify_or_raise(graph: Graph) -> None:
    """Raise SnncError (exit code 1) carrying every error, if there is any."""
    found = errors(verify(graph))
    if found:
        raise SnncError(found, kind=Kind.CHECK)


def _names_and_edges(graph: Graph) -> list[Diagnostic]:
    diags = []
    seen: set[str] = set()
    for node in graph.nodes:
        if node.name in seen:
            diags.append(
                Diagnostic(
                    "IR-DUPLICATE-NAME",
                    f"two nodes are named {node.name!r}",
                    node=node.name,
                    hint="node names must be unique; rename one",
                )
            )
        seen.add(node.name)
    for node in graph.nodes:
        for i in node.inputs:
            if i not in seen:
                diags.append(Diagnostic("IR-DANGLING", f"input {i!r} is not a node of the graph", node=node.name))
            elif isinstance(graph.node(i).op, Output):
                diags.append(
                    Diagnostic(
                        "IR-OUTPUT-USED",
                        f"reads the graph output {i!r}",
                        node=node.name,
                        hint="read the node that feeds the output instead",
                    )
                )
    if not graph.inputs:
        diags.append(Diagnostic("IR-NO-INPUT", "the graph has no input node"))
    if not graph.outputs:
        diags.append(Diagnostic("IR-NO-OUTPUT", "the graph has no output node", hint="mark a result with an output"))
    return diags


def _cycles(graph: Graph) -> list[Diagnostic]:
    try:
        _ = graph.order
    except CycleError as e:
        return [
            Diagnostic(
                "IR-CYCLE",
                f"cycle without a delay through {', '.join(e.nodes)}",
                node=e.nodes[0],
                hint="a recurrent connection must pass through a Delay of at least one step",
            )
        ]
    return []


def _node_type(graph: Graph, node: Node) -> list[Diagnostic]:
    try:
        inferred = infer_type(node.op, graph.input_types(node))
    except ShapeError as e:
        return [Diagnostic(e.rule, e.message, node=node.name, hint=e.hint)]
    if inferred != node.type:
        what = "its input" if isinstance(node.op, Delay) else "its op and inputs"
        return [
            Diagnostic(
                "IR-TYPE",
                f"declared type {node.type} differs from {inferred} implied by {what}",
                node=node.name,
                hint="rebuild the node so its type is inferred",
                measured=str(node.type),
                limit=str(inferred),
            )
        ]
    return []


def _parameters(node: Node) -> list[Diagnostic]:
    diags = []
    formats = node.op.formats()
    for name, value in node.op.params():
        if value.dtype == np.float32 and not np.isfinite(value).all():
            bad = int((~np.isfinite(value)).sum())
            diags.append(
                Diagnostic(
                    "IR-NONFINITE",
                    f"parameter {name} has {bad} NaN or infinite value(s)",
                    node=node.name,
                    hint="retrain or fix the layer; NaN weights cannot be compiled",
                    measured=bad,
                )
            )
        fmt = formats.get(name)
        if fmt is not None and value.dtype != np.int64:
            diags.append(
                Diagnostic(
                    "IR-QUANT-FORMAT",
                    f"parameter {name} is marked {fmt} but holds real values",
                    node=node.name,
                    hint="quantize the parameter to integers",
                )
            )
        elif fmt is not None and not fmt.fits(value):
            diags.append(
                Diagnostic(
                    "IR-QUANT-RANGE",
                    f"parameter {name} spans [{value.min()}, {value.max()}], outside {fmt} [{fmt.min}, {fmt.max}]",
                    node=node.name,
                    hint="requantize with a smaller scale",
                    measured=[int(value.min()), int(value.max())],
                    limit=[fmt.min, fmt.max],
                )
            )
    return diags


def unused_nodes(graph: Graph) -> list[Diagnostic]:
    """Nodes whose result reaches no output (warnings: a pass may remove them)."""
    live: set[str] = set()
    stack = [n.name for n in graph.outputs]
    while stack:
        name = stack.pop()
        if name in live:
            continue
        live.add(name)
        stack.extend(graph.node(name).inputs)
    return [
        Diagnostic("IR-UNUSED", "result reaches no output", node=n.name, severity=Severity.WARNING)
        for n in graph.nodes
        if n.name not in live
    ]
