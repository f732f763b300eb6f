"""Readable text of a graph, one node per line, in the style of MLIR and torch.fx.

    graph tiny(%x: spike[2,8,8]) {
      %conv1: float[4,3,3] = conv2d(%x) {stride=(2, 2)} weight=f32[4,2,3,3] bias=f32[4](0)  # torch.nn.Conv2d
      %if1: spike[4,3,3] = neuron(%conv1) {threshold=16, reset=zero}
      %out: spike[4,3,3] = output(%if1)
      return %out
    }

Graph inputs appear in the signature (a quantized real-valued input with its scale), and a
quantized graph's Arithmetic on the first line of the body. Each node shows its name, output
type, op kind and inputs; in braces the scalar attributes that differ from a default-constructed
op (so a plain IF neuron stays short); after them the tensor parameters as `dtype[shape]`, with
the value in parentheses when every element is equal; and the node's origin as a comment, with
the user's layer it stands for (`from pool`) where a pass inserted or renamed it, and the layers
folded into it (`folds bn1`). The
text is for people (the CLI, diagnostics, test failures); `snnc.ir.serialize` is the exact format.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re

import numpy as np

from snnc.ir.graph import Graph, Node
from snnc.ir.ops import FloatOrder, Input, Op

_PLAIN_NAME = re.compile(r"[\w.\-]+")


def format_graph(graph: Graph) -> str:
    """The whole graph: signature with its inputs, one line per other node, the outputs returned."""
    inputs = ", ".join(f"{_ref(n.name)}: {n.type}{_input_format(n.op)}" for n in graph.inputs)
    lines = [f"graph {_name(graph.name)}({inputs}) {{"]
    if graph.arithmetic is not None:
        lines.append(f"  // arithmetic {graph.arithmetic}")
    lines += [f"  {format_node(n)}" for n in graph.nodes if not isinstance(n.op, Input)]
    lines.append(f"  return {', '.join(_ref(n.name) for n in graph.outputs)}".rstrip())
    lines.append("}")
    return "\n".join(lines)


def _input_format(op: Op) -> str:
    if not isinstance(op, Input):
        return ""
    attrs = [] if op.format is None else [f"scale={_value(op.format.scale)}"]
    if op.time == "static":
        attrs.append("static" if op.steps is None else f"static, steps={op.steps}")
    return f" {{{', '.join(attrs)}}}" if attrs else ""


def format_node(node: Node) -> str:
    """One line: `%name: type = kind(%inputs) {attrs} tensors  # origin, from source`."""
    text = f"{_ref(node.name)}: {node.type} = {node.op.kind}({', '.join(map(_ref, node.inputs))})"
    attrs, tensors = _describe(node.op)
    if attrs:
        text += " {" + ", ".join(attrs) + "}"
    if tensors:
        text += " " + " ".join(tensors)
    comment = [node.origin] if node.origin else []
    if node.source != node.name:
        comment.append(f"from {node.source}")
    if node.folded:
        comment.append(f"folds {', '.join(node.folded)}")
    if comment:
        text += "  # " + ", ".join(comment)
    return text


def _describe(op: Op | FloatOrder) -> tuple[list[str], list[str]]:
    """The fields of `op` that differ from its default: scalars, and arrays of rank >= 1; a
    record inside it (a Neuron's FloatOrder) shows its own fields inline."""
    default = _default(type(op))
    attrs, tensors = [], []
    for f in dataclasses.fields(op):
        value = getattr(op, f.name)
        if _same(value, getattr(default, f.name)):
            continue
        if isinstance(value, FloatOrder):
            inner_attrs, inner_tensors = _describe(value)
            attrs += inner_attrs
            tensors += inner_tensors
        elif isinstance(value, np.ndarray) and value.ndim > 0:
            tensors.append(f"{f.name}={_tensor(value)}")
        else:
            attrs.append(f"{f.name}={_value(value)}")
    return attrs, tensors


@functools.cache
def _default(cls: type) -> object:
    """The op with every field at its default, after the op's own normalisation."""
    return cls()


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b)
    return a == b


def _tensor(a: np.ndarray) -> str:
    kind = "bool" if a.dtype.kind == "b" else f"{a.dtype.kind}{a.dtype.itemsize * 8}"
    text = f"{kind}[{','.join(map(str, a.shape))}]"
    if a.size and (a == a.flat[0]).all():
        text += f"({_value(a.flat[0])})"
    return text


def _value(v: object) -> str:
    if isinstance(v, np.ndarray | np.generic):
        v = v.item()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, tuple):
        return "(" + ", ".join(map(_value, v)) + ("," if len(v) == 1 else "") + ")"
    return str(v)


def _ref(name: str) -> str:
    return f"%{_name(name)}"


def _name(name: str) -> str:
    """Module paths print as they are; anything else is quoted so a line still parses by eye."""
    return name if _PLAIN_NAME.fullmatch(name) else json.dumps(name)
