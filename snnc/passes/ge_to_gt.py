"""ge-to-gt: a quantized neuron that fires on h ≥ θ fires on h > θ − g instead, where every
value its state can take is a multiple of g.

Why: Lava's LIF and Loihi fire strictly above the threshold, v > vth·2^6 (docs/targets/loihi.md
§7.1), while SpikingJelly, sinabs and snnc's OR neurons fire on h ≥ θ. For integers, h ≥ θ and
h > θ − 1 are the same test, but Loihi's threshold has steps of 2^6. Its state does too, in the
common case: the input enters as a_in·2^6 (the neuron's gain), biases are multiples of 2^6 in a
NetX file, and a decay that keeps or forgets the state (multiplier 2^k or 0) adds no remainder.
Then h lies on the lattice gℤ, g the largest power of two dividing the gain, bias, initial and
reset values and θ, and h ≥ θ ⇔ h > θ − g, a threshold the target holds.

What it preserves: the spikes, exactly, while the voltage stays inside its register (a wrap of a
power-of-two register keeps the lattice; a saturated value leaves it: Lava's v saturates at
±(2^23 − 1)). A neuron is left as it is where a decay multiplies (0 < m < 2^k: the truncated
product has no common step), where the lattice step is 1, or where θ − g is not a threshold the
graph's format holds, and where a subtractive reset uses θ itself; the target's check then reports
its `ge` (LOIHI-FIRE-OP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Neuron
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, rewrite_each


@dataclass(frozen=True)
class GeToGt:
    name: ClassVar[str] = "ge-to-gt"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        arith = graph.arithmetic
        if arith is None:  # a float graph: ≥ and > differ only on ties, which quantization decides
            return graph

        def candidate(node: Node) -> bool:
            op = node.op
            # a subtractive reset subtracts θ itself: a lower θ would change it
            return isinstance(op, Neuron) and op.fire_op == "ge" and op.spikes == "single" and op.reset != "subtract"

        def shift(rw: Rewriter, node: Node) -> Outcome:
            op = node.op
            assert isinstance(op, Neuron)  # selected by the pass
            step = lattice_step(op, arith.decay_one)
            lowered = np.asarray(op.threshold, np.int64) - step
            if step <= 1 or not (arith.threshold.representable(lowered).all() and (lowered >= 0).all()):
                return False  # left for the target's check to report
            rw.set_op(node.name, op.replace(fire_op="gt", threshold=lowered))
            return True

        return rewrite_each(graph, ctx, self.name, candidate, shift)


def lattice_step(op: Neuron, decay_one: int) -> int:
    """The largest power of two g such that every h of this quantized neuron is a multiple of g
    (before any saturation), or 1 if a decay multiplies."""
    decays = [op.v_decay] + ([op.i_decay] if op.i_decay is not None else [])
    if any(not np.isin(np.asarray(m), (0, decay_one)).all() for m in decays):
        return 1
    values = [op.gain, op.bias, op.v_init, op.threshold]
    if op.has_current:
        values.append(op.i_init)
    if op.reset == "zero":
        values.append(op.v_reset)
    if op.v_min is not None:
        values.append(op.v_min)
    g = 0
    for v in values:
        for item in np.unique(np.asarray(v, np.int64)):
            g = math.gcd(g, int(item))
    if g == 0:
        return 1
    return g & -g  # its largest power-of-two factor: wraps of 2^b-bit registers keep multiples of it
