"""Bit-exact register arithmetic on integer torch tensors: overflow rules and decays.

These are the only places where the integer simulator departs from plain integer arithmetic, so
each follows the text of `IntRange` and `Arithmetic` (snnc/ir/quant.py) literally. Inputs are int32
or int64 tensors wide enough to hold the exact value before the rule applies (the planner in
int_ops.py picks the width from static bounds); every function returns a tensor of the same dtype.
"""

from __future__ import annotations

import torch

from snnc.ir.quant import IntRange

Tensor = torch.Tensor


def bound(register: IntRange) -> int:
    """The largest magnitude a value leaving `register` can have. wrap_once only folds values
    within ±2^(b+1), which is all it is asked to (a sum of two b-bit registers)."""
    return 2**register.bits if register.overflow == "wrap_once" else 2 ** (register.bits - 1)


def in_register(x: Tensor, register: IntRange) -> Tensor:
    """x after `register`'s overflow rule, computed in place."""
    half = 2 ** (register.bits - 1)
    if register.overflow == "saturate":
        return x.clamp_(-half, half - 1)
    if register.overflow == "saturate_symmetric":  # Lava v: ±(2^23 − 1) (docs/targets/loihi.md §1.3)
        return x.clamp_(-(half - 1), half - 1)
    if register.overflow == "wrap":  # two's complement
        return x.add_(half).remainder_(2 * half).sub_(half)
    # wrap_once, Lava u (loihi.md §1.3): x > 2^(b−1) → x − 2^b; x ≤ −2^(b−1) → x + 2^b, once
    high = (x > half).to(x.dtype)
    low = (x <= -half).to(x.dtype)
    return x.sub_(high * (2 * half)).add_(low * (2 * half))


def decayed(x: Tensor, m: Tensor, shift: int, rounding: str) -> Tensor:
    """x·m / 2^shift rounded as the target does: "floor" is an arithmetic shift, "toward_zero"
    Lava's sign(p)·(|p| >> 12) (loihi.md §1.3, §7.5). The product is exact in x's dtype."""
    p = x * m
    if rounding == "floor":
        return p.bitwise_right_shift_(shift)
    return torch.div(p, 2**shift, rounding_mode="trunc")
