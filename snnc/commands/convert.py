"""`snnc convert MODEL --calib X.npz -o snn.snnc`: convert a ReLU ANN into an SNN."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from snnc.commands.common import add_model_arguments, data_error, load_model, print_json
from snnc.diagnostics import input_error
from snnc.diagnostics.render import render_text
from snnc.driver.convert import ENCODINGS, Conversion, convert
from snnc.ir.serialize import save
from snnc.npz import DataError, open_npz


def add_parser(verbs: Any, common: argparse.ArgumentParser) -> None:
    parser = verbs.add_parser(
        "convert", parents=[common], help="convert a ReLU ANN into an SNN of IF neurons", description=run.__doc__
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--calib", required=True, metavar="X.npz", help="calibration samples [N, *shape] as 'x' (labels 'y' optional)"
    )
    parser.add_argument("-o", "--output", required=True, metavar="SNN.snnc", help="where to write the SNN graph")
    parser.add_argument(
        "--percentile", type=float, default=99.9, help="activation percentile that sets each threshold (default 99.9)"
    )
    parser.add_argument("--encoding", choices=ENCODINGS, default="current", help="how the input reaches the SNN")
    parser.add_argument(
        "--steps", type=int, default=64, metavar="T", help="longest simulation for the accuracy report (default 64)"
    )
    parser.add_argument(
        "--eval", metavar="Y.npz", help="labelled samples ('x', 'y') for the accuracy report (default: --calib's)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fold BatchNorm, set each IF threshold from the calibration activations, write the SNN, and,
    given labels, report ANN accuracy against SNN accuracy after T/8, T/4, T/2 and T steps."""
    if args.steps < 1:
        raise input_error("CONVERT-OPTION", f"--steps {args.steps} must be at least 1")
    graph = load_model(args)
    calib = _arrays(Path(args.calib), "--calib")
    conversion = convert(graph, calib["x"], percentile=args.percentile, encoding=args.encoding)
    save(conversion.graph, args.output)
    labelled = _arrays(Path(args.eval), "--eval") if args.eval else calib
    steps = sorted({max(1, args.steps // k) for k in (8, 4, 2, 1)})
    accuracy = conversion.accuracy(labelled["x"], labelled["y"], steps) if "y" in labelled else None
    if args.format == "json":
        print_json(_summary(conversion, args, accuracy))
        return 0
    print(f"wrote {args.output}: {conversion.graph.name}, {len(conversion.graph)} nodes ({args.encoding} input)")
    print(
        f"thresholds (p{args.percentile:g} of each ReLU's nonzero calibration activations, {len(calib['x'])} samples):"
    )
    width = max((len(n) for n in conversion.scales), default=0)
    for name, scale in conversion.scales.items():
        print(f"  {name.ljust(width)}  {scale:.6g}")
    if conversion.diagnostics:
        print(render_text(conversion.diagnostics))
    if accuracy is None:
        print("no labels ('y') given: no accuracy report", file=sys.stderr)
        return 0
    print(f"accuracy on {accuracy.samples} samples ({'--eval' if args.eval else '--calib'}): ANN {accuracy.ann:.2%}")
    for t, acc in accuracy.snn.items():
        print(f"  SNN T={t:<5d} {acc:.2%}  ({(acc - accuracy.ann) * 100:+.2f} points)")
    return 0


def _arrays(path: Path, flag: str) -> dict[str, np.ndarray]:
    """'x' (or the only array) and, if present, integer labels 'y', read without unpickling."""
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"data file {str(path)!r} does not exist", hint="check the path")
    try:
        with open_npz(path) as archive:
            files = archive.files
            x_key = "x" if "x" in files else (files[0] if len(files) == 1 else None)
            if x_key is None:
                raise input_error(
                    "CLI-DATA-KEY", f"{str(path)!r} has no array 'x'; its keys are: {', '.join(files) or '(none)'}"
                )
            out = {"x": archive[x_key]}
            if "y" in files:
                out["y"] = archive["y"]
    except DataError as e:
        raise data_error(path, e, flag) from None
    return out


def _summary(conversion: Conversion, args: argparse.Namespace, accuracy: Any) -> dict[str, Any]:
    return {
        "written": args.output,
        "graph": conversion.graph.name,
        "encoding": conversion.encoding,
        "percentile": conversion.percentile,
        "input_scale": conversion.input_scale,
        "thresholds": conversion.scales,
        "accuracy": None if accuracy is None else accuracy.to_dict(),
        "diagnostics": [d.to_dict() for d in conversion.diagnostics],
    }
