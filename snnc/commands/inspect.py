"""`snnc inspect MODEL`: load a model (any source `snnc.load` reads), verify it and print the IR."""

from __future__ import annotations

import argparse
from typing import Any

from snnc.commands.common import add_model_arguments, load_model, print_json
from snnc.diagnostics import Severity
from snnc.diagnostics.render import render_text
from snnc.ir import Graph
from snnc.ir.verify import unused_nodes, verify


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "inspect", parents=[common], help="load and verify a model; print its IR graph", description=run.__doc__
    )
    add_model_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load and verify a graph; print it one node per line, then its inputs, outputs, size and warnings."""
    from snnc.ir.printer import format_graph

    graph = load_model(args)
    warnings = [d for d in verify(graph) + unused_nodes(graph) if d.severity is not Severity.ERROR]
    if args.format == "json":
        print_json(_graph_summary(graph) | {"diagnostics": [d.to_dict() for d in warnings]})
        return 0
    print(format_graph(graph))
    print()
    print(f"graph {graph.name}: {len(graph)} nodes, {graph.parameter_count():,} parameters")
    for node in graph.inputs:
        print(f"  input  {node.name}: {node.type}")
    for node in graph.outputs:
        print(f"  output {node.name}: {node.type} (from {', '.join(node.inputs)})")
    print(render_text(warnings) if warnings else "verified: no errors, no warnings")
    return 0


def _graph_summary(graph: Graph) -> dict[str, Any]:
    return {
        "graph": graph.name,
        "inputs": [{"name": n.name, "type": str(n.type)} for n in graph.inputs],
        "outputs": [{"name": n.name, "type": str(n.type), "source": n.inputs[0]} for n in graph.outputs],
        "nodes": [
            {
                "name": n.name,
                "kind": n.op.kind,
                "inputs": list(n.inputs),
                "type": str(n.type),
                "origin": n.origin,
                "params": {name: list(value.shape) for name, value in n.op.params()},
            }
            for n in graph.nodes
        ],
        "parameter_count": graph.parameter_count(),
        "arithmetic": None if graph.arithmetic is None else graph.arithmetic.to_json(),
    }
