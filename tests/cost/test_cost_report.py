"""The report as data: its JSON schema, totals and profile that agree with the layers, the HTML
file with its plots, atomic writing, and the shipped example's numbers."""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import snnc
from snnc.cost import SCHEMA
from snnc.cost import html as cost_html
from snnc.diagnostics import SnncError
from snnc.driver.report import report

ROOT = Path(__file__).parents[2]
import nmnist_cnn  # noqa: E402

NUMBER = (int, float)
OPTIONAL_NUMBER = (int, float, type(None))
NEUROBENCH = {"Effective_ACs": NUMBER, "Effective_MACs": NUMBER, "Dense": NUMBER}
CONSTANT = {"name": str, "value": NUMBER, "unit": str, "status": str, "source": str, "?low": NUMBER, "?high": NUMBER}
LAYER = {
    "name": str,
    "op": str,
    "role": str,
    "input": str,
    "input_kind": (str, type(None)),
    "counted_as": (str, type(None)),
    "events_in": NUMBER,
    "rate_in": OPTIONAL_NUMBER,
    "rate_out": OPTIONAL_NUMBER,
    "spikes_out": OPTIONAL_NUMBER,
    "flops": (int, type(None)),
    "sops": NUMBER,
    "sops_paper": NUMBER,
    "sops_ratio": OPTIONAL_NUMBER,
    "acs": NUMBER,
    "macs": NUMBER,
    "neuron_updates": NUMBER,
    "neurobench": (dict, type(None)),
    "energy_pj": NUMBER,
    "energy_breakdown": dict,
}
REPORT = {
    "schema": str,
    "graph": str,
    "samples": int,
    "steps": int,
    "units": {"energy": str, "operations": str},
    "model": {
        "name": str,
        "title": str,
        "dt": OPTIONAL_NUMBER,
        "constants": [CONSTANT],
        "rules": [str],
        "options": {"encoding_once": bool, "integer_inputs": str, "sops": str},
    },
    "layers": [LAYER],
    "total": {
        "sops": NUMBER,
        "sops_paper": NUMBER,
        "acs": NUMBER,
        "macs": NUMBER,
        "energy_pj": NUMBER,
        "energy_range_pj": ([NUMBER], type(None)),
        "energy_by_component": dict,
        "static_pj": OPTIONAL_NUMBER,
        "neurobench": NEUROBENCH,
        "not_counted": {
            k: NUMBER for k in ("neuron_updates", "pooling_adds", "residual_adds", "batchnorm_ops", "bias_adds")
        },
    },
    "ann": {"macs": int, "energy_pj": NUMBER, "basis": str},
    "energy_ratio_ann_over_snn": OPTIONAL_NUMBER,
    "profile": {
        "step": [int],
        "sops": [NUMBER],
        "sops_paper": [NUMBER],
        "acs": [NUMBER],
        "macs": [NUMBER],
        "energy_pj": [NUMBER],
        "firing_rate": dict,
    },
    "diagnostics": [dict],
}


def conforms(value, schema, where="report") -> None:
    """A dict schema lists exactly the keys ('?key': optional); [s]: a list of s; else types."""
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        required = {k for k in schema if not k.startswith("?")}
        allowed = {k.lstrip("?") for k in schema}
        assert required <= set(value) <= allowed, f"{where}: keys {sorted(value)} vs {sorted(allowed)}"
        for key, sub in schema.items():
            if key.lstrip("?") in value:
                conforms(value[key.lstrip("?")], sub, f"{where}.{key.lstrip('?')}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for k, item in enumerate(value):
            conforms(item, schema[0], f"{where}[{k}]")
    elif isinstance(schema, tuple) and any(isinstance(s, (list, dict)) for s in schema):
        assert any(_matches(value, s) for s in schema), where
    else:
        assert isinstance(value, schema) and not (isinstance(value, bool) and schema in (int, NUMBER)), where


def _matches(value, schema) -> bool:
    try:
        conforms(value, schema)
    except AssertionError:
        return False
    return True


@pytest.fixture(scope="module")
def example():
    graph = snnc.load(ROOT / "examples" / "nmnist_cnn.snnc")
    x = np.load(ROOT / "examples" / "nmnist_sample.npz")["x"]
    return graph, x


@pytest.mark.parametrize("options", [{}, {"model": "memory"}, {"model": "target", "target": "speck", "dt": 1e-3}])
def test_report_json_schema(example, options):
    data = snnc.report(*example, **options).to_dict()
    conforms(data, REPORT)
    assert data["schema"] == SCHEMA
    assert json.loads(json.dumps(data)) == data  # plain JSON: no numpy scalars, no NaN


def test_totals_and_profile_agree_with_the_layers(example):
    r = snnc.report(*example)
    for key in ("sops", "sops_paper", "acs", "macs", "energy_pj"):
        assert sum(getattr(layer, key) for layer in r.layers) == pytest.approx(r.total[key])
        assert sum(r.profile[key]) == pytest.approx(r.total[key])
    assert sum(r.total["energy_by_component"].values()) == pytest.approx(r.total["energy_pj"])
    for layer in r.layers:
        if layer.role == "neuron":
            assert np.mean(r.profile["firing_rate"][layer.name]) == pytest.approx(layer.rate_out)


def test_example_numbers(example):
    """The shipped example: SOPs, rates and energy recomputed here from the simulator's activity."""
    graph, x = example
    r = snnc.report(graph, x)
    activity = snnc.simulate(graph, x, record=("activity",)).activity
    samples = x.shape[1]
    conv1 = r.layers[0]
    assert conv1.input_kind == "binary" and conv1.counted_as == "ac"
    assert conv1.events_in == x.sum() / samples
    assert conv1.rate_in == pytest.approx(x.mean())
    for layer in r.layers:
        if layer.role == "neuron":
            assert layer.rate_out == pytest.approx(activity[layer.name].rate)
            assert layer.spikes_out == activity[layer.name].total / samples
    fc = next(layer for layer in r.layers if layer.name == "fc")
    assert fc.sops == activity["pool2"].total * 10 / samples  # a linear layer: every event reaches all 10 outputs
    expected = sum(4.6 * layer.macs + 0.9 * layer.acs for layer in r.layers)
    assert r.total["energy_pj"] == pytest.approx(expected)
    assert r.ann["macs"] == 12 * 2 * 25 * 30 * 30 + 32 * 12 * 25 * 11 * 11 + 800 * 10


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs) -> None:
        self.tables += tag == "table"
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def test_html_report_with_its_plots(example, tmp_path):
    import matplotlib.image

    r = snnc.report(*example)
    path = r.to_html(tmp_path / "report.html")
    parser = _Images()
    parser.feed(path.read_text(encoding="utf-8"))
    assert parser.tables >= 4 and len(parser.sources) == 3
    for src in parser.sources:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        png = base64.b64decode(src[len(prefix) :], validate=True)
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 200 and image.shape[1] > 400 and image.std() > 0.05  # a real, non-blank plot
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_html_write_is_atomic(example, tmp_path, monkeypatch):
    r = snnc.report(*example)
    path = tmp_path / "report.html"
    path.write_text("previous")

    def broken(report):
        raise RuntimeError("plotting failed")

    with monkeypatch.context() as patch:
        patch.setattr(cost_html, "_rate_plot", broken)
        with pytest.raises(RuntimeError):
            r.to_html(path)
    assert path.read_text() == "previous" and list(tmp_path.iterdir()) == [path]
    with pytest.raises(SnncError) as e:
        report(*example).to_html(path / "report.html")  # a file is in the way of the directory
    assert e.value.diagnostics[0].rule == "COST-REPORT-WRITE"


def test_report_accepts_a_model_source(example):
    """`snnc.report` loads what `snnc.load` loads; the standard net built in code gives the same numbers."""
    _, x = example
    from_file = snnc.report(ROOT / "examples" / "nmnist_cnn.snnc", x)
    built = snnc.report(nmnist_cnn.build(), x)
    assert from_file.to_dict()["layers"] == built.to_dict()["layers"]
