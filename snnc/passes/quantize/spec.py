"""A target's number formats as data: what `Quantize` needs to know about a chip.

A `QuantSpec` says how wide the weights are, whether one scale serves a layer or each output
channel, how the neuron's input is scaled into its state, which neuron features exist (leak,
current state, a lower bound), and, through its `Arithmetic` (snnc/ir/quant.py), how wide the
registers are and how they overflow. Each target defines its own specs in its backend package
(snnc/backends/<target>/spec.py); the quantizer holds no target data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from snnc.ir.quant import Arithmetic


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
                    −32768 for `min_v_mem=None`, docs/targets/speck.md §3.2, §3.3)
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
