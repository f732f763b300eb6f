"""ANN → SNN conversion end to end, and what it costs in accuracy.

`convert(ann, calib)` folds BatchNorm into the layers next to it (passes/fold_bn.py), measures
each ReLU's activation scale on calibration samples in the reference simulator, and rewrites the
ReLUs into IF neurons (passes/ann_to_snn.py). Scale = the p-th percentile (default 99.9) of the
ReLU's nonzero outputs over the calibration set, after Rueckauer et al. 2017 (Front. Neurosci.
11:682, §2.3 "robust normalization") and their snntoolbox (`normalize_parameters`, which takes
the percentile of the nonzero activations); percentile=100 is the maximum (Diehl et al. 2015).

The input reaches the SNN as an analog current (the sample every step; the first layer's
synapses then multiply real values) or as rate-coded spikes (a Bernoulli spike of probability
x/input_scale per step, input_scale = the calibration maximum unless given). `accuracy` runs the
ANN once and the SNN for the longest T, reading the shorter T off the same run (the output up to
step T depends only on the steps before), and compares argmax decisions with the labels: for
the SNN the argmax of the output summed over the first T steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, input_error
from snnc.driver.source import graph_of
from snnc.ir import ops
from snnc.ir.graph import Graph
from snnc.npz import DataError, open_npz
from snnc.passes.ann_to_snn import AnnToSnn
from snnc.passes.base import PassContext, run_passes
from snnc.passes.fold_bn import FoldBN

Encoding = Literal["current", "rate"]
ENCODINGS = ("current", "rate")
BATCH = 512  # samples per simulator call: bounds memory on large calibration or test sets


@dataclass(frozen=True)
class Accuracy:
    """Fraction of samples classified as labelled: by the ANN, and by the SNN after T steps."""

    ann: float
    snn: dict[int, float]
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"samples": self.samples, "ann": self.ann, "snn": {str(t): a for t, a in self.snn.items()}}


@dataclass(frozen=True)
class Conversion:
    """The converted SNN, the BatchNorm-folded ANN it was measured on, each ReLU's scale λ (the
    neuron threshold before input rescaling), and what the passes reported."""

    graph: Graph
    ann: Graph
    scales: dict[str, float]
    input_scale: float
    encoding: Encoding
    percentile: float
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def encode(self, x: np.ndarray, steps: int, seed: int = 0) -> np.ndarray:
        """Samples [N, *shape] as the SNN's input [steps, N, *shape]."""
        x = np.asarray(x, np.float32)
        if self.encoding == "current":
            return np.broadcast_to(x, (steps, *x.shape))
        rng = np.random.default_rng(seed)
        return (rng.random((steps, *x.shape), dtype=np.float32) < x / np.float32(self.input_scale)).astype(np.float32)

    def accuracy(self, x: np.ndarray, labels: np.ndarray, steps: Sequence[int], seed: int = 0) -> Accuracy:
        from snnc.sim import run

        x, labels = _samples(x, self.ann, "evaluation"), np.asarray(labels).ravel()
        if labels.shape != (len(x),):
            raise input_error(
                "CONVERT-CALIB",
                f"{labels.size} labels for {len(x)} samples",
                hint="give one integer class label per sample",
            )
        steps = sorted({int(t) for t in steps})
        ann_hits, snn_hits = 0, np.zeros(len(steps))
        for start in range(0, len(x), BATCH):
            xb, yb = x[start : start + BATCH], labels[start : start + BATCH]
            ann_hits += int((run(self.ann, xb[None]).output[0].argmax(-1) == yb).sum())
            summed = np.cumsum(run(self.graph, self.encode(xb, steps[-1], seed + start)).output, axis=0)
            snn_hits += [(summed[t - 1].argmax(-1) == yb).sum() for t in steps]
        n = len(x)
        return Accuracy(ann_hits / n, {t: float(h) / n for t, h in zip(steps, snn_hits)}, n)


def convert(
    source_or_graph: Any,
    calib: Any,
    *,
    percentile: float = 99.9,
    encoding: Encoding = "current",
    input_scale: float | None = None,
    v_init: float = 0.0,
) -> Conversion:
    """Convert the ANN `source_or_graph` (anything `snnc.load` reads) using `calib`, samples
    [N, *input_shape] (an array, or an .npz file holding them as 'x')."""
    if not 0 < percentile <= 100:
        raise input_error("CONVERT-OPTION", f"percentile {percentile} is outside (0, 100]", hint="e.g. 99.9")
    if encoding not in ENCODINGS:
        raise input_error("CONVERT-OPTION", f"input encoding {encoding!r} is not one of {ENCODINGS}")
    ann = graph_of(source_or_graph)
    ctx = PassContext(verify_each=True)
    folded = run_passes(ann, [FoldBN()], ctx)
    x = _samples(calib, folded, "calibration")
    scales, notes = calibrate(folded, x, percentile)
    scale = _input_scale(x, encoding, input_scale)
    snn = run_passes(folded, [AnnToSnn(scales, scale, encoding, v_init)], ctx)
    return Conversion(snn, folded, scales, scale, encoding, percentile, ctx.diagnostics + notes)


def calibrate(ann: Graph, x: np.ndarray, percentile: float) -> tuple[dict[str, float], list[Diagnostic]]:
    """Each ReLU's scale: the percentile of its nonzero outputs on samples x [N, *shape]."""
    from snnc.sim import run

    relus = [n.name for n in ann.nodes if isinstance(n.op, ops.ReLU)]
    positive: dict[str, list[np.ndarray]] = {r: [] for r in relus}
    for start in range(0, len(x), BATCH):
        traces = run(ann, x[None, start : start + BATCH], record=[f"{r}:out" for r in relus]).traces
        for r in relus:
            out = traces[r]["out"]
            positive[r].append(out[out > 0])
    scales, notes = {}, []
    for r in relus:
        values = np.concatenate(positive[r]) if positive[r] else np.zeros(0)
        if values.size == 0:
            notes.append(
                Diagnostic(
                    "CONVERT-DEAD-LAYER",
                    f"the ReLU never outputs a positive value on the {len(x)} calibration samples; threshold set to 1",
                    node=r,
                    hint="calibrate on data that activates the layer, or remove it",
                    severity=Severity.WARNING,
                )
            )
        scales[r] = float(np.percentile(values, percentile)) if values.size else 1.0
    return scales, notes


def _samples(data: Any, graph: Graph, what: str) -> np.ndarray:
    """Samples [N, *input_shape] as float32, from an array or an .npz file ('x')."""
    if isinstance(data, (str, Path)):
        try:
            with open_npz(data) as archive:
                if not archive.files:
                    raise DataError("it holds no array")
                data = archive["x" if "x" in archive.files else archive.files[0]]
        except (DataError, OSError) as e:
            raise input_error("CONVERT-CALIB", f"cannot read {what} samples from {data}: {e}") from None
    x = np.asarray(data, dtype=np.float32)
    if len(graph.inputs) != 1:
        raise input_error("CONVERT-CALIB", f"the model has {len(graph.inputs)} inputs; conversion takes one")
    (node,) = graph.inputs
    shape = node.type.shape
    if x.ndim != len(shape) + 1 or x.shape[1:] != shape or len(x) == 0:
        raise input_error(
            "CONVERT-CALIB",
            f"{what} samples have shape {list(x.shape)}; the model takes [N, {', '.join(map(str, shape))}]",
            node=node.name,
            hint="give samples without a time axis, one per row",
        )
    if not np.isfinite(x).all():
        raise input_error("CONVERT-CALIB", f"{what} samples hold NaN or infinite values", node=node.name)
    return x


def _input_scale(x: np.ndarray, encoding: Encoding, given: float | None) -> float:
    """What one input spike stands for: 1 for an analog current, else the input range."""
    if encoding == "current":
        return 1.0
    if x.min() < 0:
        raise input_error(
            "CONVERT-CALIB",
            f"rate coding needs non-negative inputs; the calibration samples reach {float(x.min()):g}",
            hint="shift or rescale the inputs to [0, max], or use the current encoding",
        )
    scale = float(x.max()) if given is None else float(given)
    if not scale > 0:
        raise input_error("CONVERT-OPTION", f"input scale {scale:g} must be positive", hint="give input_scale > 0")
    return scale
