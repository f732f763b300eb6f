"""sumpool-to-conv: a SumPool2d whose readers are all neurons becomes a depthwise Conv2d of ones.

Why: a chip whose layers are synapses feeding neurons (Loihi: a Lava Conv into a LIF, NetX's
`conv` block, docs/targets/netx.md §2) has no pooling unit; a sum over each window is a
convolution with groups = channels and a kernel of ones, over the same windows. Max pooling of
spikes reaches this form through maxpool-to-or (a sum pool read by an OR neuron).

What it preserves: the pooled sums, exactly (both pad with zeros; the ones are exact in any
arithmetic), and so the neurons' spikes. A pool with ceil_mode whose last window overhangs the
input has no convolution of the same output size and stays, with PASS-SUMPOOL-NOT-CONVERTED, as
does a pool read by anything but neurons (a synaptic layer folds it instead: fold-sumpool).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Conv2d, Neuron, SumPool2d, infer_type
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, describe, rewrite_each


@dataclass(frozen=True)
class SumpoolToConv:
    name: ClassVar[str] = "sumpool-to-conv"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, lambda n: _read_by_neurons(graph, n), _convert)


def _read_by_neurons(graph: Graph, node: Node) -> bool:
    """A sum pool whose readers are all neurons (a pool read by a synapse is fold-sumpool's case)."""
    readers = graph.users(node.name)
    return isinstance(node.op, SumPool2d) and bool(readers) and all(isinstance(u.op, Neuron) for u in readers)


def _convert(rw: Rewriter, node: Node) -> Outcome:
    assert isinstance(node.op, SumPool2d)  # selected by the pass
    (x,) = rw.input_types(node)
    conv = as_conv(node.op, x.channels)
    if infer_type(conv, [x]).shape != node.type.shape:
        return Diagnostic(
            "PASS-SUMPOOL-NOT-CONVERTED",
            f"sum pool feeding {', '.join(describe(u) for u in rw.users(node.name))} not turned into a "
            f"convolution: its ceil_mode windows give {node.type.shape}, which no convolution does",
            node=node.name,
            hint="use ceil_mode=False, or an input size the windows divide",
            severity=Severity.WARNING,
        )
    rw.set_op(node.name, conv)
    return True


def as_conv(pool: SumPool2d, channels: int) -> Conv2d:
    """The depthwise convolution of ones over `pool`'s windows."""
    weight = np.ones((channels, 1, *pool.kernel), np.float32)
    return Conv2d(weight=weight, stride=pool.stride or pool.kernel, padding=pool.padding, groups=channels)
