"""fold-bn: fold eval-mode BatchNorm into the weights, biases or neurons next to it.

Why: no neuromorphic chip has a BatchNorm unit. A BatchNorm left in the graph is a per-channel
multiply-add on real values between two layers, which makes the next synaptic layer consume real
values instead of events (SPIKE-DRIVEN) and gives the quantizer one more real-valued stage.

What it preserves: the graph's function in real arithmetic. With α = γ / sqrt(var + eps) and
β = b_bn − mean · α per channel (torch eval BatchNorm: running statistics, eps inside the square
root; torch/nn/utils/fusion.py `fuse_conv_bn_weights`, `fuse_linear_bn_weights`), y = α·x + β
moves, in this order of preference:

1. into the Linear/Conv that produces x, if nothing else reads that layer: W' = α·W,
   b' = α·b + β (per output channel), exactly as torch's fusion utilities do;
2. into every Neuron that reads y, if each has the affine charge, no current state and reads y as
   its only input: gain' = gain·α, bias' = gain·β + bias;
3. into the one Linear/Conv that reads y (through a Flatten for a Linear): W' = W·α per input
   channel, b' = b + W·β. A convolution's zero padding is not shifted by β, so with padding this
   is exact only where β = 0 on every channel; otherwise the BatchNorm stays.

A BatchNorm that fits none of these stays, with a PASS-BN-NOT-FOLDED warning naming it and saying
why for each place it could have gone. Float32 results of the folded graph round differently
(the order of multiply and add changes), so spikes agree exactly where α, β and the weights are
dyadic and the sums exact; otherwise a neuron exactly at its threshold may flip (measured in the
tests). Unlike sinabs (`merge_bn` ignores eps; docs/targets/speck.md §8), eps is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import SYNAPTIC, BatchNorm, Neuron
from snnc.passes.affine import Array, fold_into_reader, into_neuron, into_output
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, describe, rewrite_each


@dataclass(frozen=True)
class FoldBN:
    name: ClassVar[str] = "fold-bn"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(
            graph, ctx, self.name, lambda n: isinstance(n.op, BatchNorm), _fold_or_say, consumers_first=True
        )


def _fold_or_say(rw: Rewriter, node: Node) -> Outcome:
    reasons = _fold(rw, node)
    return _not_folded(node, reasons) if reasons else True


def channel_affine(op: BatchNorm) -> tuple[Array, Array]:
    """(α, β) with BatchNorm(x) = α·x + β per channel, in float32 as torch's fusion computes them
    (torch/nn/utils/fusion.py: scale = weight · rsqrt(running_var + eps))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = (op.weight * (np.float32(1) / np.sqrt(op.var + np.float32(op.eps)))).astype(np.float32)
        beta = (op.bias - op.mean * alpha).astype(np.float32)
    return alpha, beta


def _fold(rw: Rewriter, bn: Node) -> list[str]:
    """Fold `bn` at the first place that takes it exactly: [] if done, else why not, per place."""
    assert isinstance(bn.op, BatchNorm)
    alpha, beta = channel_affine(bn.op)
    if not np.isfinite(alpha).all():
        return [f"var + eps is 0 on {int((~np.isfinite(alpha)).sum())} channel(s), a division by zero"]
    reasons = []
    for attempt in (_into_producer, _into_neurons, _into_reader):
        reason = attempt(rw, bn, alpha, beta)
        if reason is None:
            return []
        reasons.append(reason)
    return reasons


def _into_producer(rw: Rewriter, bn: Node, alpha: Array, beta: Array) -> str | None:
    source = rw.node(bn.inputs[0])
    if not isinstance(source.op, SYNAPTIC):
        return f"into the layer before: {describe(source)} is not a linear or convolution layer"
    others = [u.name for u in rw.users(source.name) if u.name != bn.name]
    if others:
        return f"into the layer before: {source.name} also feeds {', '.join(others)}"
    if source.op.formats():
        return f"into the layer before: {source.name} is already quantized"
    rw.set_op(source.name, into_output(source.op, alpha, beta))
    rw.bypass(bn.name, folded_into=(source.name,))
    return None


def _into_neurons(rw: Rewriter, bn: Node, alpha: Array, beta: Array) -> str | None:
    users = rw.users(bn.name)
    problems = [p for p in (_neuron_problem(u) for u in users) if p]
    if problems or not users:
        return "into the neurons after: " + ("; ".join(problems) or "nothing reads it")
    for user in users:
        assert isinstance(user.op, Neuron)  # _neuron_problem accepts only neurons
        rw.set_op(user.name, into_neuron(user.op, bn.type.shape, alpha, beta))
    rw.bypass(bn.name, folded_into=tuple(u.name for u in users))
    return None


def _neuron_problem(user: Node) -> str | None:
    """Why `user` cannot take the batch norm into its gain and bias (None: it can)."""
    op = user.op
    if not isinstance(op, Neuron):
        return f"{describe(user)} is not a neuron"
    if len(user.inputs) > 1:
        return f"{user.name} also has a late input, which the batch norm does not scale"
    if op.float_order is not None and op.float_order.charge != "affine":
        charge = op.float_order.charge
        return f"{user.name} has the {charge!r} charge, whose float order has no gain to scale (canonicalize it first)"
    if op.has_current:
        return f"{user.name} has a current state, which would accumulate the shift β"
    if op.formats():
        return f"{user.name} is already quantized"
    return None


def _into_reader(rw: Rewriter, bn: Node, alpha: Array, beta: Array) -> str | None:
    reason = fold_into_reader(rw, bn.name, alpha, beta, record=True)
    return None if reason is None else f"into the layer after: {reason}"


def _not_folded(bn: Node, reasons: list[str]) -> Diagnostic:
    return Diagnostic(
        "PASS-BN-NOT-FOLDED",
        "batch norm not folded: " + "; ".join(reasons),
        node=bn.name,
        hint="place the BatchNorm right after a Linear/Conv that feeds nothing else, or before an "
        "unpadded one; left in place, it feeds real values to the next synaptic layer",
        severity=Severity.WARNING,
    )
