"""consolidate-pool-scales: the factors average pooling leaves behind travel to the next synaptic
layer, combined as sinabs combines them.

Why: on Speck, pooling is an address remap of events and a merge interleaves two event streams;
no core multiplies events (docs/targets/speck.md §2.3, §4). avgpool-to-sumpool leaves a Scale
1/(kh·kw) after each sum pool, which absorb-scale can move only into a layer or neuron reading it
directly. sinabs multiplies the factors of chained pools (`dynapcnn_layer_utils.py::
consolidate_dest_pooling`: cumulative_scaling) and gives each layer one factor for its weights;
where inputs with different factors merge into one layer it calls its rescale function, by default
`weight_rescaling_methods.py::rescale_method_1`: round(mean(distinct factors) · 0.5, 2)
(`dynapcnn_layer_utils.py::consolidate_layer_scaling`; speck.md §2.3, §8: 0.31 for {1/4, 1}).

How, until nothing moves:
- a Scale read only by a sum pool moves after it (Σ s·x = s·Σ x, per channel too); a scalar Scale
  read only by a flatten or reshape moves after it; two Scales in a row become one;
- at an add whose inputs carry scalar Scales (a missing Scale is the factor 1): one factor moves
  after the add; different factors become sinabs' rescale after it, with PASS-MERGE-RESCALE.
absorb-scale then moves each Scale into the layer that reads it.

What it preserves: every value, exactly in real arithmetic, except at a merge of different factors,
where sinabs' rescale is an approximation by design (one set of weights reads both inputs) and is
reported. In float32 a product of factors rounds once more (exact for powers of two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Elementwise, Flatten, Reshape, Scale, SumPool2d
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Rewriter

LAMBDA = 0.5  # rescale_method_1's default lambda_ (weight_rescaling_methods.py)


@dataclass(frozen=True)
class ConsolidatePoolScales:
    name: ClassVar[str] = "consolidate-pool-scales"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        rw = Rewriter(graph)
        moves = 0
        while _move_one(rw, ctx):
            moves += 1
        if not moves:
            return graph
        ctx.count(self.name, moves)
        return rw.build()


def _move_one(rw: Rewriter, ctx: PassContext) -> bool:
    """Make the first possible move; False when there is none."""
    for node in rw.nodes():
        if isinstance(node.op, Scale) and _through_next(rw, node):
            return True
        if isinstance(node.op, Elementwise) and node.op.fn == "add" and _through_add(rw, node, ctx):
            return True
    return False


def _scalar(node: Node) -> bool:
    return _factor(node) is not None


def _factor(node: Node) -> float | None:
    """The factor of a Scale with one factor for all channels; None for anything else."""
    op = node.op
    return float(op.factor) if isinstance(op, Scale) and np.ndim(op.factor) == 0 else None


def _through_next(rw: Rewriter, scale: Node) -> bool:
    users = rw.users(scale.name)
    if len(users) != 1:
        return False
    (user,) = users
    factor, after = scale.op, _factor(user)
    assert isinstance(factor, Scale)  # the caller selected a Scale
    if after is not None:  # s1 then s2: one Scale s1·s2
        rw.set_op(user.name, Scale(np.asarray(np.asarray(factor.factor, np.float64) * after, np.float32)))
        rw.bypass(scale.name)
        return True
    if isinstance(user.op, SumPool2d) or (_scalar(scale) and isinstance(user.op, (Flatten, Reshape))):
        (source,) = scale.inputs
        rw.set_inputs(user.name, source)
        rw.redirect(user.name, scale.name, keep=(scale.name,))
        rw.set_inputs(scale.name, user.name)
        return True
    return False


def _through_add(rw: Rewriter, add: Node, ctx: PassContext) -> bool:
    inputs = [rw.node(i) for i in add.inputs]
    if not any(isinstance(n.op, Scale) for n in inputs):
        return False
    if not all(_scalar(n) or not isinstance(n.op, Scale) for n in inputs):
        return False  # a per-channel Scale stays for absorb-scale to report
    factors = [1.0 if (f := _factor(n)) is None else f for n in inputs]
    distinct = sorted(set(factors))
    factor = distinct[0] if len(distinct) == 1 else round(float(np.mean(distinct)) * LAMBDA, 2)
    for n in inputs:
        if _scalar(n):
            rw.set_inputs(add.name, *(n.inputs[0] if i == n.name else i for i in rw.node(add.name).inputs))
            if not rw.users(n.name):
                rw.remove(n.name)
    after = rw.insert_after(add.name, f"{add.name}.scale", Scale(np.asarray(factor, np.float32)), add.name)
    rw.redirect(add.name, after, keep=(after,))
    if len(distinct) > 1:
        ctx.emit(
            Diagnostic(
                "PASS-MERGE-RESCALE",
                f"this merge adds events whose average pooling differs per input (factors "
                f"{', '.join(f'{f:g}' for f in factors)}); one set of weights reads them all, so the next layer is "
                f"scaled by sinabs' rescale round(mean({', '.join(f'{f:g}' for f in distinct)})·{LAMBDA}, 2) = "
                f"{factor:g} (weight_rescaling_methods.py::rescale_method_1), which is not exact",
                node=add.name,
                hint="use sum pooling (sinabs SumPool2d) before the merge, or the same pooling on every input",
                severity=Severity.WARNING,
                measured=factors,
                limit=factor,
            )
        )
    return True
