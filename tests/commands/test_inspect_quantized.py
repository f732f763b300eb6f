"""`snnc inspect` on a compiled (quantized) graph: the printer's Arithmetic line under the graph
header and the quantized input's scale in the signature; the JSON's "arithmetic" key."""

from __future__ import annotations

import json

import numpy as np
import pytest

import snnc
from snnc import cli
from snnc.ir import FLOAT, GraphBuilder, Linear, Neuron, serialize
from snnc.ir.printer import format_graph


def real_input_net() -> snnc.Graph:
    b = GraphBuilder("tiny")
    fc = b.add("fc", Linear(np.array([[0.5, -0.25, 1.0]], np.float32)), b.input("x", (3,), FLOAT))
    b.output("out", b.add("n", Neuron(threshold=1.0), fc))
    return b.build()


@pytest.fixture(scope="module")
def compiled() -> snnc.Graph:
    return snnc.compile(real_input_net(), "sim", input_range=(0.0, 1.0)).graph


def test_the_printer_shows_the_arithmetic_and_the_input_scale(compiled):
    lines = format_graph(compiled).splitlines()
    assert lines[0] == "graph tiny(%x: uint8[3] {scale=255}) {"
    assert lines[1] == f"  // arithmetic {compiled.arithmetic}"
    assert lines[1].startswith("  // arithmetic sim-int8: synapse s32:saturate")
    assert "arithmetic" not in format_graph(real_input_net())  # a float graph has none


def test_inspect_prints_and_reports_the_arithmetic(compiled, tmp_path, capsys):
    serialize.save(compiled, tmp_path / "q.snnc")
    serialize.save(real_input_net(), tmp_path / "f.snnc")
    assert cli.main(["inspect", str(tmp_path / "q.snnc")]) == 0
    assert f"// arithmetic {compiled.arithmetic}" in capsys.readouterr().out
    assert cli.main(["inspect", str(tmp_path / "q.snnc"), "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["arithmetic"] == compiled.arithmetic.to_json() and summary["arithmetic"]["name"] == "sim-int8"
    assert cli.main(["inspect", str(tmp_path / "f.snnc"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["arithmetic"] is None
