"""The event-driven synaptic ops (snnc/sim/event_driven.py): the scatter convolution against
torch's convolution on every geometry, whole quantized graphs with every window forced
event-driven against the dense kernels and the integer reference, the choice following the
measured density, and the Linear's gather."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_int_engine import arithmetic, lif  # pytest puts this directory on sys.path

from snnc.ir import Conv1d, Conv2d, GraphBuilder, Linear, NumberFormat, SumPool2d
from snnc.ir.quant import IntRange
from snnc.ir.types import SPIKE
from snnc.sim import event_driven, reference, run
from snnc.sim.event_driven import EventConv

S8 = NumberFormat(8)


@st.composite
def convolutions(draw):
    """A random Conv2d (or Conv1d) geometry with integer weights, and events for it: spikes or
    counts, as bytes or float32, contiguous or channels-last."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    one_d = draw(st.booleans())
    dims = 1 if one_d else 2
    groups = draw(st.integers(1, 3))
    cg, og = draw(st.integers(1, 3)), draw(st.integers(1, 5))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    size = tuple(draw(st.integers(d * (k - 1) + 1, 11)) for k, d in zip(kernel, dilation))
    weight = rng.integers(-128, 128, (groups * og, cg, *kernel))
    bias = rng.integers(-1000, 1000, groups * og) if draw(st.booleans()) else None
    cls = Conv1d if one_d else Conv2d
    op = cls(weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    n = draw(st.integers(1, 4))
    top = draw(st.sampled_from([1, 4, 255]))
    density = draw(st.floats(0.0, 1.0))
    shape = (n, groups * cg, *size)
    values = rng.integers(1, top + 1, shape) * (rng.random(shape) < density)
    x = torch.from_numpy(values.astype(np.uint8))
    x = x if draw(st.booleans()) else x.float()
    if not one_d and draw(st.booleans()):
        x = x.contiguous(memory_format=torch.channels_last)
    return op, x


@settings(max_examples=200, deadline=None)
@given(convolutions(), st.sampled_from(["int8", "float32"]))
def test_scatter_gives_torchs_sums(case, dense):
    op, x = case
    conv = F.conv1d if isinstance(op, Conv1d) else F.conv2d
    bias = None if op.bias is None else torch.tensor(op.bias, dtype=torch.float64)
    want = conv(x.double(), torch.tensor(op.weight, dtype=torch.float64), bias, op.stride, op.padding, op.dilation,
                op.groups)  # fmt: skip
    got = EventConv(op)(x, dense)
    assert got.dtype == torch.float32 and torch.equal(got.double(), want)
    # the dense kernel's memory layout, so that the neuron's state keeps one (int_neuron.py)
    channels_last = x.dim() == 4 and (dense == "int8" or not x.is_contiguous())
    layout = torch.channels_last if channels_last else torch.contiguous_format
    assert got.is_contiguous(memory_format=layout)


def _two_convs(rng: np.random.Generator, stride: int, padding: int):
    """x (2×12×12 spikes) → conv → IF → sum pool (counts up to 4) → conv → IF: the second conv
    reads counts in the layout the first conv's kernel left."""
    arith = arithmetic(IntRange(24, "saturate"), IntRange(16, "saturate"), 4, "floor")
    b = GraphBuilder("convs", arithmetic=arith)
    c1 = Conv2d(rng.integers(-128, 128, (6, 2, 3, 3)), rng.integers(-50, 50, 6), stride=stride, padding=padding,
                weight_format=S8)  # fmt: skip
    n1 = b.add("n1", lif(arith, 200, 0, "zero"), b.add("conv1", c1, b.input("x", (2, 12, 12), SPIKE)))
    pool = b.add("pool", SumPool2d(2), n1)
    c2 = Conv2d(rng.integers(-128, 128, (4, 6, 2, 2)), weight_format=S8)
    b.output("out", b.add("n2", lif(arith, 300, 0, "subtract"), b.add("conv2", c2, pool)))
    return b.build()


LAYERS = ("conv1", "n1", "conv2", "n2")


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**16), st.integers(1, 2), st.integers(0, 1), st.floats(0.0, 0.6))
def test_event_driven_graphs_give_the_dense_integers_and_the_references(seed, stride, padding, density):
    rng = np.random.default_rng(seed)
    graph = _two_convs(rng, stride, padding)
    x = (rng.random((7, 3, 2, 12, 12)) < density).astype(np.uint8)
    runs = {}
    with pytest.MonkeyPatch.context() as m:
        for path, (enabled, force) in {"dense": (False, False), "events": (True, True)}.items():
            m.setattr(event_driven, "ENABLED", enabled)
            m.setattr(event_driven, "FORCE", force)
            result = run(graph, x, record=[f"{name}:out" for name in LAYERS])
            runs[path] = {name: result.traces[name]["out"].astype(np.int64) for name in LAYERS}
    want = reference.run(graph, x)
    for name in LAYERS:
        assert np.array_equal(runs["events"][name], runs["dense"][name]), name
        assert np.array_equal(runs["events"][name], want[name]), name


def _spy_calls(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = EventConv.__call__

    def spy(self, x, dense):
        calls.append(int(x.count_nonzero()))
        return original(self, x, dense)

    monkeypatch.setattr(EventConv, "__call__", spy)
    return calls


def test_the_measured_density_chooses_the_path(monkeypatch):
    """nmnist-cnn's first convolution on 0.1 % of events scatters them; on 30 % it runs dense;
    with a window of each in one run, the choice is made per window."""
    rng = np.random.default_rng(0)
    arith = arithmetic(IntRange(24, "saturate"), IntRange(16, "saturate"), 4, "floor")
    b = GraphBuilder("conv1", arithmetic=arith)
    conv = Conv2d(rng.integers(-128, 128, (12, 2, 5, 5)), weight_format=S8)
    b.output("out", b.add("n", lif(arith, 500, 0, "zero"), b.add("conv", conv, b.input("x", (2, 34, 34), SPIKE))))
    graph = b.build()
    calls = _spy_calls(monkeypatch)
    monkeypatch.setattr(event_driven, "LOAD_DENSE", 0.0)  # the kernel's loading is not what is tested
    sparse = (rng.random((16, 16, 2, 34, 34)) < 0.001).astype(np.uint8)
    dense = (rng.random((16, 16, 2, 34, 34)) < 0.3).astype(np.uint8)
    run(graph, sparse, _window=16)
    assert len(calls) == 1
    run(graph, dense, _window=16)
    assert len(calls) == 1
    run(graph, np.concatenate([sparse, dense]), _window=16)
    assert len(calls) == 2 and calls[-1] == int(sparse.sum())


def test_cost_model_grows_with_the_events():
    """Fewer events never make the dense kernel the cheaper one (a monotone model); none at all
    are cheaper to scatter and a full input is not, for either dense kernel."""
    op = Conv2d(np.ones((32, 12, 5, 5), np.int64))
    conv = EventConv(op)
    x = torch.zeros((192, 12, 15, 15), dtype=torch.uint8)
    for dense in ("int8", "float32"):
        choices = [conv.worth(x, events, dense) for events in range(0, x.numel() + 1, x.numel() // 64)]
        assert choices[0] and not choices[-1]
        assert choices == sorted(choices, reverse=True)


def test_event_driven_linear_gives_the_dense_sums(monkeypatch):
    """A wide Linear on sparse spikes gathers the active inputs' rows; the sums are the same."""
    rng = np.random.default_rng(1)
    arith = arithmetic(IntRange(32, "saturate"), IntRange(24, "saturate"), 8, "floor")
    b = GraphBuilder("wide", arithmetic=arith)
    fc = b.add("fc", Linear(rng.integers(-128, 128, (256, 512)), weight_format=S8), b.input("x", (512,), SPIKE))
    b.output("out", b.add("n", lif(arith, 300, 256, "zero"), fc))
    graph = b.build()
    x = (rng.random((20, 4, 512)) < 0.01).astype(np.uint8)
    sums = {}
    for density in (1.0, 0.0):  # always the event path, never
        monkeypatch.setattr(event_driven, "SPARSE_DENSITY", density)
        sums[density] = run(graph, x, record=["fc:out", "n:v"]).traces
    assert np.array_equal(sums[1.0]["fc"]["out"], sums[0.0]["fc"]["out"])
    assert np.array_equal(sums[1.0]["n"]["v"], sums[0.0]["n"]["v"])
    assert np.array_equal(sums[0.0]["fc"]["out"], x.astype(np.int64) @ graph.node("fc").op.weight.T)


@settings(max_examples=30, deadline=None)
@given(convolutions())
def test_no_geometry_compiles_the_kernel_anew(case):
    """Every geometry, dtype and layout runs one of the two signatures compiled up front (a new
    one would compile at run time, seconds in the middle of a simulation)."""
    op, x = case
    EventConv(op)(x, "int8")
    kernel = event_driven._kernel()
    assert kernel is not None and len(kernel.signatures) == 2
