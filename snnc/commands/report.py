"""`snnc report MODEL --data X.npz`: synaptic operations, MACs and energy per layer, measured on
the data in the reference simulator, under a literature, memory-aware or per-target model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import snnc
from snnc.backends import TARGETS
from snnc.commands.common import (
    add_model_arguments,
    add_progress_argument,
    load_model,
    print_json,
    print_table,
    progress,
)
from snnc.commands.data import add_data_arguments, read_input
from snnc.cost import PRECISIONS, CostReport
from snnc.cost.table import format_count as _n
from snnc.cost.table import format_rate as _r
from snnc.cost.table import layer_table
from snnc.driver.report import GENERIC, energy_targets

PROFILE_ROWS = 20  # the text profile bins the steps into at most this many rows


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "report",
        parents=[common],
        conflict_handler="resolve",  # --format gains "html" here
        help="measure synaptic operations, MACs and energy per layer on data",
        description=run.__doc__,
    )
    add_model_arguments(parser)
    parser.add_argument("--format", choices=("text", "json", "html"), default="text", help="output format")
    add_data_arguments(parser)
    chips = ", ".join(energy_targets())
    parser.add_argument("--target", choices=list(TARGETS), help=f"the chip whose energy model to use ({chips})")
    parser.add_argument(
        "--model",
        dest="energy_model",
        choices=GENERIC,
        help="energy model (default: the --target chip's own, else literature: E_MAC·MACs + E_AC·ACs; "
        "--model literature with --target compares the chip's network against the literature constants)",
    )
    parser.add_argument("-o", "--output", metavar="REPORT.html", help="also write the HTML report with plots here")
    parser.add_argument(
        "--batch-size", type=_positive_int, default=256, metavar="N", help="samples simulated at a time (default 256)"
    )
    add_progress_argument(parser)
    parser.add_argument("--precision", choices=tuple(PRECISIONS), help="arithmetic preset (Horowitz 2014)")
    parser.add_argument(
        "--step-time", type=float, metavar="SECONDS", help="wall-clock time per step: enables static energy, SynOps/s"
    )
    parser.add_argument(
        "--encoding-once", action="store_true", help="count a static real-valued input layer once per sample"
    )
    parser.add_argument(
        "--integer-inputs",
        choices=("mac", "ac"),
        default="ac",
        help="how a count k > 1 reaching a layer (sum-pooled spikes) is charged: ac (default) k accumulates per "
        "connection, as the chips do; mac one multiply-accumulate per non-zero input",
    )
    parser.add_argument("--sops", choices=("exact", "paper"), default="exact", help="ACs from exact or fr·T·FLOPs")
    parser.add_argument(
        "--synops-ceiling", type=float, metavar="PER_S", help="speck: warn where a core's SynOps/s exceed this"
    )
    parser.set_defaults(run=run)


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Simulate a model on data and report per layer: events in, synaptic operations (exact and
    fr·T·FLOPs), MACs, firing rates and energy; totals, the ANN equivalent, the time-step profile."""
    graph = load_model(args)
    x = read_input(args, graph, by_batch=True)
    first = next(iter(x.values())) if isinstance(x, dict) else x
    with progress(first.shape[1] if first.ndim >= 2 else 0, "simulated", args.progress) as advance:
        report = snnc.report(
            graph,
            x,
            model=args.energy_model or ("target" if args.target else "literature"),
            target=args.target,
            batch_size=args.batch_size,
            precision=args.precision,
            dt=args.step_time,
            encoding_once=args.encoding_once,
            integer_inputs=args.integer_inputs,
            sops=args.sops,
            synops_ceiling=args.synops_ceiling,
            on_batch=advance,
        )
    if args.output:
        report.to_html(args.output)
        print(f"snnc: wrote {args.output}", file=sys.stderr)
    if args.format == "json":
        print_json(report.to_dict() | {"written": args.output})
    elif args.format == "text":
        print_report(report)
    elif not args.output:  # html, and no file named: the page goes to stdout
        sys.stdout.write(_html(report))
    sys.stdout.flush()  # the warnings follow the report, also when both streams share a terminal
    for d in report.diagnostics:
        print(d.render(), file=sys.stderr)
    return 0


def _html(report: CostReport) -> str:
    from snnc.cost.html import render

    return render(report)


# --- text ---------------------------------------------------------------------------------------


def print_report(report: CostReport) -> None:
    d = report.to_dict()
    total, ann = d["total"], d["ann"]
    print(f"graph {d['graph']}: {d['samples']} samples × {d['steps']} steps; model {d['model']['title']}")
    print("per sample (one inference over all steps); energy in pJ\n")
    rows = layer_table(report)
    print_table(rows, left=4)
    energy = f"\nenergy: {_n(total['energy_pj'])} pJ per sample"
    if total["energy_range_pj"]:
        energy += f" (range {_n(total['energy_range_pj'][0])} – {_n(total['energy_range_pj'][1])})"
    if total["static_pj"] is not None:
        energy += f", plus static {_n(total['static_pj'])} pJ"
    print(energy)
    ratio = d["energy_ratio_ann_over_snn"]
    print(f"ANN equivalent: {_n(ann['macs'])} MACs, {_n(ann['energy_pj'])} pJ ({ann['basis']})")
    print("ANN / SNN energy: " + ("n/a" if ratio is None else f"{ratio:.3g}×"))
    print("NeuroBench: " + ", ".join(f"{k} {_n(v)}" for k, v in total["neurobench"].items()))
    print("not counted: " + ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in total["not_counted"].items()))
    print("\nrules:")
    for rule in d["model"]["rules"]:
        print(f"  - {rule}")
    print("constants:")
    for c in d["model"]["constants"]:
        span = f" ({c['low']:g}–{c['high']:g})" if "low" in c else ""
        print(f"  {c['name']} = {c['value']:.4g}{span} {c['unit']} [{c['status']}] {c['source']}")
    _print_profile(d["profile"])


def _print_profile(profile: dict[str, Any]) -> None:
    steps = len(profile["step"])
    width = -(-steps // PROFILE_ROWS)
    layers = list(profile["firing_rate"])
    print(f"\ntime-step profile (per sample{'' if width == 1 else f', sums over {width} steps'}; fire rate: mean)")
    rows = [["steps", "SOPs", "MACs", "energy", *layers]]
    for start in range(0, steps, width):
        part = slice(start, start + width)
        label = str(start) if width == 1 else f"{start}-{min(start + width, steps) - 1}"
        rates = [_r(sum(profile["firing_rate"][n][part]) / len(profile["firing_rate"][n][part])) for n in layers]
        rows.append(
            [label, _n(sum(profile["sops"][part])), _n(sum(profile["macs"][part])),
             _n(sum(profile["energy_pj"][part])), *rates]
        )  # fmt: skip
    print_table(rows, left=1)
