"""Event-camera recordings as snnc input: tonic's event arrays binned into frames by tonic itself.

A recording is what the neuromorphic-vision ecosystem (tonic, and the datasets it reads) holds:
a structured array of events with integer fields x, y (absent for a 1-d sensor), p (polarity)
and a timestamp t, one array per sample. snnc bins each recording with tonic's own `ToFrame`
function (`tonic.functional.to_frame_numpy`), so a model sees what it saw in training:

- `n_bins`: tonic's n_time_bins: the span from the recording's first to its last event is cut
  into n windows of (t_last − t_first) // n each (tonic/slicers.py: SliceByTimeBins), starting at
  the first event; what lies beyond the last window (at least the last event when the span
  divides evenly) is outside the time window, as in tonic;
- `time_bin`: tonic's time_window (same unit as t), the incomplete last window included
  (tonic/slicers.py: SliceByTime with include_incomplete=True); recordings of different lengths
  give different numbers of frames, and the shorter ones are padded with empty frames at the end.

Each frame counts the events per (polarity, y, x): [T, B, P, H, W] (or [T, B, P, W]), the sensor
being the model's input shape. Before tonic sees them, the events are checked, because tonic
trusts them: an event outside the sensor would index another pixel (a negative x wraps around in
numpy) or fail, frames are int16 (more than 32,767 events in one pixel and bin would wrap), and
the number of frames follows from the timestamps (a hostile time span would allocate without
bound). So events outside the sensor are dropped and counted, the events are sorted by time
(tonic's slicers search sorted times), and the frames' size and the per-pixel counts are checked
before anything is allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from snnc.diagnostics import input_error

MAX_FRAME_BYTES = 2**30  # the frames of one batch of recordings, as float32
INT16_MAX = 2**15 - 1  # tonic's frames are int16 (tonic/functional/to_frame.py)
FIELDS = ("x", "t", "p")  # and "y" for a 2-d sensor (tonic's event dtypes, tonic/io.py)


@dataclass(frozen=True)
class Binning:
    """What binning did: how many events, and how many fell outside the sensor or every window."""

    recordings: int
    steps: int
    events: int
    outside_sensor: int
    outside_window: int
    padded: int  # recordings padded with empty frames at the end (time_bin only)
    method: str

    def describe(self) -> str:
        text = (
            f"binned {self.recordings} recording(s) into {self.steps} frames ({self.method}): {self.events:,} "
            f"events, {self.outside_sensor:,} outside the sensor, {self.outside_window:,} outside the time windows"
        )
        if self.padded:
            text += f"; {self.padded} shorter recording(s) padded with empty frames"
        return text


def is_event_dtype(dtype: np.dtype) -> bool:
    """A structured dtype with tonic's event fields (x, t, p; y for a 2-d sensor)."""
    return dtype.names is not None and all(f in dtype.names for f in FIELDS)


def bin_recordings(
    recordings: list[np.ndarray], shape: tuple[int, ...], *, n_bins: int | None, time_bin: float | None
) -> tuple[np.ndarray, Binning]:
    """Frames [T, B, *shape] (float32 counts) of the recordings, for a model whose per-sample
    input shape is `shape`: (P, H, W) for events with y, (P, W) without."""
    if (n_bins is None) == (time_bin is None):
        raise input_error(
            "CLI-EVENTS",
            "event recordings need exactly one way of binning them into frames",
            hint="give --n-bins N (frames per recording) or --time-bin DT (a frame's length, in the unit of t)",
        )
    if (n_bins is not None and n_bins < 1) or (time_bin is not None and not (math.isfinite(time_bin) and time_bin > 0)):
        raise input_error("CLI-EVENTS", "--n-bins must be at least 1 and --time-bin a positive number")
    if not recordings:
        raise input_error("CLI-EVENTS", "the data holds no event recording", hint="save one structured array each")
    sensor = _sensor(recordings[0], shape)
    method = f"tonic ToFrame, n_time_bins={n_bins}" if n_bins else f"tonic ToFrame, time_window={time_bin:g}"
    cleaned, outside_sensor = [], 0
    for k, events in enumerate(recordings):
        kept, dropped = _inside(events, sensor, k)
        cleaned.append(kept)
        outside_sensor += dropped
    counts = [_frame_count(e, n_bins, time_bin) for e in cleaned]
    steps = max(counts)
    nbytes = steps * len(cleaned) * math.prod(shape) * 4
    if nbytes > MAX_FRAME_BYTES:
        raise input_error(
            "CLI-EVENTS",
            f"the frames would take {nbytes / 2**30:.1f} GiB ({steps} frames × {len(cleaned)} recordings × "
            f"{'×'.join(map(str, shape))}), more than the {MAX_FRAME_BYTES / 2**30:.0f} GiB snnc allows",
            hint="use fewer or longer bins (--n-bins, --time-bin), or fewer recordings per file",
            measured=nbytes,
            limit=MAX_FRAME_BYTES,
        )
    frames = np.zeros((steps, len(cleaned), *shape), np.float32)
    outside_window = 0
    for k, events in enumerate(cleaned):
        binned, outside = _frames(events, sensor, n_bins, time_bin, k)
        frames[: len(binned), k] = binned.reshape(len(binned), *shape)
        outside_window += outside
    events_total = sum(len(r) for r in recordings)
    padded = sum(c < steps for c in counts)
    return frames, Binning(len(cleaned), steps, events_total, outside_sensor, outside_window, padded, method)


def _sensor(events: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """tonic's sensor_size (x, y, p) for a model input (P, H, W), or (P, W) for events without y."""
    two_d = "y" in events.dtype.names
    if (two_d and len(shape) != 3) or (not two_d and len(shape) != 2):
        want = "(P, H, W)" if two_d else "(P, W)"
        raise input_error(
            "CLI-EVENTS",
            f"events {'with' if two_d else 'without'} y make frames {want}, but the model takes {list(shape)}",
            hint="bin events for a model whose input is [polarities, height, width] (or [polarities, width])",
        )
    return (shape[2], shape[1], shape[0]) if two_d else (shape[1], 1, shape[0])


def _inside(events: np.ndarray, sensor: tuple[int, int, int], k: int) -> tuple[np.ndarray, int]:
    """The recording's events inside the sensor, as tonic's int64 fields, sorted by time; and how
    many were outside."""
    names = ["x", "p", *(["y"] if "y" in events.dtype.names else [])]
    for name in [*names, "t"]:
        column = events[name]
        if column.dtype.kind not in "iuf" or (column.dtype.kind == "f" and not np.isfinite(column).all()):
            raise input_error(
                "CLI-EVENTS",
                f"recording {k}: field {name!r} has dtype {column.dtype} or non-finite values",
                hint="event fields are numbers: integer x, y, p and a timestamp t",
            )
        if name != "t" and column.dtype.kind == "f" and not (column == np.floor(column)).all():
            raise input_error("CLI-EVENTS", f"recording {k}: field {name!r} holds non-integer coordinates")
    width, height, polarities = sensor
    x, p = events["x"], events["p"]
    y = events["y"] if "y" in events.dtype.names else np.zeros_like(x)
    inside = (x >= 0) & (x < width) & (y >= 0) & (y < height) & (p >= 0) & (p < polarities)
    kept = np.empty(int(inside.sum()), [("x", np.int64), ("y", np.int64), ("t", events["t"].dtype), ("p", np.int64)])
    for name in ("x", "p", "t"):
        kept[name] = events[name][inside]
    kept["y"] = y[inside]
    if "y" not in events.dtype.names:
        kept = kept[["x", "t", "p"]]
    order = np.argsort(kept["t"], kind="stable")
    return kept[order], len(events) - len(kept)


def _frame_count(events: np.ndarray, n_bins: int | None, time_bin: float | None) -> int:
    """The frames tonic makes of a recording (tonic/slicers.py: SliceByTime, include_incomplete)."""
    if n_bins is not None:
        return n_bins
    if len(events) == 0:
        return 1
    duration = events["t"][-1] - events["t"][0]  # in tonic's arithmetic: numpy scalars
    slices = np.ceil((duration - time_bin) / time_bin) + 1
    return max(int(min(slices, 2**62)), 1)  # bounded here, refused by the size check


def _frames(
    events: np.ndarray, sensor: tuple[int, int, int], n_bins: int | None, time_bin: float | None, k: int
) -> tuple[np.ndarray, int]:
    """tonic's frames of one recording [n, P, (H,) W] and the events outside every window."""
    count = _frame_count(events, n_bins, time_bin)
    width, height, polarities = sensor
    if len(events) == 0:
        return np.zeros((count, polarities, height, width)), 0
    from tonic.functional import to_frame_numpy
    from tonic.slicers import SliceByTime, SliceByTimeBins

    slicer = SliceByTimeBins(n_bins) if n_bins is not None else SliceByTime(time_bin, include_incomplete=True)
    windows = slicer.get_slice_metadata(events, None)
    if len(windows) != count:  # the size check above relied on the count
        raise RuntimeError(f"tonic cut recording {k} into {len(windows)} windows, snnc expected {count}")
    covered = sum(int(end - start) for start, end in windows)  # no overlap: the windows are disjoint
    for start, end in windows:
        if end - start > INT16_MAX:
            _check_pixel_counts(events[start:end], sensor, k)
    frames = to_frame_numpy(events, sensor, n_time_bins=n_bins, time_window=time_bin, include_incomplete=True)
    return frames.astype(np.float32), len(events) - covered


def _check_pixel_counts(events: np.ndarray, sensor: tuple[int, int, int], k: int) -> None:
    width, height, _ = sensor
    y = events["y"] if "y" in events.dtype.names else 0
    pixel = (events["p"] * height + y) * width + events["x"]
    most = int(np.unique(pixel, return_counts=True)[1].max())
    if most > INT16_MAX:
        raise input_error(
            "CLI-EVENTS",
            f"recording {k}: {most:,} events fall into one pixel and bin, more than tonic's int16 frames hold",
            hint="use shorter bins (--time-bin) or more of them (--n-bins)",
            measured=most,
            limit=INT16_MAX,
        )
