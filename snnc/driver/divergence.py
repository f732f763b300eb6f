"""Two stages of `snnc validate` compared layer by layer, and the first place they differ, explained.

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
is classified from the data at that neuron (`explain`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.driver.stages import LayerTrace, Stage, StageRun
from snnc.ir.ops import Neuron

CAUSES: dict[str, str] = {
    "weight-rounding": "the charge differs: rounding of weights, biases, leak or input moved it across the threshold",
    "threshold-rounding": "the charge agrees but the rounded threshold lies on the other side of it",
    "saturation": "a state reached its register's limit and was clipped",
    "wrap": "a state overflowed its register and wrapped around",
    "reset-timing": "after a shared spike the membranes differ by about a threshold: the reset came at another "
    "time or in another way",
    "multi-spike": "one stage emits several spikes where the other emits fewer from the same charge",
    "threshold-tie": "the charge sits exactly on the threshold, where >= and > decide differently",
    "event-ordering": "the event-driven model fired on the order of events within the step, not on its sum",
    "unexplained": "no cause visible in the traced data",
}


@dataclass(frozen=True)
class Divergence:
    """Where stage `pair[1]` first differs from `pair[0]`: layer (user module path) and node,
    step, sample, neuron index (None where only events per step are known), both values, the
    charges and thresholds where traced (float units), and the classified cause."""

    pair: tuple[str, str]
    layer: str
    node: str
    step: int
    sample: int
    neuron: tuple[int, ...] | None
    values: tuple[float, float]
    charges: tuple[float | None, float | None]
    thresholds: tuple[float | None, float | None]
    cause: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.pair),
            "layer": self.layer,
            "node": self.node,
            "step": self.step,
            "sample": self.sample,
            "neuron": None if self.neuron is None else list(self.neuron),
            "values": list(self.values),
            "charges": list(self.charges),
            "thresholds": list(self.thresholds),
            "cause": self.cause,
            "detail": self.detail,
        }

    def describe(self) -> str:
        where = f"neuron {list(self.neuron)}" if self.neuron is not None else "its events"
        return (
            f"layer {self.layer!r} (node {self.node}), step {self.step}, sample {self.sample}, {where}: "
            f"{self.pair[0]} {_g(self.values[0])} vs {self.pair[1]} {_g(self.values[1])}; cause {self.cause}: "
            f"{self.detail}"
        )


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
        if va is not None and vb is not None and va.shape == vb.shape:
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
            self._add_counts(sums, flat_a, flat_b)
            self._add_membranes(sums, ta, tb)
            differs = np.argwhere(flat_a != flat_b)
            return None if not len(differs) else (int(differs[0][0]), int(differs[0][1]), int(differs[0][2]))
        sums.compared = "events"  # one side traced no neuron values: compare its events per step
        ea, eb = ta.events.astype(np.float64), tb.events.astype(np.float64)
        sums.samples += ea.shape[1]
        self._add_counts(sums, ea[..., None], eb[..., None], per_neuron=False)
        differs = np.argwhere(ea != eb)
        return None if not len(differs) else (int(differs[0][0]), int(differs[0][1]), None)

    @staticmethod
    def _add_counts(sums: _Sums, a: np.ndarray, b: np.ndarray, per_neuron: bool = True) -> None:
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
        if ta.v is None or tb.v is None or ta.v.shape != tb.v.shape:
            return
        error = np.abs(ta.v - tb.v)
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
        charges = (_at(ta.h, t, s, n), _at(tb.h, t, s, n))
        thresholds = (_threshold(ta, n), _threshold(tb, n))
        cause, detail = explain(self.a, self.b, ta, tb, t, s, n, values)
        return Divergence(self.pair, layer, tb.node, t, sample, neuron, values, charges, thresholds, cause, detail)


# --- classification ---------------------------------------------------------------------------


def explain(
    a: Stage, b: Stage, ta: LayerTrace, tb: LayerTrace, t: int, s: int, n: int | None, values: tuple[float, float]
) -> tuple[str, str]:
    """The likely cause of the difference at step t, sample s, flat neuron n, from the data."""
    va, vb = values
    event_driven = a.event_driven or b.event_driven
    if n is None:
        if event_driven:
            return "event-ordering", (
                f"{b.name} has {_g(vb)} events in this layer at this step, {a.name} {_g(va)}; the event model traces "
                "no membranes, so the neuron is not known"
            )
        return "unexplained", f"only events per step are known: {_g(va)} vs {_g(vb)}"
    ha, hb = _series(ta.h, s, n, t), _series(tb.h, s, n, t)
    theta_a, theta_b = _threshold(ta, n), _threshold(tb, n)
    overflow = _overflow(a, b, ta, tb, s, n, t)
    if overflow is not None:
        return overflow
    same_charge = ha is None or hb is None or _close(ha[t], hb[t], theta_a or theta_b)
    if min(va, vb) >= 1 and max(va, vb) > 1 and same_charge:
        fewer = a.name if va < vb else b.name
        return "multi-spike", (
            f"{a.name} emits {_g(va)} spikes, {b.name} {_g(vb)} from the same charge: {fewer} fires once "
            "(per step or per event) where the other fires floor(h/θ) times"
        )
    if ha is None or hb is None:
        if event_driven:
            return "event-ordering", f"{a.name} {_g(va)} vs {b.name} {_g(vb)}; the event model traces no membranes"
        missing = a.name if ha is None else b.name
        return "unexplained", (
            f"{a.name} {_g(va)} vs {b.name} {_g(vb)}; {missing} traces no membranes"
            + (
                " (the source library and the IR's float simulation are meant to agree exactly: a float "
                "summation-order effect or a converter error; please report it)"
                if a.name == "source"
                else ""
            )
        )
    reset = _reset(ta, tb, s, n, t, theta_a)
    if reset is not None:
        return "reset-timing", reset
    h_a, h_b = float(ha[t]), float(hb[t])
    if theta_a is not None and theta_b is not None:
        if _close(h_a, theta_a, theta_a) and _close(h_b, theta_b, theta_a) and (h_a == theta_a or h_b == theta_b):
            return "threshold-tie", (
                f"the charge sits on the threshold in both stages (h = {_g(h_a)} vs θ = {_g(theta_a)} in {a.name}, "
                f"{_g(h_b)} vs {_g(theta_b)} in {b.name}): >= fires there and > does not, and rounding noise "
                "decides which side it falls on"
            )
        if (
            theta_a != theta_b
            and _fires(h_b, theta_a, tb.neuron) == (va > 0)
            and _fires(h_a, theta_b, ta.neuron) == (vb > 0)
        ):
            return "threshold-rounding", (
                f"h = {_g(h_a)} in {a.name} and {_g(h_b)} in {b.name}, but the threshold is {_g(theta_a)} in {a.name} "
                f"and {_g(theta_b)} in {b.name} (rounded by {_g(theta_b - theta_a)}): with the same threshold both "
                "would decide alike"
            )
    if h_a != h_b:
        carried_a, carried_b = (_at(ta.v, t - 1, s, n), _at(tb.v, t - 1, s, n)) if t > 0 else (None, None)
        history = (
            f"; the membranes entering the step already differed by {_g(carried_b - carried_a)}"
            if carried_a is not None and carried_b is not None and carried_a != carried_b
            else "; the membranes entering the step agreed, so this step's input sum differs"
        )
        rounded = "" if theta_a == theta_b else f" ({_g(theta_b)} in {b.name})"
        return "weight-rounding", (
            f"h = {_g(h_a)} in {a.name}, {_g(h_b)} in {b.name} (difference {_g(h_b - h_a)}) against the threshold "
            f"{_g(theta_a)}{rounded}: rounding of weights, bias or leak moved the charge across it{history}"
        )
    if event_driven:
        return "event-ordering", f"the charge agrees (h = {_g(h_a)}) but the event-driven model fired differently"
    return "unexplained", f"h = {_g(h_a)} in both stages, threshold {_g(theta_a)} vs {_g(theta_b)}"


def _overflow(a: Stage, b: Stage, ta: LayerTrace, tb: LayerTrace, s: int, n: int, t: int) -> tuple[str, str] | None:
    """A state beyond the voltage register of the integer stage (its Arithmetic) at a step up to t:
    the charge the other stage computed needs more bits, or the integer charge sits on a limit."""
    (q, tq), (o, to) = ((b, tb), (a, ta)) if b.arithmetic is not None else ((a, ta), (b, tb))
    if q.arithmetic is None or tq.scale is None:
        return None
    scale = _param(tq.scale, tq.shape, n)
    register = q.arithmetic.voltage
    mode = "saturation" if register.overflow.startswith("saturate") else "wrap"
    for stage, trace in ((o, to), (q, tq)):
        h = _series(trace.h, s, n, t)
        if h is None:
            continue
        needed = np.round(h * scale)
        beyond = np.flatnonzero((needed > register.max) | (needed < register.min))
        pinned = np.flatnonzero((needed == register.max) | (needed == register.min))
        if len(beyond):
            step, where = int(beyond[0]), "beyond"
        elif trace is tq and mode == "saturation" and len(pinned):
            step, where = int(pinned[0]), "at the limit of"
        else:
            continue
        return mode, (
            f"at step {step} the charge in {stage.name} is {_g(h[step])} = {_g(needed[step])} in {q.name}'s "
            f"integers, {where} its {register.bits}-bit voltage register [{register.min}, {register.max}] "
            f"({register.overflow})"
        )
    return None


def _reset(ta: LayerTrace, tb: LayerTrace, s: int, n: int, t: int, theta: float | None) -> str | None:
    """Both stages spiked at an earlier step with charges that agreed, but the membranes after
    the reset differ by half a threshold or more: they reset at different times or differently."""
    if theta is None or ta.v is None or tb.v is None or ta.values is None or tb.values is None or t == 0:
        return None
    sa, sb = _series(ta.values, s, n, t - 1), _series(tb.values, s, n, t - 1)
    shared = np.flatnonzero((sa > 0) & (sb > 0))
    if not len(shared):
        return None
    last = int(shared[-1])
    ha, hb, va, vb = (_at(x, last, s, n) for x in (ta.h, tb.h, ta.v, tb.v))
    if None in (ha, hb, va, vb) or not _close(ha, hb, theta) or abs(va - vb) < 0.5 * abs(theta):  # type: ignore[operator]
        return None
    return (
        f"both fired at step {last} with h = {_g(ha)} and {_g(hb)}, but the membrane after the reset is "
        f"{_g(va)} and {_g(vb)}: the reset came at another step or in another way (zero vs subtract)"
    )


def _fires(h: float, theta: float, op: Neuron | None) -> bool:
    return h > theta if op is not None and op.fire_op == "gt" else h >= theta


def _close(x: float, y: float, theta: float | None) -> bool:
    """Equal up to rounding noise: within 1e-6 of the threshold's magnitude."""
    return abs(x - y) <= 1e-6 * max(abs(theta or 1.0), 1e-12)


def _series(values: np.ndarray | None, s: int, n: int | None, t: int) -> np.ndarray | None:
    if values is None or n is None:
        return None
    return values.reshape(*values.shape[:2], -1)[: t + 1, s, n]


def _at(values: np.ndarray | None, t: int, s: int, n: int | None) -> float | None:
    if values is None or n is None or t < 0:
        return None
    return float(values.reshape(*values.shape[:2], -1)[t, s, n])


def _threshold(trace: LayerTrace, n: int | None) -> float | None:
    return None if trace.threshold is None or n is None else _param(trace.threshold, trace.shape, n)


def _param(value: np.ndarray, shape: tuple[int, ...], n: int) -> float:
    """A broadcastable parameter's value at flat neuron index n of the per-sample shape."""
    return float(np.broadcast_to(value, shape).reshape(-1)[n])


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.6g}"
