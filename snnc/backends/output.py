"""Where a target writes its artefacts: one file name per graph, in a directory created on demand."""

from __future__ import annotations

import re
from pathlib import Path

from snnc.atomic import check_directory
from snnc.diagnostics import input_error

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def artefact_path(out_dir: Path | str, graph_name: str, suffix: str) -> Path:
    """`out_dir/<graph name>.<suffix>`, the name reduced to characters safe in any file system;
    `out_dir` is created if missing (IO-WRITE if it cannot be, or exists as something other than a
    directory); the file itself is written with snnc/atomic.py."""
    out_dir = Path(out_dir)
    check_directory(out_dir, "IO-WRITE")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise input_error(
            "IO-WRITE", f"cannot create {out_dir}: {e.strerror or e}", hint="choose a writable directory"
        ) from None
    stem = _UNSAFE.sub("_", graph_name).strip(".") or "graph"
    return out_dir / f"{stem}.{suffix}"
