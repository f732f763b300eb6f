"""absorb-scale: move a per-channel Scale into the layer or the neurons that read it.

Why: chips have no multiplier between layers. A constant scaling (a converter's normalisation,
or the 1/k² left by avgpool-to-sumpool) must disappear into numbers the chip does hold: the next
layer's weights, or the next neurons' thresholds (Speck's IAF and Loihi's LIF have no input gain;
docs/targets/speck.md §2.3 does the same for average pooling, scaling the next weights).

What it preserves: spikes, exactly in real arithmetic. A Scale s (scalar or one factor per
channel) goes, in this order:

1. into the one Linear/Conv that reads it (through a Flatten for a Linear): W' = W·s per input
   channel. Exact for any sign, and a convolution's zero padding stays zero (0·s = 0);
2. into every Neuron that reads it as its only input, if s > 0 everywhere: the neuron fed x
   behaves as the old one fed s·x when every quantity in membrane units (threshold, bias, v_rest,
   v_reset, v_init, v_min, i_init) is divided by s — v and i are then s times smaller at every
   step, and firing compares, resetting and clamping add, quantities in the same units.

A negative or zero factor cannot go into a threshold (it would flip or void the comparison):
PASS-SCALE-NOT-POSITIVE, naming the node and the smallest factor. A Scale that fits neither place
stays with PASS-SCALE-NOT-ABSORBED. In float32, dividing by s rounds unless s is a power of two,
and scaled weights change the rounding of sums; with power-of-two factors and exact sums spikes
are bit-identical, otherwise a neuron exactly at its threshold may flip (measured in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Neuron, Scale
from snnc.passes.affine import divide_voltages, fold_into_reader
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, describe, rewrite_each


@dataclass(frozen=True)
class AbsorbScale:
    name: ClassVar[str] = "absorb-scale"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, lambda n: isinstance(n.op, Scale), _absorb, consumers_first=True)


def _absorb(rw: Rewriter, node: Node) -> Outcome:
    """Absorb the Scale `node` into the layer or the neurons reading it, else say why not."""
    assert isinstance(node.op, Scale)  # selected by the pass
    factor = node.op.factor
    into_layer = fold_into_reader(rw, node.name, factor, None)
    if into_layer is None:
        return True
    users = rw.users(node.name)
    problems = [p for p in (_neuron_problem(u) for u in users) if p] or ([] if users else ["nothing reads it"])
    if problems:
        return Diagnostic(
            "PASS-SCALE-NOT-ABSORBED",
            f"scale not absorbed: into the layer after: {into_layer}; into the neurons after: {'; '.join(problems)}",
            node=node.name,
            hint="a Scale is absorbed by the Linear/Conv or the neurons reading it; move it there",
            severity=Severity.WARNING,
        )
    if (factor <= 0).any():
        low = float(factor.min())
        return Diagnostic(
            "PASS-SCALE-NOT-POSITIVE",
            f"scale factor {low:g} <= 0 feeds neurons: dividing their thresholds by it would flip or void the "
            f"firing comparison ({int((factor <= 0).sum())} of {factor.size} factor(s) are <= 0)",
            node=node.name,
            hint="fold the sign into the weights before the scale, or retrain with positive factors",
            severity=Severity.WARNING,
            measured=low,
            limit="> 0",
        )
    for user in users:
        assert isinstance(user.op, Neuron)  # _neuron_problem accepts only neurons
        rw.set_op(user.name, divide_voltages(user.op, node.type.shape, factor))
    rw.bypass(node.name)
    return True


def _neuron_problem(user: Node) -> str | None:
    """Why `user` cannot take the scale into its voltages (None: it can)."""
    if not isinstance(user.op, Neuron):
        return f"{describe(user)} is not a neuron"
    if len(user.inputs) > 1:
        return f"{user.name} has a late input, which is not scaled"
    if user.op.formats():
        return f"{user.name} is already quantized"
    return None
