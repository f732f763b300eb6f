"""Targets' number formats as data: what `Quantize` needs to know about a chip.

A `QuantSpec` says how wide the weights are, whether one scale serves a layer or each output
channel, how the neuron's input is scaled into its state, which neuron features exist (leak,
current state, a lower bound), and, through its `Arithmetic` (snnc/ir/quant.py), how wide the
registers are and how they overflow. Four specs are defined: a generic 8- or 16-bit format for the
reference simulator (`sim_spec`), Speck (exactly sinabs' discretization) and Loihi 2 (Lava's
fixed-point LIF). Every hardware number below cites its fact sheet section.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from snnc.diagnostics import input_error
from snnc.ir.quant import Arithmetic, IntRange, Mantissa


@dataclass(frozen=True)
class QuantSpec:
    """A target's number formats.

    weight_bits     signed width of Linear/Conv weights (and of a bias left on the synapse)
    per_channel     one scale per output channel instead of one per layer
    input_shift     the neuron's input enters its state shifted left by this (gain = 2^shift)
    synapse_bias    whether the target's synapses hold a bias; if not it must move to the neuron
    bias_to_neuron  move a synapse's bias into the neuron it feeds where that is exact (the
                    neuron then adds it in state units, with the state's precision)
    leak            whether neurons may decay (v_decay < 1); a target without leak is IF only
    current         "never": no current state; "optional": as the model has it; "always": every
                    neuron gets one, memoryless (i_decay 0) where the model has none
    v_min_default   lower state bound given to neurons without one, in float units (sinabs uses
                    −32768 for `min_v_mem=None`, ../shared/targets/speck.md §3.2, §3.3)
    clip_quantile   the weight scale maps this quantile of |w| to the largest weight; 1.0 never clips
    input_bits      width of a real-valued graph input once quantized (unsigned where its range is
                    non-negative, else signed); None: the target takes events only
    threshold_headroom_bits  the scale keeps thresholds this many bits below the threshold format's
                    maximum, so that a membrane above θ (up to 2^bits·θ) is held before firing
                    instead of saturating at θ, which would drop the charge a subtract reset keeps;
                    0 maps θ to the maximum as sinabs does (speck.md §3.2)
    lossless_scale  use the largest power of two below the chosen scale instead, where every value
                    of the layer is an exact integer at it (dyadic weights and thresholds, e.g. an
                    integer-valued model): quantization is then exact; False keeps sinabs' rule
    """

    name: str
    arithmetic: Arithmetic
    weight_bits: int = 8
    per_channel: bool = False
    input_shift: int = 0
    synapse_bias: bool = True
    bias_to_neuron: bool = False
    leak: bool = True
    current: Literal["never", "optional", "always"] = "optional"
    v_min_default: float | None = None
    clip_quantile: float = 1.0
    input_bits: int | None = None
    threshold_headroom_bits: int = 0
    lossless_scale: bool = False

    @property
    def weight_min(self) -> int:
        return -(2 ** (self.weight_bits - 1))

    @property
    def weight_max(self) -> int:
        return 2 ** (self.weight_bits - 1) - 1


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

SPECK = QuantSpec(
    "speck",
    Arithmetic(
        name="speck",
        # Events add straight into the neuron state on chip (speck.md §4); the per-step sum is
        # exact here and enters the 16-bit state, whose overflow behaviour is not documented
        # (speck.md "Biggest uncertainties"); saturation is assumed, as threshold_low saturates
        # (speck.md §4, [DS §3.2.4.6.3]).
        synapse=IntRange(32, "saturate"),
        input=IntRange(32, "saturate"),
        current=IntRange(16, "saturate"),  # unused: no current state on Speck
        voltage=IntRange(16, "saturate"),  # 16-bit neuron state (speck.md §3.1)
        decay_shift=0,  # IAF only: no leak (speck.md §4; the bias "leak" is the neuron bias)
        decay_rounding="floor",
        threshold=Mantissa(16),  # threshold_high, 16-bit (speck.md §3.1)
        bias=Mantissa(16),  # one 16-bit leak word per channel (speck.md §3.1)
        gain=Mantissa(1, signed=False),  # the input adds to v unscaled: gain 1
    ),
    weight_bits=8,  # DYNAPCNN_WEIGHT_PRECISION_BITS (speck.md §3.1)
    leak=False,
    current="never",
    v_min_default=-32768.0,  # sinabs: min_v_mem None → −2^15 (discretize.py; speck.md §3.2)
    input_bits=None,  # events only: DVS or host events into the first layer (speck.md §2.5)
)

LOIHI = QuantSpec(
    "loihi",
    Arithmetic(
        name="loihi",
        synapse=IntRange(32, "wrap"),  # Dense a_buff int32, never clamped (../shared/targets/loihi.md §2.1)
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
