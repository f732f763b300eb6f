"""Shape and dtype inference of every op, against PyTorch's own output shapes."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from snnc.ir import ops
from snnc.ir.ops import infer_type
from snnc.ir.quant import NumberFormat
from snnc.ir.types import FLOAT, SPIKE, Count, Int, TensorType

rng = np.random.default_rng(0)


def T(*shape, dtype=SPIKE):
    return TensorType(shape, dtype)


@pytest.mark.parametrize(
    "shape,kernel,stride,padding,dilation,groups",
    [
        ((2, 34, 34), (5, 5), 1, 0, 1, 1),
        ((4, 17, 9), (3, 2), (2, 1), (1, 0), 1, 2),
        ((6, 20, 20), (3, 3), 2, 1, 2, 3),
        ((3, 8, 8), (1, 1), 3, 0, 1, 1),
    ],
)
def test_conv2d_shape_matches_torch(shape, kernel, stride, padding, dilation, groups):
    w = rng.normal(size=(6, shape[0] // groups, *kernel)).astype(np.float32)
    op = ops.Conv2d(w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    ref = F.conv2d(torch.zeros(1, *shape), torch.from_numpy(w), None, stride, padding, dilation, groups)
    assert infer_type(op, [T(*shape)]) == TensorType(tuple(ref.shape[1:]), FLOAT)


def test_conv1d_shape_matches_torch():
    w = np.zeros((5, 3, 4), np.float32)
    op = ops.Conv1d(w, stride=2, padding=1)
    ref = F.conv1d(torch.zeros(1, 3, 21), torch.from_numpy(w), stride=2, padding=1)
    assert infer_type(op, [T(3, 21)]).shape == tuple(ref.shape[1:])


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("shape,k,s,p", [((3, 11, 11), 2, 2, 0), ((3, 10, 7), 3, 2, 1), ((1, 5, 5), 2, 3, 1)])
def test_pool_shapes_match_torch(shape, k, s, p, ceil_mode):
    ref = F.avg_pool2d(torch.zeros(1, *shape), k, s, p, ceil_mode=ceil_mode)
    for cls in (ops.AvgPool2d, ops.SumPool2d, ops.MaxPool2d):
        assert infer_type(cls(k, s, p, ceil_mode), [T(*shape)]).shape == tuple(ref.shape[1:])


def test_pool_dtypes():
    assert infer_type(ops.SumPool2d(2), [T(3, 4, 4)]).dtype == Count(4)
    assert infer_type(ops.SumPool2d(2), [T(3, 4, 4, dtype=Count(3))]).dtype == Count(12)
    assert infer_type(ops.SumPool2d(2), [T(3, 4, 4, dtype=FLOAT)]).dtype == FLOAT
    assert infer_type(ops.AvgPool2d(2), [T(3, 4, 4)]).dtype == FLOAT
    assert infer_type(ops.MaxPool2d(2), [T(3, 4, 4)]).dtype == SPIKE


def test_linear_and_quantized_linear():
    w = np.ones((10, 800), np.float32)
    assert infer_type(ops.Linear(w), [T(800)]) == T(10, dtype=FLOAT)
    q = ops.Linear(w.astype(np.int64), weight_format=NumberFormat(8))
    assert infer_type(q, [T(800)]).dtype == Int(32)
    assert q.formats() == {"weight": NumberFormat(8)}


def test_flatten_reshape_concat():
    assert infer_type(ops.Flatten(), [T(32, 5, 5)]) == T(800)
    assert infer_type(ops.Flatten(1, 2), [T(4, 3, 5)]) == T(4, 15)
    assert infer_type(ops.Reshape((8, 100)), [T(800)]) == T(8, 100)
    cat = infer_type(ops.Concat(0), [T(2, 4, 4), T(3, 4, 4, dtype=Count(2))])
    assert cat == T(5, 4, 4, dtype=Count(2))
    assert infer_type(ops.Concat(0), [T(2, 4), T(2, 4, dtype=FLOAT)]).dtype == FLOAT


@pytest.mark.parametrize("dtype", [SPIKE, Count(3), Int(8, signed=False), FLOAT])
def test_crop_and_flip_keep_the_dtype_and_match_sinabs_shapes(dtype):
    """sinabs backend/dynapcnn/crop2d.py Crop2d.get_output_shape: (C, bottom − top, right − left);
    flipdims.py FlipDims.forward transposes the last two axes with swap_xy."""
    assert infer_type(ops.Crop(2, 7, 1, 4), [T(2, 8, 6, dtype=dtype)]) == T(2, 5, 3, dtype=dtype)
    assert infer_type(ops.Crop(0, 8, 0, 6), [T(2, 8, 6, dtype=dtype)]) == T(2, 8, 6, dtype=dtype)
    assert infer_type(ops.Flip(flip_y=True, flip_x=True), [T(2, 8, 6, dtype=dtype)]) == T(2, 8, 6, dtype=dtype)
    assert infer_type(ops.Flip(swap_xy=True), [T(2, 8, 6, dtype=dtype)]) == T(2, 6, 8, dtype=dtype)


@pytest.mark.parametrize(
    "fn,a,b,want",
    [
        ("add", SPIKE, SPIKE, Count(2)),
        ("add", Count(2), SPIKE, Count(3)),
        ("add", FLOAT, SPIKE, FLOAT),
        ("mul", SPIKE, SPIKE, SPIKE),
        ("sub", SPIKE, SPIKE, FLOAT),
        ("and", SPIKE, SPIKE, SPIKE),
        ("iand", SPIKE, SPIKE, SPIKE),
        ("add", Int(8), Int(16), Int(17)),
    ],
)
def test_elementwise_dtypes(fn, a, b, want):
    assert infer_type(ops.Elementwise(fn), [T(4, dtype=a), T(4, dtype=b)]).dtype == want


def test_neuron_output_dtype_and_param_shapes():
    assert infer_type(ops.Neuron(), [T(3, 2, 2, dtype=FLOAT)]).dtype == SPIKE
    assert infer_type(ops.Neuron(spikes="multi"), [T(3, dtype=FLOAT)]).dtype == Count(None)
    assert infer_type(ops.Neuron(spikes="multi", max_spikes=3), [T(3, dtype=FLOAT)]).dtype == Count(3)
    for threshold in (1.0, np.ones(3), np.ones((3, 2, 2))):
        infer_type(ops.Neuron(threshold=threshold), [T(3, 2, 2, dtype=FLOAT)])


@pytest.mark.parametrize(
    "op,inputs,rule",
    [
        (ops.Linear(np.ones((2, 3))), [T(4)], "IR-SHAPE"),
        (ops.Linear(np.ones((2, 3))), [T(3, 1)], "IR-SHAPE"),
        (ops.Linear(np.ones(3)), [T(3)], "IR-SHAPE"),
        (ops.Linear(np.ones((2, 3)), bias=np.ones(3)), [T(3)], "IR-SHAPE"),
        (ops.Conv2d(np.ones((4, 2, 3, 3))), [T(3, 8, 8)], "IR-SHAPE"),
        (ops.Conv2d(np.ones((4, 2, 9, 9))), [T(2, 8, 8)], "IR-SHAPE"),
        (ops.Conv2d(np.ones((4, 2, 3, 3)), stride=0), [T(2, 8, 8)], "IR-SHAPE"),
        (ops.Conv2d(np.ones((5, 1, 3, 3)), groups=2), [T(2, 8, 8)], "IR-SHAPE"),
        (ops.SumPool2d(2, padding=2), [T(1, 8, 8)], "IR-SHAPE"),
        (ops.SumPool2d(4), [T(1, 8)], "IR-SHAPE"),
        (ops.BatchNorm(np.zeros(3), np.ones(3), np.ones(3), np.zeros(3)), [T(4, 2)], "IR-SHAPE"),
        (ops.BatchNorm(np.zeros(2), -np.ones(2), np.ones(2), np.zeros(2)), [T(2, 2)], "IR-SHAPE"),
        (ops.Scale(np.ones(2)), [T(3, 2)], "IR-SHAPE"),
        (ops.Reshape((7,)), [T(8)], "IR-SHAPE"),
        (ops.Concat(1), [T(2, 3), T(3, 3)], "IR-SHAPE"),
        (ops.Crop(0, 9, 0, 4), [T(1, 8, 8)], "IR-SHAPE"),
        (ops.Crop(3, 3, 0, 4), [T(1, 8, 8)], "IR-SHAPE"),
        (ops.Crop(-1, 4, 0, 4), [T(1, 8, 8)], "IR-SHAPE"),
        (ops.Crop(0, 4, 5, 2), [T(1, 8, 8)], "IR-SHAPE"),
        (ops.Crop(0, 1, 0, 1), [T(1, 8)], "IR-SHAPE"),
        (ops.Flip(flip_x=True), [T(8, 8)], "IR-SHAPE"),
        (ops.Elementwise("add"), [T(2), T(3)], "IR-SHAPE"),
        (ops.Elementwise("and"), [T(2), T(2, dtype=FLOAT)], "IR-SHAPE"),
        (ops.Elementwise("xor"), [T(2), T(2)], "IR-SHAPE"),
        (ops.Neuron(threshold=np.ones(2)), [T(3, dtype=FLOAT)], "IR-NEURON-PARAM"),
        (ops.Neuron(threshold=0.0), [T(3, dtype=FLOAT)], "IR-NEURON-PARAM"),
        (ops.Neuron(threshold=-1.0, fire_op="gt"), [T(3, dtype=FLOAT)], "IR-NEURON-PARAM"),
        (ops.Neuron(reset="soft"), [T(3, dtype=FLOAT)], "IR-NEURON-PARAM"),
        (ops.Neuron(spikes="multi", max_spikes=0), [T(3, dtype=FLOAT)], "IR-NEURON-PARAM"),
        (ops.Delay(0), [T(3)], "IR-SHAPE"),
        (ops.Elementwise("add"), [T(3)], "IR-ARITY"),
        (ops.Concat(0), [], "IR-ARITY"),
        (ops.Output(), [T(1), T(1)], "IR-ARITY"),
    ],
)
def test_inference_rejects_with_rule(op, inputs, rule):
    with pytest.raises(ops.ShapeError) as err:
        infer_type(op, inputs)
    assert err.value.rule == rule


def test_every_op_has_a_unique_kind():
    kinds = [op.kind for op in ops.OPS]
    assert len(set(kinds)) == len(kinds) == len(ops.OP_BY_KIND)


def test_params_are_normalised():
    op = ops.Neuron(threshold=2, v_min=-1)
    assert op.threshold.dtype == np.float32 and op.threshold.shape == ()
    assert ops.Linear([[1, 2]]).weight.dtype == np.float32
    assert ops.Linear([[1.0, 2]], weight_format=NumberFormat(8)).weight.dtype == np.int64
    assert ops.Linear([[1.5]], weight_format=NumberFormat(8)).weight.dtype == np.float32
    assert ops.Conv2d(np.zeros((1, 1, 1, 1)), stride=2).stride == (2, 2)
    assert ops.SumPool2d(3).stride == (3, 3)


def test_the_op_groups_partition_the_op_set():
    """Every op in exactly one group, so a new op must be placed in one (and every question a
    pass or backend asks by group has an answer for it)."""
    from snnc.ir.ops import GROUPS, REAL_ONLY, SCALE_PRESERVING

    grouped = [op for members in GROUPS.values() for op in members]
    assert sorted(grouped, key=lambda op: op.kind) == sorted(ops.OPS, key=lambda op: op.kind)
    assert len(grouped) == len(set(grouped))
    assert set(REAL_ONLY) <= set(ops.OPS) and set(SCALE_PRESERVING) <= set(ops.OPS)
