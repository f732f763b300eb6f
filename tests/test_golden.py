"""Golden copies of what snnc emits for the shipped examples (tests/golden_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import assert_golden

import snnc
from snnc.ir.printer import format_graph

EXAMPLES = Path(__file__).parents[1] / "examples"
EXAMPLE = EXAMPLES / "nmnist_cnn.snnc"


@pytest.mark.golden
@pytest.mark.parametrize("bits", [8, 16])
def test_the_example_compiled_for_sim(bits):
    compiled = snnc.compile(EXAMPLE, "sim", bits=bits)
    passes = "\n".join(f"// {p.name}: {p.rewrites} rewrite(s)" for p in compiled.passes)
    assert_golden(f"sim/nmnist-cnn.int{bits}.txt", f"{passes}\n{format_graph(compiled.graph)}\n")


@pytest.mark.golden
def test_the_speck_example_compiled_for_speck(tmp_path):
    """The chip configuration and the placement report `make demo` writes for the trained
    SpikingJelly example (examples/speck_digits.py)."""
    graph = snnc.load(EXAMPLES / "speck_digits.pt", input_dtype="spike")
    artefacts = snnc.compile(graph, "speck", out_dir=tmp_path).artefacts
    assert_golden("speck/speck_digits.speck.json", artefacts["config"].read_text(encoding="utf-8"))
    assert_golden("speck/speck_digits.speck.txt", artefacts["report"].read_text(encoding="utf-8"))
