"""What every verb of the `snnc` command shares: model-source options, data files, atomic
output, rendering. Kept apart from the verbs so each verb module stays a page of its own."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np

import snnc
from snnc import limits
from snnc.atomic import write_atomically
from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.diagnostics.render import render_text
from snnc.ir import Graph
from snnc.npz import DataError, open_npz


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The MODEL argument and the options of `snnc.load` (ARCHITECTURE §3)."""
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="a .snnc graph, a .pt/.pth model file, a .nir or .onnx file, or the code that builds the model: "
        "pkg.module:factory or path/to/file.py:factory (imports and runs that code; the current directory is "
        "importable, as with python -m)",
    )
    parser.add_argument(
        "--input-shape", metavar="C,H,W", type=_shape, help="per-sample input shape (no time, no batch)"
    )
    parser.add_argument(
        "--input-dtype",
        choices=("float", "spike"),
        default="float",
        help="what the model's input holds (default: float)",
    )
    parser.add_argument(
        "--weights", metavar="STATE.pt", help="state dict to load into the model a factory builds (tensors only)"
    )
    parser.add_argument(
        "--static-input",
        action="store_const",
        const="static",
        dest="input_time",
        help="the model's input is one frame per sample that the model repeats over its time steps itself "
        "(default: found from how the model uses its input)",
    )
    parser.add_argument(
        "--dt", type=float, metavar="SECONDS", help="time step for a .nir model (default: the file's, else 1e-4)"
    )
    parser.add_argument(
        "--nir-producer",
        choices=("spikingjelly", "snntorch", "sinabs", "norse", "nir"),
        help="the library whose NIR exporter wrote a .nir model: read it with that library's conventions "
        "(default: recognised where the file shows it; nir: NIR's own semantics)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="load a .pt file even if it names classes outside snnc's allowlist (runs its code)",
    )


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """--max-memory and --max-work: the resource limits of snnc/limits.py for this run."""
    parser.add_argument(
        "--max-memory",
        type=_limit(limits.parse_size),
        metavar="SIZE",
        help=f"most memory an input may make snnc use, e.g. 16GiB (default: ${limits.MEMORY_ENV}, else 8GiB)",
    )
    parser.add_argument(
        "--max-work",
        type=_limit(limits.parse_count),
        metavar="N",
        help=f"most operations one simulation may take, e.g. 1e14 (default: ${limits.WORK_ENV}, else 1e13)",
    )


def _limit(parse: Callable[[str], int]) -> Callable[[str], int]:
    def parse_argument(text: str) -> int:
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse_argument


def limits_from(args: argparse.Namespace) -> AbstractContextManager[object]:
    """The limits given with --max-memory and --max-work, in force for one command."""
    memory, work = getattr(args, "max_memory", None), getattr(args, "max_work", None)
    if memory is None and work is None:
        return contextlib.nullcontext()
    return limits.override(memory=memory, work=work)


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 2,34,34") from None
    if not dims or min(dims) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape like 2,34,34")
    return dims


def load_model(args: argparse.Namespace) -> Graph:
    """The verified graph; what the loader normalized (NIR files) goes to stderr."""
    notes: list[Diagnostic] = []
    graph = snnc.load(
        args.model,
        input_shape=args.input_shape,
        trust_pickle=args.trust_pickle,
        weights=args.weights,
        input_dtype=args.input_dtype,
        input_time=args.input_time,
        dt=args.dt,
        producer=args.nir_producer,
        diagnostics=notes,
    )
    if notes:
        print(render_text(notes), file=sys.stderr)
    return graph


def read_data(path: Path, graph: Graph) -> np.ndarray | dict[str, np.ndarray]:
    """The input array(s) from an .npz, read without unpickling (a pickle in a data file runs code)
    and without allocating more than its members hold (snnc/npz.py)."""
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"data file {str(path)!r} does not exist", hint="check the --data path")
    try:
        with open_npz(path) as archive:
            keys = _pick_keys(archive.files, [n.name for n in graph.inputs], path)
            arrays = {name: archive[key] for name, key in keys.items()}
    except DataError as e:
        raise data_error(path, e) from None
    return next(iter(arrays.values())) if len(arrays) == 1 else arrays


def data_error(path: Path, e: DataError, flag: str = "--data") -> SnncError:
    """CLI-DATA-READ for a data file the reader (snnc/npz.py) refused."""
    return input_error(
        "CLI-DATA-READ",
        f"cannot read {str(path)!r} ({flag}): {e}",
        hint=limits.current().memory_hint()
        if e.too_large
        else "snnc reads .npz archives and .npy files of plain numbers (event recordings: of numeric fields), "
        "never pickles; save arrays with np.savez(path, x=array)",
    )


def _pick_keys(files: list[str], inputs: list[str], path: Path) -> dict[str, str]:
    """Archive key per graph input: the input's name, else 'x' or the only array (one-input graphs)."""
    keys = {name: name for name in inputs if name in files}
    if len(inputs) == 1 and not keys:
        if "x" in files:
            keys = {inputs[0]: "x"}
        elif len(files) == 1:
            keys = {inputs[0]: files[0]}
    missing = [name for name in inputs if name not in keys]
    if missing:
        raise input_error(
            "CLI-DATA-KEY",
            f"{str(path)!r} has no array for input(s) {', '.join(missing)}; "
            f"its keys are: {', '.join(files) or '(none)'}",
            hint=f"name the array after the graph input, e.g. np.savez(path, {missing[0]}=array)",
        )
    return keys


def write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An .npz of `arrays` at `path`, written atomically (snnc/atomic.py)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_atomically(path, buffer.getvalue(), rule="CLI-OUTPUT-WRITE")


# --- rendering ----------------------------------------------------------------------------------


def print_activity(activity: list[dict[str, Any]]) -> None:
    rows = [("node", "type", "events", "events/sample", "rate")]
    for a in activity:
        per_sample = a["events"] / len(a["events_per_sample"])
        rows.append((a["node"], a["type"], f"{a['events']:,}", f"{per_sample:,.1f}", f"{a['rate']:.4f}"))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        cells = [c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())


def print_table(rows: list[list[str]], left: int) -> None:
    """Columns aligned; the first `left` columns left-aligned, the rest (numbers) right-aligned."""
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    for row in rows:
        cells = [c.ljust(w) if k < left else c.rjust(w) for k, (c, w) in enumerate(zip(row, widths))]
        print("  ".join(cells).rstrip())


def compact(value: Any) -> str:
    """Sums for people: integral floats (sums of a float output) without the '.0'."""
    if isinstance(value, list):
        return "[" + " ".join(compact(v) for v in value) + "]"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.6g}"
    return str(value)


def print_errors(diagnostics: Sequence[Diagnostic], exit_code: int, fmt: str) -> None:
    if fmt == "json":
        print_json({"exit_code": exit_code, "diagnostics": [d.to_dict() for d in diagnostics]})
    else:
        print(render_text(diagnostics), file=sys.stderr)


def print_json(data: dict[str, Any]) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
