"""`snnc validate MODEL --target T --data X [--labels Y]`: the same input through the source model,
the IR, the compiled integer graph and the target's own model; where and why they first differ."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from snnc.atomic import write_atomically
from snnc.commands.common import add_model_arguments, load_model, print_json, print_table
from snnc.commands.compile import add_target_arguments, pipeline_options
from snnc.commands.data import add_data_arguments, read_input, read_labels
from snnc.driver.validate import ValidationReport, validate


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "validate",
        parents=[common],
        conflict_handler="resolve",  # --format gains "html" here
        help="compare the source model, the IR, the compiled graph and the target layer by layer",
        description=run.__doc__,
    )
    add_model_arguments(parser)
    parser.add_argument("--format", choices=("text", "json", "html"), default="text", help="output format")
    add_data_arguments(parser)
    parser.add_argument(
        "--labels",
        metavar="Y.npz",
        help="class labels, one integer per sample: the array 'y' or 'labels' (or the only one) of an .npz or .npy; "
        "it may be the --data file",
    )
    parser.add_argument(
        "--tolerance",
        metavar="KEY=VALUE,...",
        help="the disagreement allowed between adjacent stages (exit code 1 beyond): decisions (share of samples "
        "changing class, default 0.05), accuracy (drop below the first stage, 0.02), rate (per-layer firing-rate "
        "error, 0.05), spikes (per-layer spike mismatch, off), membrane (per-layer membrane error / θ, off); "
        "'none' turns one off",
    )
    parser.add_argument("-o", "--output", metavar="REPORT.html", help="also write the HTML report with plots here")
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        metavar="N",
        help="samples run at a time (default: as many as 512 MB of traces hold)",
    )
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Run the same input through every stage: the source model in its own library (for a PyTorch
    model), the IR's float simulation, the integer simulation of the graph compiled for the
    target, and the target's own execution model where it has one. Print, per layer and pair of
    stages, the spike mismatch, firing rates and membrane error; the accuracy of every stage with
    --labels; and the first divergence: layer, step, sample, neuron, both values and the likely
    cause. Exit code 0: within the tolerances, 1: a tolerance exceeded, 2: unusable input."""
    graph = load_model(args)
    x = read_input(args, graph)
    labels = read_labels(Path(args.labels)) if args.labels else None
    source = _source(args)
    report = validate(
        source if source is not None else graph,
        args.target,
        x,
        labels=labels,
        tolerance=args.tolerance,
        batch_size=args.batch_size,
        graph=graph,
        **pipeline_options(args, graph),
    )
    if args.output or args.format == "html":
        from snnc.driver.validate_html import render

        page = render(report)
        if args.output:
            write_atomically(Path(args.output), page.encode("utf-8"), rule="CLI-OUTPUT-WRITE")
            print(f"snnc: wrote {args.output}", file=sys.stderr)
        elif args.format == "html":
            sys.stdout.write(page)
    if args.format == "json":
        print_json(report.to_dict() | {"written": args.output})
    elif args.format == "text":
        print_report(report)
    sys.stdout.flush()
    for d in report.diagnostics:
        if d.rule != "VALIDATE-TOLERANCE" or args.format != "text":
            print(d.render(), file=sys.stderr)
    return 0 if report.ok else 1


def _source(args: argparse.Namespace) -> Any:
    """The PyTorch model to run as the source stage: the MODEL itself where it is one (a .pt file
    or pkg.module:factory); None for graphs and interchange files (then the IR is the first stage)."""
    from snnc.frontend import module_of

    return module_of(args.model, trust_pickle=args.trust_pickle, weights=args.weights)


# --- text ---------------------------------------------------------------------------------------


def print_report(report: ValidationReport) -> None:
    print(f"validate {report.model} for {report.target}: {report.samples} samples × {report.steps} steps\n")
    rows = [["stage", "what it is", "accuracy", "decisions as before"]]
    for s in report.stages:
        rows.append([s.name, s.title, _percent(s.accuracy), _percent(s.agreement)])
    print_table(rows, left=2)
    print(
        "\nper layer (mismatch: share of spikes not in common; rates: spikes per neuron and step; a readout's "
        "membrane is its output, its error relative to the output's mean size)"
    )
    rows = [["layer", "stages", "mismatch", "same", "rate a", "rate b", "rate err", "membrane err", "/ θ", ""]]
    for a in report.layers:
        rates = ["", ""] if a.rates is None else [f"{r:.4f}" for r in a.rates]
        rows.append(
            [a.layer, f"{a.pair[0]}→{a.pair[1]}", _number(a.spike_mismatch), _percent(a.element_agreement), *rates,
             _number(a.rate_error), _number(a.membrane_error), _percent(a.membrane_error_relative),
             "EXCEEDED " + ",".join(a.exceeded) if a.exceeded else ""]
        )  # fmt: skip
    print_table(rows, left=2)
    print()
    if not report.divergences:
        print("first divergence: none; every compared layer has the same spikes in every stage")
    for k, d in enumerate(report.divergences):
        label = "first divergence" if k == 0 else "then"
        where = "its events" if d.neuron is None else f"neuron {list(d.neuron)}"
        print(f"{label}: {d.pair[0]} → {d.pair[1]}, layer {d.layer!r} (node {d.node}), step {d.step}, "
              f"sample {d.sample}, {where}: {d.pair[0]} {d.values[0]:g}, {d.pair[1]} {d.values[1]:g}")  # fmt: skip
        print(f"  cause {d.cause}: {d.detail}")
    tol = ", ".join(f"{k} {'off' if v is None else f'{v:g}'}" for k, v in report.tolerance.to_dict().items())
    print(f"\ntolerances: {tol}")
    if report.ok:
        print("result: ok, within the tolerances")
    else:
        print(f"result: {len(report.failures)} tolerance(s) exceeded")
        for f in report.failures:
            print(f"  - {f.message}")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"
