"""The target registry: what `snnc.compile` and `snnc.check` can compile for.

A target (ARCHITECTURE §3) is an object with a `name`, its `default_pipeline(**options)` (see
snnc/passes/pipelines.py), `check(graph)` (the target's rules, run on the lowered graph),
`lower(graph, out_dir)` (writes the artefacts, returns them by name) and `simulate(graph, x,
record)` (runs the lowered graph as the target would). Each target lives in its backend package and
is imported only when asked for, so a chip SDK is loaded only by its own target.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from snnc.diagnostics import Diagnostic, input_error
from snnc.ir.graph import Graph
from snnc.passes.base import Pass

if TYPE_CHECKING:
    from snnc.backends.sim import SimResult

Artefacts = dict[str, Path]
"""What `lower` wrote: artefact name → path."""


class Target(Protocol):
    name: str

    def default_pipeline(self, **options: Any) -> list[Pass]: ...

    def check(self, graph: Graph) -> list[Diagnostic]: ...

    def lower(self, graph: Graph, out_dir: Path) -> Artefacts: ...

    def simulate(self, graph: Graph, x: Any, record: Iterable[str] = ()) -> SimResult: ...


TARGETS: dict[str, str] = {"sim": "snnc.backends.sim.target:SimTarget"}
"""Target name → `module:class` of its implementation."""


def get_target(name: str) -> Target:
    """The target called `name`; TARGET-UNKNOWN (an input error) for any other name."""
    if name not in TARGETS:
        raise input_error(
            "TARGET-UNKNOWN",
            f"no target named {name!r}; the targets are: {', '.join(TARGETS)}",
            hint="pick one of the listed targets",
        )
    module, cls = TARGETS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
