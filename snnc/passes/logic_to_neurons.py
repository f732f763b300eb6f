"""logic-to-neurons: Elementwise and/or/iand of spikes → an add (or subtract) and a stateless neuron.

Why: SpikingJelly's SEW ResNet joins branches with AND or IAND (and OR appears in spike logic),
but neuromorphic cores only add weighted events and fire. Each logic op of two spike tensors is a
threshold on their sum or difference, computed by a neuron that keeps no state (h = 0·v + x):

    and(a, b)  = fire(a + b ≥ 2)
    or(a, b)   = fire(a + b ≥ 1)
    iand(a, b) = fire(b − a ≥ 1)     ((not a) and b; a is the block's residual branch)

What it preserves: the output spikes, exactly: on {0, 1} inputs the sums and differences are the
small integers −1..2, exact in every arithmetic. On a chip the add or subtract is the neuron's two
synaptic inputs with weights ±1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.ir.graph import Graph
from snnc.ir.ops import LOGIC_KINDS, Elementwise, ElementwiseKind
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Rewriter, threshold_neuron

# fn → (arithmetic on (a, b), whether the inputs swap to compute b − a, threshold)
_AS_SUM: dict[str, tuple[ElementwiseKind, bool, float]] = {
    "and": ("add", False, 2.0),
    "or": ("add", False, 1.0),
    "iand": ("sub", True, 1.0),
}


@dataclass(frozen=True)
class LogicToNeurons:
    name: ClassVar[str] = "logic-to-neurons"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        rw = Rewriter(graph)
        converted = 0
        for node in graph.nodes:
            if not (isinstance(node.op, Elementwise) and node.op.fn in LOGIC_KINDS):
                continue
            fn, swap, threshold = _AS_SUM[node.op.fn]
            a, b = node.inputs
            rw.set_op(node.name, Elementwise(fn))
            rw.set_inputs(node.name, *((b, a) if swap else (a, b)))
            fire = rw.insert_after(node.name, f"{node.name}.{node.op.fn}", threshold_neuron(threshold), node.name)
            rw.redirect(node.name, fire)
            converted += 1
        if not converted:
            return graph
        ctx.count(self.name, converted)
        return rw.build()
