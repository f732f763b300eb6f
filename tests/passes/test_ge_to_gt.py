"""ge-to-gt: quantized neurons whose state stays on a lattice of 2^6 (Loihi's input gain, no
multiplying decay) fire on h > θ − 2^6 with identical spikes; leaky, subtract-reset and float
neurons are left alone."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, random_events

from snnc.backends.loihi.spec import pipeline_spec
from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron
from snnc.passes.base import PassContext
from snnc.passes.ge_to_gt import GeToGt, lattice_step
from snnc.passes.quantize import Quantize
from snnc.sim import run


def net(neuron: Neuron, seed: int = 0):
    rng = np.random.default_rng(seed)
    b = GraphBuilder("g")
    c = b.add(
        "conv", Conv2d(weight=rng.integers(-3, 4, (4, 2, 3, 3)).astype(np.float32), padding=1), b.input("x", (2, 6, 6))
    )
    flat = b.add("flat", Flatten(), b.add("n0", neuron, c))
    b.output(
        "out", b.add("n1", neuron, b.add("fc", Linear(weight=rng.integers(-3, 4, (8, 144)).astype(np.float32)), flat))
    )
    return Quantize(pipeline_spec("netx"))(b.build(), PassContext())


@pytest.mark.parametrize(
    "neuron",
    [
        Neuron(threshold=3.0, reset="zero"),  # SpikingJelly IFNode(v_reset=0)
        Neuron(threshold=2.0, reset="zero", v_decay=0.0),  # a memoryless OR-like neuron
        Neuron(threshold=4.0, reset="zero", bias=np.float32(1.0)),
    ],
    ids=["if", "memoryless", "biased"],
)
def test_lattice_neurons_fire_identically_on_the_shifted_threshold(neuron):
    g = net(neuron)
    out, ctx = apply(GeToGt(), g)
    assert ctx.rewrites["ge-to-gt"] == 2
    for name in ("n0", "n1"):
        before, after = g.node(name).op, out.node(name).op
        assert after.fire_op == "gt" and int(after.threshold) == int(before.threshold) - 64
    x = random_events((2, 6, 6), steps=30, p=0.4).astype(np.int64)
    expected = run(g, x).output
    assert expected.any()
    np.testing.assert_array_equal(run(out, x).output, expected)


def test_the_lattice_step_is_the_largest_common_power_of_two():
    g = net(Neuron(threshold=3.0, reset="zero"))
    assert lattice_step(g.node("n0").op, 4096) == 64


@pytest.mark.parametrize(
    "neuron",
    [Neuron(threshold=3.0, reset="zero", v_decay=0.75), Neuron(threshold=3.0, reset="subtract")],
    ids=["leaky", "subtract"],
)
def test_neurons_it_cannot_shift_keep_ge(neuron):
    g = net(neuron)
    out, _ = apply(GeToGt(), g)
    assert out is g and all(n.op.fire_op == "ge" for n in out if isinstance(n.op, Neuron))


def test_a_float_graph_is_left_as_it_is():
    b = GraphBuilder("g")
    b.output("out", b.add("n", Neuron(threshold=1.0), b.input("x", (3,))))
    g = b.build()
    out, _ = apply(GeToGt(), g)
    assert out is g
