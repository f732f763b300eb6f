"""The .snnc format: exact round trips of every op, and one negative case per IO rule."""

import dataclasses
import json
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from snnc.diagnostics import SnncError
from snnc.ir import ops, serialize
from snnc.ir.graph import Graph, GraphBuilder, Node
from snnc.ir.ops import FloatOrder, Neuron
from snnc.ir.quant import Arithmetic, IntRange, Mantissa, NumberFormat
from snnc.ir.types import FLOAT, Count, TensorType
from snnc.ir.verify import verify


def every_op_graph() -> Graph:
    """A valid recurrent graph using every op, each with non-default attributes where it has any."""
    rng = np.random.default_rng(0)

    def rand(*shape: int) -> np.ndarray:
        return rng.normal(size=shape).astype(np.float32)

    s32 = IntRange(32, "saturate")  # quantized parameters need an Arithmetic (IR-QUANT-ARITHMETIC)
    arith = Arithmetic("every-op", s32, s32, s32, s32, 12, "toward_zero", Mantissa(16), Mantissa(16), Mantissa(16))
    b = GraphBuilder("every-op", arithmetic=arith)
    x = b.input("x", (2, 16, 16))
    y = b.add("y", ops.Input((3, 20), FLOAT), origin="user input")
    conv = b.add(
        "conv2",
        ops.Conv2d(rand(4, 1, 3, 3), rand(4), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        x,
        origin="torch.nn.Conv2d",
    )
    bn = b.add("bn", ops.BatchNorm(rand(4), np.abs(rand(4)), rand(4), rand(4), eps=0.1 + 0.2), conv)
    sc = b.add("scale", ops.Scale(rand(4)), bn)
    avg = ops.AvgPool2d((3, 2), (2, 2), (1, 1), ceil_mode=True, count_include_pad=False)
    pool = b.add("avg", avg, sc)  # float[4,5,9]
    relu = b.add("relu", ops.ReLU(), pool)
    lif = Neuron(
        threshold=np.abs(rand(4)) + 0.5,
        v_decay=0.9,
        gain=rand(4),
        bias=np.float32(-0.0),
        i_decay=0.8,
        input_order="voltage_first",
        reset="zero",
        v_reset=-0.5,
        reset_timing="next_step",
        fire_op="gt",
        spikes="multi",
        max_spikes=3,
        v_min=-np.abs(rand(4)),
        v_init=0.25,
        i_init=1e-40,  # a float32 subnormal
    )
    n1 = b.add("lif1", lif, relu, origin="snntorch.Synaptic")
    sum_pool = b.add("sum", ops.SumPool2d((1, 3)), n1)  # count<=9[4,5,3]
    max_pool = b.add("max", ops.MaxPool2d((2, 2), (1, 1), (1, 1)), sum_pool)  # count<=9[4,6,4]
    cropped = b.add("crop", ops.Crop(top=1, bottom=6, left=0, right=3), max_pool)  # count<=9[4,5,3]
    flipped = b.add("flip", ops.Flip(flip_y=True, swap_xy=True), cropped)  # count<=9[4,3,5]
    flat = b.add("flat", ops.Flatten(start=1, end=2), flipped)
    cat = b.add("cat", ops.Concat(axis=1), flat, flat)
    rs = b.add("reshape", ops.Reshape((120,)), cat)
    fmt = NumberFormat(8, signed=True, scale=tuple(1 / (k + 3) for k in range(8)))
    qfc = b.add("qfc", ops.Linear(rng.integers(-128, 128, (8, 120)), rng.integers(-9, 9, 8), fmt), rs)
    qlif = ops.Neuron(
        threshold=64, v_decay=3900, gain=1, bias=0, v_reset=0, v_init=0, i_init=0, state_format=NumberFormat(16)
    )
    qn = b.add("qlif", qlif, qfc)
    c1 = b.add("conv1", ops.Conv1d(rand(6, 1, 5), stride=2, padding=1, dilation=2, groups=3), y)
    fc = b.add("fc", ops.Linear(rand(8, 42)), b.add("flat1", ops.Flatten(), c1))
    joined = b.add("join", ops.Concat(), qn, fc)  # float[16]
    rec = b.delay("rec", 2, TensorType((16,), FLOAT), origin="recurrence")
    diff = b.add("diff", ops.Elementwise("sub"), joined, rec)
    n2 = b.add("lif2", ops.Neuron(threshold=1.5, fire_op="gt"), diff)
    b.connect(rec, b.add("w_rec", ops.Linear(rand(16, 16), rand(16)), n2))
    b.output("out", n2)
    b.output("aux", b.add("mask", ops.Elementwise("iand"), n2, n2))
    return b.build()


def assert_same_value(a: object, b: object, where: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert (a.dtype, a.shape, a.tobytes()) == (b.dtype, b.shape, b.tobytes()), where
    else:
        assert type(a) is type(b) and a == b, where


def assert_same_graph(a: Graph, b: Graph) -> None:
    assert a.name == b.name and a.arithmetic == b.arithmetic
    assert [n.name for n in a] == [n.name for n in b]
    for na, nb in zip(a, b):
        assert (na.inputs, na.type, na.origin, type(na.op)) == (nb.inputs, nb.type, nb.origin, type(nb.op))
        for f in dataclasses.fields(na.op):
            assert_same_value(getattr(na.op, f.name), getattr(nb.op, f.name), f"{na.name}.{f.name}")


def test_every_op_round_trips_exactly(tmp_path):
    g = every_op_graph()
    assert {type(n.op) for n in g} == set(ops.OPS)
    assert verify(g) == []
    serialize.save(g, tmp_path / "g.snnc")
    loaded = serialize.load(tmp_path / "g.snnc")
    assert_same_graph(g, loaded)
    assert verify(loaded) == []
    assert loaded.node("fc").op.bias is None and loaded.node("lif1").op.v_min is not None
    assert serialize.dumps(loaded) == serialize.dumps(g)  # deterministic, and a fixed point


def test_layout_is_aligned_and_versioned():
    data = serialize.dumps(every_op_graph())
    assert data.startswith(serialize.MAGIC)
    assert struct.unpack_from("<I", data, 8) == (serialize.VERSION,)
    header, payload = serialize._unpack(data, "mem")
    assert (len(data) - len(payload)) % serialize.ALIGN == 0
    attrs = [v for n in json.loads(header)["nodes"] for v in n["attrs"].values()]
    refs = [v["array"] for v in attrs if isinstance(v, dict) and "array" in v]
    assert refs and all(r["offset"] % serialize.ALIGN == 0 for r in refs)


float32_arrays = st.one_of(
    arrays(np.float32, array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5), elements=st.floats(width=32)),
    arrays(np.uint32, array_shapes(min_dims=0, max_dims=2, max_side=6)).map(lambda a: a.view(np.float32)),
)  # the second covers every bit pattern: NaN payloads, signalling NaNs, subnormals


@settings(max_examples=200, deadline=None)
@given(float32_arrays)
def test_float32_arrays_round_trip_bit_identical(values):
    g = Graph((Node("s", ops.Scale(values), ("x",), TensorType((1,), FLOAT)),))
    factor = serialize.loads(serialize.dumps(g)).node("s").op.factor
    assert (factor.dtype, factor.shape, factor.tobytes()) == (values.dtype, values.shape, values.tobytes())


# --- errors -----------------------------------------------------------------------------------


def rule_of(call, *args) -> str:
    with pytest.raises(SnncError) as err:
        call(*args)
    (diag,) = err.value.diagnostics
    assert diag.hint
    return diag.rule


def forged(edit) -> bytes:
    """A file whose header `edit` changed, with a valid checksum: only the header parser can object."""
    header, payload = serialize._unpack(serialize.dumps(every_op_graph()), "mem")
    doc = json.loads(header)
    edit(doc)
    return serialize._pack(json.dumps(doc).encode(), bytes(payload))


def test_missing_file(tmp_path):
    with pytest.raises(SnncError) as err:
        serialize.load(tmp_path / "nope.snnc")
    (diag,) = err.value.diagnostics
    assert diag.rule == "IO-NOT-FOUND" and "nope.snnc" in diag.message
    assert err.value.exit_code == 2


def test_directory_is_not_a_file(tmp_path):
    assert rule_of(serialize.load, tmp_path) == "IO-NOT-FOUND"


def test_wrong_magic_names_the_frontend(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(SnncError) as err:
        serialize.load(path)
    (diag,) = err.value.diagnostics
    assert diag.rule == "IO-NOT-SNNC" and "zip" in diag.message and "snnc.load" in diag.hint


def test_future_version():
    data = bytearray(serialize.dumps(every_op_graph()))
    struct.pack_into("<I", data, 8, serialize.VERSION + 1)
    with pytest.raises(SnncError) as err:
        serialize.loads(bytes(data), "new.snnc")
    (diag,) = err.value.diagnostics
    assert diag.rule == "IO-VERSION" and f"reads version {serialize.VERSION}" in diag.message


@pytest.mark.parametrize("keep", [0, 5, 40, 100, -1])
def test_truncated_file(keep):
    data = serialize.dumps(every_op_graph())
    assert rule_of(serialize.loads, data[:keep]) == "IO-CORRUPT"


def test_trailing_bytes():
    assert rule_of(serialize.loads, serialize.dumps(every_op_graph()) + b"\0") == "IO-CORRUPT"


@pytest.mark.parametrize("at", [70, -1])  # a header byte, a payload byte
def test_flipped_byte_fails_the_checksum(at):
    data = bytearray(serialize.dumps(every_op_graph()))
    data[at] ^= 0x01
    with pytest.raises(SnncError) as err:
        serialize.loads(bytes(data))
    assert err.value.diagnostics[0].rule == "IO-CORRUPT" and "checksum" in err.value.diagnostics[0].message


def test_damaged_header_json():
    header, payload = serialize._unpack(serialize.dumps(every_op_graph()), "mem")
    assert rule_of(serialize.loads, serialize._pack(header[:-7], bytes(payload))) == "IO-CORRUPT"
    assert rule_of(serialize.loads, serialize._pack(b"[1, 2]", b"")) == "IO-CORRUPT"


def set_node(name: str, key: str, value: object):
    def edit(doc):
        (node,) = (n for n in doc["nodes"] if n["name"] == name)
        node[key] = value

    return edit


def set_attr(name: str, field: str, value: object):
    def edit(doc):
        (node,) = (n for n in doc["nodes"] if n["name"] == name)
        node["attrs"][field] = value

    return edit


def set_array(name: str, field: str, **changes):
    def edit(doc):
        (node,) = (n for n in doc["nodes"] if n["name"] == name)
        node["attrs"][field]["array"].update(changes)

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(set_node("conv2", "op", "conv3d"), id="unknown-op-kind"),
        pytest.param(set_node("conv2", "type", "tensor<4xf32>"), id="bad-type"),
        pytest.param(set_node("conv2", "inputs", "x"), id="inputs-not-a-list"),
        pytest.param(set_node("conv2", "origin", 3), id="origin-not-a-string"),
        pytest.param(set_attr("conv2", "colour", 1), id="unknown-field"),
        pytest.param(set_attr("conv2", "groups", "two"), id="field-of-wrong-type"),
        pytest.param(set_attr("conv2", "stride", [1, 2, 3]), id="pair-of-three"),
        pytest.param(set_attr("lif1", "threshold", {"blob": 1}), id="unknown-tag"),
        pytest.param(set_attr("qfc", "weight_format", {"number_format": {"bits": 8}}), id="bad-number-format"),
        pytest.param(set_attr("y", "dtype", {"dtype": "float64"}), id="unknown-ir-dtype"),
        pytest.param(set_array("conv2", "weight", dtype="|O"), id="object-dtype"),
        pytest.param(set_array("conv2", "weight", dtype=">f4"), id="big-endian-dtype"),
        pytest.param(set_array("conv2", "weight", length=4), id="array-length"),
        pytest.param(set_array("conv2", "weight", shape=[4, -1]), id="array-shape"),
        pytest.param(set_array("conv2", "weight", offset=10**9), id="array-outside-payload"),
    ],
)
def test_bad_node_names_the_node(edit):
    with pytest.raises(SnncError) as err:
        serialize.loads(forged(edit), "bad.snnc")
    (diag,) = err.value.diagnostics
    assert diag.rule == "IO-CORRUPT" and diag.node is not None and diag.node in diag.message
    assert "bad.snnc" in diag.message


def test_missing_field_takes_its_default():
    def drop_groups(doc):
        (node,) = (n for n in doc["nodes"] if n["name"] == "conv1")
        del node["attrs"]["groups"]

    assert serialize.loads(forged(drop_groups)).node("conv1").op.groups == 1


# --- atomic save ------------------------------------------------------------------------------


def test_save_replaces_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "g.snnc"
    path.write_bytes(b"old")
    serialize.save(every_op_graph(), path)
    assert os.listdir(tmp_path) == ["g.snnc"]
    assert path.read_bytes() == serialize.dumps(every_op_graph())


@pytest.mark.parametrize("fails", ["fsync", "replace"])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, fails):
    path = tmp_path / "g.snnc"
    path.write_bytes(b"old")

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, fails, broken)
    assert rule_of(serialize.save, every_op_graph(), path) == "IO-WRITE"
    assert os.listdir(tmp_path) == ["g.snnc"] and path.read_bytes() == b"old"


def test_interrupted_save_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        serialize.save(every_op_graph(), tmp_path / "g.snnc")
    assert os.listdir(tmp_path) == []


def test_save_creates_missing_directories_but_not_through_a_file(tmp_path):
    serialize.save(every_op_graph(), tmp_path / "new" / "g.snnc")  # like mkdir -p (snnc/atomic.py)
    assert (tmp_path / "new" / "g.snnc").is_file()
    (tmp_path / "plain").write_text("a file, not a directory")
    assert rule_of(serialize.save, every_op_graph(), tmp_path / "plain" / "g.snnc") == "IO-WRITE"


def test_unstorable_field_is_a_bug_not_a_user_error():
    g = Graph((Node("d", ops.Delay(steps=object()), (), TensorType((1,), Count(1))),))
    with pytest.raises(TypeError, match="'d'"):
        serialize.dumps(g)


def test_neurons_written_with_their_float_order_on_the_neuron_still_load():
    """Files written before the float order became a sub-record kept charge, rate, rate_op,
    v_rest and current on the Neuron itself; they load into `float_order` (dropped where canonical)."""
    b = GraphBuilder("old")
    order = FloatOrder("delta", rate=np.float32(2.0), rate_op="div", v_rest=np.float32(0.25), current="euler")
    x = b.input("x", (3,))
    b.add("lif", Neuron(threshold=2.0, i_decay=-0.5, float_order=order), x)
    b.output("out", b.add("if", Neuron(threshold=1.0), "lif"))
    graph = b.build()

    def legacy(doc):
        for node in doc["nodes"]:
            if node["op"] == "neuron":
                attrs = node["attrs"]
                inner = attrs.pop("float_order") or {"float_order": {}}
                defaults = {"charge": "affine", "rate_op": "mul", "current": "affine"}
                attrs.update(defaults | inner["float_order"])
                attrs.setdefault("rate", attrs["threshold"])  # an unused rate, as old files held one
                attrs.setdefault("v_rest", attrs["threshold"])

    old = serialize._pack(*_edited_parts(serialize.dumps(graph), legacy))
    back = serialize.loads(old)
    assert back.node("if").op.float_order is None
    got = back.node("lif").op.float_order
    assert (got.charge, got.rate_op, got.current, float(got.rate), float(got.v_rest)) == (
        "delta",
        "div",
        "euler",
        2.0,
        0.25,
    )
    assert serialize.dumps(back) == serialize.dumps(graph)


def _edited_parts(data: bytes, edit) -> tuple[bytes, bytes]:
    header, payload = serialize._unpack(data, "mem")
    doc = json.loads(header)
    edit(doc)
    return json.dumps(doc).encode(), bytes(payload)


def test_a_static_input_round_trips():
    from snnc.ir import FLOAT, GraphBuilder
    from snnc.ir.printer import format_graph
    from snnc.ir.serialize import dumps, loads

    b = GraphBuilder("still")
    b.output("y", b.input("x", (4,), FLOAT, time="static", steps=25))
    graph = b.build()
    back = loads(dumps(graph))
    assert (back.inputs[0].op.time, back.inputs[0].op.steps) == ("static", 25)
    assert "{static, steps=25}" in format_graph(graph)
