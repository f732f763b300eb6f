"""oneDNN's 8-bit convolution (snnc/sim/int8_conv.py) gives the exact integer sums wherever the
planner chooses it: against float64 sums at the extremes its conditions allow, the conditions
themselves, and the planner's choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.ir import Conv2d, Count, GraphBuilder, Int, Neuron, NumberFormat
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.ir.types import SPIKE
from snnc.sim import int8_conv, int_ops, reference, run
from snnc.sim.int8_conv import Int8Conv2d, exact_for


def test_the_kernel_is_there_and_exact_on_this_machine():
    """The probe passes on the x86 machines snnc is tested on: if it did not, every test below
    would check the float32 fallback only."""
    assert int8_conv.available()


@st.composite
def convolutions(draw):
    """A Conv2d with 8-bit weights (extremes likely), any groups, stride, padding, dilation and
    bias, and non-negative integer inputs up to 128 for it."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    groups, per_in, per_out = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(2))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(2))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(2))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2))
    spatial = tuple(  # every input and output axis at least 2 long: see test_axes_of_length_one
        max(2, d * (k - 1) + 1 - 2 * p + s) + draw(st.integers(0, 5))
        for k, p, d, s in zip(kernel, padding, dilation, stride)
    )
    shape = (groups * per_out, per_in, *kernel)
    weight = np.where(rng.random(shape) < 0.3, rng.choice([-128, 127], shape), rng.integers(-128, 128, shape))
    bias = rng.integers(-(2**20), 2**20, shape[0]) if draw(st.booleans()) else None
    op = Conv2d(weight, bias, stride, padding, dilation, groups, NumberFormat(8))
    top = draw(st.sampled_from([1, 4, 128]))
    x = rng.integers(0, top + 1, (draw(st.integers(1, 4)), groups * per_in, *spatial))
    x = np.where(rng.random(x.shape) < 0.2, top, x)
    return op, x


@settings(max_examples=60, deadline=None)
@given(convolutions(), st.booleans())
def test_sums_are_exact(case, channels_last):
    op, x = case
    xt = torch.tensor(x, dtype=torch.float32)
    if channels_last:
        xt = xt.contiguous(memory_format=torch.channels_last)
    want = F.conv2d(
        torch.tensor(x, dtype=torch.float64),
        torch.tensor(op.weight, dtype=torch.float64),
        None if op.bias is None else torch.tensor(op.bias, dtype=torch.float64),
        op.stride,
        op.padding,
        op.dilation,
        op.groups,
    )
    got = Int8Conv2d(op)(xt)
    assert got.dtype == torch.float32
    assert torch.equal(got.double(), want)


def conv(weight: np.ndarray) -> Conv2d:
    return Conv2d(weight, weight_format=NumberFormat(8))


SHAPES = ((1, 5, 5), (2, 3, 3))


def test_conditions():
    """8-bit weights, inputs known to lie in [0, 128], no axis of length 1: anything else takes
    the float32 kernel."""
    w = np.full((2, 1, 3, 3), -128)
    assert exact_for(conv(w), 128, True, SHAPES)
    assert exact_for(conv(w * 0 + 127), 1, True, SHAPES)
    assert not exact_for(conv(w), 129, True, SHAPES)  # u8·s8 pairs could saturate int16 without VNNI
    assert not exact_for(conv(w), 1, False, SHAPES)  # negative inputs are no u8
    assert not exact_for(conv(w * 0 + 128), 1, True, SHAPES)
    assert not exact_for(conv(w - 1), 1, True, SHAPES)
    assert not exact_for(conv(w), 1, True, ((1, 5, 1), (2, 3, 1)))
    assert not exact_for(conv(w), 1, True, ((1, 3, 5), (2, 1, 3)))


def test_axes_of_length_one_take_the_float32_kernel():
    """PyTorch 2.13's oneDNN int8 convolution reads wrong elements for an output 1 wide from one
    input channel per group (and crashes on inputs 1 wide, which is why this test does not call
    it there): the planner must not choose it for such layers, and their sums stay exact."""
    rng = np.random.default_rng(0)
    op = Conv2d(rng.integers(-128, 128, (2, 1, 3, 3)), None, (1, 2), (1, 0), weight_format=NumberFormat(8))
    x = rng.integers(0, 2, (3, 1, 6, 3)).astype(np.float32)
    assert not exact_for(op, 1, True, ((1, 6, 3), (2, 6, 1)))
    b = GraphBuilder("g", arithmetic=arithmetic())
    b.output("out", b.add("conv", op, b.input("x", (1, 6, 3), SPIKE)))
    graph = b.build()
    np.testing.assert_array_equal(run(graph, x[None]).output[0], reference.run(graph, x[None])["conv"][0])


def arithmetic() -> Arithmetic:
    wide = IntRange(32, "saturate")
    return Arithmetic("t", wide, wide, wide, wide, 0, "floor", Mantissa(16), Mantissa(16), Mantissa(16))


def conv_graph(dtype, weight: np.ndarray):
    b = GraphBuilder("g", arithmetic=arithmetic())
    c = b.add("conv", conv(weight), b.input("x", (2, 6, 6), dtype))
    b.output("out", b.add("n", Neuron(threshold=100, state_format=NumberFormat(16)), c))
    return b.build()


@pytest.mark.parametrize(
    "dtype, top, chosen",
    [(SPIKE, 1, True), (Count(max=4), 4, True), (Count(max=200), 200, False), (Int(8), 127, False)],
)
def test_the_planner_chooses_it_for_events_only(monkeypatch, dtype, top, chosen):
    """Spikes and small counts take the int8 kernel, wider or signed inputs the float32 one; the
    same integers either way, and the reference's."""
    rng = np.random.default_rng(0)
    weight = rng.integers(-128, 128, (3, 2, 3, 3))
    graph = conv_graph(dtype, weight)
    low = -127 if dtype == Int(8) else 0
    x = rng.integers(low, top + 1, (4, 2, 2, 6, 6))
    kernels: list[str] = []
    init = int_ops._synapse_init

    def spy(plan):
        made = init(plan)

        def inner(op, node, setup):
            state = made(op, node, setup)
            kernels.append(type(state.fn).__name__)
            return state

        return inner

    monkeypatch.setattr(int_ops, "_synapse_init", spy)
    traces = run(graph, x, record=["conv:out"]).traces["conv"]["out"]
    assert kernels == (["Int8Conv2d"] if chosen else ["partial"])
    np.testing.assert_array_equal(traces.astype(np.int64), reference.run(graph, x)["conv"])
    monkeypatch.setattr(int8_conv, "ENABLED", False)
    again = run(graph, x, record=["conv:out"]).traces["conv"]["out"]
    np.testing.assert_array_equal(again, traces)
