"""linear-to-conv: Flatten → Linear on a map, and Linear on a vector, become convolutions whose
kernel is the whole map (sinabs `convert_linear_to_conv`); the outputs are bit-identical on dyadic
weights, every other node keeps its type, and random graphs keep their spikes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_harness import apply, assert_same_spikes, kinds, layer_lists, random_events, random_graph, spikes

from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron
from snnc.passes.linear_to_conv import LinearToConv

IAF = Neuron(threshold=1.0, spikes="multi")


def dyadic(rng, *shape):
    return rng.integers(-4, 5, size=shape) / 4


def mlp_on_map():
    """(2, 4, 4) → flatten → fc1 (32→6) → IAF → fc2 (6→3) → IAF."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("g")
    flat = b.add("flat", Flatten(), b.input("x", (2, 4, 4)))
    n1 = b.add("fc1.iaf", IAF, b.add("fc1", Linear(dyadic(rng, 6, 32), bias=dyadic(rng, 6)), flat))
    b.output("out", b.add("fc2.iaf", IAF, b.add("fc2", Linear(dyadic(rng, 3, 6)), n1)))
    return b.build()


def test_flatten_then_linear_is_one_convolution_over_the_map():
    g = mlp_on_map()
    out, ctx = apply(LinearToConv(), g)
    assert ctx.rewrites["linear-to-conv"] == 2
    assert kinds(out) == ["input", "conv2d", "neuron", "conv2d", "neuron", "flatten", "output"]
    fc1, fc2 = out.node("fc1").op, out.node("fc2").op
    assert isinstance(fc1, Conv2d) and fc1.weight.shape == (6, 2, 4, 4) and fc1.bias is not None
    assert fc2.weight.shape == (3, 6, 1, 1)  # reads fc1's (6, 1, 1) neurons directly
    np.testing.assert_array_equal(fc1.weight.reshape(6, -1), g.node("fc1").op.weight)  # nn.Flatten's order
    assert out.node("out").type == g.node("out").type  # the output keeps its 1-d type
    assert_same_spikes(g, out, random_events((2, 4, 4), steps=10, p=0.5))


def test_a_linear_on_a_vector_reads_it_as_a_1x1_map():
    rng = np.random.default_rng(1)
    b = GraphBuilder("g")
    b.output("out", b.add("fc", Linear(dyadic(rng, 4, 5)), b.input("x", (5,))))
    g = b.build()
    out, _ = apply(LinearToConv(), g)
    assert kinds(out) == ["input", "reshape", "conv2d", "flatten", "output"]
    assert out.node("fc.map").type.shape == (5, 1, 1) and out.node("out").type.shape == (4,)
    x = random_events((5,), steps=6, p=0.6)
    np.testing.assert_array_equal(spikes(out, x), spikes(g, x))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**16), layer_lists)
def test_random_dyadic_stacks_keep_their_spikes(seed, layers):
    g = random_graph(np.random.default_rng(seed), layers, dyadic=True)
    out, _ = apply(LinearToConv(), g)
    assert not any(isinstance(n.op, Linear) for n in out)
    x = random_events((2, 8, 8), seed=seed)
    np.testing.assert_array_equal(spikes(out, x), spikes(g, x))
