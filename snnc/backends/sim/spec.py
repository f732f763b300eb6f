"""The reference simulator's number formats: snnc's generic 8- and 16-bit integer formats.

No chip prescribes them; they are snnc's choice for simulating a quantized network without a
target's constraints (saturating registers, floor decays, one bit of headroom above θ, and a
power-of-two scale wherever that makes quantization exact).
"""

from __future__ import annotations

from snnc.diagnostics import input_error
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.passes.quantize.spec import QuantSpec


def _sim_arithmetic(bits: int) -> Arithmetic:
    """The simulator's generic format: state twice the weight width, saturating everywhere (a
    wrapped state flips sign and fires wrongly; clipping degrades gracefully), floor decays with
    as many fraction bits as the weights. No chip prescribes it; it is snnc's choice."""
    state = IntRange(2 * bits, "saturate")
    wide = IntRange(32, "saturate")  # Linear/Conv outputs are int32 in the IR (snnc/ir/ops.py)
    return Arithmetic(
        name=f"sim-int{bits}",
        synapse=wide,
        input=wide,
        current=state,
        voltage=state,
        decay_shift=bits,
        decay_rounding="floor",
        threshold=Mantissa(2 * bits),
        bias=Mantissa(2 * bits),
        gain=Mantissa(2 * bits),
    )


def _sim_spec(bits: int) -> QuantSpec:
    """snnc's generic format: `bits`-bit weights and real inputs, one bit of headroom above θ."""
    return QuantSpec(
        f"sim-int{bits}",
        _sim_arithmetic(bits),
        weight_bits=bits,
        bias_to_neuron=True,
        input_bits=bits,
        threshold_headroom_bits=1,
        lossless_scale=True,
    )


SIM_INT8 = _sim_spec(8)
SIM_INT16 = _sim_spec(16)

SIM_SPECS = {8: SIM_INT8, 16: SIM_INT16}


def sim_spec(bits: int = 8) -> QuantSpec:
    """The simulator's generic `bits`-bit format (8 or 16)."""
    if bits not in SIM_SPECS:
        raise input_error(
            "TARGET-OPTION",
            f"the simulator's integer formats are {' and '.join(map(str, SIM_SPECS))} bits, not {bits}",
            hint="pass bits=8 or bits=16",
            measured=bits,
            limit=list(SIM_SPECS),
        )
    return SIM_SPECS[bits]
