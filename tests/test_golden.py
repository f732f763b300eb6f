"""Golden copies of what snnc emits for the shipped example (tests/golden_files.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from golden_files import assert_golden

import snnc
from snnc.ir.printer import format_graph

EXAMPLE = Path(__file__).parents[1] / "examples" / "nmnist_cnn.snnc"


@pytest.mark.golden
@pytest.mark.parametrize("bits", [8, 16])
def test_the_example_compiled_for_sim(bits):
    compiled = snnc.compile(EXAMPLE, "sim", bits=bits)
    passes = "\n".join(f"// {p.name}: {p.rewrites} rewrite(s)" for p in compiled.passes)
    assert_golden(f"sim/nmnist-cnn.int{bits}.txt", f"{passes}\n{format_graph(compiled.graph)}\n")
