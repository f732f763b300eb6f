"""The quantize pass and its parts: one pass (quantize.py) with its helpers, one module each.

units.py finds the layers that share a scale, scale.py chooses scales with sinabs' float32 rule,
neuron.py maps a float neuron onto the integer semantics, inputs.py quantizes real-valued graph
inputs, report.py measures the loss, and spec.py defines `QuantSpec`, the data a target gives
the quantizer about its number formats (each target's own specs live in its backend package).
"""

from snnc.passes.quantize.quantize import Quantize
from snnc.passes.quantize.spec import QuantSpec

__all__ = ["QuantSpec", "Quantize"]
