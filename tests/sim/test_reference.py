"""The fast simulator (snnc.sim.run) against the literal reference (snnc.sim.reference), op by op,
in float and in integers, on random small shapes, parameters and inputs.

Integers agree exactly, every node, every step. Floats agree bit for bit (bar the sign of a zero,
which snnc/sim/neuron.py's liberties allow) wherever the IR fixes the float operations: the
neuron, scale, max pooling, elementwise ops, shapes. Where it leaves the order of a float sum open
(Linear and Conv, which BLAS sums in an order of its own, the window sums of pooling, and torch's
eval batch norm, which folds its statistics into x·a + b) the values are dyadic (multiples of
1/8, batch statistics whose sqrt(var + eps) is a power of two), so every order gives the exact sum.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.ir import (
    FLOAT,
    OPS,
    SPIKE,
    AvgPool2d,
    BatchNorm,
    Concat,
    Conv1d,
    Conv2d,
    Count,
    Crop,
    Delay,
    DType,
    Elementwise,
    Flatten,
    Flip,
    FloatOrder,
    GraphBuilder,
    Input,
    Int,
    Linear,
    MaxPool2d,
    Neuron,
    NumberFormat,
    Op,
    ReLU,
    Reshape,
    Scale,
    SumPool2d,
    TensorType,
)
from snnc.ir.graph import Graph
from snnc.ir.quant import OVERFLOWS, Arithmetic, IntRange, Mantissa
from snnc.sim import int_arith, reference, run

f32 = np.float32
S8 = NumberFormat(8)
WIDE = IntRange(32, "saturate")
SEEDS = st.integers(0, 2**32 - 1)
FEW = settings(max_examples=30, deadline=None)


def test_every_op_has_a_definition():
    assert set(reference.DEFINITIONS) == set(OPS)


# --- harness ----------------------------------------------------------------------------------


def simulate(graph: Graph, x) -> dict[str, np.ndarray]:
    """Every node's output from the fast simulator, in the dtype that holds it exactly."""
    chunks: dict[str, list[torch.Tensor]] = {n.name: [] for n in graph}

    def observer(name: str):
        return lambda chunk, first: chunks[name].append(chunk.clone())

    run(graph, x, observers={name: observer(name) for name in chunks})
    return {name: torch.cat(parts).numpy() for name, parts in chunks.items()}


def assert_agrees(graph: Graph, x) -> None:
    """The fast simulator equals the reference on every node (a zero's sign aside)."""
    got, want = simulate(graph, x), reference.run(graph, x)
    for node in graph.order:
        np.testing.assert_array_equal(got[node.name], want[node.name], err_msg=node.name)


def one_op(op: Op, *inputs: TensorType, arith: Arithmetic | None = None) -> Graph:
    """x0, x1, … → op → y."""
    b = GraphBuilder("one", arithmetic=arith)
    names = [b.input(f"x{k}", ty.shape, ty.dtype) for k, ty in enumerate(inputs)]
    b.output("y", b.add("op", op, *names))
    return b.build()


def data(rng: np.random.Generator, dtype: DType, steps: int, batch: int, shape: tuple[int, ...]) -> np.ndarray:
    """Inputs [T, B, *shape] a dtype allows: spikes, dyadic floats in [−4, 4], or the whole range
    of an integer type (its extremes included)."""
    full = (steps, batch, *shape)
    if dtype == SPIKE:
        return (rng.random(full) < 0.5).astype(f32)
    if isinstance(dtype, Int):
        values = rng.integers(dtype.min, dtype.max + 1, full)
        extremes = rng.random(full) < 0.2
        return np.where(extremes, rng.choice([dtype.min, dtype.max], full), values)
    return dyadic(rng, full)


def dyadic(rng: np.random.Generator, shape: tuple[int, ...], top: int = 32) -> np.ndarray:
    """Multiples of 1/8 in [−top/8, top/8]: products and sums of a few stay exact in float32."""
    return (rng.integers(-top, top + 1, shape) / 8).astype(f32)


def arithmetic(synapse: IntRange, conv: IntRange | None = None) -> Arithmetic:
    """Wide neuron registers, no decay: only the synapse (and conv) register matters."""
    return Arithmetic("t", synapse, WIDE, WIDE, WIDE, 0, "floor", Mantissa(32), Mantissa(32), Mantissa(32), conv)


def synapse_arithmetic(draw, conv: bool = False) -> Arithmetic:
    """A narrow synapse (or conv) register with a random overflow rule, so sums leave it."""
    register = st.builds(IntRange, st.integers(2, 20), st.sampled_from(OVERFLOWS))
    return arithmetic(draw(register), draw(st.none() | register) if conv else None)


def sizes(draw) -> tuple[int, int]:
    return draw(st.integers(1, 3)), draw(st.integers(1, 2))  # steps, batch


# --- synaptic ---------------------------------------------------------------------------------


@FEW
@given(st.data(), SEEDS, st.booleans())
def test_linear(draw, seed, integer):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    n_in, n_out = draw(st.integers(1, 6)), draw(st.integers(1, 5))
    dtype = draw(st.sampled_from([SPIKE, Int(8)] if integer else [SPIKE, FLOAT]))
    bias = draw(st.booleans())
    if integer:
        op = Linear(rng.integers(-128, 128, (n_out, n_in)), rng.integers(-128, 128, n_out) if bias else None, S8)
        arith = synapse_arithmetic(draw)
    else:
        op, arith = Linear(dyadic(rng, (n_out, n_in)), dyadic(rng, (n_out,)) if bias else None), None
    assert_agrees(one_op(op, TensorType((n_in,), dtype), arith=arith), data(rng, dtype, *sizes(draw), (n_in,)))


@st.composite
def convolutions(draw, integer: bool):
    """A random Conv1d/Conv2d (groups, stride, padding, dilation) and an input shape it fits."""
    rng = np.random.default_rng(draw(SEEDS))
    dims = draw(st.sampled_from([1, 2]))
    groups, per_in, per_out = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    spatial = tuple(
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 3)) for k, p, d in zip(kernel, padding, dilation)
    )
    shape = (groups * per_out, per_in, *kernel)
    bias = draw(st.booleans())
    if integer:
        weight, b = rng.integers(-128, 128, shape), rng.integers(-128, 128, shape[0]) if bias else None
    else:
        weight, b = dyadic(rng, shape), dyadic(rng, shape[:1]) if bias else None
    cls = Conv1d if dims == 1 else Conv2d
    op = cls(weight, b, stride, padding, dilation, groups, S8 if integer else None)
    return op, (groups * per_in, *spatial), rng


@FEW
@given(st.data(), st.booleans())
def test_convolution(draw, integer):
    draw = draw.draw
    op, shape, rng = draw(convolutions(integer))
    dtype = draw(st.sampled_from([SPIKE, Int(8)] if integer else [SPIKE, FLOAT]))
    arith = synapse_arithmetic(draw, conv=True) if integer else None
    assert_agrees(one_op(op, TensorType(shape, dtype), arith=arith), data(rng, dtype, *sizes(draw), shape))


# --- per-channel affine (float only) ----------------------------------------------------------


@FEW
@given(st.data(), SEEDS)
def test_batchnorm(draw, seed):
    """sqrt(var + eps) a power of two: the docstring's (x − mean)/sqrt(var + eps)·w + b and torch's
    x·a + (b − mean·a) are then both exact."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from([(3,), (2, 3, 2)]))
    channels, eps = shape[0], draw(st.sampled_from([0.0, 0.0625]))
    var = np.array([4.0 ** draw(st.integers(-2, 2)) - eps for _ in range(channels)], f32)
    op = BatchNorm(dyadic(rng, (channels,)), var, dyadic(rng, (channels,)), dyadic(rng, (channels,)), eps)
    assert_agrees(one_op(op, TensorType(shape, FLOAT)), data(rng, FLOAT, *sizes(draw), shape))


@FEW
@given(st.data(), SEEDS)
def test_scale_on_any_floats(draw, seed):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from([(3,), (3, 2, 2)]))
    factor = rng.standard_normal(draw(st.sampled_from([(), (3,)]))).astype(f32)
    x = rng.standard_normal((*sizes(draw), *shape)).astype(f32)
    assert_agrees(one_op(Scale(factor), TensorType(shape, FLOAT)), x)


# --- pooling ----------------------------------------------------------------------------------


@st.composite
def windows(draw) -> tuple[dict, tuple[int, int, int]]:
    """Pooling attributes (kernel, stride, padding ≤ kernel/2, ceil_mode) and an input shape they fit."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    hw = tuple(max(1, k - 2 * p) + draw(st.integers(0, 3)) for k, p in zip(kernel, padding))
    attrs = {"kernel": kernel, "stride": stride, "padding": padding, "ceil_mode": draw(st.booleans())}
    return attrs, (draw(st.integers(1, 2)), *hw)


@FEW
@given(st.data(), SEEDS, windows())
def test_avgpool2d(draw, seed, window):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    attrs, shape = window
    op = AvgPool2d(**attrs, count_include_pad=draw(st.booleans()))
    dtype = draw(st.sampled_from([SPIKE, FLOAT]))
    assert_agrees(one_op(op, TensorType(shape, dtype)), data(rng, dtype, *sizes(draw), shape))


@FEW
@given(st.data(), SEEDS, windows(), st.booleans())
def test_sumpool2d(draw, seed, window, integer):
    """In integers a sum of spikes is a count; a sum of integers enters the synapse register."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    attrs, shape = window
    dtype = draw(st.sampled_from([SPIKE, Int(8)] if integer else [SPIKE, FLOAT]))
    arith = synapse_arithmetic(draw) if integer else None
    assert_agrees(
        one_op(SumPool2d(**attrs), TensorType(shape, dtype), arith=arith), data(rng, dtype, *sizes(draw), shape)
    )


@FEW
@given(st.data(), SEEDS, windows(), st.booleans())
def test_maxpool2d(draw, seed, window, integer):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    attrs, shape = window
    dtype = Int(8) if integer else FLOAT
    x = data(rng, dtype, *sizes(draw), shape) if integer else rng.standard_normal((*sizes(draw), *shape)).astype(f32)
    arith = synapse_arithmetic(draw) if integer else None
    assert_agrees(one_op(MaxPool2d(**attrs), TensorType(shape, dtype), arith=arith), x)


# --- shape, elementwise -------------------------------------------------------------------------


def any_values(rng: np.random.Generator, dtype: DType, steps: int, batch: int, shape: tuple[int, ...]) -> np.ndarray:
    """Any float32 values for a float input (ops that compute nothing, or one rounding), else `data`."""
    if dtype == FLOAT:
        return rng.standard_normal((steps, batch, *shape)).astype(f32)
    return data(rng, dtype, steps, batch, shape)


@FEW
@given(st.data(), SEEDS, st.booleans())
def test_shape_ops(draw, seed, integer):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    dtype = Int(8) if integer else FLOAT
    arith = synapse_arithmetic(draw) if integer else None
    rank = len(shape)
    start = draw(st.integers(-rank, rank - 1))
    end = draw(st.integers(start % rank, rank - 1)) - draw(st.sampled_from([0, rank]))  # end as given or negative
    other = (*shape[:1], draw(st.integers(1, 3)), *shape[2:]) if rank > 1 else (draw(st.integers(1, 3)),)
    axis = 1 if rank > 1 else 0
    cases = [
        (Flatten(start, end), [shape]),
        (Reshape((math.prod(shape),)), [shape]),
        (Reshape(tuple(reversed(shape))), [shape]),
        (Concat(axis), [shape, other]),
        (Concat(0), [shape, shape, shape]),
    ]
    steps, batch = sizes(draw)
    for op, shapes in cases:
        graph = one_op(op, *(TensorType(s, dtype) for s in shapes), arith=arith)
        xs = {f"x{k}": any_values(rng, dtype, steps, batch, s) for k, s in enumerate(shapes)}
        assert_agrees(graph, xs)


@FEW
@given(st.data(), SEEDS, st.sampled_from([SPIKE, Count(3), Int(8), FLOAT]))
def test_crop_and_flip(draw, seed, dtype):
    """Any window inside the map, any mirror and transpose, on every dtype (they move values)."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 5)), draw(st.integers(1, 5))
    top, left = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
    bottom, right = draw(st.integers(top + 1, h)), draw(st.integers(left + 1, w))
    flips = [Flip(*draw(st.tuples(st.booleans(), st.booleans(), st.booleans()))) for _ in range(2)]
    integer = dtype != FLOAT and draw(st.booleans())
    arith = synapse_arithmetic(draw) if integer or isinstance(dtype, Int) else None
    steps, batch = sizes(draw)
    x = rng.integers(0, 4, (steps, batch, c, h, w)).astype(f32) if dtype == Count(3) else None
    b = GraphBuilder("moves", arithmetic=arith)
    y = b.add("flip0", flips[0], b.add("crop", Crop(top, bottom, left, right), b.input("x", (c, h, w), dtype)))
    b.output("y", b.add("flip1", flips[1], y))
    assert_agrees(b.build(), any_values(rng, dtype, steps, batch, (c, h, w)) if x is None else x)


@FEW
@given(st.data(), SEEDS, st.sampled_from(["add", "sub", "mul", "and", "or", "iand"]), st.booleans())
def test_elementwise(draw, seed, fn, integer):
    """Floats: one rounding of any values. Integers: a result of Int values enters the synapse
    register (narrow, so it overflows); events stay exact counts."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    shape = draw(st.sampled_from([(4,), (2, 2, 3)]))
    if fn in ("and", "or", "iand"):
        dtypes = [SPIKE, SPIKE]
    elif integer:
        dtypes = [draw(st.sampled_from([Int(4), Int(8), SPIKE])) for _ in range(2)]
        if (dtypes[0] == SPIKE) != (dtypes[1] == SPIKE) or (fn == "sub" and dtypes[0] == SPIKE):
            dtypes = [Int(8), Int(6)]  # the combinations that stay integers (snnc/ir/ops.py _arith_dtype)
    else:
        dtypes = [FLOAT, FLOAT]
    arith = synapse_arithmetic(draw) if integer else None
    steps, batch = sizes(draw)
    xs = {f"x{k}": any_values(rng, dt, steps, batch, shape) for k, dt in enumerate(dtypes)}
    assert_agrees(one_op(Elementwise(fn), *(TensorType(shape, dt) for dt in dtypes), arith=arith), xs)


@FEW
@given(st.data(), SEEDS, st.booleans())
def test_relu(draw, seed, integer):
    draw = draw.draw
    rng = np.random.default_rng(seed)
    dtype = Int(8) if integer else FLOAT
    arith = synapse_arithmetic(draw) if integer else None
    assert_agrees(one_op(ReLU(), TensorType((2, 3), dtype), arith=arith), any_values(rng, dtype, *sizes(draw), (2, 3)))


def test_a_quantized_input_encodes_real_data():
    """Input.format: float data become round(x·scale) half to even, saturated (NumberFormat.encode)."""
    fmt = NumberFormat(8, scale=4.0)
    b = GraphBuilder("q", arithmetic=arithmetic(IntRange(16, "wrap")))
    b.output("y", b.add("relu", ReLU(), b.add("x", Input((3,), Int(8), fmt))))
    graph = b.build()
    x = np.array([[[0.125, -0.375, 40.0]], [[0.625, -50.0, 0.1]]], f32)  # halves, saturation
    assert_agrees(graph, x)
    assert reference.run(graph, x)["x"][:, 0].tolist() == [[0, -2, 127], [2, -128, 0]]


# --- stateful ---------------------------------------------------------------------------------


def parameter(draw, rng: np.random.Generator, shape: tuple[int, ...], lo: float, hi: float) -> np.ndarray:
    """A neuron parameter of shape (), (C,) or per neuron, float32 in [lo, hi]."""
    where = draw(st.sampled_from([(), shape[:1], shape]))
    return rng.uniform(lo, hi, where).astype(f32)


@st.composite
def float_neurons(draw, shape: tuple[int, ...]) -> Neuron:
    """Any float neuron: every switch, library float order and parameter layout."""
    rng = np.random.default_rng(draw(SEEDS))
    charge = draw(st.sampled_from(FloatOrder.CHOICES["charge"]))
    rate_op = draw(st.sampled_from(["mul", "div"]))
    order = FloatOrder(
        charge,
        parameter(draw, rng, shape, 0.05, 1.0) if rate_op == "mul" else parameter(draw, rng, shape, 1.0, 20.0),
        rate_op,
        parameter(draw, rng, shape, -1.0, 1.0),
        draw(st.sampled_from(FloatOrder.CHOICES["current"])),
    )
    affine = charge == "affine"
    spikes = draw(st.sampled_from(Neuron.CHOICES["spikes"]))
    return Neuron(
        threshold=parameter(draw, rng, shape, 0.25, 2.0),
        v_decay=parameter(draw, rng, shape, 0.0, 1.0) if affine else f32(1),
        gain=parameter(draw, rng, shape, -2.0, 2.0) if affine else f32(1),
        bias=parameter(draw, rng, shape, -0.5, 0.5) if affine else f32(0),
        i_decay=parameter(draw, rng, shape, -1.0, 1.0) if draw(st.booleans()) else None,
        input_order=draw(st.sampled_from(Neuron.CHOICES["input_order"])),
        reset=draw(st.sampled_from(Neuron.CHOICES["reset"])),
        v_reset=parameter(draw, rng, shape, -1.0, 0.5),
        reset_timing=draw(st.sampled_from(Neuron.CHOICES["reset_timing"])),
        fire_op=draw(st.sampled_from(Neuron.CHOICES["fire_op"])),
        spikes=spikes,
        max_spikes=draw(st.none() | st.integers(1, 4)) if spikes == "multi" else None,
        v_min=parameter(draw, rng, shape, -2.0, 0.0) if draw(st.booleans()) else None,
        v_init=parameter(draw, rng, shape, -1.0, 1.0),
        i_init=parameter(draw, rng, shape, -1.0, 1.0),
        float_order=order,
    )


SHAPES = st.sampled_from([(3,), (2, 2, 3)])


@settings(max_examples=60, deadline=None)
@given(st.data(), SEEDS, SHAPES, st.booleans())
def test_float_neuron(draw, seed, shape, late):
    """Any float inputs, per-channel and per-neuron parameters, the late input: bit for bit."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    op = draw(float_neurons(shape))
    ty = TensorType(shape, FLOAT)
    graph = one_op(op, *([ty, ty] if late else [ty]))
    steps = draw(st.integers(1, 6))
    xs = {f"x{k}": rng.uniform(-3, 4, (steps, 2, *shape)).astype(f32) for k in range(2 if late else 1)}
    assert_agrees(graph, xs)


REGISTER_BITS = st.integers(4, 14) | st.sampled_from([16, 24, 30, 31, 32, 40])
INPUT_BITS = st.sampled_from([8, 16, 24, 31, 32])


@st.composite
def integer_neurons(draw, shape: tuple[int, ...]) -> tuple[Neuron, Arithmetic, np.random.Generator]:
    """Any quantized neuron and an arithmetic with every overflow rule on input, current and
    voltage registers of independent widths, narrow and wide (int32 and int64 states), decays
    0..2^k with both roundings, and thresholds, resets and initial states at their extremes.
    wrap_once folds once, so it is given what it is defined for (snnc/sim/int_arith.py `bound`):
    a current register no narrower than the input's, whose sums stay within ±2^(b+1)."""
    rng = np.random.default_rng(draw(SEEDS))
    v_bits, i_bits, in_bits = draw(REGISTER_BITS), draw(REGISTER_BITS), draw(REGISTER_BITS)
    shift = draw(st.integers(0, min(12, v_bits - 2)))  # 2^k fits the voltage register
    folds = st.sampled_from(["wrap", "saturate", "saturate_symmetric"])
    current = st.sampled_from(OVERFLOWS) if in_bits <= i_bits else folds
    registers = [IntRange(in_bits, draw(folds)), IntRange(i_bits, draw(current)), IntRange(v_bits, draw(folds))]
    rounding = draw(st.sampled_from(["floor", "toward_zero"]))
    arith = Arithmetic("t", WIDE, *registers, shift, rounding, Mantissa(v_bits), Mantissa(v_bits), Mantissa(4))
    half, i_half, one = 2 ** (v_bits - 1), 2 ** (i_bits - 1), 1 << shift

    def value(lo: int, hi: int, special: tuple[int, ...] = ()) -> np.ndarray:
        where = draw(st.sampled_from([(), shape[:1], shape]))
        values = rng.integers(lo, hi + 1, where)
        return np.where(rng.random(where) < 0.3, rng.choice(special or (lo, hi), where), values)

    spikes = draw(st.sampled_from(Neuron.CHOICES["spikes"]))
    op = Neuron(
        threshold=value(1, half - 1, (1, 2, half - 1)),
        v_decay=value(0, one, (0, one, one - 1)),
        gain=value(-4, 4, (-4, 4, 2, 0)),
        bias=value(-half // 4, half // 4),
        i_decay=value(0, one, (0, one)) if draw(st.booleans()) else None,
        input_order=draw(st.sampled_from(Neuron.CHOICES["input_order"])),
        reset=draw(st.sampled_from(Neuron.CHOICES["reset"])),
        v_reset=value(-half // 2, half // 2),
        reset_timing=draw(st.sampled_from(Neuron.CHOICES["reset_timing"])),
        fire_op=draw(st.sampled_from(Neuron.CHOICES["fire_op"])),
        spikes=spikes,
        max_spikes=draw(st.none() | st.integers(1, 5)) if spikes == "multi" else None,
        v_min=value(-half + 1, 0) if draw(st.booleans()) else None,
        v_init=value(-half + 1, half - 1, (-half + 1, half - 1, 0)),
        i_init=value(-i_half + 1, i_half - 1),
        state_format=NumberFormat(max(v_bits, i_bits)),
    )
    return op, arith, rng


@settings(max_examples=100, deadline=None)
@given(st.data(), SHAPES, INPUT_BITS, st.none() | INPUT_BITS)
def test_integer_neuron(draw, shape, in_bits, late_bits):
    """Inputs at the limits of their types, per-channel and per-neuron parameters, the late input:
    exactly the integers of the reference."""
    draw = draw.draw
    op, arith, rng = draw(integer_neurons(shape))
    types = [TensorType(shape, Int(bits)) for bits in (in_bits, late_bits) if bits is not None]
    steps = draw(st.integers(1, 6))
    xs = {f"x{k}": data(rng, ty.dtype, steps, 2, shape) for k, ty in enumerate(types)}
    assert_agrees(one_op(op, *types, arith=arith), xs)


@FEW
@given(st.data(), SEEDS, st.integers(1, 3), st.booleans())
def test_delay_and_recurrence(draw, seed, steps, integer):
    """x → add(x, feedback(delay(n))) → n, and a delay chain x → delay → y: a Delay's output at t
    is its input at t − steps, zero before."""
    draw = draw.draw
    rng = np.random.default_rng(seed)
    if integer:
        arith, dtype = synapse_arithmetic(draw), Int(8)
        feedback, neuron = (
            Linear(np.eye(3, dtype=np.int64) * 30, weight_format=S8),
            Neuron(threshold=40, state_format=S8),
        )
    else:
        arith, dtype = None, FLOAT
        feedback, neuron = Scale(f32(0.5)), Neuron(threshold=f32(1.5))
    b = GraphBuilder("recurrent", arithmetic=arith)
    x = b.input("x", (3,), dtype)
    d = b.delay("d", steps, TensorType((3,), SPIKE))
    n = b.add("n", neuron, b.add("sum", Elementwise("add"), x, b.add("feedback", feedback, d)))
    b.connect(d, n)
    b.output("out", n)
    b.output("late", b.add("chain", Delay(steps), x))
    assert_agrees(b.build(), data(rng, dtype, draw(st.integers(1, 8)), 2, (3,)))


# --- the register rules shared with the fast path ---------------------------------------------


@pytest.mark.parametrize("overflow", OVERFLOWS)
@pytest.mark.parametrize("bits", [1, 2, 3, 8, 23, 24, 30, 31, 32, 40, 62])
def test_tensor_registers_apply_the_reference_rule(overflow, bits):
    """int_arith applies the reference's rule to int32/int64 tensors: the same integers as exact
    Python integers, at every boundary, for any value the tensor holds, in every dtype the planner
    may pick for the register (one that holds `bound`; wrap_once values within ±2^(b+1), a sum of
    two registers, all it is asked to fold, snnc/sim/int_arith.py)."""
    register = IntRange(bits, overflow)
    half, reach = 2 ** (bits - 1), 2 * int_arith.bound(register)
    edges = {0, 1, half - 1, half, half + 1, 2 * half - 1, 2 * half, 2 * half + 1, 2**31 - 1, 2**31, 2**63 - 1}
    for dtype in (torch.int32, torch.int64):
        info = torch.iinfo(dtype)
        if int_arith.bound(register) > info.max:
            continue
        values = sorted({s * e for e in edges for s in (1, -1) if info.min <= s * e <= info.max and e <= reach})
        want = reference.in_register(np.array(values, object), register).tolist()
        got = int_arith.in_register(torch.tensor(values, dtype=dtype), register)
        assert got.tolist() == want, dtype


# --- integer widths the IR once let through (found by these tests; each fixed where it belonged) --


def test_a_decay_product_beyond_the_simulators_width_is_refused():
    """v·m of a 62-bit state and a 30-bit shift needs 92 bits: the arithmetic itself is refused."""
    register = IntRange(62, "saturate")
    arith = Arithmetic("t", register, register, register, register, 30, "floor", *[Mantissa(8)] * 3)
    assert any("decay product" in p for p in arith.problems())
    narrower = Arithmetic(
        "t",
        IntRange(32),
        IntRange(32),
        IntRange(32, "saturate"),
        IntRange(32, "saturate"),
        30,
        "floor",
        *[Mantissa(8)] * 3,
    )
    assert narrower.problems() == []
    op = Neuron(threshold=100, reset="none", v_decay=2**29, v_init=2**28, state_format=NumberFormat(32))
    assert_agrees(one_op(op, TensorType((1,), Int(8)), arith=narrower), np.zeros((1, 1, 1), np.int64))


def test_a_sum_pool_of_integers_feeding_a_linear():
    """A sum pool of Int(16) over 4×4 is typed Int(20): the planner then holds its sums exactly."""
    b = GraphBuilder("pool", arithmetic=arithmetic(WIDE))
    pooled = b.add("flat", Flatten(), b.add("pool", SumPool2d(4), b.input("x", (1, 4, 4), Int(16))))
    b.output("y", b.add("fc", Linear(np.array([[127]]), weight_format=S8), pooled))
    graph = b.build()
    assert graph.node("pool").type.dtype == Int(20)
    x = np.full((1, 1, 1, 4, 4), 2**15 - 1)
    x[..., 0, 0] -= 1  # an odd sum: 524271·127 is no float32
    assert_agrees(graph, x)


def test_a_product_of_integers_feeding_a_linear():
    """Int(16)·Int(16) is typed Int(32), so the product reaches the Linear exactly."""
    b = GraphBuilder("mul", arithmetic=arithmetic(WIDE))
    product = b.add("mul", Elementwise("mul"), b.input("x0", (1,), Int(16)), b.input("x1", (1,), Int(16)))
    b.output("y", b.add("fc", Linear(np.array([[127]]), weight_format=S8), product))
    graph = b.build()
    assert graph.node("mul").type.dtype == Int(32)
    x = np.full((1, 1, 1), 2**15 - 1)
    assert_agrees(graph, {"x0": x, "x1": x})


def test_a_synapse_register_wider_than_the_ir_s_int32_outputs_is_refused():
    assert any("int32" in p for p in arithmetic(IntRange(40)).problems())
