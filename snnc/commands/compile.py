"""`snnc compile MODEL --target T [options of T] [-o DIR]`: lower a model for a target and write the result."""

from __future__ import annotations

import argparse
import sys
import typing
from pathlib import Path
from typing import Any

from snnc.backends import TARGETS, get_target
from snnc.backends.target import describe, option_fields, option_help
from snnc.commands.common import add_model_arguments, load_model, print_json, read_data
from snnc.diagnostics import Severity, input_error
from snnc.diagnostics.render import render_text
from snnc.driver.compile import Compiled, compile
from snnc.ir.graph import Graph


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
    """--target, --calib and every registered target's options (shared with `snnc check`): one flag
    per field of each target's Options dataclass, its help prefixed by the target(s) taking it."""
    parser.add_argument("--target", required=True, choices=list(TARGETS), help="what to compile for")
    parser.add_argument(
        "--calib",
        metavar="X.npz",
        help="calibration input [T, B, *shape] (as for simulate --data): sets the range of real-valued inputs "
        "and readouts, and measures the quantization loss per layer",
    )
    group = parser.add_argument_group("target options (each applies to the targets named in its help)")
    for flag, (fields, owners) in _target_flags().items():
        f = fields[0]
        helps = "; ".join(f"{t}: {option_help(g)}" for t, g in zip(owners, fields))
        annotation = typing.get_type_hints(get_target(owners[0]).Options)[f.name]
        if annotation is bool:
            group.add_argument(flag, dest=f"option_{f.name}", action="store_const", const=True, help=helps)
        elif typing.get_origin(annotation) is typing.Literal and len(owners) == 1:
            choices = [str(c) for c in typing.get_args(annotation)]
            group.add_argument(flag, dest=f"option_{f.name}", choices=choices, help=helps)
        else:
            group.add_argument(flag, dest=f"option_{f.name}", metavar=describe(annotation), help=helps)


def _target_flags() -> dict[str, tuple[list[Any], list[str]]]:
    """Command-line flag → (the Options fields it sets, the targets they belong to)."""
    flags: dict[str, tuple[list[Any], list[str]]] = {}
    for name in TARGETS:
        for f in option_fields(get_target(name).Options):
            fields, owners = flags.setdefault("--" + f.name.replace("_", "-"), ([], []))
            fields.append(f)
            owners.append(name)
    return flags


def pipeline_options(args: argparse.Namespace, graph: Graph) -> dict[str, Any]:
    """The target options given on the command line, as text for the target to validate, and the
    calibration data read for `graph`. A flag of another target is TARGET-OPTION."""
    own = {f.name for f in option_fields(get_target(args.target).Options)}
    options: dict[str, Any] = {}
    for flag, (fields, owners) in _target_flags().items():
        value = getattr(args, f"option_{fields[0].name}", None)
        if value is None:
            continue
        if fields[0].name not in own:
            raise input_error(
                "TARGET-OPTION",
                f"{flag} is an option of {', '.join(owners)}, not of the {args.target} target",
                hint=f"drop {flag}, or compile for {' or '.join(owners)}",
            )
        options[fields[0].name] = value
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
