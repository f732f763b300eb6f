"""Event recordings (tonic's layout) binned into frames by tonic's ToFrame: frames counted by hand,
events outside the sensor or the time windows counted, hostile files refused before allocating,
and the --data of simulate taking them."""

from __future__ import annotations

import argparse
import io
import json
import zipfile

import numpy as np
import pytest

from snnc import cli
from snnc.commands.data import read_input
from snnc.commands.events import bin_recordings
from snnc.diagnostics import SnncError
from snnc.ir import FLOAT, GraphBuilder, Linear, Neuron, serialize
from snnc.ir.ops import Flatten

EVENT = [("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")]


def recording() -> np.ndarray:
    """Seven events on a 3 × 2 sensor with 2 polarities; x = 5 and x = −1 are outside it."""
    return np.array(
        [(0, 0, 0, 0), (1, 0, 10, 1), (1, 0, 12, 1), (2, 1, 25, 0), (5, 0, 30, 0), (-1, 0, 31, 0), (1, 1, 40, 1)],
        dtype=EVENT,
    )


def test_two_time_bins_by_hand():
    """tonic: window (40 − 0) // 2 = 20 from the first event: [0, 20) holds t = 0 (x0 y0 p0) and
    t = 10, 12 (x1 y0 p1, twice); [20, 40) holds t = 25 (x2 y1 p0); t = 40 lies after the last
    window. Two events are outside the 3 × 2 sensor."""
    frames, done = bin_recordings([recording()], (2, 2, 3), n_bins=2, time_bin=None)
    expected = np.zeros((2, 1, 2, 2, 3), np.float32)
    expected[0, 0, 0, 0, 0] = 1
    expected[0, 0, 1, 0, 1] = 2
    expected[1, 0, 0, 1, 2] = 1
    np.testing.assert_array_equal(frames, expected)
    assert (done.events, done.outside_sensor, done.outside_window, done.steps) == (7, 2, 1, 2)


def test_time_window_and_padding_by_hand():
    """time_bin 15: ceil((40 − 15) / 15) + 1 = 3 windows [0,15) [15,30) [30,45): 3, 1 and 1 events.
    The second recording (t = 0, 10, 12) spans one window and is padded with two empty frames."""
    frames, done = bin_recordings([recording(), recording()[:3]], (2, 2, 3), n_bins=None, time_bin=15)
    assert frames.shape == (3, 2, 2, 2, 3)
    assert frames[:, 0].sum(axis=(1, 2, 3)).tolist() == [3, 1, 1]
    assert frames[:, 1].sum(axis=(1, 2, 3)).tolist() == [3, 0, 0]
    assert (done.outside_sensor, done.outside_window, done.padded) == (2, 0, 1)
    assert "2 outside the sensor" in done.describe()


def test_unsorted_events_and_a_one_dimensional_sensor():
    """Events without y make [T, B, P, W] frames; they are sorted by time before binning."""
    events = np.array([(2, 9, 0), (0, 0, 1), (1, 4, 0)], dtype=[("x", "<i4"), ("t", "<f8"), ("p", "<i2")])
    frames, done = bin_recordings([events], (2, 3), n_bins=3, time_bin=None)
    # window 9 // 3 = 3: [0,3) t=0 (x0 p1), [3,6) t=4 (x1 p0), [6,9) empty; t = 9 after the last one
    expected = np.zeros((3, 1, 2, 3), np.float32)
    expected[0, 0, 1, 0] = 1
    expected[1, 0, 0, 1] = 1
    np.testing.assert_array_equal(frames, expected)
    assert done.outside_window == 1


def one_pixel(n: int) -> np.ndarray:
    """n events at pixel (0, 0), polarity 0, at times 0 … n − 1."""
    events = np.zeros(n, EVENT)
    events["t"] = np.arange(n)
    return events


@pytest.mark.parametrize(
    ("events", "kwargs", "fragment"),
    [
        (recording(), {"n_bins": None, "time_bin": None}, "exactly one way"),
        (recording(), {"n_bins": 0, "time_bin": None}, "at least 1"),
        (np.array([(0, 0, 0, 0), (0, 0, 2**60, 0)], EVENT), {"n_bins": None, "time_bin": 1.0}, "GiB"),
        (one_pixel(40_000), {"n_bins": 1, "time_bin": None}, "int16"),
        (np.array([(0.5, 0, 0, 0)], [("x", "<f8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")]), {"n_bins": 1,
         "time_bin": None}, "non-integer"),
    ],
)  # fmt: skip
def test_hostile_or_unusable_recordings_are_diagnostics(events, kwargs, fragment):
    """A time span of 2^60 in bins of 1 would allocate exabytes: refused before tonic allocates;
    40,000 events on one pixel in one bin would wrap tonic's int16 frames."""
    with pytest.raises(SnncError) as e:
        bin_recordings([events], (2, 2, 3), **kwargs)
    assert e.value.diagnostics[0].rule == "CLI-EVENTS" and fragment in e.value.diagnostics[0].message


def test_a_sensor_the_model_does_not_take_is_refused():
    with pytest.raises(SnncError) as e:
        bin_recordings([recording()], (2, 6), n_bins=2, time_bin=None)
    assert "(P, H, W)" in e.value.diagnostics[0].message


def _args(path, **kwargs) -> argparse.Namespace:
    return argparse.Namespace(data=str(path), n_bins=kwargs.get("n_bins"), time_bin=None, binary_frames=False)


def _graph():
    b = GraphBuilder("events")
    b.input("x", (2, 2, 3), FLOAT)  # event counts
    b.add("fc", Linear(weight=np.ones((1, 12), np.float32)), b.add("flat", Flatten(), "x"))
    b.output("out", b.add("if", Neuron(threshold=1.0), "fc"))
    return b.build()


def test_files_that_lie_about_their_size_or_hold_objects_are_refused(tmp_path):
    """A header declaring 10^12 events in a tiny file, and an object array, never reach np.load."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.dtype(EVENT).descr, "fortran_order": False, "shape": (10**12,)}
    )
    lying = tmp_path / "lying.npy"
    lying.write_bytes(np.lib.format.magic(1, 0) + buffer.getvalue() + b"\0" * 64)
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"x": 1}], dtype=object))
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(damaged, "w") as zf:
        zf.writestr("x.npy", b"\x93NUMPY garbage")
    for path in (lying, objects, damaged):
        with pytest.raises(SnncError) as e:
            read_input(_args(path, n_bins=2), _graph())
        assert e.value.diagnostics[0].rule == "CLI-DATA-READ", path


def test_simulate_takes_event_recordings(tmp_path, capsys):
    """One .npz of two recordings; simulate bins them (2 bins) and says what fell outside: the
    first as above; the second (t = 0, 10, 12, 25) in windows of 25 // 2 = 12, so t = 25 is after them."""
    model = tmp_path / "m.snnc"
    serialize.save(_graph(), model)
    data = tmp_path / "events.npz"
    np.savez(data, a=recording(), b=recording()[:4])
    code = cli.main(["simulate", str(model), "--data", str(data), "--n-bins", "2", "--format", "json"])
    out = capsys.readouterr()
    assert code == 0 and json.loads(out.out)["steps"] == 2 and json.loads(out.out)["batch"] == 2
    assert "11 events, 2 outside the sensor, 2 outside the time windows" in out.err
    assert cli.main(["simulate", str(model), "--data", str(data), "--format", "json"]) == 2  # no binning given
    assert "CLI-EVENTS" in capsys.readouterr().out
