"""The first-divergence classifier on hand-made traces, one case per cause."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from snnc.backends.sim.spec import sim_spec
from snnc.driver.divergence import CAUSES, explain
from snnc.driver.stages import LayerTrace, Stage
from snnc.ir.quant import IntRange

FLOAT_STAGE = Stage("ir", "float", run=lambda x: None)
SIM8 = sim_spec(8).arithmetic


def trace(values, h=None, v=None, threshold=1.0, scale=None) -> LayerTrace:
    """One neuron, one sample: per-step lists → [T, 1, 1] arrays."""

    def column(xs):
        return None if xs is None else np.asarray(xs, np.float64).reshape(-1, 1, 1)

    values = column(values)
    return LayerTrace(
        "n",
        (1,),
        values.reshape(len(values), 1).astype(np.int64),
        True,
        values=values,
        h=column(h),
        v=column(v),
        threshold=np.float64(threshold),
        scale=None if scale is None else np.float64(scale),
    )


def cause(a, b, ta, tb, t):
    va, vb = float(ta.values[t, 0, 0]), float(tb.values[t, 0, 0])
    return explain(a, b, ta, tb, t, 0, 0, (va, vb))


def test_multi_spike():
    """The same charge 2.4: two spikes in one stage, one in the other."""
    found = cause(FLOAT_STAGE, Stage("target", "t", lambda x: None), trace([2], h=[2.4]), trace([1], h=[2.4]), 0)
    assert found[0] == "multi-spike"


def test_reset_timing():
    """Both fire at step 0 with h = 1.2; one resets at once (v = 0.2), the other a step late (v = 1.2)."""
    a = trace([1, 1], h=[1.2, 1.1], v=[0.2, 0.1])
    b = trace([1, 0], h=[1.2, 0.9], v=[1.2, 0.9])
    assert cause(FLOAT_STAGE, Stage("quantized", "q", lambda x: None), a, b, 1)[0] == "reset-timing"


def test_threshold_tie():
    """h sits on θ = 1 exactly in one stage (>= fires), a hair below it in the other."""
    a = trace([1], h=[1.0], v=[0.0])
    b = trace([0], h=[1.0 - 1e-9], v=[1.0 - 1e-9])
    assert cause(FLOAT_STAGE, Stage("quantized", "q", lambda x: None), a, b, 0)[0] == "threshold-tie"


def test_threshold_rounding_and_weight_rounding():
    """The same charge 0.75 against 0.7505 and a threshold rounded to 0.75; then a charge that
    differs (0.70 vs 0.76) against the same threshold."""
    q = Stage("quantized", "q", lambda x: None)
    before = {"threshold": 0.7505}
    assert cause(FLOAT_STAGE, q, trace([0], h=[0.75], **before), trace([1], h=[0.75], threshold=0.75), 0)[0] == (
        "threshold-rounding"
    )
    assert cause(FLOAT_STAGE, q, trace([0], h=[0.70], **before), trace([1], h=[0.76], threshold=0.75), 0)[0] == (
        "weight-rounding"
    )


@pytest.mark.parametrize(("overflow", "expected"), [("wrap", "wrap"), ("saturate", "saturation")])
def test_overflow_of_the_voltage_register(overflow, expected):
    """An 8-bit voltage register at scale 1: the float charge 200 at step 0 does not fit [-128, 127]."""
    arith = dataclasses.replace(SIM8, voltage=IntRange(8, overflow))
    q = Stage("quantized", "q", lambda x: None, arithmetic=arith)
    a = trace([1, 1], h=[200.0, 100.0], threshold=50.0)
    b = trace([1, 0], h=[-56.0 if overflow == "wrap" else 127.0, 40.0], threshold=50.0, scale=1.0)
    found, detail = cause(FLOAT_STAGE, q, a, b, 1)
    assert found == expected and "at step 0" in detail and "[-128, 127]" in detail


def test_event_ordering_and_unexplained():
    events = Stage("target", "event model", lambda x: None, event_driven=True)
    assert cause(Stage("quantized", "q", lambda x: None), events, trace([1], h=[1.0]), trace([0]), 0)[0] == (
        "event-ordering"
    )
    found, detail = cause(Stage("source", "library", lambda x: None), FLOAT_STAGE, trace([1]), trace([0], h=[0.5]), 0)
    assert found == "unexplained" and "please report" in detail
    assert set(CAUSES) >= {"weight-rounding", "threshold-rounding", "saturation", "wrap", "reset-timing"}
