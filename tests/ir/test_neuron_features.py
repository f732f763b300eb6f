"""NeuronFeatures and `unsupported`: one switch outside a consumer's features gives exactly one
reason, naming the consumer; everything inside gives none."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.ir import FloatOrder, Neuron, NumberFormat
from snnc.ir.neuron_features import NeuronFeatures, unsupported

NOTHING = NeuronFeatures(
    "chip",
    resets=frozenset({"zero"}),
    reset_timings=frozenset({"same_step"}),
    fire_ops=frozenset({"gt"}),
    spikes=frozenset({"single"}),
    leak=False,
    current=False,
    voltage_first=False,
    v_min=False,
    late_input=False,
    bias=False,
    v_reset=False,
    initial_state=False,
    per_neuron=False,
    per_channel_threshold=False,
)
PLAIN = Neuron(threshold=1.0, reset="zero", fire_op="gt")


@pytest.mark.parametrize(
    ("changes", "late", "words"),
    [
        ({"fire_op": "ge"}, False, "fires on v >= threshold; chip fires on v > threshold"),
        ({"reset": "subtract"}, False, "subtract reset; chip resets to v_reset"),
        ({"reset_timing": "next_step"}, False, "reset timing next_step"),
        ({"spikes": "multi", "max_spikes": 2}, False, "several spikes per step"),
        ({"v_decay": 0.5}, False, "leaking membrane"),
        ({"i_decay": 0.5}, False, "synaptic current"),
        ({"v_min": -1.0}, False, "v_min"),
        ({}, True, "late input"),
        ({"bias": 0.25}, False, "constant drive"),
        ({"v_reset": -0.5}, False, "v_reset other than 0"),
        ({"v_init": 0.5}, False, "non-zero initial state"),
        ({"threshold": np.ones((2, 3, 3))}, False, "differ per neuron"),
        ({"threshold": np.array([1.0, 2.0])}, False, "thresholds that differ between channels"),
    ],
)
def test_each_switch_outside_the_features_is_one_reason(changes, late, words):
    assert unsupported(PLAIN, NOTHING) == []
    reasons = unsupported(PLAIN.replace(**changes), NOTHING, late_input=late)
    assert len(reasons) == 1 and words in reasons[0], reasons


def test_a_float_order_is_not_behaviour_but_its_leak_is():
    """A delta charge with k = 1/2 and E = 0 leaks (a_v = 1/2) without a drive (k·E = 0); an
    affine charge whose current is ordered the sinabs way, without a current, is plain IF."""
    delta = PLAIN.replace(float_order=FloatOrder("delta", rate=0.5))
    assert unsupported(delta, NOTHING) == ["a leaking membrane (v_decay ≠ 1); chip neurons integrate without leak"]
    assert unsupported(PLAIN.replace(float_order=FloatOrder(current="decay_after")), NOTHING) == []


def test_a_quantized_neuron_leaks_against_its_arithmetic():
    q = Neuron(threshold=64, v_decay=4096, state_format=NumberFormat(24))
    assert unsupported(q, NeuronFeatures("c", leak=False), decay_one=4096) == []
    assert len(unsupported(q.replace(v_decay=2048), NeuronFeatures("c", leak=False), decay_one=4096)) == 1
    with pytest.raises(ValueError):
        unsupported(q, NeuronFeatures("c", leak=False))
