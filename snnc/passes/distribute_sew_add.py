"""distribute-sew-add: layer(a + b) → layer(a) + layer'(b) for an event add read by a synaptic layer.

Why: SEW ResNet's ADD joins two spike tensors into counts (0, 1, 2) that the next Linear/Conv
reads. A core cannot add two event streams before its synapses, but several sources may send to
one destination, whose neurons add what arrives (Speck merges fan-in, docs/targets/speck.md
§2.1; Loihi neurons sum all input axons). Distributing the layer over the add expresses exactly
that: each branch goes through the layer's synapses and the results meet at the neuron's input.

What it preserves: the layer's output, exactly in real arithmetic — W(a + b) + c = (W a + c) + W b:
the first copy keeps the layer's name and bias, the second (`<layer>_1`, no bias) reads b, and
`<layer>.merge` adds them. With integer or dyadic weights every sum is exact in float32 and the
spikes identical; otherwise sums are grouped differently and a neuron exactly at its threshold
may flip (measured in the tests). The add node stays while anything else still reads it (a
residual chain); nested adds are distributed innermost last, so every branch reaches the layer.
An add with a real-valued input feeding a layer gets PASS-SEW-NOT-DISTRIBUTED: distributing it
would not make the layer spike-driven, and the add is left for the spike-driven check to flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import SYNAPTIC, Elementwise, Flatten
from snnc.passes.base import PassContext
from snnc.passes.rewrite import Outcome, Reader, Rewriter, flattens_all, rewrite_each


@dataclass(frozen=True)
class DistributeSewAdd:
    name: ClassVar[str] = "distribute-sew-add"

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph:
        return rewrite_each(graph, ctx, self.name, _is_add, _distribute_add, consumers_first=True)


def _distribute_add(rw: Rewriter, add: Node) -> Outcome:
    """Every synaptic reader of the add takes the two branches apart: one rewrite per reader."""
    readers = _readers(rw, add.name)
    if not readers:
        return False
    inputs = [rw.node(i) for i in add.inputs]
    real = [f"{n.name} ({n.type})" for n in inputs if not n.type.dtype.is_event]
    quantized = [r.layer.name for r in readers if r.layer.op.formats()]
    if real or quantized:
        return _not_distributed(add, readers, real, quantized)
    for reader in readers:
        _distribute(rw, add, reader)
    if not rw.users(add.name):
        rw.remove(add.name)
    return len(readers)


def _is_add(node: Node) -> bool:
    return isinstance(node.op, Elementwise) and node.op.fn == "add"


def _readers(rw: Rewriter, name: str) -> list[Reader]:
    """The synaptic layers reading `name` directly, or through a whole-map Flatten read only by a Linear."""
    found = []
    for user in rw.users(name):
        if isinstance(user.op, SYNAPTIC):
            found.append(Reader(user, None))
        elif isinstance(user.op, Flatten):
            after = rw.users(user.name)
            if flattens_all(user.op, rw.node(name).type) and len(after) == 1 and isinstance(after[0].op, SYNAPTIC):
                found.append(Reader(after[0], user))
    return found


def _distribute(rw: Rewriter, add: Node, reader: Reader) -> None:
    """The reader's layer reads branch a; a bias-free copy reads branch b; `.merge` adds the two."""
    a, b = add.inputs
    layer = reader.layer
    source_b = b
    if reader.flatten is not None:
        rw.set_inputs(reader.flatten.name, a)
        source_b = rw.insert_after(reader.flatten.name, reader.flatten.name, reader.flatten.op, b)
    else:
        rw.set_inputs(layer.name, a)
    copy = rw.insert_after(layer.name, layer.name, layer.op.replace(bias=None), source_b)
    merge = rw.insert_after(copy, f"{layer.name}.merge", Elementwise("add"), layer.name, copy)
    rw.redirect(layer.name, merge, keep=(merge,))


def _not_distributed(add: Node, readers: list[Reader], real: list[str], quantized: list[str]) -> Diagnostic:
    why = [f"input(s) {', '.join(real)} hold real values, not events"] if real else []
    why += [f"layer(s) {', '.join(quantized)} are already quantized"] if quantized else []
    return Diagnostic(
        "PASS-SEW-NOT-DISTRIBUTED",
        f"add read by {', '.join(r.layer.name for r in readers)} not distributed: {'; '.join(why)}",
        node=add.name,
        hint="a synapse can take the sum of two event streams only if both are events (spikes or counts)",
        severity=Severity.WARNING,
    )
