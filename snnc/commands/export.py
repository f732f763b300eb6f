"""`snnc export MODEL --to nir -o x.nir`: write a model in an interchange format."""

from __future__ import annotations

import argparse
from typing import Any

import snnc
from snnc.commands.common import add_model_arguments, load_model, print_json
from snnc.diagnostics.render import render_text
from snnc.nir.read import DEFAULT_DT, is_nir_path


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "export", parents=[common], help="write a model as NIR (with snnc's exact semantics)", description=run.__doc__
    )
    add_model_arguments(parser)
    parser.add_argument("--to", choices=("nir",), default="nir", help="the format (default: nir)")
    parser.add_argument("-o", "--output", required=True, metavar="FILE.nir", help="the file to write")
    parser.add_argument(
        "--maxpool",
        choices=("or", "avg"),
        default="or",
        help="NIR has no max pooling: 'or' writes max pools of spikes exactly as OR (sum pool + threshold) and "
        "refuses others; 'avg' writes them as average pools (NIR readers compute the window mean)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Load a model and write it as NIR, atomically. snnc reads the file back exactly (its metadata
    holds the graph); the warnings say what a plain NIR reader computes differently. --dt is the
    step NIR's continuous time is written in (default 1e-4 s); for a .nir MODEL also the step it
    is read with."""
    dt = DEFAULT_DT if args.dt is None else args.dt
    if not is_nir_path(args.model):
        args.dt = None  # only a NIR source is read with a dt
    graph = load_model(args)
    warnings = snnc.export(graph, args.output, to=args.to, dt=dt, maxpool=args.maxpool)
    if args.format == "json":
        print_json({"written": args.output, "graph": graph.name, "diagnostics": [d.to_dict() for d in warnings]})
        return 0
    print(f"wrote {args.output}: {graph.name}, {len(graph)} nodes as NIR (dt = {dt:g} s)")
    if warnings:
        print(render_text(warnings))
    return 0
