"""maxpool-to-or: MaxPool2d on spikes → SumPool2d followed by a stateless threshold-1 neuron.

Why: a max over a window of spikes is an OR (any spike in the window), but event hardware has no
max unit: it adds events (Speck's sum pooling, docs/targets/speck.md §2.3) and fires
neurons. The OR is the sum of the window's spikes compared with 1, by a neuron that forgets:
h = 0·v + Σ, s = (h ≥ 1), v reset to 0 — no state carries from one step to the next.

What it preserves: the output spikes, exactly, for {0, 1} inputs (torch pads max pooling with
−inf and sum pooling with 0, so padded and ceil-mode windows agree too). A max over counts or
real values is not an OR, so those pools stay with PASS-MAXPOOL-NOT-CONVERTED, as does a window so
large that the simulator's float sum pool rounds one spike below 1: sinabs' order fl(fl(1/a)·a)
gives 0.99999994 for an area a of 41 (the integer simulation and the chips sum exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import MaxPool2d
from snnc.ir.types import Spike
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, rewrite_each, sum_pool, threshold_neuron


@dataclass(frozen=True)
class MaxpoolToOr:
    name: ClassVar[str] = "maxpool-to-or"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, lambda n: isinstance(n.op, MaxPool2d), _lower)


def _lower(rw: Rewriter, node: Node) -> Outcome:
    assert isinstance(node.op, MaxPool2d)  # selected by the pass
    problem = _not_an_or(rw, node.op, node)
    if problem:
        return Diagnostic(
            "PASS-MAXPOOL-NOT-CONVERTED",
            f"max pool not turned into an OR: {problem}",
            node=node.name,
            hint="max pooling maps to event hardware only on spike inputs; place it after a neuron",
            severity=Severity.WARNING,
        )
    rw.set_op(node.name, sum_pool(node.op))
    fire = rw.insert_after(node.name, f"{node.name}.or", threshold_neuron(1.0), node.name)
    rw.redirect(node.name, fire)
    return True


def _not_an_or(rw: Rewriter, op: MaxPool2d, node: Node) -> str | None:
    (x,) = rw.input_types(node)
    if not isinstance(x.dtype, Spike):
        return f"its input is {x}, not spikes, and a max of those is not an OR"
    area = np.float32(op.kernel[0] * op.kernel[1])
    one = (np.float32(1) / area) * area  # the simulator's float sum pool of a single spike
    if one < 1:
        return f"the float sum of one spike over a {op.kernel} window rounds to {one!r}, below the threshold 1"
    return None
