"""Which of the Neuron's mathematical switches a consumer supports, as data.

The Neuron (snnc/ir/ops.py) covers every neuron family in use through a handful of switches. A
consumer that computes it another way (a chip, an interchange format, the quantizer of a target)
supports a subset. Each consumer declares its subset once as a `NeuronFeatures` record, and
`unsupported(node, features)` lists what a given neuron uses outside it, each reason a phrase a
diagnostic can quote: the NIR writer (what a plain NIR reader computes differently), the
quantizer (what a target's number formats cannot hold) and the hardware backends' rules (what the
chip cannot run) all ask the same question the same way, as Rockpool's per-chip feature tables do.

Only the canonical neuron is judged: a library's float order (`Neuron.float_order`) changes
rounding, not behaviour, and is erased before any of these consumers (canonicalize-neuron).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snnc.ir.ops import Neuron

_ALL_RESETS = frozenset(("zero", "subtract", "none"))
_ALL_TIMINGS = frozenset(("same_step", "next_step", "next_step_state"))
_ALL_FIRE_OPS = frozenset(("ge", "gt"))
_ALL_SPIKES = frozenset(("single", "multi", "none"))

_RESET_WORDS = {"zero": "resets to v_reset", "subtract": "subtracts the threshold", "none": "does not reset"}
_SPIKE_WORDS = {
    "single": "one spike per step; {name} neurons emit counts",
    "multi": "several spikes per step; {name} spikes are 0 or 1",
    "none": "a non-spiking readout (the membrane as output); {name} neurons always spike",
}


@dataclass(frozen=True)
class NeuronFeatures:
    """The neuron switches a consumer (named `name` in messages) computes exactly.

    resets, reset_timings, fire_ops, spikes  the values of those switches it has
    leak              membranes may decay (v_decay ≠ 1); without it, integrate-and-fire only
    current           a synaptic current state (i_decay set)
    voltage_first     the current reaching the membrane a step late (input_order "voltage_first")
    v_min             a lower bound on the membrane
    late_input        a second input added after the charge (a recurrent feedback)
    bias              a constant drive (bias ≠ 0)
    v_reset           a reset value other than 0
    initial_state     a non-zero initial membrane or current
    per_neuron        parameters that differ per neuron (beyond one value per channel)
    per_channel_threshold  thresholds that differ between channels
    """

    name: str
    resets: frozenset[str] = _ALL_RESETS
    reset_timings: frozenset[str] = _ALL_TIMINGS
    fire_ops: frozenset[str] = _ALL_FIRE_OPS
    spikes: frozenset[str] = _ALL_SPIKES
    leak: bool = True
    current: bool = True
    voltage_first: bool = True
    v_min: bool = True
    late_input: bool = True
    bias: bool = True
    v_reset: bool = True
    initial_state: bool = True
    per_neuron: bool = True
    per_channel_threshold: bool = True


def _leaks(op: Neuron, decay_one: int | None) -> bool:
    if op.state_format is None:
        return bool(np.any(op.affine()[0] != 1))
    if decay_one is None:
        raise ValueError("a quantized neuron's leak is judged against its arithmetic's decay_one")
    return bool(np.any(op.v_decay != decay_one))


EVERYTHING = NeuronFeatures("the reference simulator")
"""The simulator computes every switch."""


def unsupported(
    op: Neuron, features: NeuronFeatures, *, late_input: bool = False, decay_one: int | None = None
) -> list[str]:
    """What neuron `op` (with a late input connected, if `late_input`) uses that `features` lacks,
    one phrase per switch, naming what the consumer does instead. Empty: the consumer runs it
    exactly. A library float order is ignored (it is not behaviour). A quantized neuron's decays
    are multipliers: `decay_one` (the graph's `Arithmetic.decay_one`) is the one that keeps the
    state, i.e. no leak."""
    name = features.name
    lost = []
    spiking = op.spikes != "none"
    if spiking:
        if op.fire_op not in features.fire_ops:
            other = ">" if op.fire_op == "ge" else ">="
            mine = ">=" if op.fire_op == "ge" else ">"
            lost.append(f"fires on v {mine} threshold; {name} fires on v {other} threshold")
        if op.reset not in features.resets:
            lost.append(f"{op.reset} reset; {name} {' or '.join(_RESET_WORDS[r] for r in sorted(features.resets))}")
        if op.reset_timing not in features.reset_timings:
            lost.append(f"reset timing {op.reset_timing}; {name} resets in the same step")
        if op.reset == "zero" and not features.v_reset and np.any(op.v_reset != 0):
            lost.append(f"a reset value v_reset other than 0; {name} resets to 0")
        if not features.per_channel_threshold and np.size(op.threshold) > 1 and np.ptp(op.threshold) != 0:
            lost.append(f"thresholds that differ between channels; {name} has one threshold per layer")
    if op.spikes not in features.spikes:
        lost.append(_SPIKE_WORDS[op.spikes].format(name=name))
    if not features.leak and _leaks(op, decay_one):
        lost.append(f"a leaking membrane (v_decay ≠ 1); {name} neurons integrate without leak")
    if op.has_current and not features.current:
        lost.append(f"a synaptic current state; {name} neurons have none")
    if op.has_current and op.input_order == "voltage_first" and not features.voltage_first:
        lost.append(f"the current reaches the membrane a step late; in {name} the same step")
    if op.v_min is not None and not features.v_min:
        lost.append(f"a floor v_min on the membrane; {name} has none")
    if late_input and not features.late_input:
        lost.append(f"a late input added after the charge; {name} sums every input before the neuron")
    if not features.bias and np.any(op.affine()[2] != 0):
        lost.append(f"a constant drive (bias); {name} neurons have none")
    if not features.initial_state and (np.any(op.v_init != 0) or (op.has_current and np.any(op.i_init != 0))):
        lost.append(f"a non-zero initial state; {name} starts from 0")
    if not features.per_neuron and any(a.ndim > 1 for _, a in op.params()):
        lost.append(f"parameters that differ per neuron; {name} takes one value per channel at most")
    return lost
