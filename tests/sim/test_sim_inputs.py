"""Unusable input is reported as diagnostics with stable SIM-* rule ids, never a torch traceback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snnc.backends.sim.spec import SIM_INT8
from snnc.diagnostics import Kind, SnncError
from snnc.ir import FLOAT, SPIKE, Count, Elementwise, Graph, GraphBuilder, Int, Linear, NumberFormat
from snnc.sim import run


def spiking(shape: tuple[int, ...] = (2, 34, 34)) -> Graph:
    b = GraphBuilder()
    b.output("y", b.input("x", shape))
    return b.build()


def two_inputs(dtype=FLOAT) -> Graph:
    b = GraphBuilder()
    b.add("sum", Elementwise(fn="add"), b.input("a", (3,), dtype), b.input("b", (3,), dtype))
    b.output("y", "sum")
    return b.build()


def rules(graph: Graph, x, **kwargs) -> list[str]:
    with pytest.raises(SnncError) as e:
        run(graph, x, **kwargs)
    assert e.value.kind is Kind.INPUT
    return [d.rule for d in e.value.diagnostics]


def test_accepts_numpy_torch_and_dicts():
    x = np.zeros((2, 1, 3), np.float32)
    np.testing.assert_array_equal(run(spiking((3,)), torch.ones(2, 1, 3)).output, 1)
    assert run(two_inputs(), {"a": x, "b": torch.from_numpy(x + 1)}).output.sum() == 6


@pytest.mark.parametrize("x", [{"a": np.zeros((2, 1, 3))}, {"a": np.zeros((2, 1, 3)), "b": 0, "c": 0}])
def test_dict_missing_or_extra_inputs(x):
    assert rules(two_inputs(), x) == ["SIM-INPUT-MISSING"]


def test_single_array_for_several_inputs():
    assert rules(two_inputs(), np.zeros((2, 1, 3))) == ["SIM-INPUT-MISSING"]


@pytest.mark.parametrize("shape", [(1, 2, 34, 34), (5, 1, 2, 34, 33), (0, 1, 2, 34, 34)])
def test_wrong_shape_shows_expected_and_got(shape):
    with pytest.raises(SnncError) as e:
        run(spiking(), np.zeros(shape, np.uint8))
    (d,) = e.value.diagnostics
    assert d.rule == "SIM-INPUT-SHAPE"
    assert d.node == "x"
    assert "[T, B, 2, 34, 34]" in d.message and f"[{', '.join(map(str, shape))}]" in d.message


def test_inputs_disagreeing_on_steps_or_batch():
    assert rules(two_inputs(), {"a": np.zeros((2, 1, 3)), "b": np.zeros((3, 1, 3))}) == ["SIM-INPUT-SHAPE"]


@pytest.mark.parametrize(
    "dtype, values",
    [
        (SPIKE, [0, 2]),
        (SPIKE, [0, 0.5]),
        (SPIKE, [-1, 1]),
        (Count(3), [0, 4]),
        (Count(None), [0, -1]),
        (Count(None), [0, 1.5]),
        (Int(4, signed=True), [0, 8]),
        (FLOAT, [0, np.nan]),
        (FLOAT, [np.inf, 0]),
    ],
)
def test_values_outside_the_input_dtype(dtype, values):
    b = GraphBuilder()
    b.output("y", b.input("x", (2,), dtype))
    assert rules(b.build(), np.array(values, np.float32).reshape(1, 1, 2)) == ["SIM-INPUT-DTYPE"]


def test_non_numeric_input():
    assert rules(spiking((2,)), np.array([[["a", "b"]]])) == ["SIM-INPUT-DTYPE"]


def test_every_bad_input_is_reported():
    found = rules(two_inputs(), {"a": np.zeros((2, 1, 4)), "b": np.full((2, 1, 3), np.nan)})
    assert found == ["SIM-INPUT-SHAPE", "SIM-INPUT-DTYPE"]


def test_quantized_graph_is_refused():
    """A quantized graph runs in integers (int_ops.py), but not one with a real-valued input."""
    b = GraphBuilder(arithmetic=SIM_INT8.arithmetic)
    fmt = NumberFormat(8)
    b.add("fc", Linear(weight=np.ones((2, 3), np.int64), weight_format=fmt), b.input("x", (3,), FLOAT))
    b.output("y", "fc")
    assert rules(b.build(), np.zeros((1, 1, 3))) == ["SIM-QUANTIZED"]


@pytest.mark.parametrize("device", ["tpu", "cuda"])
def test_unavailable_device(device):
    if device == "cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    assert rules(spiking((2,)), np.zeros((1, 1, 2)), device=device) == ["SIM-DEVICE"]


def _static(steps: int | None) -> Graph:
    b = GraphBuilder()
    b.output(
        "y", b.add("fc", Linear(np.eye(3, dtype=np.float32)), b.input("x", (3,), FLOAT, time="static", steps=steps))
    )
    return b.build()


def test_a_static_input_takes_one_frame_held_for_its_steps_or_a_sequence():
    frame = np.arange(6, dtype=np.float32).reshape(2, 3)
    held = run(_static(4), frame).output
    assert held.shape == (4, 2, 3) and (held == frame).all()
    sequence = np.stack([frame, frame + 1])
    np.testing.assert_array_equal(run(_static(4), sequence).output, sequence)  # the data's steps


def test_a_static_input_without_steps_needs_them_in_the_data():
    with pytest.raises(SnncError) as e:
        run(_static(None), np.zeros((2, 3), np.float32))
    (d,) = e.value.diagnostics
    assert d.rule == "SIM-INPUT-SHAPE" and "broadcast_to" in d.hint
