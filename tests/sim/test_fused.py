"""The compiled integrate-and-fire loop (snnc/sim/fused.py) gives the reference's integers: on
random plain IF neurons (saturating registers driven past both ends, ≥ and >, scalar thresholds),
in the channels-last layout the int8 convolutions hand it, and equal to the torch loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.ir import Conv2d, Flatten, GraphBuilder, Int, Linear, Neuron, NumberFormat, SumPool2d
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.ir.types import SPIKE
from snnc.sim import fused, int8_conv, int_neuron, int_ops, reference, run
from snnc.sim import neuron as neuron_sim


@contextmanager
def compiled_always() -> Iterator[list[int]]:
    """Every chunk runs compiled, however small; yields the steps of each chunk that did."""
    steps: list[int] = []
    kernel = fused.integrate_and_fire

    def counted(v, x, *args, **kwargs):
        steps.append(x.shape[0])
        kernel(v, x, *args, **kwargs)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused, "LOAD_WORK", 0)
        m.setattr(fused, "integrate_and_fire", counted)
        yield steps


def test_numba_compiles_the_loop():
    """numba is a dependency: without it every test here would check the torch loop only."""
    assert fused.available(fused.LOAD_WORK)


def arithmetic(bits: int, overflow: str) -> Arithmetic:
    wide = IntRange(32, "saturate")
    return Arithmetic("t", wide, wide, wide, IntRange(bits, overflow), 0, "floor", *[Mantissa(bits)] * 3)


@st.composite
def plain_neurons(draw):
    """A plain IF neuron (zero reset, no decay, bias or floor) on integers that overflow its
    saturating register both ways."""
    bits = draw(st.integers(4, 16))
    arith = arithmetic(bits, draw(st.sampled_from(["saturate", "saturate_symmetric"])))
    half = 2 ** (bits - 1)
    op = Neuron(
        threshold=draw(st.integers(1, half - 1)),
        reset="zero",
        fire_op=draw(st.sampled_from(["ge", "gt"])),
        state_format=NumberFormat(bits),
    )
    steps, batch, size = draw(st.integers(1, 12)), draw(st.integers(1, 3)), draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    reach = draw(st.sampled_from([half // 4, 2 * half]))
    x = rng.integers(-reach, reach + 1, (steps, batch, size))
    return op, arith, x


def neuron_graph(op: Neuron, arith: Arithmetic, size: int):
    b = GraphBuilder("if", arithmetic=arith)
    b.output("s", b.add("n", op, b.input("x", (size,), Int(20))))
    return b.build()


@settings(max_examples=100, deadline=None)
@given(plain_neurons())
def test_plain_neurons_match_the_reference(case):
    op, arith, x = case
    graph = neuron_graph(op, arith, x.shape[2])
    with compiled_always() as chunks:
        got = run(graph, x).output.astype(np.int64)
    assert sum(chunks) == x.shape[0], "the compiled loop did not run every step"
    assert int_neuron.runs_compiled(op, arith, torch.float32)  # the planner's static view agrees
    np.testing.assert_array_equal(got, reference.neuron(op, x, arith)["s"])


@st.composite
def event_stacks(draw):
    """spikes 2×10×10 → conv → IF → sum pool → conv → IF → flatten → linear → IF: the int8
    convolutions hand the neurons channels-last windows."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    arith = arithmetic(draw(st.integers(8, 16)), "saturate")
    half = 2 ** (arith.voltage.bits - 1)

    def neuron() -> Neuron:
        return Neuron(
            threshold=int(rng.integers(1, min(half, 400))),
            reset="zero",
            fire_op=draw(st.sampled_from(["ge", "gt"])),
            state_format=NumberFormat(arith.voltage.bits),
        )

    b = GraphBuilder("stack", arithmetic=arith)
    s8 = NumberFormat(8)
    c1 = b.add(
        "conv1", Conv2d(rng.integers(-128, 128, (4, 2, 3, 3)), weight_format=s8), b.input("x", (2, 10, 10), SPIKE)
    )
    p1 = b.add("pool1", SumPool2d(2), b.add("n1", neuron(), c1))
    c2 = b.add("conv2", Conv2d(rng.integers(-128, 128, (3, 4, 2, 2)), weight_format=s8), p1)
    flat = b.add("flat", Flatten(), b.add("n2", neuron(), c2))
    fc = b.add("fc", Linear(rng.integers(-128, 128, (5, b.type_of(flat).shape[0])), weight_format=s8), flat)
    b.output("out", b.add("n3", neuron(), fc))
    steps, batch = draw(st.integers(1, 15)), draw(st.integers(1, 3))
    x = (rng.random((steps, batch, 2, 10, 10)) < draw(st.floats(0.05, 0.9))).astype(np.uint8)
    return b.build(), x


LAYERS = ("n1", "n2", "n3")


def layers(graph, x) -> dict[str, np.ndarray]:
    result = run(graph, x, record=[f"{name}:out" for name in LAYERS])
    return {name: result.traces[name]["out"].astype(np.int64) for name in LAYERS}


@settings(max_examples=25, deadline=None)
@given(event_stacks())
def test_stacks_on_int8_convolutions_match_the_reference(case):
    graph, x = case
    with compiled_always() as chunks:
        got = layers(graph, x)
    assert sum(chunks) == len(LAYERS) * x.shape[0], "the compiled loop did not run every step of every neuron"
    want = reference.run(graph, x)
    for name in LAYERS:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    carriers = int_ops.integer_plan(graph, {"x": x}, torch.device("cpu")).carriers
    bytes_ = [name for name in ("x", "n1", "pool1", "n2", "flat") if carriers[name] == torch.uint8]
    assert bytes_ == ["x", "n1", "pool1", "n2", "flat"], "the events did not travel as bytes"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused, "ENABLED", False)
        m.setattr(int8_conv, "ENABLED", False)
        m.setattr(int_ops, "BYTE_CARRIERS", False)
        for name, spikes in layers(graph, x).items():
            np.testing.assert_array_equal(spikes, got[name], err_msg=f"{name}, torch loops and float32 kernels")
    with pytest.MonkeyPatch.context() as m:  # bytes into the torch loop, as for chunks too small to load numba
        m.setattr(fused, "available", lambda work: False)
        for name, spikes in layers(graph, x).items():
            np.testing.assert_array_equal(spikes, got[name], err_msg=f"{name}, torch loops on bytes")


def test_layouts_the_loop_accepts():
    """Element i of the state must be element i of every step: dense, steps one after another;
    the input in the state's dtype, the spikes in float32 or bytes."""
    v = torch.zeros(2, 3, 4, 5)
    cl = v.contiguous(memory_format=torch.channels_last)
    window = torch.zeros(6, 2, 3, 4, 5)
    window_cl = torch.zeros(12, 3, 4, 5).contiguous(memory_format=torch.channels_last).unflatten(0, (6, 2))
    assert fused.same_layout(v, window, window.clone())
    assert fused.same_layout(v, window, window.to(torch.uint8))
    assert fused.same_layout(cl, window_cl, window_cl.clone())
    assert fused.same_layout(torch.zeros(1, 1), torch.zeros(3, 1, 1), torch.zeros(3, 1, 1))  # axes of length 1
    assert not fused.same_layout(v, window_cl, window_cl)  # the state in another memory order
    assert not fused.same_layout(cl, window, window)
    assert not fused.same_layout(v, window, window_cl)
    strided = torch.zeros(6, 2, 3, 4, 10)[..., ::2]
    assert not fused.same_layout(v, strided, window)
    assert not fused.same_layout(v, window, strided)
    assert not fused.same_layout(v, window.transpose(0, 1).contiguous().transpose(0, 1), window)  # steps interleaved
    assert not fused.same_layout(v, window.double(), window)
    assert not fused.same_layout(v, window, window.to(torch.int32))


@settings(max_examples=30, deadline=None)
@given(st.tuples(*(st.integers(1, 7) for _ in range(4))), st.integers(0, 2**32 - 1))
def test_bytes_move_channels_last_as_torch_moves_them(shape, seed):
    """The compiled copy that hands input events to the int8 convolution: torch's values, in
    torch's channels-last strides (axes of length 1 included)."""
    x = torch.from_numpy(np.random.default_rng(seed).integers(0, 256, shape).astype(np.uint8))
    got, want = fused.channels_last_bytes(x), x.contiguous(memory_format=torch.channels_last)
    assert torch.equal(got, want)
    assert got.is_contiguous(memory_format=torch.channels_last)


# --- the compiled scan of plain float neurons (NeuronState._compiled_scan) ----------------------


@st.composite
def plain_float_neurons(draw) -> Neuron:
    """What the compiled float scan runs: scalar θ (either sign) and decay, any reset but to a
    non-zero v_reset, ≥ or >, single spikes reset in the same step; v_init per neuron."""
    scalar = st.floats(-4.0, 4.0, width=32).map(np.float32)
    return Neuron(
        threshold=draw(st.one_of(st.floats(0.25, 4.0, width=32).map(np.float32), scalar)),
        v_decay=draw(st.one_of(st.just(np.float32(1)), st.floats(0.0, 1.0, width=32).map(np.float32))),
        reset=draw(st.sampled_from(["zero", "subtract", "none"])),
        fire_op=draw(st.sampled_from(["ge", "gt"])),
        spikes="single",
        v_init=np.asarray(draw(st.lists(st.floats(-2.0, 2.0, width=32), min_size=3, max_size=3)), np.float32),
    )


def scanned(op: Neuron, x: np.ndarray, compiled: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Spikes and final membrane of one neuron layer [T, B, 3] scanned in one chunk, compiled or
    by torch's operations."""
    state = neuron_sim.NeuronState(op, (3,), x.shape[1], torch.device("cpu"), frozenset())
    with pytest.MonkeyPatch.context() as m:
        m.setattr(fused, "LOAD_WORK", 0)
        m.setattr(fused, "ENABLED", compiled)
        compiled_runs: list[bool] = []
        scan = state._compiled_scan
        m.setattr(state, "_compiled_scan", lambda *a: compiled_runs.append(scan(*a)) or compiled_runs[-1])
        spikes = state.run(torch.from_numpy(x))
    assert compiled_runs == [compiled], "the compiled scan did not run where it should (or ran where it should not)"
    return spikes, state.v


def float32_bits(t: torch.Tensor) -> np.ndarray:
    """The bits, every NaN as one (a NaN's sign and payload depend on the instruction that made
    it, and nothing reads them): NaN equals NaN, and +0 differs from −0."""
    a = t.numpy()
    return np.where(np.isnan(a), np.float32(np.nan), a).view(np.int32)


@settings(max_examples=200, deadline=None)
@given(plain_float_neurons(), st.integers(1, 12), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_plain_float_neurons_match_the_reference(op, steps, batch, seed):
    x = np.random.default_rng(seed).uniform(-4, 6, (steps, batch, 3)).astype(np.float32)
    spikes, v = scanned(op, x, compiled=True)
    want = reference.neuron(op, x)
    np.testing.assert_array_equal(spikes.numpy(), want["s"])
    np.testing.assert_array_equal(v.numpy(), want["v"][-1])  # bar the sign of a zero, as snnc/sim/neuron.py says


SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.0, -1.0], np.float32)


@settings(max_examples=200, deadline=None)
@given(plain_float_neurons(), st.integers(1, 12), st.integers(0, 2**32 - 1))
def test_plain_float_neurons_compiled_give_torchs_bits(op, steps, seed):
    """Infinities, NaN, signed zeros, subnormals, overflow: the compiled loop's floats are the
    torch scan's, bit for bit."""
    rng = np.random.default_rng(seed)
    x = np.where(rng.random((steps, 2, 3)) < 0.5, rng.choice(SPECIAL, (steps, 2, 3)), rng.uniform(-4, 6, (steps, 2, 3)))
    x = x.astype(np.float32)
    (s1, v1), (s2, v2) = scanned(op, x, compiled=True), scanned(op, x, compiled=False)
    np.testing.assert_array_equal(float32_bits(s1), float32_bits(s2))
    np.testing.assert_array_equal(float32_bits(v1), float32_bits(v2))


def test_other_float_neurons_keep_the_torch_scan():
    """A current, a gain, a bias, v_min, a non-zero v_reset, per-neuron θ: not the compiled loop."""
    base = Neuron(threshold=np.float32(1), reset="zero", spikes="single")
    others = [
        Neuron(threshold=np.float32(1), i_decay=np.float32(0.5)),
        Neuron(threshold=np.float32(1), gain=np.float32(2)),
        Neuron(threshold=np.float32(1), bias=np.float32(0.5)),
        Neuron(threshold=np.float32(1), v_min=np.float32(-1)),
        Neuron(threshold=np.float32(1), reset="zero", v_reset=np.float32(0.5)),
        Neuron(threshold=np.array([1, 2, 3], np.float32)),
        Neuron(threshold=np.float32(1), spikes="multi"),
    ]
    shape, cpu = (3,), torch.device("cpu")
    assert neuron_sim.NeuronState(base, shape, 1, cpu, frozenset()).plain is not None
    for op in others:
        assert neuron_sim.NeuronState(op, shape, 1, cpu, frozenset()).plain is None, op
    assert neuron_sim.NeuronState(base, shape, 1, cpu, frozenset({"v"})).traces  # traced: the torch scan
