"""What quantization cost, measured: per-layer error figures and, with calibration data, the spike
agreement of the float and the integer simulation. These are `Quantize`'s QUANT-ZEROED and
QUANT-LOSS diagnostics; `snnc compile` prints the QUANT-LOSS lines as its per-layer losses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Neuron, Op
from snnc.passes.quant_scale import channel_scale, error_stats

if TYPE_CHECKING:
    from snnc.passes.quant_spec import QuantSpec


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
    synapses: list[Node],
    neurons: list[Node],
    weights: dict[str, np.ndarray],
    ops: dict[str, Op],
    scale: np.ndarray,
    spec: QuantSpec,
) -> list[Diagnostic]:
    """One QUANT-LOSS info per unit: the weights' max and mean error relative to max |w|, and the
    neurons' threshold error relative to θ, each restored as integer / scale."""
    parts: list[str] = []
    measured: list[float] = []
    per = "per channel" if np.size(scale) > 1 else "per layer"
    for syn in synapses:
        q = ops[syn.name].weight  # type: ignore[attr-defined]
        restored = q / channel_scale(scale, q.shape).astype(np.float64)
        worst, mean = error_stats(weights[syn.name], restored)
        parts.append(
            f"{syn.name}: s{spec.weight_bits} weights, scale {_fmt_scale(scale)} {per}, "
            f"error max {100 * worst:.3g}%, mean {100 * mean:.3g}% of max|w|"
        )
        measured += [worst, mean]
    for neuron in neurons:
        new: Neuron = ops[neuron.name]  # type: ignore[assignment]
        old: Neuron = neuron.op  # type: ignore[assignment]
        sigma = channel_scale(np.asarray(new.state_format.scale, np.float64), neuron.type.shape)  # type: ignore[union-attr]
        theta = np.asarray(old.threshold, np.float64)
        err = float(np.max(np.abs(new.threshold / sigma - theta) / theta))
        parts.append(f"{neuron.name}: threshold {_fmt(theta)} → {_fmt(new.threshold)} (error {100 * err:.3g}%)")
        measured.append(err)
    node = (synapses or neurons)[0].name
    return [Diagnostic("QUANT-LOSS", "; ".join(parts), node=node, severity=Severity.INFO, measured=measured)]


def _fmt(values: np.ndarray) -> str:
    values = np.asarray(values)
    if values.size == 1 or np.all(values == values.flat[0]):
        return f"{float(values.flat[0]):.6g}"
    return f"[{float(values.min()):.6g}..{float(values.max()):.6g}]"


def _fmt_scale(scale: np.ndarray) -> str:
    return _fmt(np.asarray(scale, np.float64))


def calibrate(float_graph: Graph, quantized: Graph, x: Any) -> list[Diagnostic]:
    """QUANT-LOSS infos with each neuron layer's spike agreement between the float graph and the
    quantized one on the calibration data `x` ([T, B, *input shape])."""
    from snnc.backends.sim import run  # a pass depends on the simulator only when asked to measure

    names = [n.name for n in float_graph if isinstance(n.op, Neuron)]
    record = [f"{name}:out" for name in names]
    ref, got = run(float_graph, x, record=record).traces, run(quantized, x, record=record).traces
    found = []
    for name in names:
        a, b = ref[name]["out"], got[name]["out"]
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
