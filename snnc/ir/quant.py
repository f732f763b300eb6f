"""Number formats of quantized parameters and the arithmetic of a target (ARCHITECTURE §2.4).

Quantization does not change the op set: it replaces float parameter arrays by integer arrays and
attaches a `NumberFormat` saying how many bits they occupy on the target and how an integer maps
back to the float model (`value_float ≈ integer / scale`). The scale of parameters is for
validation and reports only; the integer simulation never uses it. The one place a scale is an
operation is a quantized graph input (`Input.format`): real data enter the integer graph through
`NumberFormat.encode`, as a chip's input stage would quantize them. `Arithmetic` (one per graph,
`Graph.arithmetic`) says how the target computes with those integers: register widths and
overflow, the decay's shift and rounding, and which values thresholds, biases and gains can take.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

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
    def single_scale(self) -> float:
        """The one scale of a per-layer format (a quantized graph input has one: `Input.infer`)."""
        if isinstance(self.scale, tuple):
            raise ValueError(f"the {self} format has one scale per channel, not a single scale")
        return self.scale

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

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Real values as this format's integers (int64): round(x · scale) half to even, the
        product in float64, saturated to [min, max]. One scale only (a quantized graph input)."""
        q = np.round(np.asarray(values, np.float64) * self.single_scale)
        return np.clip(q, self.min, self.max).astype(np.int64)

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.bits}"

    def to_json(self) -> dict:
        scale = list(self.scale) if isinstance(self.scale, tuple) else self.scale
        return {"bits": self.bits, "signed": self.signed, "scale": scale}

    @classmethod
    def from_json(cls, data: dict) -> NumberFormat:
        return cls(int(data["bits"]), bool(data["signed"]), data["scale"])


# --- how a target computes with those integers (ARCHITECTURE §2.4) ----------------------------

Overflow = Literal["wrap", "wrap_once", "saturate", "saturate_symmetric"]
Rounding = Literal["toward_zero", "floor"]
OVERFLOWS: tuple[str, ...] = ("wrap", "wrap_once", "saturate", "saturate_symmetric")
ROUNDINGS: tuple[str, ...] = ("toward_zero", "floor")


@dataclass(frozen=True)
class IntRange:
    """A `bits`-wide signed register and what happens to a value that leaves it:

    - "wrap":               two's complement, the value modulo 2^bits in [−2^(b−1), 2^(b−1) − 1]
    - "wrap_once":          Lava's current u (docs/targets/loihi.md §1.3): one conditional
                            add or subtract of 2^bits, x > 2^(b−1) → x − 2^b, x ≤ −2^(b−1) → x + 2^b,
                            so +2^(b−1) is kept and a value beyond ±2^b stays outside the range
    - "saturate":           clip to [−2^(b−1), 2^(b−1) − 1]
    - "saturate_symmetric": clip to [−(2^(b−1) − 1), 2^(b−1) − 1] (Lava's voltage v, loihi.md §1.3)
    """

    bits: int
    overflow: Overflow = "saturate"

    @property
    def min(self) -> int:
        return -(2 ** (self.bits - 1)) + (self.overflow == "saturate_symmetric")

    @property
    def max(self) -> int:
        return 2 ** (self.bits - 1) - 1

    def __str__(self) -> str:
        return f"s{self.bits}:{self.overflow}"

    def to_json(self) -> dict:
        return {"bits": self.bits, "overflow": self.overflow}

    @classmethod
    def from_json(cls, data: dict) -> IntRange:
        # an unknown mode is read as is: the verifier names it (Arithmetic.problems)
        return cls(int(data["bits"]), cast(Overflow, str(data["overflow"])))


@dataclass(frozen=True)
class Mantissa:
    """Values a target stores as a `bits`-wide mantissa times 2^e, e in [min_exp, max_exp]: Loihi's
    threshold vth·2^6 (17-bit unsigned vth, loihi.md §1.2-1.3) and bias bias_mant·2^bias_exp (13-bit
    signed, 0..7); a plain integer field is the case min_exp = max_exp = 0."""

    bits: int
    signed: bool = True
    min_exp: int = 0
    max_exp: int = 0

    @property
    def mantissa_min(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def mantissa_max(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def max(self) -> int:
        return self.mantissa_max << self.max_exp

    @property
    def min(self) -> int:
        return self.mantissa_min << self.max_exp

    def representable(self, values: np.ndarray) -> np.ndarray:
        """Elementwise: is the integer value m·2^e for some mantissa m and exponent e in range?"""
        values = np.asarray(values, dtype=np.int64)
        ok = np.zeros(values.shape, dtype=bool)
        for e in range(self.min_exp, self.max_exp + 1):
            m = values >> e
            ok |= ((m << e) == values) & (m >= self.mantissa_min) & (m <= self.mantissa_max)
        return ok

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """The nearest representable integers (half to even), using the smallest exponent whose
        mantissa range holds the value (the finest step); values beyond the largest mantissa clip."""
        x = np.asarray(values, dtype=np.float64)
        out = np.zeros(x.shape, dtype=np.int64)
        todo = np.ones(x.shape, dtype=bool)
        for e in range(self.min_exp, self.max_exp + 1):
            m = np.round(x / 2.0**e)
            fits = todo & (m >= self.mantissa_min) & (m <= self.mantissa_max)
            out[fits] = m[fits].astype(np.int64) << e
            todo &= ~fits
        last = np.clip(np.round(x / 2.0**self.max_exp), self.mantissa_min, self.mantissa_max)
        out[todo] = last[todo].astype(np.int64) << self.max_exp
        return out

    def __str__(self) -> str:
        exps = f"·2^{self.min_exp}" if self.min_exp == self.max_exp else f"·2^[{self.min_exp},{self.max_exp}]"
        return f"{'s' if self.signed else 'u'}{self.bits}" + ("" if self.max_exp == 0 else exps)

    def to_json(self) -> dict:
        return {"bits": self.bits, "signed": self.signed, "min_exp": self.min_exp, "max_exp": self.max_exp}

    @classmethod
    def from_json(cls, data: dict) -> Mantissa:
        return cls(int(data["bits"]), bool(data["signed"]), int(data["min_exp"]), int(data["max_exp"]))


@dataclass(frozen=True)
class Arithmetic:
    """How a target computes a quantized graph: the data behind the integer semantics of
    `Neuron` (snnc/ir/ops.py) and of the synaptic ops. One per graph (`Graph.arithmetic`).

    synapse      the register of Linear/Conv outputs, pooled sums and integer adds: their exact
                 integer result enters it with its overflow rule (Lava Dense: int32, never
                 clamped, loihi.md §2.1; Speck: not documented, wide)
    conv         a different register for Conv outputs, or None for `synapse` (Lava's fixed-point
                 Conv wraps its output to signed 24 bits, loihi.md §2.2, §7.6)
    input        the register of g·x, the input scaled by the neuron's gain where it enters the
                 state (Lava: `a_in << 6` in int32, loihi.md §1.3)
    current      the register of the current i (Lava u: 24 bits, wrap_once, loihi.md §1.3, §7.6)
    voltage      the register of h and v (Lava v: 24 bits, saturate_symmetric; Speck: 16-bit
                 neuron state, docs/targets/speck.md §3.1)
    decay_shift  k: a decay multiplies by m and divides by 2^k, m in [0, 2^k] (Lava: k = 12,
                 loihi.md §1.2; a target without leak (Speck IAF, speck.md §4) has k = 0, m = 1)
    decay_rounding  how x·m / 2^k is rounded: "toward_zero" (Lava: sign(p)·(|p| >> 12),
                 loihi.md §1.3, §7.5) or "floor" (an arithmetic shift)
    threshold    the values a threshold can take (Lava: vth·2^6, vth unsigned 17-bit, loihi.md
                 §1.2; Speck threshold_high: 16-bit, speck.md §3.1)
    bias         the values a neuron bias can take (Lava: bias_mant·2^bias_exp, 13-bit signed
                 mantissa, exponent 0..7, loihi.md §1.2; Speck: 16-bit leak word, speck.md §3.1)
    gain         the values the input gain g can take (Lava: 2^(6 + weight_exp), a 1-bit
                 mantissa times a power of two, loihi.md §2.1; Speck: 1)

    The fire comparison is not here: it stays the Neuron's `fire_op` (Lava fires on v > vth,
    loihi.md §7.1; Speck on v >= threshold_high, speck.md §4), and the target's checks say which
    it supports.
    """

    name: str
    synapse: IntRange
    input: IntRange
    current: IntRange
    voltage: IntRange
    decay_shift: int
    decay_rounding: Rounding
    threshold: Mantissa
    bias: Mantissa
    gain: Mantissa
    conv: IntRange | None = None

    @property
    def decay_one(self) -> int:
        """The decay multiplier m that keeps a state exactly (2^k)."""
        return 1 << self.decay_shift

    def conv_range(self) -> IntRange:
        return self.conv or self.synapse

    def __str__(self) -> str:
        conv = f", conv {self.conv}" if self.conv else ""
        return (
            f"{self.name}: synapse {self.synapse}{conv}, input {self.input}, current {self.current}, "
            f"voltage {self.voltage}, decay x·m/2^{self.decay_shift} {self.decay_rounding}, "
            f"threshold {self.threshold}, bias {self.bias}, gain {self.gain}"
        )

    def to_json(self) -> dict:
        ranges = {name: getattr(self, name).to_json() for name in ("synapse", "input", "current", "voltage")}
        mantissas = {name: getattr(self, name).to_json() for name in ("threshold", "bias", "gain")}
        return {
            "name": self.name,
            **ranges,
            "conv": None if self.conv is None else self.conv.to_json(),
            "decay_shift": self.decay_shift,
            "decay_rounding": self.decay_rounding,
            **mantissas,
        }

    @classmethod
    def from_json(cls, data: dict) -> Arithmetic:
        return cls(
            name=str(data["name"]),
            synapse=IntRange.from_json(data["synapse"]),
            input=IntRange.from_json(data["input"]),
            current=IntRange.from_json(data["current"]),
            voltage=IntRange.from_json(data["voltage"]),
            decay_shift=int(data["decay_shift"]),
            decay_rounding=cast(Rounding, str(data["decay_rounding"])),  # judged by problems() as above
            threshold=Mantissa.from_json(data["threshold"]),
            bias=Mantissa.from_json(data["bias"]),
            gain=Mantissa.from_json(data["gain"]),
            conv=None if data["conv"] is None else IntRange.from_json(data["conv"]),
        )

    def problems(self) -> list[str]:
        """What makes this description unusable (for the verifier): unknown modes, widths outside
        what the integer simulator holds (1..62 bits, so sums of two registers fit int64; a state
        times its decay multiplier, bits + decay_shift, likewise), synaptic registers wider than
        the IR's int32 synaptic outputs."""
        found = []
        for name in ("synapse", "input", "current", "voltage", "conv"):
            r = getattr(self, name)
            if r is None:
                continue
            if r.overflow not in OVERFLOWS:
                found.append(f"{name} overflow {r.overflow!r} is not one of {OVERFLOWS}")
            if not 1 <= r.bits <= 62:
                found.append(f"{name} register has {r.bits} bits, outside 1..62")
            elif name in ("synapse", "conv") and r.bits > 32:
                found.append(f"{name} register has {r.bits} bits; Linear/Conv outputs are int32 in the IR (ops.py)")
            elif name in ("current", "voltage") and r.bits + self.decay_shift > 62:
                found.append(
                    f"{name} register of {r.bits} bits with decay shift {self.decay_shift}: the decay product "
                    f"needs {r.bits + self.decay_shift} bits, more than the 62 the integer simulator holds"
                )
        if self.decay_rounding not in ROUNDINGS:
            found.append(f"decay rounding {self.decay_rounding!r} is not one of {ROUNDINGS}")
        if not 0 <= self.decay_shift <= 30 or self.decay_one > self.voltage.max:
            found.append(f"decay shift {self.decay_shift} is outside 0..30 or 2^shift exceeds the voltage register")
        for name in ("threshold", "bias", "gain"):
            m = getattr(self, name)
            if not (1 <= m.bits <= 62 and 0 <= m.min_exp <= m.max_exp <= 62 and m.bits + m.max_exp <= 62):
                found.append(f"{name} format {m} is outside 1..62 bits with exponents 0 <= min <= max")
        return found
