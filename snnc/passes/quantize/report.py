"""What quantization cost, measured: per-layer error figures and, with calibration data, the spike
agreement of the float and the integer simulation (for a non-spiking readout, the error of its
membrane). These are `Quantize`'s QUANT-ZEROED and QUANT-LOSS diagnostics; `snnc compile` prints
the QUANT-LOSS lines as its per-layer losses. The calibration run of the float graph also gives
the readouts' membrane ranges, which `Quantize` fits into the voltage register."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph
from snnc.ir.ops import SYNAPTIC, Neuron, Op
from snnc.passes.quantize.scale import channel_scale, error_stats

if TYPE_CHECKING:
    from snnc.passes.quantize.spec import QuantSpec
    from snnc.passes.quantize.units import Unit

Membranes = dict[str, tuple[np.ndarray, np.ndarray]]
"""Non-spiking neuron → its float membrane's min and max per neuron on the calibration data."""


def zeroed_weights(node: str, weight: np.ndarray, q: np.ndarray, scale: np.ndarray) -> list[Diagnostic]:
    """QUANT-ZEROED for non-zero weights that round to 0: a warning, an error if all of them do."""
    nonzero = weight != 0
    lost = nonzero & (q == 0)
    if not lost.any():
        return []
    n, total = int(lost.sum()), int(nonzero.sum())
    return [
        Diagnostic(
            "QUANT-ZEROED",
            f"{n} of {total} non-zero weights round to 0 (|w| < {0.5 / float(np.max(scale)):.4g} at scale "
            f"{float(np.max(scale)):.6g})",
            node=node,
            severity=Severity.ERROR if n == total else Severity.WARNING,
            hint="a threshold or lower bound that sets the scale (see QUANT-THRESHOLD) squeezes the weights; "
            "with every weight zero the layer is dead",
            measured=n,
            limit=total,
        )
    ]


def loss_info(
    unit: Unit, weights: dict[str, np.ndarray], ops: dict[str, Op], scale: np.ndarray, spec: QuantSpec
) -> list[Diagnostic]:
    """One QUANT-LOSS info per unit: the weights' max and mean error relative to max |w|, and the
    neurons' threshold error relative to θ, each restored as integer / scale (for a non-spiking
    readout, where its membrane saturates instead)."""
    parts: list[str] = []
    measured: list[float] = []
    per = "per channel" if np.size(scale) > 1 else "per layer"
    for syn in unit.synapses:
        layer = ops[syn.name]
        assert isinstance(layer, SYNAPTIC)  # a synapse quantized
        q = layer.weight
        restored = q / channel_scale(scale, q.shape).astype(np.float64)
        worst, mean = error_stats(weights[syn.name], restored)
        s_x = unit.input_scales[syn.name]
        reads = "" if s_x == 1 else f" (its input has scale {s_x:.6g})"
        parts.append(
            f"{syn.name}: s{spec.weight_bits} weights, scale {_fmt_scale(np.asarray(scale) / s_x)} {per}{reads}, "
            f"error max {100 * worst:.3g}%, mean {100 * mean:.3g}% of max|w|"
        )
        measured += [worst, mean]
    for neuron in unit.neurons:
        new, old = ops[neuron.name], neuron.op
        assert isinstance(new, Neuron) and isinstance(old, Neuron) and new.state_format is not None  # quantized
        sigma = channel_scale(np.asarray(new.state_format.scale, np.float64), neuron.type.shape)
        if old.spikes == "none":
            reach = spec.arithmetic.voltage.max / np.min(sigma)
            parts.append(f"{neuron.name}: membrane readout, saturates beyond ±{reach:.4g}")
            continue
        theta = np.asarray(old.threshold, np.float64)
        err = float(np.max(np.abs(new.threshold / sigma - theta) / theta))
        parts.append(f"{neuron.name}: threshold {_fmt(theta)} → {_fmt(new.threshold)} (error {100 * err:.3g}%)")
        measured.append(err)
    node = (unit.synapses or unit.neurons)[0].name
    return [Diagnostic("QUANT-LOSS", "; ".join(parts), node=node, severity=Severity.INFO, measured=measured)]


def _fmt(values: np.ndarray) -> str:
    values = np.asarray(values)
    if values.size == 1 or np.all(values == values.flat[0]):
        return f"{float(values.flat[0]):.6g}"
    return f"[{float(values.min()):.6g}..{float(values.max()):.6g}]"


def _fmt_scale(scale: np.ndarray) -> str:
    return _fmt(np.asarray(scale, np.float64))


def membrane_ranges(float_graph: Graph, x: Any) -> Membranes:
    """Each non-spiking neuron's membrane min and max per neuron over the calibration data `x`
    (none without data, or without such neurons)."""
    names = [n.name for n in float_graph if isinstance(n.op, Neuron) and n.op.spikes == "none"]
    if x is None or not names:
        return {}
    from snnc.sim import run  # a pass depends on the simulator only when asked to measure

    traces = run(float_graph, x, record=[f"{name}:v" for name in names]).traces
    return {name: (traces[name]["v"].min(axis=(0, 1)), traces[name]["v"].max(axis=(0, 1))) for name in names}


def calibrate(float_graph: Graph, quantized: Graph, x: Any) -> list[Diagnostic]:
    """QUANT-LOSS infos with each neuron layer's spike agreement between the float graph and the
    quantized one on the calibration data `x` ([T, B, *input shape]); for a non-spiking neuron,
    the error of its membrane."""
    from snnc.sim import run  # a pass depends on the simulator only when asked to measure

    names = [n.name for n in float_graph if isinstance(n.op, Neuron)]
    record = [f"{name}:out" for name in names]
    ref, got = run(float_graph, x, record=record).traces, run(quantized, x, record=record).traces
    found = []
    for name in names:
        a, b = ref[name]["out"], got[name]["out"]
        op = quantized.node(name).op
        assert isinstance(op, Neuron)  # quantizing keeps every neuron's name
        if op.spikes == "none":
            found.append(_membrane_error(name, a, b, op))
            continue
        agree = float(np.mean(a == b))
        found.append(
            Diagnostic(
                "QUANT-LOSS",
                f"on the calibration data, spikes agree on {100 * agree:.2f}% of (step, sample, neuron); "
                f"events per step and sample {float(a.sum()) / a.shape[0] / a.shape[1]:.4g} (float) vs "
                f"{float(b.sum()) / b.shape[0] / b.shape[1]:.4g} (integer)",
                node=name,
                severity=Severity.INFO,
                measured=agree,
            )
        )
    return found


def membrane_error(ref: np.ndarray, got: np.ndarray, op: Neuron) -> tuple[float, float, float]:
    """Max and mean |got / σ − ref| relative to max |ref|, and max |ref|, for a quantized
    non-spiking neuron's integer membrane `got` and the float one `ref` ([T, B, *shape])."""
    assert op.state_format is not None  # a quantized neuron
    sigma = channel_scale(np.asarray(op.state_format.scale, np.float64), ref.shape[2:])
    top = float(np.abs(ref).max())
    err = np.abs(got.astype(np.float64) / sigma - ref.astype(np.float64)) / (top or 1.0)
    return float(err.max()), float(err.mean()), top


def _membrane_error(name: str, ref: np.ndarray, got: np.ndarray, op: Neuron) -> Diagnostic:
    worst, mean, top = membrane_error(ref, got, op)
    return Diagnostic(
        "QUANT-LOSS",
        f"on the calibration data, the integer membrane differs from the float one by max {100 * worst:.3g}%, "
        f"mean {100 * mean:.3g}% of max|v| ({top:.4g})",
        node=name,
        severity=Severity.INFO,
        measured=[worst, mean],
    )
