"""The NIR reader: every primitive of nir 1.0.8 against its equation, messy files, bad files.

Neurons are checked against a float64 numpy transcription of NIR's ODEs (nir/ir/neuron.py)
under forward Euler with step dt, the rule snnc states (snnc/nir/primitives.py); stateless
primitives against torch.nn.functional, which nirtorch maps them to.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import snnc
from snnc.diagnostics import Severity, SnncError
from snnc.nir.read import load_nir

nir = pytest.importorskip("nir")
T, B, N, DT = 40, 3, 6, 1e-3
RNG = np.random.default_rng(0)


def _vec(lo: float, hi: float, n: int = N) -> np.ndarray:
    return RNG.uniform(lo, hi, n).astype(np.float32)


def _chain(*nodes, shape=(N,)) -> nir.NIRGraph:
    return nir.NIRGraph.from_list(nir.Input(np.array(shape)), *nodes, nir.Output(np.array(shape)))


def _rules(excinfo) -> list[str]:
    return [d.rule for d in excinfo.value.diagnostics]


# --- neurons against NIR's equations under forward Euler ----------------------------------------


def _euler(node, x: np.ndarray, dt: float) -> np.ndarray:
    """NIR's ODE stepped by forward Euler in float64: spikes for spiking neurons, else v."""
    skip = ("input_type", "output_type", "metadata")
    p = {k: np.asarray(getattr(node, k), np.float64) for k in node.__dataclass_fields__ if k not in skip}
    kind = type(node).__name__
    v = p.get("v_leak", p.get("v_reset", np.zeros(N))) * np.ones(N)
    i = np.zeros(N)
    out = []
    for t in range(len(x)):
        drive = x[t].astype(np.float64)
        if kind in ("CubaLIF", "CubaLI"):
            i = i + dt / p["tau_syn"] * (-i + p["w_in"] * drive)
            drive = i
        if kind in ("IF", "I"):
            v = v + dt * p["r"] * drive
        else:
            tau = p.get("tau", p.get("tau_mem"))
            v = v + dt / tau * ((p["v_leak"] - v) + p["r"] * drive)
        if kind in ("IF", "LIF", "CubaLIF"):
            z = v > p["v_threshold"]
            v = np.where(z, p["v_reset"], v)
            out.append(z.astype(np.float32))
        else:
            out.append(v.copy())
    return np.stack(out)


NEURONS = {
    "IF": lambda: nir.IF(r=_vec(50, 150), v_threshold=_vec(0.5, 1.0), v_reset=_vec(-0.2, 0.0)),
    "LIF r=1": lambda: nir.LIF(
        tau=_vec(2e-3, 8e-3), r=np.ones(N, np.float32), v_leak=_vec(-0.1, 0.1), v_threshold=_vec(0.3, 0.6)
    ),
    "LIF r=tau/dt": lambda: nir.LIF(
        tau=_vec(2e-3, 8e-3), r=_vec(2, 8), v_leak=np.zeros(N, np.float32), v_threshold=_vec(0.8, 1.5)
    ),
    "CubaLIF": lambda: nir.CubaLIF(
        tau_syn=_vec(2e-3, 5e-3),
        tau_mem=_vec(3e-3, 9e-3),
        r=_vec(1, 4),
        v_leak=_vec(-0.1, 0.1),
        v_threshold=_vec(0.2, 0.5),
        w_in=_vec(1, 3),
    ),
    "I": lambda: nir.I(r=_vec(10, 100)),
    "LI": lambda: nir.LI(
        tau=np.full(N, 4e-3, np.float32), r=np.full(N, 2.0, np.float32), v_leak=np.full(N, 0.25, np.float32)
    ),
    "CubaLI": lambda: nir.CubaLI(
        tau_syn=np.full(N, 3e-3, np.float32),
        tau_mem=np.full(N, 6e-3, np.float32),
        r=np.full(N, 1.5, np.float32),
        v_leak=np.zeros(N, np.float32),
        w_in=np.full(N, 2.0, np.float32),
    ),
}


@pytest.mark.parametrize("kind", NEURONS)
def test_neuron_follows_nirs_equation_under_euler(kind):
    node = NEURONS[kind]()
    graph = snnc.load(_chain(node), dt=DT)
    x = RNG.uniform(-0.5, 1.5, (T, B, N)).astype(np.float32)
    got = snnc.simulate(graph, x).output
    expected = np.stack([_euler(node, x[:, b], DT) for b in range(B)], axis=1)
    if got.dtype == np.float32 and kind in ("I", "LI", "CubaLI"):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    else:
        assert 0 < expected.mean() < 0.9, "the test input should make some, not all, neurons fire"
        np.testing.assert_array_equal(got, expected)


def test_threshold_is_a_stateless_strict_comparison():
    threshold = _vec(0.2, 0.8)
    graph = snnc.load(_chain(nir.Threshold(threshold)))
    x = RNG.uniform(0, 1, (T, B, N)).astype(np.float32)
    x[0, 0] = threshold  # exactly at θ: NIR's z = v > θ does not fire
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, (x > threshold).astype(np.float32))


# --- stateless primitives against torch ----------------------------------------------------------


def test_stateless_primitives_compute_what_torch_does():
    w1, b1 = RNG.normal(size=(4, 2, 3, 3)).astype(np.float32), RNG.normal(size=4).astype(np.float32)
    w2 = RNG.normal(size=(5, 4 * 4)).astype(np.float32)
    scale = np.repeat(_vec(0.5, 2, 4)[:, None, None], 4, 1).repeat(4, 2)
    graph = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([2, 8, 8])),
            "conv": nir.Conv2d((8, 8), w1, 1, 1, 1, 1, b1),
            "sum": nir.SumPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
            "scale": nir.Scale(scale),
            "avg": nir.AvgPool2d(np.array([2, 2]), np.array([2, 2]), np.array([0, 0])),
            "flat": nir.Flatten(np.array([4, 2, 2]), 0, -1),
            "fc": nir.Linear(w2),
            "out": nir.Output(np.array([5])),
        },
        edges=[
            ("in", "conv"),
            ("conv", "sum"),
            ("sum", "scale"),
            ("scale", "avg"),
            ("avg", "flat"),
            ("flat", "fc"),
            ("fc", "out"),
        ],
    )
    x = RNG.normal(size=(2, B, 2, 8, 8)).astype(np.float32)
    got = snnc.simulate(snnc.load(graph), x).output
    y = F.conv2d(torch.from_numpy(x.reshape(-1, 2, 8, 8)), torch.from_numpy(w1), torch.from_numpy(b1), padding=1)
    y = F.avg_pool2d(F.avg_pool2d(y, 2) * 4 * torch.from_numpy(scale[:, :4, :4]), 2)
    y = y.flatten(1) @ torch.from_numpy(w2).T
    np.testing.assert_allclose(got.reshape(-1, 5), y.numpy(), rtol=1e-5, atol=1e-5)


def test_conv1d_and_same_padding():
    w = RNG.normal(size=(3, 2, 3)).astype(np.float32)
    conv = nir.Conv1d(7, w, 1, "same", 1, 1, np.zeros(3, np.float32))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([2, 7])), "conv": conv, "out": nir.Output(np.array([3, 7]))},
        edges=[("in", "conv"), ("conv", "out")],
    )
    x = RNG.normal(size=(1, B, 2, 7)).astype(np.float32)
    got = snnc.simulate(snnc.load(graph), x).output[0]
    np.testing.assert_allclose(got, F.conv1d(torch.from_numpy(x[0]), torch.from_numpy(w), padding=1).numpy(), atol=1e-6)


def test_delay_is_whole_steps_of_dt_and_zero_passes_through():
    graph = _chain(nir.Delay(np.full(N, 3 * DT)), nir.Delay(np.zeros(N)))
    x = RNG.normal(size=(6, B, N)).astype(np.float32)
    out = snnc.simulate(snnc.load(graph, dt=DT), x).output
    np.testing.assert_array_equal(out[3:], x[:3])
    np.testing.assert_array_equal(out[:3], 0)
    for delay in (np.full(N, 2.5 * DT), np.arange(N) * DT):
        with pytest.raises(SnncError) as e:
            snnc.load(_chain(nir.Delay(delay)), dt=DT)
        assert _rules(e) == ["FE-UNSUPPORTED-ATTR"] and e.value.diagnostics[0].node == "delay"


# --- graph structure ------------------------------------------------------------------------------


def test_summed_edges_and_a_cycle_without_delay():
    """Two edges into one node are summed; the recurrence lif → rec → lif gets a one-step delay."""
    w_rec = RNG.normal(size=(N, N)).astype(np.float32)
    lif = nir.IF(r=np.full(N, 1 / DT), v_threshold=np.ones(N))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([N])), "lif": lif, "rec": nir.Linear(w_rec), "out": nir.Output(np.array([N]))},
        edges=[("in", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "out")],
        type_check=False,
    )
    notes: list = []
    ir = snnc.load(graph, dt=DT, diagnostics=notes)
    assert [n.op.kind for n in ir.nodes if n.origin in ("nir.edge", "nir.edges")] == ["delay", "elementwise"]
    assert any("no NIR Delay" in d.message for d in notes)
    x = RNG.uniform(0, 1, (T, 1, N)).astype(np.float32)
    v, s, expected = np.zeros(N), np.zeros(N), []
    for t in range(T):  # x[t] + W·s[t−1] into an IF neuron
        v = v + (x[t, 0] + w_rec @ s)
        s = (v > 1).astype(np.float32)
        v = np.where(s > 0, 0, v)
        expected.append(s)
    np.testing.assert_array_equal(snnc.simulate(ir, x).output[:, 0], np.stack(expected))


def test_nested_graph_is_inlined_with_dotted_names():
    inner = nir.NIRGraph(
        nodes={
            "i": nir.Input(np.array([N])),
            "lin": nir.Linear(np.eye(N, dtype=np.float32)),
            "o": nir.Output(np.array([N])),
        },
        edges=[("i", "lin"), ("lin", "o")],
    )
    outer = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([N])), "block": inner, "out": nir.Output(np.array([N]))},
        edges=[("in", "block"), ("block", "out")],
    )
    ir = snnc.load(outer)
    assert "block.lin" in ir
    x = RNG.normal(size=(2, B, N)).astype(np.float32)
    np.testing.assert_allclose(snnc.simulate(ir, x).output, x)


# --- messy files ----------------------------------------------------------------------------------


def test_scalar_parameters_and_a_batch_axis_are_normalized_and_reported(tmp_path):
    """What real exporters write (docs/environment.md §5): 0-d parameters (nir.write then needs
    compression=None, nir.read rejects the file) and an Input shape with a leading batch axis."""
    w = RNG.normal(size=(N, 4)).astype(np.float32)
    lif = nir.LIF(tau=np.array(5e-3), r=np.array(1.0), v_leak=np.array(0.0), v_threshold=np.array(0.5))
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([1, 4])),
            "fc": nir.Linear(w),
            "lif": lif,
            "output": nir.Output(np.array([N])),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
        type_check=False,
    )
    path = tmp_path / "messy.nir"
    nir.write(path, graph, compression=None)
    with pytest.raises(ValueError):
        nir.read(path)
    notes: list = []
    ir = snnc.load(path, dt=DT, diagnostics=notes)
    assert ir.inputs[0].type.shape == (4,)
    assert all(d.rule == "FE-NIR-NORMALIZED" and d.severity is Severity.INFO for d in notes)
    said = " | ".join(d.message for d in notes)
    for what in ("type checking", "leading batch axis", "broadcast"):
        assert what in said, said
    neuron = ir.node("lif").op
    assert neuron.threshold.shape == () and float(neuron.float_order.rate) == pytest.approx(5.0)


def test_missing_boundary_nodes_are_added_and_dt_default_is_said():
    lif = nir.LIF(tau=np.full(N, 1e-3), r=np.ones(N), v_leak=np.zeros(N), v_threshold=np.ones(N))
    graph = nir.NIRGraph(nodes={"lif": lif}, edges=[], type_check=False)
    notes: list = []
    ir = snnc.load(graph, diagnostics=notes)
    assert [n.op.kind for n in ir.inputs + ir.outputs] == ["input", "output"]
    said = " | ".join(d.message for d in notes)
    assert "no Input node" in said and "graph output" in said and "dt = 0.0001" in said


# --- bad input ------------------------------------------------------------------------------------


def _h5(path, build) -> str:
    with h5py.File(path, "w") as f:
        f.create_dataset("version", data="1.0.8")
        build(f.create_group("node"))
    return str(path)


def _node(group, name: str, kind: str, **arrays):
    g = group.create_group(name)
    g.create_dataset("type", data=kind)
    for k, v in arrays.items():
        g.create_dataset(k, data=v)
    return g


def _graph_group(f, edges):
    f.create_dataset("type", data="NIRGraph")
    f.create_dataset("edges", data=np.array(edges, dtype="S"))
    return f.create_group("nodes")


def test_malformed_files_get_diagnostics(tmp_path):
    not_hdf5 = tmp_path / "text.nir"
    not_hdf5.write_text("not a NIR file")

    def unknown(f):
        nodes = _graph_group(f, [("in", "x"), ("x", "out")])
        _node(nodes, "in", "Input", shape=np.array([3]))
        _node(nodes, "x", "Sigmoid", weight=np.ones(3))
        _node(nodes, "out", "Output", shape=np.array([3]))

    def missing_field(f):
        nodes = _graph_group(f, [("in", "lif"), ("lif", "out")])
        _node(nodes, "in", "Input", shape=np.array([3]))
        _node(nodes, "lif", "LIF", tau=np.ones(3), r=np.ones(3))  # no v_leak, v_threshold
        _node(nodes, "out", "Output", shape=np.array([3]))

    def dangling(f):
        nodes = _graph_group(f, [("in", "ghost"), ("in", "out")])
        _node(nodes, "in", "Input", shape=np.array([3]))
        _node(nodes, "out", "Output", shape=np.array([3]))

    cases = {
        str(not_hdf5): ("FE-NIR-READ", None),
        _h5(tmp_path / "unknown.nir", unknown): ("FE-UNSUPPORTED-OP", "x"),
        _h5(tmp_path / "missing.nir", missing_field): ("FE-NIR-READ", "lif"),
        _h5(tmp_path / "dangling.nir", dangling): ("FE-NIR-READ", "ghost"),
        str(tmp_path / "absent.nir"): ("IO-NOT-FOUND", None),
    }
    for path, (rule, node) in cases.items():
        with pytest.raises(SnncError) as e:
            snnc.load(path)
        assert _rules(e) == [rule], (path, e.value)
        assert e.value.diagnostics[0].node == node, (path, e.value)


def test_parameters_that_do_not_fit_the_layer_are_named(tmp_path):
    lif = nir.IF(r=np.ones(N + 1), v_threshold=np.ones(N + 1))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([N])), "if": lif, "out": nir.Output(np.array([N + 1]))},
        edges=[("in", "if"), ("if", "out")],
        type_check=False,
    )
    with pytest.raises(SnncError) as e:
        load_nir(graph)
    assert _rules(e) == ["FE-UNSUPPORTED-ATTR"] and e.value.diagnostics[0].node == "if"


@pytest.mark.parametrize("dt", [0.0, -1e-3, float("nan")])
def test_dt_must_be_a_positive_step(dt):
    with pytest.raises(SnncError) as e:
        snnc.load(_chain(nir.LIF(tau=np.ones(N), r=np.ones(N), v_leak=np.zeros(N), v_threshold=np.ones(N))), dt=dt)
    assert _rules(e) == ["FE-NIR-DT"]


def test_dt_is_refused_for_sources_without_time(tmp_path):
    from snnc.ir import GraphBuilder, Linear
    from snnc.ir.serialize import save

    b = GraphBuilder()
    b.output("out", b.add("fc", Linear(np.ones((2, 3))), b.input("in", (3,))))
    save(b.build(), tmp_path / "g.snnc")
    with pytest.raises(SnncError) as e:
        snnc.load(tmp_path / "g.snnc", dt=1e-3)
    assert _rules(e) == ["FE-NIR-DT"]


def test_cli_inspect_reads_nir_and_reports_normalizations(tmp_path, capsys):
    from snnc.cli import main

    lif = nir.LIF(tau=np.array(5e-3), r=np.array(1.0), v_leak=np.array(0.0), v_threshold=np.array(0.5))
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(np.array([N])), "lif": lif, "out": nir.Output(np.array([N]))},
        edges=[("in", "lif"), ("lif", "out")],
        type_check=False,
    )
    nir.write(tmp_path / "m.nir", graph, compression=None)
    assert main(["inspect", str(tmp_path / "m.nir"), "--dt", "1e-3"]) == 0
    out, err = capsys.readouterr()
    assert "neuron(%in)" in out and "rate=5" in out
    assert "FE-NIR-NORMALIZED" in err and "broadcast" in err
