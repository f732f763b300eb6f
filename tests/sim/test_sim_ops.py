"""Every op's simulator implementation against torch.nn.functional or hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from snnc.ir import (
    FLOAT,
    OPS,
    SPIKE,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv1d,
    Conv2d,
    Delay,
    DType,
    Elementwise,
    Flatten,
    GraphBuilder,
    Linear,
    MaxPool2d,
    Op,
    ReLU,
    Reshape,
    Scale,
    SumPool2d,
)
from snnc.sim import run
from snnc.sim.ops import IMPLS

RNG = np.random.default_rng(0)


def simulate(op: Op, *xs: np.ndarray, dtype: DType = FLOAT) -> np.ndarray:
    """Run Input(s) → op → Output on xs ([T, B, *shape] each) and return the output."""
    b = GraphBuilder()
    names = [b.input(f"x{k}", x.shape[2:], dtype) for k, x in enumerate(xs)]
    b.add("op", op, *names)
    b.output("y", "op")
    return run(b.build(), {n: x for n, x in zip(names, xs)}).output


def floats(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def spikes(*shape: int) -> np.ndarray:
    return (RNG.random(shape) < 0.3).astype(np.float32)


def per_sample(fn, x: np.ndarray) -> np.ndarray:
    """The torch reference on the T·B samples as one batch, back to [T, B, ...]."""
    t = torch.from_numpy(x)
    return fn(t.flatten(0, 1)).unflatten(0, t.shape[:2]).numpy()


def test_every_op_has_an_implementation():
    assert set(OPS) <= set(IMPLS)


def test_linear_matches_f_linear():
    w, bias, x = floats(5, 7), floats(5), floats(3, 2, 7)
    got = simulate(Linear(weight=w, bias=bias), x)
    want = per_sample(lambda t: F.linear(t, torch.from_numpy(w), torch.from_numpy(bias)), x)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (2, 1, 1, 2), (1, 1, 1, 4)]
)
def test_conv1d_matches_f_conv1d(stride, padding, dilation, groups):
    w, bias, x = floats(8, 4 // groups, 3), floats(8), floats(3, 2, 4, 11)
    op = Conv1d(weight=w, bias=bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    args = (torch.from_numpy(w), torch.from_numpy(bias), stride, padding, dilation, groups)
    np.testing.assert_array_equal(simulate(op, x), per_sample(lambda t: F.conv1d(t, *args), x))


@pytest.mark.parametrize(
    "stride, padding, dilation, groups",
    [(1, 0, 1, 1), ((2, 1), (1, 2), 1, 1), (1, 2, (2, 1), 1), (2, 1, 1, 2), (1, 1, 1, 4)],
)
def test_conv2d_matches_f_conv2d(stride, padding, dilation, groups):
    w, x = floats(8, 4 // groups, 3, 3), spikes(3, 2, 4, 9, 10)
    op = Conv2d(weight=w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    args = (torch.from_numpy(w), None, stride, padding, dilation, groups)
    np.testing.assert_array_equal(simulate(op, x, dtype=SPIKE), per_sample(lambda t: F.conv2d(t, *args), x))


def test_batchnorm_matches_eval_mode_f_batch_norm():
    mean, weight, bias = floats(3), floats(3), floats(3)
    var = np.abs(floats(3)) + 0.1
    x = floats(2, 4, 3, 5, 5)
    got = simulate(BatchNorm(mean=mean, var=var, weight=weight, bias=bias, eps=1e-3), x)
    params = [torch.from_numpy(a) for a in (mean, var, weight, bias)]
    want = per_sample(lambda t: F.batch_norm(t, *params, training=False, eps=1e-3), x)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("factor", [np.float32(0.75), np.array([1.5, -2.0, 0.1], np.float32)])
def test_scale_multiplies_per_channel(factor):
    x = floats(2, 3, 3, 4, 4)
    want = x * (factor if factor.ndim == 0 else factor[:, None, None])
    np.testing.assert_array_equal(simulate(Scale(factor=factor), x), want)


@pytest.mark.parametrize(
    "kernel, stride, padding, ceil_mode, count_include_pad",
    [(2, None, 0, False, True), (3, 2, 1, True, True), (3, 2, 1, True, False), ((2, 3), (1, 2), (1, 1), False, False)],
)
def test_avgpool2d_matches_f_avg_pool2d(kernel, stride, padding, ceil_mode, count_include_pad):
    x = floats(2, 3, 2, 9, 8)
    op = AvgPool2d(
        kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad
    )
    want = per_sample(lambda t: F.avg_pool2d(t, kernel, stride, padding, ceil_mode, count_include_pad), x)
    np.testing.assert_array_equal(simulate(op, x), want)


def test_sumpool2d_sums_each_window_exactly():
    x = spikes(2, 3, 2, 6, 6)
    got = simulate(SumPool2d(kernel=2), x, dtype=SPIKE)
    want = x.reshape(2, 3, 2, 3, 2, 3, 2).sum(axis=(4, 6))
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int32  # a count tensor leaves the simulator as integers


def test_sumpool2d_ceil_mode_sums_partial_windows():
    x = np.arange(25, dtype=np.float32).reshape(1, 1, 1, 5, 5)
    got = simulate(SumPool2d(kernel=2, ceil_mode=True), x)[0, 0, 0]
    want = [
        [0 + 1 + 5 + 6, 2 + 3 + 7 + 8, 4 + 9],
        [10 + 11 + 15 + 16, 12 + 13 + 17 + 18, 14 + 19],
        [20 + 21, 22 + 23, 24],
    ]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode", [(2, None, 0, False), (3, 2, 1, True), (3, 1, 1, False)])
def test_maxpool2d_matches_f_max_pool2d(kernel, stride, padding, ceil_mode):
    x = floats(2, 3, 2, 7, 8)
    want = per_sample(lambda t: F.max_pool2d(t, kernel, stride, padding, ceil_mode=ceil_mode), x)
    np.testing.assert_array_equal(
        simulate(MaxPool2d(kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode), x), want
    )


@pytest.mark.parametrize("start, end, shape", [(0, -1, (24,)), (1, 2, (2, 12)), (0, 1, (6, 4)), (-2, -1, (2, 12))])
def test_flatten_joins_per_sample_axes(start, end, shape):
    x = floats(2, 3, 2, 3, 4)
    np.testing.assert_array_equal(simulate(Flatten(start=start, end=end), x), x.reshape(2, 3, *shape))


def test_reshape_is_row_major():
    x = floats(2, 3, 2, 3, 4)
    np.testing.assert_array_equal(simulate(Reshape(shape=(4, 6)), x), x.reshape(2, 3, 4, 6))


@pytest.mark.parametrize("axis", [0, 1])
def test_concat_joins_along_a_per_sample_axis(axis):
    a, b = floats(2, 3, 2, 4, 4), floats(2, 3, 3, 4, 4) if axis == 0 else floats(2, 3, 2, 1, 4)
    np.testing.assert_array_equal(simulate(Concat(axis=axis), a, b), np.concatenate([a, b], axis=axis + 2))


@pytest.mark.parametrize("fn, want", [("add", np.add), ("sub", np.subtract), ("mul", np.multiply)])
def test_arithmetic_elementwise(fn, want):
    a, b = floats(2, 3, 5), floats(2, 3, 5)
    np.testing.assert_array_equal(simulate(Elementwise(fn=fn), a, b), want(a, b))


@pytest.mark.parametrize(
    "fn, truth_table",  # outputs for (a, b) = (0, 0), (0, 1), (1, 0), (1, 1)
    [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("iand", [0, 1, 0, 0])],
)
def test_logic_elementwise_truth_tables(fn, truth_table):
    a = np.array([0, 0, 1, 1], np.float32).reshape(1, 1, 4)
    b = np.array([0, 1, 0, 1], np.float32).reshape(1, 1, 4)
    got = simulate(Elementwise(fn=fn), a, b, dtype=SPIKE)
    np.testing.assert_array_equal(got[0, 0], truth_table)  # iand: (not a) and b, a first
    assert got.dtype == np.uint8


def test_relu():
    x = floats(2, 3, 6)
    np.testing.assert_array_equal(simulate(ReLU(), x), np.maximum(x, 0))


def test_input_output_pass_spikes_through_as_uint8():
    x = spikes(3, 2, 5)
    b = GraphBuilder()
    b.output("y", b.input("x", (5,)))
    got = run(b.build(), x).output
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("steps", [1, 2])
def test_delay_shifts_along_time(steps):
    x = floats(5, 2, 3)
    want = np.concatenate([np.zeros((steps, 2, 3), np.float32), x[:-steps]])
    np.testing.assert_array_equal(simulate(Delay(steps=steps), x), want)
