"""Number formats of quantized parameters (ARCHITECTURE §2.4).

Quantization does not change the op set: it replaces float parameter arrays by integer arrays and
attaches a `NumberFormat` saying how many bits they occupy on the target and how an integer maps
back to the float model (`value_float ≈ integer / scale`). The scale is for validation and reports
only; the integer simulation never uses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NumberFormat:
    bits: int
    signed: bool = True
    scale: float | tuple[float, ...] = 1.0  # per layer, or one per output channel

    def __post_init__(self) -> None:
        if isinstance(self.scale, (list, tuple, np.ndarray)):
            object.__setattr__(self, "scale", tuple(float(s) for s in self.scale))
        else:
            object.__setattr__(self, "scale", float(self.scale))

    @property
    def min(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    def fits(self, values: np.ndarray) -> bool:
        """True if every value is an integer inside [min, max]."""
        if values.size == 0:
            return True
        if not np.issubdtype(values.dtype, np.integer):
            return False
        return int(values.min()) >= self.min and int(values.max()) <= self.max

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.bits}"

    def to_json(self) -> dict:
        scale = list(self.scale) if isinstance(self.scale, tuple) else self.scale
        return {"bits": self.bits, "signed": self.signed, "scale": scale}

    @classmethod
    def from_json(cls, data: dict) -> NumberFormat:
        return cls(int(data["bits"]), bool(data["signed"]), data["scale"])
