"""canonicalize-neuron: every Neuron in the canonical float order (`Neuron.canonical()`).

Why: a frontend keeps the source library's float evaluation order of each neuron's charge and
current (`Neuron.float_order`: SpikingJelly's h = v + (x − (v − E))/τ, sinabs' a·(i + x), Norse's
Euler current), so that the simulator reproduces the library's float32 results bit for bit.
That order is about rounding, not behaviour; everything that computes in another arithmetic
(quantization, the chips, NIR) needs only the neuron's mathematics. This pass states it in the
one canonical form, h = v_decay·u + gain·I + bias and i = i_decay·i + x, so no later pass or
backend has to know any library's order, and a BatchNorm or scale before a LIF then folds into it.

What it preserves: the function in real arithmetic, exactly (the canonical parameters are the
library's leak, gain and rest folded as `Neuron.canonical()` documents). In float32 the new
order rounds differently, so membranes may differ in the last bits and a spike sitting exactly on
a threshold may flip; the tests measure how often on random neurons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Neuron
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Rewriter, rewrite_each


@dataclass(frozen=True)
class CanonicalizeNeuron:
    name: ClassVar[str] = "canonicalize-neuron"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, _has_float_order, _canonicalize)


def _has_float_order(node: Node) -> bool:
    return isinstance(node.op, Neuron) and node.op.float_order is not None


def _canonicalize(rw: Rewriter, node: Node) -> Outcome:
    assert isinstance(node.op, Neuron)  # selected by _has_float_order
    rw.set_op(node.name, node.op.canonical())
    return True
