"""Real-valued graph inputs in `Quantize`: the integer format each one gets, and what it costs.

A chip computes in integers from its input on: real data (pixels, analog currents, a converted
ANN's input) enter as integers of a fixed width, and the encoding layer (the Linear/Conv reading
the input) multiplies them by its integer weights into its accumulator. A real input therefore
becomes an `Input` of dtype int<b>/uint<b> with a `NumberFormat` (snnc/ir/ops.py), whose scale
maps the data onto the format: x ≈ integer / scale, integer = round(x · scale) half to even,
saturated (`NumberFormat.encode`, also what `snnc.simulate` applies to float data).

The range [lo, hi] the format must hold comes from, in this order:
  1. `input_range` declared by the user (the data's known range, e.g. [0, 1] for images);
     calibration data beyond it is reported (QUANT-SATURATION, with how many values clip);
  2. the calibration data's [min, max];
  3. otherwise [0, 1] is assumed, the range of images as torchvision's ToTensor gives them,
     with a QUANT-INPUT-RANGE warning saying so.
The format is unsigned if lo ≥ 0, else signed, `QuantSpec.input_bits` wide, and its scale is the
largest that keeps both ends inside it: (2^b − 1)/hi unsigned, min((2^(b−1) − 1)/hi, 2^(b−1)/|lo|)
signed. The input's rounding error is one QUANT-LOSS info on the input node.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, input_error
from snnc.ir.graph import Graph, Node
from snnc.ir.quant import NumberFormat
from snnc.ir.types import Float
from snnc.passes.quantize.spec import QuantSpec

ASSUMED_RANGE = (0.0, 1.0)

Range = tuple[float, float]


def check_range(value: Any) -> Range | None:
    """A declared input range as (lo, hi) floats, lo < hi, both finite; TARGET-OPTION otherwise."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        lo, hi = math.nan, math.nan
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise input_error(
            "TARGET-OPTION",
            f"input_range {value!r} is not two finite numbers lo < hi",
            hint="give the range the input data take, e.g. input_range=(0, 1) or --input-range 0,1",
        )
    return lo, hi


def real_inputs(graph: Graph) -> list[Node]:
    return [n for n in graph.inputs if isinstance(n.type.dtype, Float)]


def input_formats(
    graph: Graph, spec: QuantSpec, calib: Any, declared: Range | None
) -> tuple[dict[str, NumberFormat], list[Diagnostic]]:
    """The format of each real-valued input of `graph` (none where the target takes events only:
    `real_valued` then refuses them), and the diagnostics of choosing it."""
    nodes = real_inputs(graph)
    if spec.input_bits is None or not nodes:
        return {}, []
    data = _calibration(graph, calib)
    formats: dict[str, NumberFormat] = {}
    found: list[Diagnostic] = []
    for node in nodes:
        x = data.get(node.name)
        if declared is not None:
            (lo, hi), source = declared, "declared"
        elif x is not None:
            (lo, hi), source = (float(x.min()), float(x.max())), "of the calibration data"
        else:
            (lo, hi), source = ASSUMED_RANGE, "assumed"
            found.append(_assumed(node.name))
        fmt = fit_format(lo, hi, spec.input_bits)
        formats[node.name] = fmt
        if declared is not None and x is not None:
            found += _beyond(node.name, x, declared, fmt)
        found.append(input_loss(node.name, fmt, (lo, hi), source, x))
    return formats, found


def fit_format(lo: float, hi: float, bits: int) -> NumberFormat:
    """The `bits`-wide format holding [lo, hi] at the largest scale (unsigned if lo ≥ 0)."""
    signed = lo < 0
    fmt = NumberFormat(bits, signed)
    limits = [fmt.max / hi] if hi > 0 else []
    if lo < 0:
        limits.append(fmt.min / lo)
    return NumberFormat(bits, signed, scale=min(limits, default=1.0))  # all-zero data: any scale, 1


def _calibration(graph: Graph, calib: Any) -> dict[str, np.ndarray]:
    """Calibration arrays [T, B, *shape] by input name, checked as the simulator checks data."""
    if calib is None:
        return {}
    from snnc.sim.checks import check_inputs  # the same rules as the data a run gets

    return check_inputs(graph, calib)


def _assumed(node: str) -> Diagnostic:
    lo, hi = ASSUMED_RANGE
    return Diagnostic(
        "QUANT-INPUT-RANGE",
        f"the range of this real-valued input is not known; [{lo:g}, {hi:g}] is assumed, and values beyond it "
        "will saturate",
        node=node,
        severity=Severity.WARNING,
        hint="give calibration data (calib=, --calib X.npz) or the data's range (input_range=, --input-range LO,HI); "
        "if the input is spikes, say so (input_dtype='spike', --input-dtype spike)",
        limit=[lo, hi],
    )


def _beyond(node: str, x: np.ndarray, declared: Range, fmt: NumberFormat) -> list[Diagnostic]:
    """QUANT-SATURATION where calibration data leave the declared range."""
    lo, hi = declared
    outside = int(np.count_nonzero((x < lo) | (x > hi)))
    if not outside:
        return []
    return [
        Diagnostic(
            "QUANT-SATURATION",
            f"the calibration data span [{float(x.min()):.6g}, {float(x.max()):.6g}], beyond the declared input "
            f"range [{lo:g}, {hi:g}]: {outside} of {x.size} values ({100 * outside / x.size:.3g}%) saturate at "
            f"the {fmt} format's ends",
            node=node,
            severity=Severity.WARNING,
            hint="widen input_range (--input-range) to the data's range, or leave it out to take the calibration "
            "data's",
            measured=[float(x.min()), float(x.max())],
            limit=[lo, hi],
        )
    ]


def input_loss(node: str, fmt: NumberFormat, span: Range, source: str, x: np.ndarray | None) -> Diagnostic:
    """QUANT-LOSS for an input: its format, scale and step, and the error relative to the largest
    |value| of its range: measured on the calibration data (max, mean), else half a step."""
    scale = fmt.single_scale
    top = max(abs(span[0]), abs(span[1])) or 1.0
    message = (
        f"{node}: {fmt} input, scale {scale:.6g} for the range [{span[0]:.6g}, {span[1]:.6g}] ({source}), "
        f"step {1 / scale:.4g} ({100 / scale / top:.3g}% of max|x|)"
    )
    if x is None:
        return Diagnostic("QUANT-LOSS", message, node=node, severity=Severity.INFO, measured=[0.5 / scale / top])
    q = fmt.encode(x)
    err = np.abs(q / scale - x.astype(np.float64)) / top
    message += (
        f"; on the calibration data error max {100 * float(err.max()):.3g}%, mean {100 * float(err.mean()):.3g}% "
        f"of max|x|"
    )
    return Diagnostic(
        "QUANT-LOSS", message, node=node, severity=Severity.INFO, measured=[float(err.max()), float(err.mean())]
    )
