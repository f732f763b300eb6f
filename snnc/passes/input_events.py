"""input-events: a real-valued graph input is declared as event counts.

Why: an event chip's input is events: DVS pixels or host-sent spikes, each addressed to one input
neuron, several in one time step standing for a count (Speck: docs/targets/speck.md §2.5, §4). A
model loaded without saying what its input holds gets a float input (`snnc.load`'s default), which
the quantizer would refuse as real-valued on a target that takes no real data. This pass says what
the chip does: each input value is a number of events. An input already typed spike, count or
integer is left alone.

What it preserves: every output, for inputs holding non-negative integers (event counts), which is
all a chip can be given; the simulator refuses other data for a count input (SIM-INPUT-*). One
info diagnostic per retyped input says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph
from snnc.ir.ops import Input, Op
from snnc.ir.types import Count, Float
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Rewriter


@dataclass(frozen=True)
class InputEvents:
    name: ClassVar[str] = "input-events"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        real = [n for n in graph.inputs if isinstance(n.type.dtype, Float) and _unquantized(n.op)]
        if not real:
            return graph
        rw = Rewriter(graph)
        for node in real:
            op = node.op
            assert isinstance(op, Input)  # graph.inputs are Input nodes
            rw.set_op(node.name, op.replace(dtype=Count()))
            ctx.emit(
                Diagnostic(
                    "PASS-INPUT-EVENTS",
                    f"the float input {node.type} is read as event counts: each value is a number of input "
                    "events (non-negative integers)",
                    node=node.name,
                    hint="load the model with --input-dtype spike (input_dtype='spike') to declare spike input",
                    severity=Severity.INFO,
                )
            )
        ctx.count(self.name, len(real))
        return rw.build()


def _unquantized(op: Op) -> bool:
    return isinstance(op, Input) and op.format is None
