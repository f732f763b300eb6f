"""The "loihi" target. Its energy model is in (energy.py); its pipeline, rules and lowering are being
built (see the Loihi backend issue): until they land, compiling for it is TARGET-UNAVAILABLE."""

from __future__ import annotations

from typing import Any, ClassVar

from snnc.backends.target import Target
from snnc.diagnostics import input_error


class LoihiTarget(Target):
    name: ClassVar[str] = "loihi"
    summary: ClassVar[str] = "Intel Loihi 2: NetX network and Lava processes"

    def pipeline(self, options: Any, calib: Any = None) -> list:
        raise input_error(
            "TARGET-UNAVAILABLE",
            "the loihi backend cannot compile yet (only its energy model exists: snnc report --model target)",
            hint="compile for sim meanwhile",
        )

    def energy_model(self, **settings: Any):
        from snnc.backends.loihi.energy import loihi

        return loihi(**settings)
