"""linear-to-conv: every Linear becomes a Conv2d whose kernel covers its whole input map.

Why: a convolutional core has no fully connected mode. sinabs maps `nn.Linear(in, out)` applied to
a (C, H, W) map (behind an `nn.Flatten`) to `nn.Conv2d(C, out, kernel=(H, W))` with the weight
reshaped to (out, C, H, W), the flatten's row-major order (sinabs
`backend/dynapcnn/dynapcnn_layer.py::convert_linear_to_conv`; docs/targets/speck.md §2.4); a Linear on
a 1-d vector of N values is the same with a (N, 1, 1) map and a 1×1 kernel.

How: `Flatten? → Linear` becomes `Conv2d` reading the map (a Reshape to (N, 1, 1) where the
input is a vector), and a Flatten after the layer, or after the one neuron that reads it, gives
every later node the 1-d type it had. A Flatten the Linear read is removed once nothing reads it;
a later Linear then reads the neuron's (out, 1, 1) map directly.

What it preserves: every node's name and type outside the rewritten layers, and the function
exactly in real arithmetic (the same products, summed over the same terms; in float32 the sum's
order may differ, so spikes are bit-identical where the sums are exact, e.g. events times dyadic
weights). Quantized layers keep their integers and formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.ir.graph import Graph
from snnc.ir.ops import Conv2d, Flatten, Linear, Neuron, Reshape
from snnc.ir.types import TensorType
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Rewriter, flattens_all


@dataclass(frozen=True)
class LinearToConv:
    name: ClassVar[str] = "linear-to-conv"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        linears = [n.name for n in graph.order if isinstance(n.op, Linear)]
        if not linears:
            return graph
        for name in linears:  # one at a time: each conversion re-types what the next one reads
            rw = Rewriter(graph)
            _convert(rw, name)
            graph = rw.build()
        ctx.count(self.name, len(linears))
        return graph


def _convert(rw: Rewriter, name: str) -> None:
    node = rw.node(name)
    op = node.op
    assert isinstance(op, Linear)  # the pass selected Linear nodes
    (source,) = node.inputs
    read = rw.node(source)
    flatten = None
    if isinstance(read.op, Flatten) and _flattens_a_map(read.op, rw.node(read.inputs[0]).type):
        flatten, source = source, read.inputs[0]
        shape = rw.node(source).type.shape
    else:  # a vector of N values: the map (N, 1, 1)
        shape = (rw.node(source).type.numel, 1, 1)
        source = rw.insert_after(source, f"{name}.map", Reshape(shape), source)
    weight = op.weight.reshape(op.out_features, *shape)
    rw.set_op(name, Conv2d(weight=weight, bias=op.bias, weight_format=op.weight_format))
    rw.set_inputs(name, source)
    users = rw.users(name)
    last = name
    if len(users) == 1 and isinstance(users[0].op, Neuron) and users[0].inputs == (name,):
        last = users[0].name  # the neuron runs on the (out, 1, 1) map; per-channel parameters still fit
    flat = rw.insert_after(last, f"{last}.flatten", Flatten(), last)
    rw.redirect(last, flat, keep=(flat,))
    if flatten is not None and not rw.users(flatten):
        rw.remove(flatten)


def _flattens_a_map(op: Flatten, x: TensorType) -> bool:
    return len(x.shape) == 3 and flattens_all(op, x)
