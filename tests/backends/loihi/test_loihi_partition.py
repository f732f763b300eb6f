"""Partitioning: counts checked by hand on small layers, the per-core limits obeyed, and the
text and JSON reports."""

from __future__ import annotations

import json

import numpy as np
from loihi_graphs import LIF, conv_net, lowered, mlp

from snnc.backends.loihi.blocks import blocks
from snnc.backends.loihi.partition import Limits, partition
from snnc.backends.loihi.receptive import ReceptiveFields
from snnc.ir import Conv2d, GraphBuilder


def test_a_conv_neuron_reads_its_in_bounds_taps_with_non_zero_weights():
    weight = np.ones((1, 1, 3, 3), np.float32)
    weight[0, 0, 0, 0] = 0  # the top-left tap is no synapse
    b = GraphBuilder("g")
    b.output("out", b.add("n", LIF, b.add("c", Conv2d(weight=weight, padding=1), b.input("x", (1, 4, 4)))))
    (block,) = blocks(lowered(b.build())).blocks
    fields = ReceptiveFields(block)
    corner, inner = fields.of(0), fields.of(5)  # (0, 0): 4 in-bounds taps minus none; (1, 1): 9 − 1
    assert sorted(corner.tolist()) == [0, 1, 4, 5] and len(inner) == 8
    np.testing.assert_array_equal(fields.synapses()[[0, 5]], [4, 8])


def test_default_limits_put_a_small_network_on_one_core_per_layer():
    net = blocks(lowered(conv_net()))
    p = partition(net, Limits.of())
    assert [(c.layer, c.neurons) for c in p.cores] == [("n0", 256), ("n1", 5)]
    conv, fc = p.cores
    assert conv.fan_in == 128 and conv.fan_out == 256  # every input reaches it; each neuron → the fc core
    assert fc.fan_in == 256 and fc.fan_out == 0
    assert conv.synapses == int(ReceptiveFields(net.blocks[0]).synapses().sum())
    assert p.chips == 1 and not p.excesses


def test_each_core_obeys_every_limit():
    net = blocks(lowered(mlp((600, 400, 300), seed=1)))
    limits = Limits(neurons_per_core=128, synaptic_memory_bits=64 * 1024, synapse_bits=8, fan_in=4096, fan_out=600,
                    cores_per_chip=120)  # fmt: skip
    p = partition(net, limits)
    assert not p.excesses
    for core in p.cores:
        assert core.neurons <= 128 and core.synapses * 8 <= 64 * 1024 and core.fan_out <= 600
    assert sum(c.neurons for c in p.cores if c.layer == "n0") == 400
    # a core's fan-out: each of its neurons counts the cores of the next layer it reaches
    next_cores = sum(1 for c in p.cores if c.layer == "n1")
    first = p.cores[0]
    assert first.fan_out <= first.neurons * next_cores


def test_a_fixed_packing_is_kept_and_what_it_exceeds_is_recorded():
    p = partition(blocks(lowered(mlp((1000, 300)))), Limits.of(packing=200))
    assert [c.neurons for c in p.cores] == [200, 100]
    (excess,) = p.excesses
    assert (excess.what, excess.cores, excess.single_neuron) == ("synaptic memory", 1, False)


def test_reports():
    p = partition(blocks(lowered(conv_net())), Limits.of())
    text = p.to_text()
    assert "2 core(s) on 1 chip(s)" in text and "n0" in text and "max fan-in" in text
    data = json.loads(p.to_json())
    assert data["chips"] == 1 and [layer["layer"] for layer in data["layers"]] == ["n0", "n1"]
    assert data["limits"]["fan_in"] == {
        "value": 4096,
        "status": "inferred",
        "source": data["limits"]["fan_in"]["source"],
    }
    assert len(data["per_core"]) == 2
