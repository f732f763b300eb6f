"""Why two stages of `snnc validate` first differ: the cause, classified from the traced data.

At the first divergence (agreement.py finds it: the first difference in execution order, so the
layer's inputs agree and the cause lies in the layer) the neuron's charges h, membranes v and
thresholds in both stages (float units), the integer stage's register limits (its `Arithmetic`)
and whether a stage is event-driven decide, in this order: a state beyond its register
(saturation, wrap); several spikes against fewer from the same charge (multi-spike); a reset that
left the membranes a threshold apart after a shared spike (reset-timing); a charge exactly on the
threshold (threshold-tie); a rounded threshold that alone explains both decisions
(threshold-rounding); a charge that differs across the threshold (weight-rounding); an
event-driven model that fired otherwise (event-ordering); else unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.driver.stages import LayerTrace, Stage
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


def explain(
    a: Stage, b: Stage, ta: LayerTrace, tb: LayerTrace, t: int, s: int, n: int | None, values: tuple[float, float]
) -> tuple[str, str]:
    """The likely cause of the difference at step t, sample s, flat neuron n, from the data."""
    va, vb = values
    event_driven = a.event_driven or b.event_driven
    if n is None:
        if event_driven:
            return "event-ordering", (
                f"{b.name} has {_g(vb)} events in this layer at this step, {a.name} {_g(va)}: the event-driven model "
                "takes the step's events one at a time (their order, and one spike per event, change what fires); "
                "it traces no membranes, so the neuron is not known"
            )
        return "unexplained", f"only events per step are known: {_g(va)} vs {_g(vb)}"
    ha, hb = _series(ta.h, s, n, t), _series(tb.h, s, n, t)
    theta_a, theta_b = threshold_at(ta, n), threshold_at(tb, n)
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
        carried_a, carried_b = (value_at(ta.v, t - 1, s, n), value_at(tb.v, t - 1, s, n)) if t > 0 else (None, None)
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
    ha, hb, va, vb = (value_at(x, last, s, n) for x in (ta.h, tb.h, ta.v, tb.v))
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


def value_at(values: np.ndarray | None, t: int, s: int, n: int | None) -> float | None:
    """values[t, s, flat neuron n] of a [T, B, *shape] trace, None where not traced."""
    if values is None or n is None or t < 0:
        return None
    return float(values.reshape(*values.shape[:2], -1)[t, s, n])


def threshold_at(trace: LayerTrace, n: int | None) -> float | None:
    """The threshold of flat neuron n of a layer (float units), None where unknown."""
    return None if trace.threshold is None or n is None else _param(trace.threshold, trace.shape, n)


def _param(value: np.ndarray, shape: tuple[int, ...], n: int) -> float:
    """A broadcastable parameter's value at flat neuron index n of the per-sample shape."""
    return float(np.broadcast_to(value, shape).reshape(-1)[n])


def _g(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.6g}"
