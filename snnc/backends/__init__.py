"""The one registry of compilation targets (ARCHITECTURE §1, §3).

Each target lives in its own package, `snnc/backends/<name>/`, and is registered here by one line;
nothing else in snnc names a target. Every verb that takes `--target` (compile, check, report,
validate) lists `TARGETS`, and the API looks targets up with `get_target`. A target's module is
imported only when it is asked for, so a chip SDK (samna, Lava) is loaded only by its own target.
The interface a target implements is `snnc.backends.target.Target`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from snnc.diagnostics import input_error

if TYPE_CHECKING:
    from snnc.backends.target import Target

TARGETS: dict[str, str] = {
    "sim": "snnc.backends.sim.target:SimTarget",
    "speck": "snnc.backends.speck.target:SpeckTarget",
    "loihi": "snnc.backends.loihi.target:LoihiTarget",
}
"""Target name → `module:class` of its implementation (a subclass of Target)."""


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
