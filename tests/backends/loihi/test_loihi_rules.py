"""Every Loihi rule on a graph that breaks it, with its rule id, node and numbers; a clean
network breaks none."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from loihi_graphs import LIF, conv_net, ints, lowered, mlp

import snnc
from snnc.backends.loihi import rules
from snnc.backends.sim.spec import SIM_INT8
from snnc.diagnostics import Severity
from snnc.ir import SPIKE, Count, Crop, Delay, Elementwise, Flatten, GraphBuilder, Linear, Neuron, TensorType
from snnc.passes.base import PassContext
from snnc.passes.quantize import Quantize


def found(graph, **options):
    return [(d.rule, d.node) for d in snnc.check(graph, "loihi", **options) if d.rule.startswith("LOIHI")]


def options(**changes):
    base = {"emit": "netx", "pooling": "fold", "neurons_per_core": None, "cores_per_chip": None, "max_chips": 1}
    return SimpleNamespace(**(base | changes))


def test_a_clean_network_breaks_no_rule():
    assert found(conv_net()) == []
    assert found(mlp()) == []


def test_layer_without_a_counterpart():
    rng = np.random.default_rng(0)
    b = GraphBuilder("add")
    x = b.input("x", (6,))
    n0 = b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 6, 6)), x))
    n1 = b.add("n1", LIF, b.add("fc1", Linear(weight=ints(rng, 6, 6)), x))
    b.output("out", b.add("sum", Elementwise("add"), n0, n1))
    got = found(b.build())
    assert ("LOIHI-LAYER", "sum") in got and ("LOIHI-LAYER", "out") not in got  # out only waits on sum


def test_layers_after_a_refused_node_are_counted_in_its_error_not_reported_each():
    """A crop (a Speck DVS feature) in front of two dense layers: one LOIHI-LAYER, on the crop,
    saying what waits on it, instead of one error per node downstream."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("cropped")
    x = b.add("crop", Crop(0, 2, 0, 2), b.input("x", (1, 4, 4)))
    x = b.add("fc0", Linear(weight=ints(rng, 6, 4)), b.add("flat", Flatten(), x))
    x = b.add("n1", LIF, b.add("fc1", Linear(weight=ints(rng, 3, 6)), b.add("n0", LIF, x)))
    b.output("out", x)
    problems = [d for d in snnc.check(b.build(), "loihi") if d.rule == "LOIHI-LAYER"]
    assert [d.node for d in problems] == ["crop"]
    assert problems[0].message.endswith("(5 nodes after it wait on it, unchecked)")  # fc0 n0 fc1 n1 out


def test_a_synapse_without_a_neuron():
    rng = np.random.default_rng(0)
    b = GraphBuilder("readout")
    b.output(
        "out",
        b.add(
            "fc1",
            Linear(weight=ints(rng, 3, 6)),
            b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 6, 4)), b.input("x", (4,)))),
        ),
    )
    got = found(b.build())
    assert ("LOIHI-LAYER", "fc1") in got


def test_a_branch_is_not_a_netx_chain_but_lava_processes_hold_it():
    rng = np.random.default_rng(0)
    b = GraphBuilder("branch")
    n0 = b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 6, 4)), b.input("x", (4,))))
    b.output("a", b.add("n1", LIF, b.add("fc1", Linear(weight=ints(rng, 3, 6)), n0)))
    b.output("b", b.add("n2", LIF, b.add("fc2", Linear(weight=ints(rng, 3, 6)), n0)))
    g = b.build()
    assert found(g) == [("LOIHI-NETX-LAYER", "n2")]
    assert found(g, emit="lava") == []


def test_netx_weights_it_would_change():
    """All weights ≤ 0 with one at −128: NetX encodes them mixed (×2 → −256), Lava's Dense then
    sees them inhibitory and clips −256 to −255 (docs/targets/netx.md §4)."""
    b = GraphBuilder("inhibitory")
    w = -np.eye(4, dtype=np.float32)
    b.output("out", b.add("n0", LIF, b.add("fc0", Linear(weight=w), b.input("x", (4,)))))
    g = b.build()
    assert lowered(g).node("fc0").op.weight.min() == -128
    assert found(g) == [("LOIHI-NETX-WEIGHTS", "fc0")]
    assert found(g, emit="lava") == []


@pytest.mark.parametrize(
    ("neuron", "rule"),
    [
        (Neuron(threshold=2.0, reset="subtract", fire_op="gt"), "LOIHI-RESET"),
        (Neuron(threshold=2.0, reset="zero", v_reset=0.5, fire_op="gt"), "LOIHI-RESET"),
        (Neuron(threshold=2.0, reset="zero", reset_timing="next_step", fire_op="gt"), "LOIHI-RESET-TIMING"),
        (Neuron(threshold=2.0, reset="zero", v_decay=0.5), "LOIHI-FIRE-OP"),
        (Neuron(threshold=2.0, reset="zero", fire_op="gt", spikes="multi", max_spikes=3), "LOIHI-SPIKES"),
        (
            Neuron(threshold=2.0, reset="zero", fire_op="gt", i_decay=0.5, input_order="voltage_first"),
            "LOIHI-CURRENT-ORDER",
        ),
        (Neuron(threshold=2.0, reset="zero", fire_op="gt", v_min=-1.0), "LOIHI-V-MIN"),
        (Neuron(threshold=2.0, reset="zero", fire_op="gt", v_init=0.5), "LOIHI-INITIAL-STATE"),
        (Neuron(threshold=np.array([1.0, 2.0, 1.0, 2.0], np.float32), reset="zero", fire_op="gt"), "LOIHI-PER-LAYER"),
    ],
    ids=[
        "subtract",
        "reset-value",
        "next-step",
        "ge-leaky",
        "multi",
        "voltage-first",
        "v-min",
        "v-init",
        "per-channel",
    ],
)
def test_what_lava_s_lif_cannot_express(neuron, rule):
    got = found(conv_net(neuron))
    assert (rule, "n0") in got and all(r == rule for r, _ in got), got


def test_a_gain_that_varies_per_neuron_in_a_convolution():
    gain = np.ones((4, 8, 8), np.float32)
    gain[:, :4] = 2.0
    got = found(conv_net(Neuron(threshold=2.0, reset="zero", fire_op="gt", gain=gain)))
    assert ("LOIHI-GAIN", "n0") in got


def test_weights_that_are_not_8_bit_integers():
    g = lowered(conv_net())
    assert list(rules.check_weight_width(g, options())) == []
    wide = g.with_nodes(n.replace(op=n.op.replace(weight=n.op.weight * 3)) if n.name == "fc" else n for n in g)
    (d,) = rules.check_weight_width(wide, options())
    assert (d.rule, d.node) == ("LOIHI-WEIGHT-WIDTH", "fc") and d.limit == [-128, 127]


def test_states_of_another_target_and_biases_netx_cannot_hold():
    sim = Quantize(SIM_INT8)(conv_net(), PassContext())
    (d,) = rules.check_state_width(sim, options())
    assert d.rule == "LOIHI-STATE-WIDTH" and "sim-int8" in d.message
    biased = lowered(conv_net(Neuron(threshold=2.0, reset="zero", fire_op="gt", bias=np.float32(0.01))), emit="lava")
    assert list(rules.check_state_width(biased, options(emit="lava"))) == []
    (d,) = rules.check_state_width(biased, options(emit="netx"))  # bias_exp 6 only in a NetX file
    assert (d.rule, d.node) == ("LOIHI-STATE-WIDTH", "n0") and "bias" in d.message


def test_a_delay_beyond_the_delay_field():
    rng = np.random.default_rng(0)
    b = GraphBuilder("delayed")
    n0 = b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 6, 4)), b.input("x", (4,))))
    b.output("out", b.add("n1", LIF, b.add("fc1", Linear(weight=ints(rng, 3, 6)), b.add("d", Delay(70), n0))))
    assert found(b.build()) == [("LOIHI-DELAY", "d")]


def test_graded_input_wider_than_lava_s_messages():
    rng = np.random.default_rng(0)
    b = GraphBuilder("counts")
    b.output("out", b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 3, 4)), b.input("x", (4,), Count(None)))))
    assert found(b.build()) == [("LOIHI-GRADED-BITS", "fc0")]


def test_more_neurons_on_a_core_than_it_holds():
    got = found(mlp((4, 9000)), neurons_per_core=9000)
    assert ("LOIHI-NEURONS-PER-CORE", "n0") in got


def test_synapses_beyond_a_core_s_memory():
    got = found(mlp((1000, 300)), neurons_per_core=200)  # 200 · 1000 synapses · 8 bits > 128 KB
    assert ("LOIHI-SYNAPSE-MEMORY", "n0") in got


def test_a_neuron_reading_more_inputs_than_a_core_has_axons():
    (d,) = [d for d in snnc.check(mlp((5000, 2)), "loihi") if d.rule.startswith("LOIHI")]
    assert (d.rule, d.node, d.limit) == ("LOIHI-FAN-IN", "n0", 4096) and d.measured > 4096  # its non-zero weights
    assert "one neuron alone" in d.message


def test_a_core_sending_to_more_cores_than_it_has_axons():
    got = found(mlp((10, 100, 5000)), neurons_per_core=100)  # 100 neurons × 50 destination cores
    assert ("LOIHI-FAN-OUT", "n0") in got


def test_a_layer_larger_than_a_chip_and_a_network_larger_than_allowed():
    diagnostics = snnc.check(mlp((4, 30)), "loihi", neurons_per_core=10, cores_per_chip=2, max_chips=1)
    spread = [d for d in diagnostics if d.rule == "LOIHI-CORES-PER-CHIP"]
    chips = [d for d in diagnostics if d.rule == "LOIHI-CHIPS"]
    assert [(d.node, d.severity, d.measured) for d in spread] == [("n0", Severity.WARNING, 3)]
    assert [(d.measured, d.limit) for d in chips] == [(2, 1)]  # 3 cores on 2-core chips


def test_a_delay_built_before_its_source_is_still_a_dense_delay():
    """GraphBuilder lets a Delay and its readers come first (`delay`, then `connect`); the
    simulator's order then evaluates them before the Delay's source. The blocks follow the data."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("delay-first")
    d = b.delay("d", 2, TensorType((6,), SPIKE))
    b.output("out", b.add("n1", LIF, b.add("fc1", Linear(weight=ints(rng, 3, 6)), d)))
    n0 = b.add("n0", LIF, b.add("fc0", Linear(weight=ints(rng, 6, 4)), b.input("x", (4,))))
    b.connect(d, n0)
    g = b.build()
    order = [n.name for n in g.order]
    assert order.index("n1") < order.index("n0")
    assert found(g) == []
