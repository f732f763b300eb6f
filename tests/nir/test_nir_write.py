"""IR → NIR → IR: exact through snnc's sidecar, faithful for a plain NIR reader where NIR can say it.

"Exact" is byte-equality of the two graphs' `.snnc` serializations (snnc/ir/serialize.py dumps
every node, op field and array bit for bit). "Faithful" is the same spikes from the graph a
reader gets without the sidecar, for neurons whose semantics NIR has (v > θ, zero reset in the
same step, one spike, starting at rest).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snnc
from snnc.diagnostics import Severity, SnncError
from snnc.ir import (
    FLOAT,
    SPIKE,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Count,
    Crop,
    Elementwise,
    Flatten,
    Flip,
    FloatOrder,
    GraphBuilder,
    Linear,
    MaxPool2d,
    Neuron,
    ReLU,
    Reshape,
    Scale,
    SumPool2d,
    TensorType,
)
from snnc.ir.serialize import dumps
from snnc.nir.write import to_nir, write_nir

nir = pytest.importorskip("nir")
DT = 1e-3


# --- random exportable graphs -------------------------------------------------------------------


def _param(draw, rng, shape, lo, hi):
    kind = draw(st.sampled_from(["scalar", "channel", "neuron"]))
    size = () if kind == "scalar" else shape[:1] if kind == "channel" else shape
    return rng.uniform(lo, hi, size).astype(np.float32)


@st.composite
def neurons(draw, rng, shape):
    charge = draw(st.sampled_from(FloatOrder.CHOICES["charge"]))
    spikes = draw(st.sampled_from(Neuron.CHOICES["spikes"]))
    order = {"charge": charge}
    fields = {
        "threshold": _param(draw, rng, shape, 0.3, 1.5),
        "reset": draw(st.sampled_from(Neuron.CHOICES["reset"])),
        "reset_timing": draw(st.sampled_from(Neuron.CHOICES["reset_timing"])),
        "fire_op": draw(st.sampled_from(["ge", "gt"])),
        "spikes": spikes,
        "max_spikes": draw(st.sampled_from([None, 3])) if spikes == "multi" else None,
        "v_reset": _param(draw, rng, shape, -0.3, 0.0),
        "v_init": _param(draw, rng, shape, -0.2, 0.2),
    }
    if charge == "affine":
        leaky = draw(st.booleans())  # no leak and no bias: written as NIR's IF
        fields |= {
            "v_decay": _param(draw, rng, shape, 0.5, 1.0) if leaky else np.float32(1),
            "gain": _param(draw, rng, shape, 0.5, 2),
            "bias": _param(draw, rng, shape, -0.1, 0.1) if leaky else np.float32(0),
        }
    else:
        order |= {
            "rate": _param(draw, rng, shape, 1.5, 6),
            "rate_op": draw(st.sampled_from(["mul", "div"])),
            "v_rest": _param(draw, rng, shape, -0.1, 0.1),
        }
        if order["rate_op"] == "mul":
            order["rate"] = (1 / order["rate"]).astype(np.float32)
    if draw(st.booleans()):
        fields |= {
            "i_decay": _param(draw, rng, shape, 0.2, 0.9),
            "input_order": draw(st.sampled_from(Neuron.CHOICES["input_order"])),
        }
        order["current"] = draw(st.sampled_from(FloatOrder.CHOICES["current"]))
        if order["current"] == "euler":
            fields["i_decay"] = (fields["i_decay"] - 1).astype(np.float32)
    if draw(st.booleans()):
        fields["v_min"] = _param(draw, rng, shape, -2, -1)
    return Neuron(**fields, float_order=FloatOrder(**order))


def _neuron_type(op: Neuron, shape) -> TensorType:
    return TensorType(shape, {"single": SPIKE, "none": FLOAT}.get(op.spikes, Count(op.max_spikes)))


@st.composite
def graphs(draw):
    """A conv or dense net of exportable ops: synaptic layers with and without bias, pools,
    Scale, Flatten, neurons with every switch, a recurrent Delay, adds and a late input."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    b = GraphBuilder(draw(st.sampled_from(["net", "odd/name%2F"])))
    x = b.input("in/put", (2, 6, 6) if draw(st.booleans()) else (5,), draw(st.sampled_from([FLOAT, SPIKE])))
    if len(b.type_of(x).shape) == 3:
        bias = rng.normal(size=3).astype(np.float32) if draw(st.booleans()) else None
        x = b.add("conv", Conv2d(rng.normal(size=(3, 2, 3, 3)).astype(np.float32), bias, padding=1), x)
        x = b.add("n0", draw(neurons(rng, (3, 6, 6))), x)
        pool = draw(st.sampled_from([SumPool2d, AvgPool2d]))
        x = b.add("pool", pool((2, 2)), x, origin="torch.nn.AvgPool2d")
        x = b.add("scale", Scale(rng.uniform(0.5, 2, 3).astype(np.float32)), x)
        x = b.add("flat", Flatten() if draw(st.booleans()) else Reshape((27,)), x)
    features = b.type_of(x).shape[0]
    x = b.add("fc", Linear(rng.normal(size=(4, features)).astype(np.float32)), x)
    op = draw(neurons(rng, (4,)))
    if draw(st.booleans()):  # recurrence: fc + delay(n1) → n1
        d = b.delay("n1.delay", draw(st.integers(1, 3)), _neuron_type(op, (4,)))
        rec = b.add("rec", Linear(rng.normal(size=(4, 4)).astype(np.float32)), d)
        late = draw(st.booleans())
        x = b.add("n1", op, x, rec) if late else b.add("n1", op, b.add("sum", Elementwise("add"), x, rec))
        b.connect(d, x)
    else:
        x = b.add("n1", op, x)
    b.output("out", x)
    return b.build()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=graphs())
def test_ir_to_nir_to_ir_is_exact(graph, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "g.nir"
    warnings = snnc.export(graph, path, dt=DT)
    nir.read(path)  # a plain NIR reader accepts the file, NIR's type check included
    notes: list = []
    back = snnc.load(path, diagnostics=notes)
    assert dumps(back) == dumps(graph)
    assert notes == []
    if not any("infinite" in w.message for w in warnings):  # a neuron NIR cannot state has τ = ∞
        assert len(_plain(path).outputs) == 1  # snnc reads the file without the sidecar too


# --- what a plain NIR reader gets ---------------------------------------------------------------


def _plain(path):
    """The file as a NIR reader without snnc's sidecar sees it."""
    graph = nir.read(path)
    graph.metadata = {}
    return snnc.load(graph, dt=DT)


def _nir_semantics_net(rng) -> snnc.Graph:
    """Neurons NIR can state exactly: v > θ, zero reset in the same step, one spike, from rest."""
    b = GraphBuilder("plain")
    x = b.input("in", (2, 6, 6))
    x = b.add("conv", Conv2d(rng.normal(size=(3, 2, 3, 3)).astype(np.float32), padding=1), x)
    x = b.add("if", Neuron(threshold=np.float32(1.0), reset="zero", fire_op="gt"), x)
    x = b.add("pool", SumPool2d((2, 2)), x)
    x = b.add("flat", Flatten(), x)
    x = b.add("fc", Linear(rng.normal(size=(4, 27)).astype(np.float32), rng.normal(size=4).astype(np.float32)), x)
    lif = Neuron(threshold=np.float32(0.5), v_decay=np.float32(0.75), gain=np.float32(0.5), reset="zero", fire_op="gt")
    x = b.add("lif", lif, x)
    readout = Neuron(spikes="none", reset="none", v_decay=np.float32(0.5), gain=np.float32(0.5))  # NIR LI
    b.output("out", b.add("li", readout, b.add("fc2", Linear(rng.normal(size=(2, 4)).astype(np.float32)), x)))
    return b.build()


def test_plain_nir_reader_gets_the_same_spikes(tmp_path):
    rng = np.random.default_rng(3)
    graph = _nir_semantics_net(rng)
    assert snnc.export(graph, tmp_path / "p.nir", dt=DT) == []  # nothing lost
    x = (rng.random((30, 4, 2, 6, 6)) < 0.4).astype(np.float32)
    expected = snnc.simulate(graph, x, record=("lif:out",))
    assert expected.traces["lif"]["out"].any()
    plain = _plain(tmp_path / "p.nir")
    assert [type(n).__name__ for n in nir.read(tmp_path / "p.nir").nodes.values()].count("LI") == 1
    got = snnc.simulate(plain, x, record=("lif:out",))
    np.testing.assert_array_equal(got.traces["lif"]["out"], expected.traces["lif"]["out"])
    np.testing.assert_allclose(got.output, expected.output, rtol=1e-5, atol=1e-6)  # the LI readout's membrane


def test_lost_semantics_are_named_per_node(tmp_path):
    b = GraphBuilder()
    x = b.add("fc", Linear(np.ones((3, 3), np.float32)), b.input("in", (3,)))
    op = Neuron(reset="subtract", fire_op="ge", spikes="multi", reset_timing="next_step", v_min=np.float32(-1))
    b.output("out", b.add("n", op, x))
    warnings = snnc.export(b.build(), tmp_path / "l.nir")
    (w,) = warnings
    assert w.rule == "EXPORT-NIR-LOSSY" and w.node == "n" and w.severity is Severity.WARNING
    for what in ("v >= threshold", "subtract reset", "next_step", "several spikes", "v_min"):
        assert what in w.message, w.message
    assert nir.read(tmp_path / "l.nir").nodes["n"].metadata["snnc"]["reset"] == "subtract"


def test_quantized_graph_round_trips_and_warns(tmp_path):
    """A graph lowered for the sim target (integer parameters, number formats, the graph's
    Arithmetic) comes back exactly; a plain reader is told it gets integers."""
    b = GraphBuilder()
    x = b.add("fc", Linear(np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)), b.input("in", (4,), SPIKE))
    b.output("out", b.add("n", Neuron(threshold=np.float32(0.7), v_decay=np.float32(0.75)), x))
    graph = snnc.compile(b.build(), "sim").graph
    assert graph.arithmetic is not None
    warnings = snnc.export(graph, tmp_path / "q.nir")
    assert {w.node for w in warnings} == {"fc", "n"} and all("integer parameters" in w.message for w in warnings)
    assert dumps(snnc.load(tmp_path / "q.nir")) == dumps(graph)


# --- failures -------------------------------------------------------------------------------------


def test_ops_without_a_nir_form_are_all_listed_and_nothing_is_written(tmp_path):
    b = GraphBuilder()
    x = b.input("in", (2, 4, 4))
    x = b.add("bn", BatchNorm(np.zeros(2), np.ones(2), np.ones(2), np.zeros(2)), x)
    x = b.add("relu", ReLU(), x)
    x = b.add("max", MaxPool2d((2, 2)), x)
    x = b.add("crop", Crop(0, 2, 0, 1), x)
    x = b.add("flip", Flip(flip_x=True), x)
    b.output("out", b.add("sq", Elementwise("mul"), x, x))
    with pytest.raises(SnncError) as e:
        snnc.export(b.build(), tmp_path / "u.nir")
    assert [(d.rule, d.node) for d in e.value.diagnostics] == [
        ("EXPORT-NIR-UNSUPPORTED", n) for n in ("bn", "relu", "max", "crop", "flip", "sq")
    ]
    assert "fold-bn" in e.value.diagnostics[0].hint
    assert "crop the input data" in e.value.diagnostics[3].hint
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_leaves_nothing(tmp_path):
    graph = _nir_semantics_net(np.random.default_rng(0))
    (tmp_path / "blocker").write_text("a file where the directory should be")
    with pytest.raises(SnncError) as e:
        write_nir(graph, tmp_path / "blocker" / "x.nir", DT)
    assert [d.rule for d in e.value.diagnostics] == ["EXPORT-WRITE"]
    with pytest.raises(SnncError) as e:
        snnc.export(graph, tmp_path / "x.onnx", to="onnx")
    assert [d.rule for d in e.value.diagnostics] == ["EXPORT-FORMAT"]
    assert list(tmp_path.iterdir()) == [tmp_path / "blocker"]


def test_a_file_edited_after_export_is_read_as_plain_nir(tmp_path):
    graph = _nir_semantics_net(np.random.default_rng(1))
    path = tmp_path / "e.nir"
    snnc.export(graph, path, dt=DT)
    with h5py.File(path, "r+") as f:
        f["node/nodes/fc/weight"][0, 0] = 42.0
    notes: list = []
    edited = snnc.load(path, diagnostics=notes)
    assert [d.rule for d in notes if d.severity is Severity.WARNING] == ["FE-NIR-SIDECAR"]
    assert "'fc' differs" in notes[0].message
    assert edited.node("fc").op.weight[0, 0] == 42.0


def test_another_dt_sets_the_sidecar_aside(tmp_path):
    graph = _nir_semantics_net(np.random.default_rng(2))
    snnc.export(graph, tmp_path / "d.nir", dt=DT)
    notes: list = []
    other = snnc.load(tmp_path / "d.nir", dt=2 * DT, diagnostics=notes)
    assert any("differs from the" in d.message for d in notes)
    np.testing.assert_allclose(other.node("lif").op.v_decay, 0.5)  # the leak per step doubles: 1 − 2·0.25
    li = other.node("li").op  # NIR LI with R = 1: the delta charge, k = 1/rate = 2·0.5
    assert li.float_order.charge == "delta" and li.spikes == "none"
    np.testing.assert_allclose(li.float_order.rate, 1.0)


def test_in_memory_nir_graph_round_trips():
    graph = _nir_semantics_net(np.random.default_rng(4))
    nir_graph, _ = to_nir(graph, DT)
    assert dumps(snnc.load(nir_graph)) == dumps(graph)


def test_cli_export_writes_nir(tmp_path, capsys):
    from snnc.cli import main
    from snnc.ir.serialize import save

    graph = _nir_semantics_net(np.random.default_rng(5))
    save(graph, tmp_path / "m.snnc")
    assert main(["export", str(tmp_path / "m.snnc"), "--to", "nir", "-o", str(tmp_path / "m.nir")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert dumps(snnc.load(tmp_path / "m.nir")) == dumps(graph)
    assert (
        main(["export", str(tmp_path / "m.snnc"), "-o", str(tmp_path / "j.nir"), "--format", "json", "--dt", "1e-3"])
        == 0
    )
    assert '"written"' in capsys.readouterr().out


def test_batchnorm_is_folded_before_export(tmp_path):
    """NIR has no BatchNorm: export folds it (dyadic parameters keep the fold exact here)."""
    b = GraphBuilder("bn")
    x = b.add("conv", Conv2d(np.full((2, 2, 3, 3), 0.25, np.float32), padding=1), b.input("in", (2, 4, 4)))
    bn = BatchNorm(np.array([0.5, -0.25]), np.array([3.0, 0.0]), np.array([2.0, 0.5]), np.array([0.25, 0.0]), eps=1.0)
    x = b.add("bn", bn, x)
    b.output("out", b.add("if", Neuron(threshold=np.float32(0.5), reset="zero", fire_op="gt"), x))
    graph = b.build()
    notes = snnc.export(graph, tmp_path / "bn.nir")
    assert [(d.rule, d.severity) for d in notes] == [("EXPORT-BN-FOLDED", Severity.INFO)]
    back = snnc.load(tmp_path / "bn.nir")
    assert "batchnorm" not in {n.op.kind for n in back.nodes}
    x = (np.random.default_rng(0).random((8, 3, 2, 4, 4)) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(snnc.simulate(back, x).output, snnc.simulate(graph, x).output)


# --- max pooling: no NIR primitive ----------------------------------------------------------------


def _maxpool_net(spiking: bool):
    """conv → (IF neuron) → max pool 2 → flatten → linear → IF: a max pool of spikes or of floats."""
    rng = np.random.default_rng(4)
    b = GraphBuilder("pooled")
    x = b.add("conv", Conv2d(rng.normal(0, 1, (3, 2, 3, 3)).astype(np.float32)), b.input("x", (2, 8, 8), SPIKE))
    x = b.add("sn", Neuron(threshold=0.8, fire_op="gt", reset="zero"), x) if spiking else x
    x = b.add("flat", Flatten(), b.add("max", MaxPool2d((2, 2)), x))
    w = rng.normal(0, 1, (4, 27)).astype(np.float32)
    b.output("out", b.add("fc1", Neuron(threshold=1.0, fire_op="gt", reset="zero"), b.add("fc", Linear(w), x)))
    return b.build()


def test_a_max_pool_of_spikes_is_written_as_an_exact_or(tmp_path):
    """Sum pool, then NIR's Threshold(0.5): a NIR reader (snnc without the sidecar) computes the
    same spikes as the max pool."""
    graph = _maxpool_net(spiking=True)
    warnings = snnc.export(graph, tmp_path / "or.nir", dt=DT)
    assert [w.rule for w in warnings] == ["EXPORT-NIR-MAXPOOL"]
    plain = nir.read(tmp_path / "or.nir")
    assert {type(n).__name__ for n in plain.nodes.values()} >= {"SumPool2d", "Threshold"}
    x = (np.random.default_rng(5).random((12, 3, 2, 8, 8)) < 0.3).astype(np.float32)
    expected = snnc.simulate(graph, x).output
    assert expected.any()
    np.testing.assert_array_equal(snnc.simulate(snnc.load(tmp_path / "or.nir", producer="nir"), x).output, expected)
    np.testing.assert_array_equal(snnc.simulate(snnc.load(tmp_path / "or.nir"), x).output, expected)  # sidecar


def test_a_max_pool_of_floats_is_refused_unless_written_as_an_average(tmp_path):
    graph = _maxpool_net(spiking=False)
    with pytest.raises(SnncError) as e:
        snnc.export(graph, tmp_path / "max.nir", dt=DT)
    (d,) = e.value.diagnostics
    assert (d.rule, d.node) == ("EXPORT-NIR-UNSUPPORTED", "max") and "maxpool='avg'" in d.hint
    warnings = snnc.export(graph, tmp_path / "avg.nir", dt=DT, maxpool="avg")
    (lossy,) = [w for w in warnings if w.node == "max"]
    assert lossy.rule == "EXPORT-NIR-LOSSY" and "mean" in lossy.message
    assert type(nir.read(tmp_path / "avg.nir").nodes["max"]).__name__ == "AvgPool2d"
    assert dumps(snnc.load(tmp_path / "avg.nir")) == dumps(graph)  # the sidecar keeps the max pool
