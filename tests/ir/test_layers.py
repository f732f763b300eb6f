"""layers(graph): synapses → neuron → pools, through adds, reshapes and delays."""

from __future__ import annotations

import numpy as np

from snnc.ir import Conv2d, Elementwise, Flatten, GraphBuilder, Linear, MaxPool2d, Neuron, SumPool2d
from snnc.ir.layers import layers, upstream


def residual():
    """x → conv1 → if1 → pool1 → (conv2 + conv3) → if2 → flat → fc (readout, no neuron)."""
    w = np.ones((2, 2, 3, 3), np.float32)
    b = GraphBuilder("r")
    if1 = b.add("if1", Neuron(), b.add("conv1", Conv2d(w, padding=1), b.input("x", (2, 8, 8))))
    pool = b.add("pool1", SumPool2d(kernel=2), if1)
    b.add("other", MaxPool2d(kernel=2), if1)
    total = b.add(
        "sum",
        Elementwise("add"),
        b.add("conv2", Conv2d(w, padding=1), pool),
        b.add("conv3", Conv2d(w, padding=1), pool),
    )
    if2 = b.add("if2", Neuron(), total)
    b.output("y", b.add("fc", Linear(np.ones((3, 32), np.float32)), b.add("flat", Flatten(), if2)))
    b.output("o", "other")
    return b.build()


def test_each_neuron_with_its_synapses_and_pools():
    found = {layer.name: layer for layer in layers(residual())}
    assert list(found) == ["if1", "if2", "fc"]
    first, second, readout = found["if1"], found["if2"], found["fc"]
    assert [n.name for n in first.synapses] == ["conv1"] and [n.name for n in first.sources] == ["x"]
    assert [n.name for n in first.pools] == ["pool1", "other"]
    assert [n.name for n in second.synapses] == ["conv2", "conv3"] and [n.name for n in second.through] == ["sum"]
    assert [n.name for n in second.sources] == ["if1"]  # behind the sum pool, the spikes it pools
    assert readout.neuron is None and [n.name for n in readout.sources] == ["if2"]
    assert [n.name for n in second.nodes] == ["conv2", "conv3", "sum", "if2"]


def test_upstream_stops_at_what_does_not_pass_values_on():
    synapses, through, stops = upstream(residual(), "sum")
    assert [n.name for n in synapses] == ["conv2", "conv3"] and [n.name for n in through] == ["sum"] and stops == []
