"""input-events: a float input becomes event counts (with a note); the simulation of count data is
unchanged; event and integer inputs are left alone."""

from __future__ import annotations

import numpy as np
from pass_harness import apply, random_events, rules_at, spikes

from snnc.ir import FLOAT, SPIKE, Conv2d, Count, GraphBuilder, Neuron
from snnc.passes.input_events import InputEvents


def net(dtype):
    b = GraphBuilder("g")
    weight = np.random.default_rng(0).integers(-4, 5, size=(2, 2, 3, 3)) / 4
    b.output("out", b.add("iaf", Neuron(threshold=1.0), b.add("c", Conv2d(weight), b.input("x", (2, 6, 6), dtype))))
    return b.build()


def test_a_float_input_is_read_as_counts():
    g = net(FLOAT)
    out, ctx = apply(InputEvents(), g)
    assert out.node("x").type.dtype == Count() and rules_at(ctx.diagnostics) == [("PASS-INPUT-EVENTS", "x")]
    x = random_events((2, 6, 6), p=0.4) * 2
    np.testing.assert_array_equal(spikes(out, x), spikes(g, x))


def test_event_inputs_stay():
    g = net(SPIKE)
    out, ctx = apply(InputEvents(), g)
    assert out is g and not ctx.diagnostics
