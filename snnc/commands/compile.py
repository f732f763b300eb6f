"""`snnc compile MODEL --target sim [-o DIR]`: lower a model for a target and write the result."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from snnc.commands.common import add_model_arguments, load_model, print_json, read_data
from snnc.compiler import Compiled, compile
from snnc.diagnostics import Severity, render_text
from snnc.ir.graph import Graph
from snnc.targets import TARGETS


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "compile", parents=[common], help="lower a model for a target and write it", description=run.__doc__
    )
    add_model_arguments(parser)
    add_target_arguments(parser)
    parser.add_argument(
        "-o", "--output-dir", default=".", metavar="DIR", help="where to write the artefacts (default: .)"
    )
    parser.add_argument("--verify-each", action="store_true", help="verify the graph after every pass (debug)")
    parser.add_argument(
        "--print-between-passes", action="store_true", help="print the graph after every pass to stderr (debug)"
    )
    parser.set_defaults(run=run)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """--target and the pipeline options it takes (shared with `snnc check`)."""
    parser.add_argument("--target", required=True, choices=sorted(TARGETS), help="what to compile for")
    parser.add_argument(
        "--bits", type=int, choices=(8, 16), help="sim: integer width of weights and states (default: 8)"
    )
    parser.add_argument(
        "--calib",
        metavar="X.npz",
        help="calibration input [T, B, *shape] (as for simulate --data): sets the range of real-valued inputs "
        "and readouts, and measures the quantization loss per layer",
    )
    parser.add_argument(
        "--input-range",
        metavar="LO,HI",
        type=_range,
        help="the range of real-valued inputs (default: the --calib data's, else 0,1 with a warning); "
        "write --input-range=-1,1 when LO is negative",
    )


def _range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range like 0,1") from None
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"{text!r} is not a range like 0,1: LO must be below HI")
    return lo, hi


def pipeline_options(args: argparse.Namespace, graph: Graph) -> dict[str, Any]:
    """The pipeline options given on the command line (the calibration data read for `graph`)."""
    options: dict[str, Any] = {} if args.bits is None else {"bits": args.bits}
    if args.input_range is not None:
        options["input_range"] = args.input_range
    if args.calib is not None:
        options["calib"] = read_data(Path(args.calib), graph)
    return options


def run(args: argparse.Namespace) -> int:
    """Run the target's pipeline (for sim: fold-bn, absorb-scale, quantize, check-spike-driven),
    write the lowered graph into DIR, and print what each pass did, with the quantization losses
    per layer. Nothing is written if any stage reports an error (exit code 1)."""
    graph = load_model(args)
    compiled = compile(
        graph,
        args.target,
        out_dir=Path(args.output_dir),
        verify_each=args.verify_each,
        after_pass=_print_graph if args.print_between_passes else None,
        **pipeline_options(args, graph),
    )
    if args.format == "json":
        print_json(_summary(graph, compiled))
        return 0
    print(f"compiled {graph.name} for {compiled.target}: {len(graph)} nodes -> {len(compiled.graph)} nodes")
    print("passes:")
    width = max(len(p.name) for p in compiled.passes)
    for p in compiled.passes:
        print(f"  {p.name.ljust(width)}  {p.rewrites} rewrite(s), {len(p.diagnostics)} diagnostic(s)")
        for d in p.diagnostics:
            print("    " + d.render().replace("\n", "\n    "))
    target_notes = [d for d in compiled.diagnostics if not any(d in p.diagnostics for p in compiled.passes)]
    if target_notes:
        print(render_text(target_notes))
    for name, path in compiled.artefacts.items():
        print(f"wrote {name}: {path}")
    return 0


def _print_graph(name: str, graph: Graph) -> None:
    from snnc.ir.printer import format_graph

    print(f"// after {name}\n{format_graph(graph)}", file=sys.stderr)


def _summary(source: Graph, compiled: Compiled) -> dict[str, Any]:
    return {
        "graph": source.name,
        "target": compiled.target,
        "nodes": {"before": len(source), "after": len(compiled.graph)},
        "passes": [
            {"name": p.name, "rewrites": p.rewrites, "diagnostics": [d.to_dict() for d in p.diagnostics]}
            for p in compiled.passes
        ],
        "diagnostics": [d.to_dict() for d in compiled.diagnostics],
        "warnings": sum(d.severity is Severity.WARNING for d in compiled.diagnostics),
        "artefacts": {name: str(path) for name, path in compiled.artefacts.items()},
    }
