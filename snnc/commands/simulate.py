"""`snnc simulate MODEL --data X.npz`: run the reference simulator and report activity."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import snnc
from snnc.commands.common import (
    add_model_arguments,
    compact,
    load_model,
    print_activity,
    print_json,
    write_npz_atomically,
)
from snnc.commands.data import add_data_arguments, read_input
from snnc.diagnostics import input_error


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "simulate", parents=[common], help="run a model in the reference simulator", description=run.__doc__
    )
    add_model_arguments(parser)
    add_data_arguments(parser)
    parser.add_argument("-o", "--output", metavar="OUT.npz", help="write outputs and traces to this .npz file")
    parser.add_argument(
        "--record", default="", metavar="VAR,...", help="state variables to trace, comma-separated (e.g. v,i)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run a graph on recorded input spikes; print per-node activity and the outputs' spike counts.
    A Speck configuration (MODEL.speck.json, from snnc compile --target speck) runs in the event-driven
    chip model, and the synaptic operations per core are printed too."""
    from snnc.backends.speck import is_config_path

    if is_config_path(args.model):
        return _speck(args)
    graph = load_model(args)
    x = read_input(args, graph)
    record = tuple(v.strip() for v in args.record.split(",") if v.strip())
    result = snnc.simulate(graph, x, record=(*record, "activity"))
    return _report(args, graph, result)


def _speck(args: argparse.Namespace) -> int:
    from snnc.backends.speck import events as model
    from snnc.backends.speck.read import read_config, to_graph

    if args.record:
        raise input_error("SIM-RECORD", "the event model records no state traces", hint="drop --record")
    config = read_config(args.model)
    chip = to_graph(config)
    events = model.simulate(config, read_input(args, chip.graph))
    if args.format != "json":
        print("event-driven Speck model (docs/targets/speck.md §4); synaptic operations per core:")
        for core, sops in events.sops.items():
            print(f"  core {core}: {int(sops.sum()):,} in total, at most {int(sops.max(initial=0)):,} in one step")
        print()
    return _report(args, chip.graph, events.result)


def _report(args: argparse.Namespace, graph: Any, result: Any) -> int:
    if args.output:
        arrays = dict(result.outputs) | {
            f"trace/{node}/{var}": trace for node, by_var in result.traces.items() for var, trace in by_var.items()
        }
        write_npz_atomically(Path(args.output), arrays)
        print(f"snnc: wrote {args.output} ({', '.join(arrays)})", file=sys.stderr)
    activity = [
        {
            "node": name,
            "type": str(graph.node(name).type),
            "events": a.total,
            "events_per_sample": a.events.sum(axis=0).tolist(),
            "rate": float(a.rate),
        }
        for name, a in result.activity.items()
    ]
    outputs = [
        {
            "name": name,
            "type": str(graph.node(name).type),
            "shape": list(y.shape),
            "per_sample": y.reshape(y.shape[0], y.shape[1], -1).sum(axis=(0, 2)).tolist(),
            "per_neuron": y.sum(axis=0).tolist(),
        }
        for name, y in result.outputs.items()
    ]
    steps, batch = next(iter(result.outputs.values())).shape[:2]
    if args.format == "json":
        summary = {"graph": graph.name, "steps": steps, "batch": batch, "activity": activity, "outputs": outputs}
        print_json(summary | {"written": args.output})
        return 0
    print(f"graph {graph.name}: {steps} steps, {batch} samples\n")
    print_activity(activity)
    for out, y in zip(outputs, result.outputs.values(), strict=True):
        print(f"\noutput {out['name']}: {out['type']}, counts per sample (sum over the steps)")
        # a small output, e.g. class neurons ([10], or [10, 1, 1] as a chip's last conv core has them)
        per_neuron = y.sum(axis=0).reshape(batch, -1)
        few = per_neuron.shape[1] <= 32
        for b, total in enumerate(out["per_sample"]):
            detail = f"  per neuron {compact(per_neuron[b].tolist())}" if few else ""
            print(f"  sample {b}: {compact(total)}{detail}")
    return 0
