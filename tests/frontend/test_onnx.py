"""ONNX ANN import: torch.onnx exports (dynamo and legacy), each operator against onnxruntime,
and a diagnostic naming the ONNX node for everything snnc cannot represent."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc.diagnostics import SnncError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(0)


def _reference(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _snnc(path, x: np.ndarray, **load) -> np.ndarray:
    """The loaded graph on x [N, ...] as one time step of N samples."""
    return snnc.simulate(snnc.load(path, **load), x[None]).output[0]


def _rules(excinfo) -> list[tuple[str, str | None]]:
    return [(d.rule, d.node) for d in excinfo.value.diagnostics]


class _Net(nn.Module):
    """Conv, BatchNorm, ReLU, residual add, max and average pooling, concat, global pooling,
    flatten/reshape, linear layers with and without bias: the operators the issue lists."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.bn, self.c2 = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Conv2d(4, 4, 3, padding=1)
        self.max, self.avg, self.gap = nn.MaxPool2d(2), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Linear(8, 10), nn.Linear(10, 5, bias=False)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.3, 0.3)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        y = torch.relu(self.bn(self.c1(x)))
        y = torch.relu(self.c2(y)) + y
        y = torch.cat([self.max(y), self.avg(y)], 1)
        y = self.gap(y).flatten(1)
        return self.fc2(torch.relu(self.fc1(y.reshape(y.shape[0], -1))))


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "legacy"])
def test_torch_exports_load_and_match(tmp_path, dynamo):
    """torch 2.13 exports with dynamo=True by default (docs/environment.md §6: it needs
    onnxscript; it writes ReduceMean for the global pool); the legacy exporter writes
    GlobalAveragePool, Flatten, Constant + Reshape and MatMul. Both fold the eval BatchNorm into
    the convolution; BatchNormalization itself is tested below."""
    model = _Net().eval()
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=dynamo)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert ("ReduceMean" in ops) if dynamo else {"GlobalAveragePool", "Reshape", "MatMul"} <= ops
    x = RNG.normal(size=(1, 1, 8, 8)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(_snnc(path, x), expected, rtol=1e-5, atol=1e-5)


# --- operators built with onnx.helper, against onnxruntime ----------------------------------------


def _model(tmp_path, nodes, inits, in_shape, out_shape, name="m.onnx") -> str:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(np.asarray(v, np.float32 if k != "shape" else np.int64), k) for k, v in inits.items()],
    )
    path = tmp_path / name
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


def _n(*dims):
    return RNG.normal(size=dims).astype(np.float32)


OPERATORS = {
    "batchnorm": (
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
        {"s": _n(3), "b": _n(3), "m": _n(3), "v": np.abs(_n(3)) + 0.5},
        [2, 3, 4, 4],
        [2, 3, 4, 4],
    ),
    "matmul+add": (
        [helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Add", ["t", "b"], ["y"])],
        {"w": _n(6, 4), "b": _n(4)},
        [2, 6],
        [2, 4],
    ),
    "gemm": (
        [helper.make_node("Gemm", ["x", "w", "c"], ["y"], alpha=0.5, beta=2.0, transB=0)],
        {"w": _n(6, 4), "c": _n(1, 4)},
        [2, 6],
        [2, 4],
    ),
    "conv1d": (
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1], strides=[2])],
        {"w": _n(4, 2, 3), "b": _n(4)},
        [2, 2, 9],
        [2, 4, 5],
    ),
    "conv+add bias": (
        [
            helper.make_node("Conv", ["x", "w"], ["t"], auto_pad="SAME_UPPER"),
            helper.make_node("Add", ["t", "b"], ["y"]),
        ],
        {"w": _n(4, 2, 3, 3), "b": _n(1, 4, 1, 1)},
        [2, 2, 5, 5],
        [2, 4, 5, 5],
    ),
    "averagepool": (
        [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])],
        {},
        [2, 3, 6, 6],
        [2, 3, 3, 3],
    ),
    "maxpool ceil": (
        [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
        {},
        [2, 3, 5, 5],
        [2, 3, 3, 3],
    ),
    "global pool": ([helper.make_node("GlobalAveragePool", ["x"], ["y"])], {}, [2, 3, 4, 5], [2, 3, 1, 1]),
    "reducemean": (
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)],
        {},
        [2, 3, 4, 5],
        [2, 3],
    ),
    "reshape": (
        [helper.make_node("Reshape", ["x", "shape"], ["y"])],
        {"shape": np.array([0, 3, -1])},
        [2, 3, 4, 5],
        [2, 3, 20],
    ),
    "relu+concat": (
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Concat", ["r", "x"], ["y"], axis=-1)],
        {},
        [2, 3, 4],
        [2, 3, 8],
    ),
}


@pytest.mark.parametrize("case", OPERATORS)
def test_operator_matches_onnxruntime(tmp_path, case):
    nodes, inits, in_shape, out_shape = OPERATORS[case]
    path = _model(tmp_path, nodes, inits, in_shape, out_shape)
    x = RNG.normal(size=in_shape).astype(np.float32)
    np.testing.assert_allclose(_snnc(path, x), _reference(path, x), rtol=1e-5, atol=1e-5)


def test_bias_add_is_folded_into_the_layer(tmp_path):
    nodes, inits, in_shape, out_shape = OPERATORS["matmul+add"]
    graph = snnc.load(_model(tmp_path, nodes, inits, in_shape, out_shape))
    assert [n.op.kind for n in graph.nodes] == ["input", "linear", "output"]


def test_symbolic_input_dimensions_need_input_shape(tmp_path):
    path = _model(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], {}, ["N", 3, "H", "W"], ["N", 3, "H", "W"])
    with pytest.raises(SnncError) as e:
        snnc.load(path)
    assert _rules(e) == [("FE-INPUT-SHAPE", "x")]
    x = RNG.normal(size=(2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(_snnc(path, x, input_shape=(3, 4, 4)), np.maximum(x, 0))


# --- what snnc refuses ----------------------------------------------------------------------------


def test_every_unsupported_operator_is_named(tmp_path):
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["a"], name="/act/Sigmoid"),
        helper.make_node("Relu", ["x"], ["b"]),
        helper.make_node("Tanh", ["b"], ["c"], name="tanh"),
        helper.make_node("Add", ["a", "c"], ["y"]),
    ]
    with pytest.raises(SnncError) as e:
        snnc.load(_model(tmp_path, nodes, {}, [1, 4], [1, 4]))
    assert _rules(e) == [("FE-UNSUPPORTED-OP", "act.Sigmoid"), ("FE-UNSUPPORTED-OP", "tanh")]
    assert "'/act/Sigmoid' (Sigmoid)" in e.value.diagnostics[0].message


ATTRIBUTES = {
    "asymmetric pads": [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], pads=[0, 0, 1, 1], name="p")],
    "flatten axis 2": [helper.make_node("Flatten", ["x"], ["y"], axis=2, name="p")],
    "transA": [helper.make_node("Gemm", ["x", "w"], ["y"], transA=1, name="p")],
    "constant add": [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Add", ["r", "w"], ["y"], name="p")],
    "batch concat": [helper.make_node("Concat", ["x", "x"], ["y"], axis=0, name="p")],
}


@pytest.mark.parametrize("case", ATTRIBUTES)
def test_attributes_without_an_exact_ir_form_are_named(tmp_path, case):
    path = _model(tmp_path, ATTRIBUTES[case], {"w": _n(3, 3)}, [3, 3, 4, 4], [3, 3, 4, 4])
    with pytest.raises(SnncError) as e:
        snnc.load(path)
    assert _rules(e) == [("FE-UNSUPPORTED-ATTR", "p")]


def test_malformed_files(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf model")
    with pytest.raises(SnncError) as e:
        snnc.load(bad)
    assert _rules(e) == [("FE-ONNX-READ", None)]
    with pytest.raises(SnncError) as e:
        snnc.load(tmp_path / "absent.onnx")
    assert _rules(e) == [("IO-NOT-FOUND", None)]
    dangling = _model(tmp_path, [helper.make_node("Relu", ["ghost"], ["y"], name="r")], {}, [1, 3], [1, 3], "d.onnx")
    with pytest.raises(SnncError) as e:
        snnc.load(dangling)
    assert _rules(e) == [("FE-ONNX-READ", "r")]


def test_cli_inspect_reads_onnx(tmp_path, capsys):
    from snnc.cli import main

    nodes, inits, in_shape, out_shape = OPERATORS["gemm"]
    assert main(["inspect", _model(tmp_path, nodes, inits, in_shape, out_shape)]) == 0
    assert "linear(%x)" in capsys.readouterr().out
