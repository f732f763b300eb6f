"""Loihi 2's number formats: Lava's fixed-point LIF, Dense and Conv (docs/targets/loihi.md §1, §2)."""

from __future__ import annotations

from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.passes.quantize.spec import QuantSpec

LOIHI = QuantSpec(
    "loihi",
    Arithmetic(
        name="loihi",
        synapse=IntRange(32, "wrap"),  # Dense a_buff int32, never clamped (docs/targets/loihi.md §2.1)
        conv=IntRange(24, "wrap"),  # fixed-point Conv wraps its output to signed 24 bits (loihi.md §2.2)
        input=IntRange(32, "wrap"),  # a_in << 6 computed in int32 (loihi.md §1.3)
        current=IntRange(24, "wrap_once"),  # u: one conditional ±2^24 (loihi.md §1.3, §7.6)
        voltage=IntRange(24, "saturate_symmetric"),  # v clipped to ±(2^23 − 1) (loihi.md §1.3)
        decay_shift=12,  # du, dv: 12-bit decays, decay_unity 4096 (loihi.md §1.2)
        decay_rounding="toward_zero",  # sign(p)·(|p| >> 12) (loihi.md §1.3, §7.5)
        threshold=Mantissa(17, signed=False, min_exp=6, max_exp=6),  # vth << 6, vth < 2^17 (loihi.md §1.2)
        bias=Mantissa(13, signed=True, min_exp=0, max_exp=7),  # bias_mant << bias_exp (loihi.md §1.2)
        gain=Mantissa(1, signed=False, min_exp=6, max_exp=30),  # 2^(6 + weight_exp) (loihi.md §2.1)
    ),
    weight_bits=8,  # 8-bit mantissa; mixed signs go to Lava as 2w with weight_exp −1 (loihi.md §2.1, §7.6)
    input_shift=6,  # act_shift: u receives a_in << 6 (loihi.md §1.2, §1.3)
    synapse_bias=False,  # Dense and Conv have no bias; the LIF adds bias to v (loihi.md §2, §7.5 item 10)
    bias_to_neuron=True,
    current="always",  # u always exists; du = 4095 makes it memoryless (loihi.md §7.2)
    input_bits=8,  # graded spikes: Dense/Conv compute W @ payload (loihi.md §2.1, §2.3), "typically 8 bits" (§5)
)
