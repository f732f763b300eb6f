"""ann-to-snn: turn a ReLU network into an SNN of integrate-and-fire neurons (rate conversion).

Why: most networks users want on a neuromorphic chip were trained as ANNs. Rate-based conversion
(Rueckauer et al. 2017, "Conversion of continuous-valued deep networks to efficient event-driven
networks for image classification", Front. Neurosci. 11:682) replaces each ReLU by an IF neuron
with reset by subtraction, whose firing rate over T steps approximates the ReLU's output divided
by its threshold, clipped to [0, 1].

What it preserves: the ANN's function in the rate limit, layer by layer. Each ReLU's activation
scale λ (measured on data by snnc/driver/convert.py: the p-th percentile of its nonzero outputs, as
snntoolbox's `normalize_parameters` does) becomes the neuron's threshold ("threshold balancing"),
and each spike then stands for λ of activation: every tensor carries an amplitude α (ANN value =
α · SNN value, time-averaged), which this pass propagates and cancels where a layer needs real
values:

    Input              α = input_scale (1 for an analog current; the input range for rate coding)
    Linear, Conv       W ← α·W (bias kept: it is added every step), output α = 1
    ReLU               IF neuron: threshold λ/α, subtract reset, fires on h ≥ θ; output α = λ
    pooling, Flatten,
    Reshape, Crop,
    Flip, Scale, Delay α passes (linear, a copy, or a max: see below)
    Add, Sub, Concat   α passes if every input has the same α, else each input is rescaled by a
                       Scale(α) to α = 1 (real values)
    BatchNorm left     Scale(α) in front (it is affine in real units), then α = 1
    Output             Scale(α) in front, so the per-step average is in the ANN's units

Max pooling of spike trains takes the OR per step, whose rate can exceed the largest input rate;
it is kept, with a CONVERT-MAXPOOL warning. Neurons already in the graph, and Elementwise
mul/and/or/iand (not linear in the rates), are CONVERT-UNSUPPORTED errors. BatchNorm is folded by
the fold-bn pass before this one runs (snnc/driver/convert.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np

from snnc.diagnostics import Diagnostic, Kind, Severity, SnncError
from snnc.ir import ops
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import SYNAPTIC
from snnc.ir.types import SPIKE
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Rewriter

F32 = np.float32
_PASSING = (
    ops.AvgPool2d, ops.SumPool2d, ops.MaxPool2d, ops.Flatten, ops.Reshape, ops.Crop, ops.Flip, ops.Scale, ops.Delay,
)  # fmt: skip


@dataclass(frozen=True)
class AnnToSnn:
    """`scales`: ReLU node name → its activation scale λ > 0. `input_encoding`: "current" feeds the
    analog input every step; "rate" expects spikes of probability x/input_scale (the Input becomes
    a spike input). `v_init`: the neurons' initial membrane as a fraction of the threshold."""

    name: ClassVar[str] = "ann-to-snn"
    scales: Mapping[str, float] = field(default_factory=dict)
    input_scale: float = 1.0
    input_encoding: Literal["current", "rate"] = "current"
    v_init: float = 0.0

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        rw = Rewriter(graph)
        amplitude: dict[str, float] = {}
        problems: list[Diagnostic] = []
        for node in graph.order:
            try:
                amplitude[node.name] = self._convert(rw, node, amplitude, ctx)
            except _Unsupported as e:
                problems.append(Diagnostic("CONVERT-UNSUPPORTED", str(e), node=node.name, hint=e.hint))
                amplitude[node.name] = 1.0
        if problems:
            raise SnncError(problems, kind=Kind.INPUT)
        ctx.count(self.name, sum(isinstance(n.op, ops.ReLU) for n in graph))
        return rw.build()

    def _convert(self, rw: Rewriter, node: Node, amplitude: dict[str, float], ctx: PassContext) -> float:
        op = node.op
        inputs = [amplitude.get(i, 1.0) for i in node.inputs]  # a Delay's source comes later: real units
        if isinstance(op, ops.Input):
            if self.input_encoding == "rate":
                rw.set_op(node.name, ops.Input(op.shape, SPIKE))
            return float(self.input_scale)
        if isinstance(op, SYNAPTIC):
            if inputs[0] != 1:
                rw.set_op(node.name, op.replace(weight=(op.weight * F32(inputs[0])).astype(F32)))
            return 1.0
        if isinstance(op, ops.ReLU):
            scale = float(self.scales[node.name])
            threshold = np.asarray(scale / inputs[0], F32)
            neuron = ops.Neuron(
                threshold=threshold, reset="subtract", fire_op="ge", v_init=F32(self.v_init) * threshold
            )
            rw.set_op(node.name, neuron)
            return scale
        if isinstance(op, ops.MaxPool2d):
            ctx.emit(
                Diagnostic(
                    "CONVERT-MAXPOOL",
                    "max pooling of spike trains is an OR per step; its rate can exceed the largest input rate",
                    node=node.name,
                    hint="train the ANN with average pooling for a closer conversion",
                    severity=Severity.WARNING,
                )
            )
        if isinstance(op, _PASSING):
            return inputs[0]
        if isinstance(op, ops.Concat) or (isinstance(op, ops.Elementwise) and op.fn in ("add", "sub")):
            if len(set(inputs)) == 1:
                return inputs[0]
            _to_real_units(rw, node, amplitude)
            return 1.0
        if isinstance(op, (ops.BatchNorm, ops.Output)):
            _to_real_units(rw, node, amplitude)
            return 1.0
        if isinstance(op, ops.Neuron):
            raise _Unsupported("the graph already has spiking neurons", "convert an ANN (ReLU activations)")
        raise _Unsupported(
            f"{op.kind}{f' {op.fn}' if isinstance(op, ops.Elementwise) else ''} has no rate-coded equivalent",
            "convert ANNs of Linear/Conv, ReLU, pooling, BatchNorm, Flatten, Add and Concat",
        )


class _Unsupported(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _to_real_units(rw: Rewriter, node: Node, amplitude: dict[str, float]) -> None:
    """Multiply each input whose amplitude is not 1 by it, on the edge into `node` only."""
    inputs = list(rw.node(node.name).inputs)
    for k, source in enumerate(inputs):
        if amplitude[source] != 1:
            rescale = ops.Scale(np.asarray(amplitude[source], F32))
            inputs[k] = rw.insert_after(source, f"{node.name}.rescale", rescale, source)
    rw.set_inputs(node.name, *inputs)
