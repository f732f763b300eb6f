"""The IR verifier (ARCHITECTURE §2.5): every rule runs, every violation is reported.

Two layers, as in torch.fx's `Graph.lint` and xdsl's per-op `verify_`: graph structure (names,
edges, cycles, boundary nodes) here, per-op invariants in each op's `infer`. A graph whose types
are right is last checked against the memory and work limits (snnc/ir/resources.py), so that no
later stage allocates what a hostile file declares. A node whose inputs
are broken is not type-checked (its errors would only echo the first one).
"""

from __future__ import annotations

import weakref

import numpy as np

from snnc.diagnostics import Diagnostic, Kind, Severity, SnncError, errors
from snnc.ir import resources
from snnc.ir.graph import CycleError, Graph, Node
from snnc.ir.ops import Delay, Neuron, Output, ShapeError, infer_type
from snnc.ir.quant import Arithmetic, IntRange, Mantissa


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
    diags += _arithmetic(graph)
    if not errors(diags):  # sizes come from the types, which are now known to be right
        diags += resources.check(graph)
    return diags


_VALID: weakref.WeakSet[Graph] = weakref.WeakSet()  # graphs verify_or_raise found valid


def verify_or_raise(graph: Graph) -> None:
    """Raise SnncError (exit code 1) carrying every error, if there is any. A graph found valid
    is not verified again: graphs are immutable (snnc/ir/graph.py), and a simulation run once
    per batch (`snnc report`, `validate`) would otherwise pay for it every batch."""
    if graph in _VALID:
        return
    found = errors(verify(graph))
    if found:
        raise SnncError(found, kind=Kind.CHECK)
    _VALID.add(graph)


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


def _arithmetic(graph: Graph) -> list[Diagnostic]:
    """A quantized graph says how its target computes (an Arithmetic), and its quantized neurons'
    integers fit that arithmetic (the integer semantics in the Neuron docstring). Whether every
    node can run in integers is the integer simulator's check (SIM-QUANTIZED): a graph may be
    quantized in stages."""
    quantized = [n for n in graph.nodes if n.op.formats()]
    arith = graph.arithmetic
    if arith is None:
        if not quantized:
            return []
        return [
            Diagnostic(
                "IR-QUANT-ARITHMETIC",
                f"{len(quantized)} node(s) hold quantized parameters but the graph has no Arithmetic",
                node=quantized[0].name,
                hint="quantize with snnc.passes.quantize, which attaches the target's arithmetic",
            )
        ]
    diags = [
        Diagnostic("IR-QUANT-ARITHMETIC", f"the graph's arithmetic is unusable: {problem}")
        for problem in arith.problems()
    ]
    if diags:
        return diags
    for node in graph.nodes:
        if isinstance(node.op, Neuron) and node.op.state_format is not None:
            diags += _neuron_arithmetic(node, node.op, arith)
    return diags


def _neuron_arithmetic(node: Node, op: Neuron, arith: Arithmetic) -> list[Diagnostic]:
    order = op.float_order
    diags = []
    if order is not None:
        diags.append(
            Diagnostic(
                "IR-QUANT-NEURON",
                f"a quantized neuron keeps a library float order (charge {order.charge!r}, current "
                f"{order.current!r}); the integer semantics has only the canonical affine forms",
                node=node.name,
                hint="quantize with snnc.passes.quantize, which maps every float order onto the canonical one",
            )
        )
    one = arith.decay_one
    limits: list[tuple[str, np.ndarray | None, IntRange | Mantissa | tuple[int, int]]] = [
        ("v_decay", op.v_decay, (0, one)),
        ("i_decay", op.i_decay, (0, one)),
        ("threshold", op.threshold, arith.threshold),
        ("bias", op.bias, arith.bias),
        ("gain", op.gain, arith.gain),
        ("v_reset", op.v_reset, arith.voltage),
        ("v_min", op.v_min, arith.voltage),
        ("v_init", op.v_init, arith.voltage),
        ("i_init", op.i_init, arith.current),
    ]
    for name, value, limit in limits:
        if value is None or value.dtype != np.int64:
            continue  # absent, or already reported by IR-QUANT-FORMAT
        if isinstance(limit, Mantissa):
            bad = ~limit.representable(value)
            what = f"the arithmetic's {name} format {limit}"
        else:
            lo, hi = (limit.min, limit.max) if isinstance(limit, IntRange) else limit
            bad = (value < lo) | (value > hi)
            what = f"[{lo}, {hi}]" + (f", the {limit} register" if isinstance(limit, IntRange) else "")
        if bad.any():
            diags.append(
                Diagnostic(
                    "IR-QUANT-RANGE",
                    f"neuron {name} holds {int(bad.sum())} value(s) outside {what}, e.g. {int(value[bad].flat[0])}",
                    node=node.name,
                    hint="requantize for this target (snnc.passes.quantize)",
                    measured=int(value[bad].flat[0]),
                    limit=str(limit) if not isinstance(limit, tuple) else list(limit),
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
