"""The IR printer: exact text of a small graph, defaults left out, every op printable."""

import numpy as np
import pytest

from snnc.ir import ops
from snnc.ir.graph import GraphBuilder, Node
from snnc.ir.printer import format_graph, format_node
from snnc.ir.quant import NumberFormat
from snnc.ir.types import FLOAT, Count, TensorType


def test_small_graph_text():
    b = GraphBuilder("tiny")
    x = b.input("x", (2, 8, 8))
    w = np.arange(72, dtype=np.float32).reshape(4, 2, 3, 3)
    conv = b.add("conv1", ops.Conv2d(w, np.zeros(4), stride=2), x, origin="torch.nn.Conv2d")
    spikes = b.add("if1", ops.Neuron(threshold=16.0, reset="zero"), conv)
    flat = b.add("flat", ops.Flatten(), spikes)
    fc = b.add("layer.0.fc", ops.Linear(np.ones((10, 36), np.int64), weight_format=NumberFormat(8)), flat)
    ints = {"gain": 1, "bias": 0, "v_reset": 0, "v_init": 0, "i_init": 0}  # equal to the defaults: not shown
    lif = ops.Neuron(np.full(10, 2), v_decay=3, v_min=-1, state_format=NumberFormat(16, scale=4.0), **ints)
    b.output("out", b.add("lif", lif, fc))
    assert format_graph(b.build()) == "\n".join(
        [
            "graph tiny(%x: spike[2,8,8]) {",
            "  %conv1: float[4,3,3] = conv2d(%x) {stride=(2, 2)} weight=f32[4,2,3,3] bias=f32[4](0)  # torch.nn.Conv2d",
            "  %if1: spike[4,3,3] = neuron(%conv1) {threshold=16, reset=zero}",
            "  %flat: spike[36] = flatten(%if1)",
            "  %layer.0.fc: int32[10] = linear(%flat) {weight_format=s8} weight=i64[10,36](1)",
            "  %lif: spike[10] = neuron(%layer.0.fc) {v_decay=3, v_min=-1, state_format=s16} threshold=i64[10](2)",
            "  %out: spike[10] = output(%lif)",
            "  return %out",
            "}",
        ]
    )


def test_plain_neuron_prints_short():
    node = Node("if", ops.Neuron(), ("x",), TensorType((3,), Count(None)))
    assert format_node(node) == "%if: count[3] = neuron(%x)"


def test_odd_names_are_quoted():
    node = Node("my layer", ops.ReLU(), ('a "b"',), TensorType((3,), FLOAT))
    assert format_node(node) == '%"my layer": float[3] = relu(%"a \\"b\\"")'


@pytest.mark.parametrize("cls", ops.OPS, ids=lambda cls: cls.kind)
def test_every_op_prints(cls):
    line = format_node(Node("n", cls(), ("a",), TensorType((1,), FLOAT), origin="somewhere"))
    assert line.startswith(f"%n: float[1] = {cls.kind}(%a)") and line.endswith("  # somewhere")
