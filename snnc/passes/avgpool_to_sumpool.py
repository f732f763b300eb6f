"""avgpool-to-sumpool: AvgPool2d → SumPool2d followed by Scale(1/(kh·kw)).

Why: event hardware pools by adding events (Speck's sum pooling per destination,
docs/targets/speck.md §2.3); a division by the window area is a real-valued multiply no
core performs. sinabs does the same split and multiplies the next layer's weights by 1/(kh·kw)
(`dynapcnn_layer_utils.py::extract_pooling_from_module`); here the Scale is left for
absorb-scale to move into the next weights or thresholds.

What it preserves: the pooled values, exactly in real arithmetic, where every window divides by
the full area kh·kw. torch's avg_pool2d divides a window by fewer elements in two cases, and
then no single scale is exact, so the pool stays with PASS-AVGPOOL-NOT-CONVERTED:
- padding with count_include_pad=False (border windows count only the real elements);
- ceil_mode where a last window overhangs the padded input (torch clips it to the padded size).
In float32, the sum pool (sinabs' order, fl(fl(Σ/a)·a)) times fl(1/a) equals fl(Σ/a) when the area
is a power of two and the sums are exact (events); otherwise values differ by a few ulps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import AvgPool2d, Scale, infer_type
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, rewrite_each, sum_pool


@dataclass(frozen=True)
class AvgpoolToSumpool:
    name: ClassVar[str] = "avgpool-to-sumpool"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, lambda n: isinstance(n.op, AvgPool2d), _lower)


def _lower(rw: Rewriter, node: Node) -> Outcome:
    assert isinstance(node.op, AvgPool2d)  # selected by the pass
    problem = _uneven_windows(rw, node.op, node)
    if problem:
        return Diagnostic(
            "PASS-AVGPOOL-NOT-CONVERTED",
            f"average pool not turned into a sum pool: {problem}, so no single factor 1/(kh·kw) is exact",
            node=node.name,
            hint="use padding 0 (or count_include_pad=True) and ceil_mode=False",
            severity=Severity.WARNING,
        )
    op = node.op
    rw.set_op(node.name, sum_pool(op))
    area = op.kernel[0] * op.kernel[1]
    factor = np.asarray(np.float32(1) / np.float32(area))
    scale = rw.insert_after(node.name, f"{node.name}.scale", Scale(factor), node.name)
    rw.redirect(node.name, scale)
    return True


def _uneven_windows(rw: Rewriter, op: AvgPool2d, node: Node) -> str | None:
    """Why some window of the pool `op` of `node` divides by less than kh·kw (None: none does)."""
    if any(op.padding) and not op.count_include_pad:
        return f"padding {op.padding} with count_include_pad=False divides border windows by fewer elements"
    inputs = rw.input_types(node)
    if op.ceil_mode and infer_type(op.replace(ceil_mode=False), inputs) != node.type:
        return f"ceil_mode adds last windows that overhang the padded input ({inputs[0]})"
    return None
