"""The "speck" target. Its energy model is in (energy.py); its pipeline, rules and lowering are being
built (see the Speck backend issue): until they land, compiling for it is TARGET-UNAVAILABLE."""

from __future__ import annotations

from typing import Any, ClassVar

from snnc.backends.target import Target
from snnc.diagnostics import input_error


class SpeckTarget(Target):
    name: ClassVar[str] = "speck"
    summary: ClassVar[str] = "SynSense Speck (DYNAP-CNN): chip configuration"

    def pipeline(self, options: Any, calib: Any = None) -> list:
        raise input_error(
            "TARGET-UNAVAILABLE",
            "the speck backend cannot compile yet (only its energy model exists: snnc report --model target)",
            hint="compile for sim meanwhile",
        )

    def energy_model(self, **settings: Any):
        from snnc.backends.speck.energy import speck

        return speck(**settings)
