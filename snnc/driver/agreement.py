"""Two stages of `snnc validate` compared layer by layer, and the first place they differ.

Agreement per layer (stages.py: a layer is a user module's neuron population, in float units):
- spike mismatch: 1 − Σ min(a, b) / Σ max(a, b) over every neuron, step and sample, the share
  of spikes the two stages do not have in common (0: identical, 1: disjoint); also per step;
- element agreement: the fraction of (step, sample, neuron) whose values are equal;
- firing rates (spikes per neuron and step) and the rate error: the mean over neurons and samples
  of |count_a − count_b| / T;
- membrane error: mean and largest |v_a − v_b| in the float model's units, and relative to |θ|;
  for a non-spiking readout, whose output is its membrane, the error of that output, relative to
  its mean magnitude.

The first divergence is the first difference in execution order (ARCHITECTURE §2.1: step by
step, and within a step the layers in topological order), then by sample and neuron. Everything
computed before it agrees, including the layer's own inputs, so its cause lies in that layer; it
is classified from the data at that neuron (divergence.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.driver.divergence import Divergence, explain, threshold_at, value_at
from snnc.driver.stages import LayerTrace, Stage, StageRun


@dataclass(frozen=True)
class LayerAgreement:
    """How far two stages agree on one layer over all data (module docstring)."""

    layer: str
    pair: tuple[str, str]
    nodes: tuple[str, str]
    compared: str  # "neurons" (every value), "events" (events per step only), "values" (a readout)
    spike_mismatch: float | None
    element_agreement: float | None
    rates: tuple[float, float] | None
    rate_error: float | None
    membrane_error: float | None
    membrane_max_error: float | None
    membrane_error_relative: float | None
    per_step_mismatch: tuple[float, ...]
    exceeded: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "stages": list(self.pair),
            "nodes": list(self.nodes),
            "compared": self.compared,
            "spike_mismatch": self.spike_mismatch,
            "element_agreement": self.element_agreement,
            "rates": None if self.rates is None else list(self.rates),
            "rate_error": self.rate_error,
            "membrane_error": self.membrane_error,
            "membrane_max_error": self.membrane_max_error,
            "membrane_error_relative": self.membrane_error_relative,
            "per_step_mismatch": list(self.per_step_mismatch),
            "exceeded": list(self.exceeded),
        }


@dataclass
class _Sums:
    """Running sums of one layer's comparison over the batches."""

    steps: int
    numel: int
    compared: str = "neurons"
    elements: int = 0
    equal: int = 0
    common: float = 0.0
    union: float = 0.0
    spikes: np.ndarray = field(default_factory=lambda: np.zeros(2))
    samples: int = 0
    count_error: float = 0.0
    step_common: np.ndarray | None = None
    step_union: np.ndarray | None = None
    membrane_abs: float = 0.0
    membrane_max: float = 0.0
    membrane_n: int = 0
    threshold_abs: float = 0.0  # Σ |θ| (a readout: Σ |value|) over the compared membrane values

    def __post_init__(self) -> None:
        self.step_common = np.zeros(self.steps)
        self.step_union = np.zeros(self.steps)


class PairComparison:
    """Stage `b` against stage `a` (the earlier one), accumulated batch by batch."""

    def __init__(self, a: Stage, b: Stage, layers: list[str], steps: int, numel: dict[str, int]) -> None:
        self.a, self.b = a, b
        self.layers = layers
        self.sums = {layer: _Sums(steps, numel[layer]) for layer in layers}
        self.nodes: dict[str, tuple[str, str]] = {}
        self.first: Divergence | None = None
        self._first_key: tuple[int, ...] | None = None

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a.name, self.b.name)

    def add(self, run_a: StageRun, run_b: StageRun, offset: int) -> None:
        """Compare one batch (its first sample is sample `offset` of the data)."""
        candidates = []
        for index, layer in enumerate(self.layers):
            ta, tb = run_a.layers.get(layer), run_b.layers.get(layer)
            if ta is None or tb is None:
                continue
            self.nodes[layer] = (ta.node, tb.node)
            found = self._add_layer(self.sums[layer], ta, tb)
            if found is not None:
                t, s, n = found
                candidates.append(((t, index, s + offset, -1 if n is None else n), layer, ta, tb, t, s, n))
        if not candidates:
            return
        key, layer, ta, tb, t, s, n = min(candidates, key=lambda c: c[0])
        if self._first_key is None or key < self._first_key:
            self._first_key = key
            self.first = self._divergence(layer, ta, tb, t, s, n, s + offset)

    def _values(self, trace: LayerTrace) -> np.ndarray | None:
        """What to compare of a layer: against the source stage (always `a`), what the module
        itself returned, where the graph makes that with a node after the neuron."""
        if trace is not None and self.a.name == "source" and trace.module_values is not None:
            return trace.module_values
        return trace.values

    def _add_layer(self, sums: _Sums, ta: LayerTrace, tb: LayerTrace) -> tuple[int, int, int | None] | None:
        """Add one batch of one layer; the first difference (step, sample, flat neuron) if any."""
        va, vb = self._values(ta), self._values(tb)
        if va is not None and vb is not None and va.shape[:2] == vb.shape[:2] and va[0, 0].size == vb[0, 0].size:
            # the same neurons, maybe in another per-sample shape (a Linear lowered to a 1×1 conv)
            steps, batch = va.shape[:2]
            flat_a, flat_b = va.reshape(steps, batch, -1), vb.reshape(steps, batch, -1)
            sums.samples += batch
            if not (ta.spiking and tb.spiking):  # a readout: its output is its membrane
                sums.compared = "values"
                error = np.abs(flat_a - flat_b)
                sums.membrane_abs += float(error.sum())
                sums.membrane_max = max(sums.membrane_max, float(error.max(initial=0.0)))
                sums.membrane_n += error.size
                sums.threshold_abs += float(np.abs(flat_a).sum())
                return None
            same = np.array_equal(flat_a, flat_b)
            self._add_counts(sums, flat_a, flat_b, same=same)
            self._add_membranes(sums, ta, tb)
            differs = () if same else np.argwhere(flat_a != flat_b)
            return None if not len(differs) else (int(differs[0][0]), int(differs[0][1]), int(differs[0][2]))
        sums.compared = "events"  # one side traced no neuron values: compare its events per step
        ea, eb = ta.events.astype(np.float64), tb.events.astype(np.float64)
        sums.samples += ea.shape[1]
        self._add_counts(sums, ea[..., None], eb[..., None], per_neuron=False)
        differs = np.argwhere(ea != eb)
        return None if not len(differs) else (int(differs[0][0]), int(differs[0][1]), None)

    @staticmethod
    def _add_counts(sums: _Sums, a: np.ndarray, b: np.ndarray, per_neuron: bool = True, same: bool = False) -> None:
        """Add the batch's spike counts a, b [T, B, N]. `same` (a equals b, the usual case between
        exact stages; counts are finite): the same sums without the passes that compare them."""
        if same:
            total, per_step = float(a.sum()), a.sum(axis=(1, 2))
            sums.common += total
            sums.union += total
            sums.step_common += per_step
            sums.step_union += per_step
            sums.spikes += (total, total)
            sums.elements += a.size
            sums.equal += a.size
            return
        low, high = np.minimum(a, b), np.maximum(a, b)
        sums.common += float(low.sum())
        sums.union += float(high.sum())
        sums.step_common += low.sum(axis=(1, 2))
        sums.step_union += high.sum(axis=(1, 2))
        sums.spikes += (float(a.sum()), float(b.sum()))
        sums.elements += a.size
        sums.equal += int((a == b).sum())
        if per_neuron:
            sums.count_error += float(np.abs(a.sum(axis=0) - b.sum(axis=0)).sum())

    @staticmethod
    def _add_membranes(sums: _Sums, ta: LayerTrace, tb: LayerTrace) -> None:
        if ta.v is None or tb.v is None:
            return
        va, vb = ta.v.reshape(*ta.v.shape[:2], -1), tb.v.reshape(*tb.v.shape[:2], -1)
        if va.shape != vb.shape:
            return
        error = np.abs(va - vb)
        sums.membrane_abs += float(error.sum())
        sums.membrane_max = max(sums.membrane_max, float(error.max(initial=0.0)))
        sums.membrane_n += error.size
        if ta.threshold is not None:
            sums.threshold_abs += float(np.abs(np.broadcast_to(ta.threshold, ta.v.shape[2:])).mean()) * error.size

    def agreements(self) -> list[LayerAgreement]:
        found = []
        for layer in self.layers:
            s = self.sums[layer]
            if layer not in self.nodes or s.samples == 0:
                continue
            steps = s.steps
            membrane = s.membrane_abs / s.membrane_n if s.membrane_n else None
            relative = membrane / (s.threshold_abs / s.membrane_n) if membrane is not None and s.threshold_abs else None
            if s.compared == "values":
                found.append(
                    LayerAgreement(layer, self.pair, self.nodes[layer], "values", None, None, None, None, membrane,
                                   s.membrane_max, relative, ())
                )  # fmt: skip
                continue
            per_neuron = s.compared == "neurons"
            neurons = s.samples * (s.numel if per_neuron else 1)
            rates = tuple(float(n) / (s.samples * steps * s.numel) for n in s.spikes)
            found.append(
                LayerAgreement(
                    layer,
                    self.pair,
                    self.nodes[layer],
                    s.compared,
                    1.0 - s.common / s.union if s.union else 0.0,
                    s.equal / s.elements if s.elements and per_neuron else None,
                    (rates[0], rates[1]),
                    s.count_error / (neurons * steps) if per_neuron else abs(rates[0] - rates[1]),
                    membrane,
                    s.membrane_max if s.membrane_n else None,
                    relative,
                    tuple(
                        float(1.0 - c / u) if u else 0.0
                        for c, u in zip(s.step_common, s.step_union)  # type: ignore[arg-type]
                    ),
                )
            )
        return found

    # --- the first divergence -------------------------------------------------------------------

    def _divergence(
        self, layer: str, ta: LayerTrace, tb: LayerTrace, t: int, s: int, n: int | None, sample: int
    ) -> Divergence:
        va, vb = self._values(ta), self._values(tb)
        if n is None or va is None or vb is None:
            values = (float(ta.events[t, s]), float(tb.events[t, s]))
            neuron = None
        else:
            shape = va.shape[2:]
            values = (float(va.reshape(*va.shape[:2], -1)[t, s, n]), float(vb.reshape(*vb.shape[:2], -1)[t, s, n]))
            neuron = tuple(int(i) for i in np.unravel_index(n, shape))
        charges = (value_at(ta.h, t, s, n), value_at(tb.h, t, s, n))
        thresholds = (threshold_at(ta, n), threshold_at(tb, n))
        cause, detail = explain(self.a, self.b, ta, tb, t, s, n, values)
        return Divergence(self.pair, layer, tb.node, t, sample, neuron, values, charges, thresholds, cause, detail)
