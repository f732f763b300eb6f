"""The public API of ARCHITECTURE §3 as users call it: `snnc.load` and `snnc.simulate`."""

from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest

import snnc
from snnc.diagnostics import Kind
from snnc.ir import GraphBuilder, Linear, Neuron, serialize


def _graph(weight: np.ndarray) -> snnc.Graph:
    b = GraphBuilder("api")
    x = b.input("x", (4,))
    fc = b.add("fc", Linear(weight=weight), x)
    b.output("out", b.add("lif", Neuron(threshold=0.5, v_decay=0.9), fc))
    return b.build()


@pytest.fixture
def graph() -> snnc.Graph:
    return _graph(np.full((3, 4), 0.3, np.float32))


def test_version_comes_from_the_package_metadata():
    assert snnc.__version__ == metadata.version("snnc")


def test_load_passes_a_graph_through(graph):
    assert snnc.load(graph) is graph


def test_load_reads_an_snnc_file(graph, tmp_path):
    path = tmp_path / "api.snnc"
    serialize.save(graph, path)
    for source in (path, str(path)):
        loaded = snnc.load(source)
        assert [n.name for n in loaded] == [n.name for n in graph]


def test_load_rejects_a_graph_that_fails_verification(tmp_path):
    weight = np.full((3, 4), 0.3, np.float32)
    weight[1, 2] = np.nan
    with pytest.raises(snnc.SnncError) as e:
        snnc.load(_graph(weight))
    assert e.value.kind is Kind.CHECK and e.value.exit_code == 1
    assert [(d.rule, d.node) for d in e.value.diagnostics] == [("IR-NONFINITE", "fc")]


@pytest.mark.parametrize(
    "source,rule",
    [
        ("net.nir", "IO-NOT-FOUND"),
        ("net.onnx", "IO-NOT-FOUND"),
        ("model.h5", "FE-UNSUPPORTED-SOURCE"),
        (object(), "FE-UNSUPPORTED-SOURCE"),
        ("model.pt", "IO-NOT-FOUND"),
        ("no_such_package.module:factory", "FE-FACTORY"),
        ("collections:OrderedDict", "FE-FACTORY"),  # importable, but builds no nn.Module
    ],
)
def test_load_names_the_sources_it_cannot_read(source, rule):
    with pytest.raises(snnc.SnncError) as e:
        snnc.load(source)
    assert e.value.exit_code == 2
    assert [d.rule for d in e.value.diagnostics] == [rule]


def test_load_converts_a_torch_module_and_a_factory_with_weights(tmp_path, monkeypatch):
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    graph = snnc.load(model)
    assert [n.op.kind for n in graph.nodes] == ["input", "linear", "relu", "output"]
    assert graph.node("0").origin.endswith("Linear")
    (tmp_path / "factory_mod.py").write_text(
        "import torch\ndef build():\n    return torch.nn.Sequential(torch.nn.Linear(4, 3))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    torch.save({"0." + k: v for k, v in model[0].state_dict().items()}, tmp_path / "w.pt")
    loaded = snnc.load("factory_mod:build", weights=tmp_path / "w.pt")
    np.testing.assert_array_equal(loaded.node("0").op.weight, model[0].weight.detach().numpy())


def test_load_reports_a_missing_file(tmp_path):
    with pytest.raises(snnc.SnncError) as e:
        snnc.load(tmp_path / "missing.snnc")
    assert [d.rule for d in e.value.diagnostics] == ["IO-NOT-FOUND"]


def test_simulate_returns_outputs_activity_and_traces(graph):
    x = np.ones((5, 2, 4), np.uint8)  # [T, B, *input_shape]
    result = snnc.simulate(graph, x, record=("v", "activity"))
    assert result.output.shape == (5, 2, 3)
    assert set(result.outputs) == {"out"}
    # 4 inputs x 0.3 = 1.2 per step crosses the 0.5 threshold every step: 3 neurons x 5 steps per sample
    assert result.activity["lif"].events.sum(axis=0).tolist() == [15, 15]
    assert result.traces["lif"]["v"].shape == (5, 2, 3)


def test_simulate_rejects_a_wrong_input_shape(graph):
    with pytest.raises(snnc.SnncError) as e:
        snnc.simulate(graph, np.ones((2, 5, 3), np.uint8))
    assert e.value.exit_code == 2
    assert [d.rule for d in e.value.diagnostics] == ["SIM-INPUT-SHAPE"]
