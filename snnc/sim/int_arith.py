"""The register arithmetic of the fast integer simulator: the reference's rules applied to tensors.

The overflow rule of a register and the decay are defined once, in snnc/sim/reference.py
(`in_register`, `decayed`, from `IntRange` and `Arithmetic` in snnc/ir/quant.py), written with the
operations numpy and torch share; here they are applied to int32 or int64 tensors wide enough to
hold the exact value before the rule applies (the planner in int_ops.py picks the width from
`bound`). Every function returns a tensor of its input's dtype.
"""

from __future__ import annotations

import torch

from snnc.ir.quant import IntRange
from snnc.sim import reference

Tensor = torch.Tensor


def bound(register: IntRange) -> int:
    """The largest magnitude the rule of `register` computes with, which its tensor must hold: a
    value leaving a saturating register (2^(b−1)), or the 2^b that wrap takes the value modulo and
    wrap_once adds or subtracts (an int32 cannot hold 2^31: a 31-bit wrapping register needs int64).
    wrap_once only folds values within ±2^(b+1), which is all it is asked to (a sum of two b-bit
    registers)."""
    return 2**register.bits if register.overflow in ("wrap", "wrap_once") else 2 ** (register.bits - 1)


def in_register(x: Tensor, register: IntRange) -> Tensor:
    """x after `register`'s overflow rule (reference.in_register), written back into x."""
    return x.copy_(reference.in_register(x, register, torch))


def decayed(x: Tensor, m: Tensor, shift: int, rounding: str) -> Tensor:
    """x·m / 2^shift rounded as the target does (reference.decayed); the product is exact in x's dtype."""
    return reference.decayed(x, m, shift, rounding, torch)
