"""Quantized graphs run in integers: random conv/pool/linear/neuron stacks against the integer
reference (snnc/sim/reference.py) bit for bit, every kernel choice (float32-exact, pure integer,
event-driven, windows, step by step) giving the same integers, and the refusals (SIM-QUANTIZED,
SIM-DEVICE)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.diagnostics import SnncError
from snnc.ir import Conv2d, Elementwise, Flatten, GraphBuilder, Int, Linear, Neuron, NumberFormat, Scale, SumPool2d
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.ir.types import SPIKE, TensorType
from snnc.ir.verify import verify
from snnc.sim import engine, event_driven, int8_conv, int_ops, reference, run

S8 = NumberFormat(8)


def arithmetic(synapse: IntRange, voltage: IntRange, shift: int, rounding: str) -> Arithmetic:
    wide = IntRange(32, "saturate")
    bits = voltage.bits
    return Arithmetic("t", synapse, wide, voltage, voltage, shift, rounding, Mantissa(bits), Mantissa(bits),
                      Mantissa(bits))  # fmt: skip


def lif(arith: Arithmetic, threshold: int, v_decay: int, reset: str) -> Neuron:
    return Neuron(threshold=threshold, v_decay=v_decay, reset=reset, state_format=NumberFormat(arith.voltage.bits))


@st.composite
def stacks(draw):
    """x (spikes 2×8×8) → conv → neuron → sum pool → flatten → linear → neuron, random integers."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    bits = draw(st.integers(8, 16))
    arith = arithmetic(
        IntRange(draw(st.integers(6, 32)), draw(st.sampled_from(["wrap", "saturate"]))),
        IntRange(bits, draw(st.sampled_from(["wrap", "saturate", "saturate_symmetric"]))),
        draw(st.integers(0, bits - 2)),  # 2^k must fit the state format
        draw(st.sampled_from(["floor", "toward_zero"])),
    )
    half, one = 2 ** (bits - 1), arith.decay_one
    stride, pad = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    conv = Conv2d(
        rng.integers(-128, 128, (3, 2, 3, 3)),
        rng.integers(-128, 128, 3) if draw(st.booleans()) else None,
        stride=stride,
        padding=pad,
        weight_format=S8,
    )
    b = GraphBuilder("stack", arithmetic=arith)
    c = b.add("conv", conv, b.input("x", (2, 8, 8), SPIKE))
    n1 = b.add("n1", lif(arith, int(rng.integers(1, half)), int(rng.integers(0, one + 1)), "subtract"), c)
    flat = b.add("flat", Flatten(), b.add("pool", SumPool2d(2), n1))
    fc = Linear(rng.integers(-128, 128, (4, b.type_of(flat).shape[0])), weight_format=S8)
    n2 = b.add(
        "n2", lif(arith, int(rng.integers(1, half)), int(rng.integers(0, one + 1)), "zero"), b.add("fc", fc, flat)
    )
    b.output("out", n2)
    graph = b.build()
    steps, batch = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    x = (rng.random((steps, batch, 2, 8, 8)) < draw(st.floats(0.05, 0.9))).astype(np.uint8)
    return graph, x


LAYERS = ("conv", "n1", "fc", "n2")


def layers(graph, x, **options) -> dict[str, np.ndarray]:
    result = run(graph, x, record=[f"{name}:out" for name in LAYERS], **options)
    return {name: result.traces[name]["out"].astype(np.int64) for name in LAYERS}


@settings(max_examples=40, deadline=None)
@given(stacks())
def test_stacks_match_the_reference_bit_for_bit(case):
    graph, x = case
    assert verify(graph) == []
    got, want = layers(graph, x), reference.run(graph, x)
    for name in LAYERS:
        assert np.array_equal(got[name], want[name]), name


@settings(max_examples=15, deadline=None)
@given(stacks())
def test_every_kernel_and_schedule_gives_the_same_integers(monkeypatch_module, case):
    graph, x = case
    default = layers(graph, x)
    assert all(np.array_equal(default[k], v) for k, v in layers(graph, x, _stepwise=True).items())
    assert all(np.array_equal(default[k], v) for k, v in layers(graph, x, _window=1).items())
    with monkeypatch_module.context() as m:
        m.setattr(event_driven, "FORCE", True)  # every synaptic op on events event-driven
        forced = layers(graph, x)
    assert all(np.array_equal(default[k], v) for k, v in forced.items())
    with monkeypatch_module.context() as m:
        m.setattr(int_ops, "EXACT_FLOAT32", 0)  # no float32 kernel or carrier: integer tensors only
        integer = layers(graph, x)
    assert all(np.array_equal(default[k], v) for k, v in integer.items())


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as m:
        yield m


def test_recurrence_through_a_delay_runs_in_integers():
    """x → fc → add(·, delay(rec(n))) → n: step by step, against a loop over the reference's
    register rule and neuron, and against the reference's own Delay."""
    arith = arithmetic(IntRange(12, "wrap"), IntRange(12, "saturate"), 4, "toward_zero")
    rng = np.random.default_rng(2)
    w_in, w_rec = rng.integers(-100, 100, (3, 4)), rng.integers(-100, 100, (3, 3))
    b = GraphBuilder("rec", arithmetic=arith)
    fc = b.add("fc", Linear(w_in, weight_format=S8), b.input("x", (4,), SPIKE))
    delay = b.delay("d", 1, TensorType((3,), Int(32)))
    total = b.add("sum", Elementwise("add"), fc, delay)
    n = b.add("n", lif(arith, 150, 12, "subtract"), total)
    b.connect(delay, b.add("rec", Linear(w_rec, weight_format=S8), n))
    b.output("out", n)
    graph = b.build()
    assert verify(graph) == []
    x = (rng.random((30, 2, 4)) < 0.5).astype(np.uint8)
    got = run(graph, x).output
    op = graph.node("n").op
    s = np.zeros((2, 3), np.int64)
    v = np.zeros((2, 3), np.int64)
    want = []
    register = reference.in_register
    for xt in x.astype(np.int64):
        total = register(register(xt @ w_in.T, arith.synapse) + register(s @ w_rec.T, arith.synapse), arith.synapse)
        one = reference.neuron(op.replace(v_init=v), total[None], arith)
        s, v = one["s"][0], one["v"][0]
        want.append(s)
    assert np.array_equal(got, np.stack(want))
    assert np.array_equal(got, reference.run(graph, x)["out"])


def test_real_valued_nodes_cannot_run_in_integers():
    arith = arithmetic(IntRange(32, "saturate"), IntRange(16, "saturate"), 4, "floor")
    b = GraphBuilder("mixed", arithmetic=arith)
    fc = b.add("fc", Linear(np.ones((2, 3), np.int64), weight_format=S8), b.input("x", (3,), SPIKE))
    b.output("out", b.add("scale", Scale(np.float32(0.5)), fc))
    with pytest.raises(SnncError) as err:
        run(b.build(), np.zeros((2, 1, 3)))
    (diag,) = err.value.diagnostics
    assert (diag.rule, diag.node) == ("SIM-QUANTIZED", "scale")


def test_on_cuda_only_float32_exact_graphs_are_planned():
    """CUDA has no integer convolution or matrix product in torch: a layer whose sums reach 2^24
    is SIM-DEVICE there (named), a float32-exact graph is planned without the CPU's int8 kernel.
    (Planning touches no GPU, so this runs anywhere.)"""
    arith = arithmetic(IntRange(32, "saturate"), IntRange(16, "saturate"), 4, "floor")
    cuda = torch.device("cuda")
    b = GraphBuilder("g", arithmetic=arith)
    fc = b.add("fc", Linear(np.full((2, 5), 127), weight_format=S8), b.input("x", (5,), Int(16)))
    b.output("out", b.add("n", lif(arith, 5, 16, "zero"), fc))
    wide = np.full((1, 1, 5), 2**15 - 1)
    with pytest.raises(SnncError) as err:
        int_ops.integer_plan(b.build(), {"x": wide}, cuda)
    (diag,) = err.value.diagnostics
    assert (diag.rule, diag.node) == ("SIM-DEVICE", "fc")
    assert "20807045" in diag.message  # 5 · 127 · 32767, the sum bound
    assert int_ops.integer_plan(b.build(), {"x": wide}, torch.device("cpu")).cpu  # the CPU has int32 kernels


@settings(max_examples=10, deadline=None)
@given(stacks())
def test_cuda_plans_take_the_float32_convolution(case):
    """The CPU's int8 kernel is oneDNN's: on CUDA the same conv sums in float32, exactly."""
    graph, x = case
    conv, source = graph.node("conv"), graph.node("x").type
    cpu, cuda = (int_ops.integer_plan(graph, {"x": x}, torch.device(d)) for d in ("cpu", "cuda"))
    assert int_ops.synapse_kernel(cpu, conv, source) in ("int8", "float32")
    assert int_ops.synapse_kernel(cuda, conv, source) == "float32"


@settings(max_examples=15, deadline=None)
@given(stacks())
def test_the_cuda_plan_gives_the_cpu_integers_on_the_cpu(monkeypatch_module, case):
    """The plan made for CUDA (float32 carriers and kernels only: no int8 convolution, bytes or
    event-driven path), executed on the CPU, gives the CPU plan's integers: the arithmetic of the
    GPU path checked where no GPU is (its device-specific part, cuDNN off, is tested below)."""
    graph, x = case
    with monkeypatch_module.context() as m:
        m.setattr(engine, "integer_plan", lambda g, arrays, dev: int_ops.integer_plan(g, arrays, torch.device("cuda")))
        m.setattr(int8_conv, "_uint8_channels_last", lambda t: pytest.fail("the CUDA plan ran oneDNN's int8 kernel"))
        got = layers(graph, x)
    for name, want in layers(graph, x).items():
        assert np.array_equal(got[name], want), name


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the path is CPU-tested above)")
@settings(max_examples=10, deadline=None)
@given(stacks())
def test_cuda_gives_the_cpu_integers(case):
    graph, x = case
    got = layers(graph, x, device="cuda")
    for name, want in layers(graph, x).items():
        assert np.array_equal(got[name], want), name


def test_off_the_cpu_convolutions_run_without_cudnn(monkeypatch):
    """cuDNN may pick FFT or Winograd convolutions, which round: off the CPU the integer run's
    convolution switches it off for the call, and restores the setting after."""
    seen: list[bool] = []

    def conv2d(*args):
        seen.append(torch.backends.cudnn.enabled)
        return torch.zeros(1)

    monkeypatch.setattr(torch.nn.functional, "conv2d", conv2d)
    kernel = int_ops._conv(Conv2d(np.ones((1, 1, 1, 1)), weight_format=S8))
    before = torch.backends.cudnn.enabled
    on = torch.zeros(1, device="meta")  # any tensor off the CPU takes the device branch
    kernel(on, on, None)
    kernel(torch.zeros(1), torch.zeros(1), None)
    assert seen == [False, before]
    assert torch.backends.cudnn.enabled == before


def test_bytes_only_where_every_user_reads_them(monkeypatch):
    """Input events, spikes and counts travel as uint8 only into byte sum pools and shape ops,
    int8 convolutions and Linears, and reach the int8 kernel as they are; a user that reads
    float32 (an output, a ceil-mode pool) keeps the source in float32, and so does a flatten into
    an output."""
    arith = arithmetic(IntRange(32, "saturate"), IntRange(16, "saturate"), 0, "floor")
    conv = Conv2d(np.ones((2, 2, 2, 2), np.int64), weight_format=S8)
    b = GraphBuilder("g", arithmetic=arith)
    x = b.input("x", (2, 12, 12), SPIKE)
    n1 = b.add("n1", lif(arith, 3, 1, "zero"), b.add("c1", conv, x))
    p1 = b.add("p1", SumPool2d(2), n1)  # → an int8 conv: bytes
    n2 = b.add("n2", lif(arith, 3, 1, "zero"), b.add("c2", conv, p1))
    p2 = b.add("p2", SumPool2d(2, ceil_mode=True), n2)  # avg_pool2d has no uint8 kernel
    n3 = b.add("n3", lif(arith, 3, 1, "zero"), b.add("c3", conv, p2))
    b.output("out", b.add("flat", Flatten(), n3))
    graph = b.build()
    plan = int_ops.integer_plan(graph, {"x": np.ones((1, 1, 2, 12, 12))}, torch.device("cpu"))
    assert int_ops.byte_nodes(graph, plan) == {"x", "n1", "p1"}
    assert int_ops.feed_dtype(plan.carriers["x"]) == np.uint8  # spike data fed as the bytes it is
    assert plan.carriers["n1"] == torch.uint8 and plan.carriers["n2"] == torch.float32
    data = (np.random.default_rng(0).random((5, 2, 2, 12, 12)) < 0.5).astype(np.uint8)
    want = reference.run(graph, data)
    reaching, to_kernel = [], int8_conv._uint8_channels_last
    monkeypatch.setattr(int8_conv, "_uint8_channels_last", lambda t: reaching.append(t.dtype) or to_kernel(t))
    for name, trace in run(graph, data, record=["n1:out", "p1:out", "n3:out"]).traces.items():
        np.testing.assert_array_equal(trace["out"].astype(np.int64), want[name], err_msg=name)
    assert reaching == [torch.uint8, torch.uint8]  # c1, c2 (c3, 1 wide, takes the float32 kernel)
