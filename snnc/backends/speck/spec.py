"""Speck's number formats: exactly sinabs' discretization (docs/targets/speck.md §3)."""

from __future__ import annotations

from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.passes.quantize.spec import QuantSpec

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
