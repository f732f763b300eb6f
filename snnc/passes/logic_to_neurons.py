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

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import LOGIC_KINDS, Elementwise, ElementwiseKind
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, rewrite_each, threshold_neuron

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
        return rewrite_each(graph, ctx, self.name, _is_logic, _as_sum)


def _is_logic(node: Node) -> bool:
    return isinstance(node.op, Elementwise) and node.op.fn in LOGIC_KINDS


def _as_sum(rw: Rewriter, node: Node) -> Outcome:
    logic = node.op
    assert isinstance(logic, Elementwise)  # selected by _is_logic
    fn, swap, threshold = _AS_SUM[logic.fn]
    a, b = node.inputs
    rw.set_op(node.name, Elementwise(fn))
    rw.set_inputs(node.name, *((b, a) if swap else (a, b)))
    fire = rw.insert_after(node.name, f"{node.name}.{logic.fn}", threshold_neuron(threshold), node.name)
    rw.redirect(node.name, fire)
    return True
