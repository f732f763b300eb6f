"""The --data of simulate, report and validate: time-major arrays, or event-camera recordings.

`--data` is an .npz of input arrays [T, B, *shape] (common.py: read_data), or event recordings in
tonic's layout (events.py): an .npy holding one structured array of events, or an .npz holding one
per sample, binned into frames with `--n-bins` or `--time-bin`. Labels for validate come from an
.npz or .npy too.

Files are read without trusting them (snnc/npz.py): no pickles, only plain numeric arrays or
structured arrays of numeric fields, every member's declared size checked against what the file
holds before any array is allocated, and the total bounded by the memory limit (snnc/limits.py);
every failure is a diagnostic (exit code 2), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from snnc.commands.common import data_error, read_data
from snnc.commands.events import bin_recordings, is_event_dtype
from snnc.diagnostics import input_error
from snnc.ir.graph import Graph
from snnc.npz import DataError, open_arrays

LABEL_KEYS = ("y", "labels")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        required=True,
        metavar="X.npz",
        help="input [T, B, *shape] in an .npz (the array named after the graph input, else 'x', else the only one), "
        "or event recordings: an .npy of one structured array with fields x, y, t, p (tonic's layout), or an .npz "
        "of one per sample",
    )
    events = parser.add_argument_group("event recordings (binned into frames by tonic's ToFrame)")
    events.add_argument("--n-bins", type=int, metavar="N", help="cut each recording into N frames of equal time")
    events.add_argument(
        "--time-bin", type=float, metavar="DT", help="frames of DT each, in the unit of the events' t (e.g. µs)"
    )
    events.add_argument(
        "--binary-frames", action="store_true", help="clip each pixel's event count per frame to 1 (spike input)"
    )


def read_input(args: argparse.Namespace, graph: Graph) -> np.ndarray | dict[str, np.ndarray]:
    """The input for `graph` from --data: the arrays, or the recordings binned into frames (what
    binning did goes to stderr: events outside the sensor or the time windows)."""
    path = Path(args.data)
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"data file {str(path)!r} does not exist", hint="check the --data path")
    recordings = list(_read(path, "--data", is_event_dtype).values())
    binning = args.n_bins is not None or args.time_bin is not None
    if not recordings:
        if binning:
            raise input_error(
                "CLI-EVENTS",
                f"{str(path)!r} holds no event recording (a structured array with fields x, t, p)",
                hint="drop --n-bins/--time-bin for frame data [T, B, *shape]",
            )
        if not zipfile.is_zipfile(path):  # an .npy of one plain array [T, B, *shape]
            return next(iter(_read(path, "--data", lambda dtype: True).values()))
        return read_data(path, graph)
    if len(graph.inputs) != 1:
        raise input_error("CLI-EVENTS", "event recordings feed models with one input", hint="use an .npz of arrays")
    frames, done = bin_recordings(recordings, graph.inputs[0].type.shape, n_bins=args.n_bins, time_bin=args.time_bin)
    print(f"snnc: {done.describe()}", file=sys.stderr)
    return np.minimum(frames, 1) if args.binary_frames else frames


def read_labels(path: Path) -> np.ndarray:
    """One integer label per sample: the array 'y' or 'labels', or the only plain array."""
    if not path.is_file():
        raise input_error("IO-NOT-FOUND", f"labels file {str(path)!r} does not exist", hint="check the --labels path")
    arrays = _read(path, "--labels", lambda dtype: dtype.names is None)
    key = next((k for k in LABEL_KEYS if k in arrays), None)
    if key is None and len(arrays) == 1:
        key = next(iter(arrays))
    if key is None:
        raise input_error(
            "CLI-DATA-KEY",
            f"{str(path)!r} has no labels: no array 'y' or 'labels' among {', '.join(arrays) or '(none)'}",
            hint="save the labels as np.savez(path, y=labels)",
        )
    return arrays[key]


# --- reading ------------------------------------------------------------------------------------


def _read(path: Path, flag: str, keep: Callable[[np.dtype[Any]], bool]) -> dict[str, np.ndarray]:
    """The arrays of an .npz (by key) or the array of an .npy (key "x") whose dtype `keep` takes,
    read safely (snnc/npz.py): every member's header is checked, only the kept members are read."""
    try:
        with open_arrays(path, records=True) as arrays:
            return {key: arrays[key] for key in arrays.files if keep(arrays.header(key)[1])}
    except DataError as e:
        raise data_error(path, e, flag) from None
