"""Golden copies of what the loihi target emits for the shipped nmnist-cnn: the lowered graph,
a dump of the NetX file and the partition report (tests/golden_files.py; `make golden`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from golden_files import assert_golden

import snnc
from snnc.ir.printer import format_graph

EXAMPLE = Path(__file__).parents[3] / "examples" / "nmnist_cnn.snnc"


def netx_dump(path: Path) -> str:
    """Every dataset of a NetX file: name, dtype, shape, and its values (short) or a digest."""
    lines = []

    def visit(name: str, item) -> None:
        if not isinstance(item, h5py.Dataset):
            return
        value = item[()]
        shown = (
            repr(value) if np.ndim(value) == 0 or np.size(value) <= 8
            else f"sha256 {hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest()[:16]}"
        )  # fmt: skip
        lines.append(f"{name}: {item.dtype} {item.shape} {shown}")

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return "\n".join(lines) + "\n"


@pytest.mark.golden
def test_the_example_compiled_for_loihi(tmp_path):
    compiled = snnc.compile(EXAMPLE, "loihi", out_dir=tmp_path, max_chips=8)
    passes = "\n".join(f"// {p.name}: {p.rewrites} rewrite(s)" for p in compiled.passes)
    assert_golden("loihi/nmnist-cnn.txt", f"{passes}\n{format_graph(compiled.graph)}\n")
    assert_golden("loihi/nmnist-cnn.net.txt", netx_dump(compiled.artefacts["netx"]))
    assert_golden("loihi/nmnist-cnn.partition.txt", compiled.artefacts["partition.txt"].read_text())
