"""The "sim" target: the reference simulator as a compilation target.

Compiling for it runs the sim pipeline (fold, absorb, quantize to 8 or 16 bits, spike-driven
check; snnc/passes/pipelines.py) and writes the lowered, quantized graph as one `.snnc` file, which
`snnc inspect` shows and `snnc simulate` runs. The simulator hosts every valid graph, so its
target check is the verifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from snnc.backends.sim.engine import run
from snnc.backends.sim.result import SimResult
from snnc.diagnostics import Diagnostic, input_error
from snnc.ir import serialize
from snnc.ir.graph import Graph
from snnc.ir.verify import verify
from snnc.passes.base import Pass
from snnc.passes.pipelines import pipeline

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class SimTarget:
    name: ClassVar[str] = "sim"

    def default_pipeline(self, **options: Any) -> list[Pass]:
        return pipeline(self.name, **options)

    def check(self, graph: Graph) -> list[Diagnostic]:
        return verify(graph)

    def lower(self, graph: Graph, out_dir: Path) -> dict[str, Path]:
        """Write `<graph name>.sim.snnc` into `out_dir` (created if missing), atomically."""
        out_dir = Path(out_dir)
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise input_error(
                "IO-WRITE", f"cannot create {out_dir}: {e.strerror or e}", hint="choose a writable directory"
            ) from None
        path = out_dir / f"{_UNSAFE.sub('_', graph.name).strip('.') or 'graph'}.{self.name}.snnc"
        serialize.save(graph, path)
        return {"graph": path}

    def simulate(self, graph: Graph, x: Any, record: Iterable[str] = ()) -> SimResult:
        return run(graph, x, record=record)
