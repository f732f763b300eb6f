"""maxpool-to-or: identical spikes on spike inputs for plain, strided, padded and ceil-mode
windows; counts, real values and windows whose float sum rounds one spike below 1 reported."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, assert_same_spikes, kinds, random_events, rules_at

from snnc.ir import FLOAT, GraphBuilder, MaxPool2d, Neuron, SumPool2d
from snnc.passes.maxpool_to_or import MaxpoolToOr

IF = Neuron(threshold=1.0)


def pooled(pool: MaxPool2d, shape=(2, 9, 9)):
    b = GraphBuilder("g")
    b.output("out", b.add("pool", pool, b.add("lif", IF, b.input("x", shape))))
    return b.build()


@pytest.mark.parametrize(
    "pool",
    [
        MaxPool2d(kernel=2),
        MaxPool2d(kernel=3, stride=2, padding=1),
        MaxPool2d(kernel=2, ceil_mode=True),
        MaxPool2d(kernel=(7, 7), stride=1),  # area 49: fl(fl(1/49)·49) = 1
    ],
    ids=["2x2", "3x3-s2-p1", "ceil", "7x7"],
)
@pytest.mark.parametrize("p", [0.05, 0.5])
def test_spike_inputs_give_identical_spikes(pool, p):
    g = pooled(pool)
    out, ctx = apply(MaxpoolToOr(), g)
    assert kinds(out) == ["input", "neuron", "sumpool2d", "neuron", "output"] and ctx.rewrites["maxpool-to-or"] == 1
    assert out.node("out").inputs == ("pool.or",)
    x = random_events((2, 9, 9), steps=6, p=p)
    assert_same_spikes(g, out, x)


def test_the_or_neuron_keeps_no_state():
    """A window that spiked at one step must not fire at the next without a new spike."""
    g = pooled(MaxPool2d(kernel=2), shape=(1, 2, 2))
    out, _ = apply(MaxpoolToOr(), g)
    x = np.zeros((4, 1, 1, 2, 2), np.float32)
    x[0, 0, 0, 0, 0] = x[2, 0, 0, 1, 1] = 1
    assert_same_spikes(g, out, x)


@pytest.mark.parametrize(
    ("source", "words"),
    [("count", "not spikes"), ("float", "not spikes"), ("wide", "rounds to")],
)
def test_what_is_not_an_or_is_reported(source, words):
    b = GraphBuilder("g")
    if source == "wide":  # area 41: the float sum pool gives 0.99999994 for one spike
        x, pool = b.add("lif", IF, b.input("x", (1, 41, 1))), MaxPool2d(kernel=(41, 1))
    elif source == "count":
        x, pool = b.add("sum", SumPool2d(kernel=1), b.add("lif", IF, b.input("x", (1, 4, 4)))), MaxPool2d(kernel=2)
    else:
        x, pool = b.input("x", (1, 4, 4), dtype=FLOAT), MaxPool2d(kernel=2)
    b.output("out", b.add("pool", pool, x))
    g = b.build()
    out, ctx = apply(MaxpoolToOr(), g)
    assert out is g
    assert rules_at(ctx.diagnostics) == [("PASS-MAXPOOL-NOT-CONVERTED", "pool")] and words in ctx.diagnostics[0].message
