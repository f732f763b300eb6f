"""Tensor types of the IR (ARCHITECTURE §2).

A `TensorType` is the per-sample, per-step shape (no time, no batch axis) and a dtype. The dtype
says what values a tensor can hold, which is what the spike-driven check, the cost model and the
quantizer reason about:

- `spike`      values in {0, 1}
- `count<=k>`  small non-negative integers (multi-spikes, SEW ADD sums); `count` when unbounded
- `int<b>` / `uint<b>`  integers of a target number format (after quantization)
- `float`      real values, float32
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class DType:
    """Base of the four dtypes; compare with `==`, print with `str`."""

    @property
    def is_event(self) -> bool:
        """True for spike and count tensors: values a synapse can treat as event counts."""
        return isinstance(self, (Spike, Count))


@dataclass(frozen=True)
class Spike(DType):
    def __str__(self) -> str:
        return "spike"


@dataclass(frozen=True)
class Count(DType):
    max: int | None = None  # None: unbounded (e.g. sinabs MultiSpike without a cap)

    def __str__(self) -> str:
        return "count" if self.max is None else f"count<={self.max}>"


@dataclass(frozen=True)
class Int(DType):
    bits: int = 32
    signed: bool = True

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.bits}"

    @property
    def min(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def max(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1


@dataclass(frozen=True)
class Float(DType):
    def __str__(self) -> str:
        return "float"


SPIKE = Spike()
FLOAT = Float()

_DTYPE_RE = re.compile(r"^(spike|float|count(?:<=(\d+)>)?|(u?int)(\d+))$")


def parse_dtype(text: str) -> DType:
    """Inverse of `str(dtype)`; raises ValueError on anything else."""
    m = _DTYPE_RE.match(text)
    if not m:
        raise ValueError(f"unknown dtype {text!r}")
    if text == "spike":
        return SPIKE
    if text == "float":
        return FLOAT
    if text.startswith("count"):
        return Count(int(m.group(2)) if m.group(2) else None)
    return Int(int(m.group(4)), signed=m.group(3) == "int")


def count_max(dtype: DType) -> float:
    """Largest value an event dtype can hold (inf if unbounded or not an event dtype)."""
    if isinstance(dtype, Spike):
        return 1
    if isinstance(dtype, Count) and dtype.max is not None:
        return dtype.max
    return math.inf


@dataclass(frozen=True)
class TensorType:
    shape: tuple[int, ...]
    dtype: DType

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(d) for d in self.shape))

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def channels(self) -> int:
        """Size of the channel axis (axis 0 of the per-sample shape); 1 for a scalar tensor."""
        return self.shape[0] if self.shape else 1

    def __str__(self) -> str:
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


_TYPE_RE = re.compile(r"^(.+)\[([\d,]*)\]$")


def parse_type(text: str) -> TensorType:
    """Inverse of `str(tensor_type)`."""
    m = _TYPE_RE.match(text)
    if not m:
        raise ValueError(f"unknown tensor type {text!r}")
    dims = tuple(int(d) for d in m.group(2).split(",") if d)
    return TensorType(dims, parse_dtype(m.group(1)))
