"""Golden files (ARCHITECTURE §5): emitted artefacts compared byte for byte with reviewed copies
in tests/golden/, regenerated only by an explicit command and reviewed as diffs:

    make golden        # = SNNC_REGENERATE_GOLDEN=1 python -m pytest -q -m golden

A test calls `assert_golden("sim/nmnist-cnn.txt", text)` (and marks itself `@pytest.mark.golden`);
without the variable a difference fails with a unified diff, a missing file fails with the command
that creates it.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "SNNC_REGENERATE_GOLDEN"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get(REGENERATE) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    if not path.exists():
        raise AssertionError(f"no golden file {path}; create it with `make golden` and review it")
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), str(path), "now"))
        raise AssertionError(f"{path} differs (if the change is intended: `make golden`, then review):\n{diff}")
