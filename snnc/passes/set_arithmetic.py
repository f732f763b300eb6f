"""set-arithmetic: give a quantized graph another `Arithmetic`, where the target computes a step with
wider registers than it stores.

Why: a quantizer fits the parameters into the formats a chip stores (Speck: a 16-bit state,
threshold_high and threshold_low, docs/targets/speck.md §3.1), but a time-stepped model of an
event chip sums one step's events before its neuron sees them, which the chip never does: on
Speck each event updates the state alone and fires at most once, so the 16-bit register never
holds a step's sum (speck.md §4). sinabs' discretized network keeps the state in float32 and fires
floor(v/θ) times per step (`MultiSpike`); the time-stepped model must hold the same sums to match it.
The quantize pass reads its register widths from the target's spec for the parameters' ranges, so
the wider registers of the step model come after it, here.

What it preserves: every parameter (the pass refuses an arithmetic whose registers or formats do
not hold the quantized values, PASS-ARITHMETIC-NARROWER), and every value the old arithmetic
computed without overflow; values that overflowed it are now held (or wrap) in the wider register.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph
from snnc.ir.quant import Arithmetic
from snnc.passes.base import PassContext

_REGISTERS = ("synapse", "input", "current", "voltage")


@dataclass(frozen=True)
class SetArithmetic:
    arithmetic: Arithmetic
    name: ClassVar[str] = "set-arithmetic"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        old = graph.arithmetic
        if old is None:
            return graph  # quantization refused the graph: nothing to widen (its errors say why)
        narrower = [r for r in _REGISTERS if getattr(self.arithmetic, r).bits < getattr(old, r).bits]
        if narrower or self.arithmetic.decay_shift != old.decay_shift:
            ctx.emit(
                Diagnostic(
                    "PASS-ARITHMETIC-NARROWER",
                    f"the arithmetic {self.arithmetic.name} has narrower registers ({', '.join(narrower) or 'none'}) "
                    f"or another decay shift than the graph's {old.name}; the quantized values may not fit it",
                    hint="this is a bug in the target's pipeline; please report it",
                )
            )
            return graph
        ctx.count(self.name)
        return Graph(graph.nodes, graph.name, self.arithmetic, graph.batching)
