"""The agreement of two stages, layer by layer, and the first divergence's place, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from snnc.driver.agreement import PairComparison
from snnc.driver.stages import LayerTrace, Stage, StageRun

FLOAT_STAGE = Stage("ir", "float", run=lambda x: None)


def test_agreement_by_hand():
    """Two steps, two samples, two neurons. a: [[1,0],[2,0]] / [[0,1],[0,0]]; b differs in one
    element per sample. Σmin = 3, Σmax = 5 → mismatch 0.4; 6 of 8 elements equal."""
    a = np.array([[[1, 0], [0, 1]], [[2, 0], [0, 0]]], np.float64)  # [T=2, B=2, N=2]
    b = np.array([[[1, 1], [0, 1]], [[1, 0], [0, 0]]], np.float64)
    ta, tb = (LayerTrace("n", (2,), x.sum(axis=2).astype(np.int64), True, values=x) for x in (a, b))
    pair = PairComparison(FLOAT_STAGE, Stage("quantized", "q", lambda x: None), ["n"], 2, {"n": 2})
    pair.add(StageRun({"n": ta}, None), StageRun({"n": tb}, None), 0)
    (agreement,) = pair.agreements()
    assert agreement.spike_mismatch == pytest.approx(1 - 3 / 5)
    assert agreement.element_agreement == pytest.approx(6 / 8)
    # per neuron and sample |count a − count b| / T: sample 0 neuron 1: |0 − 1|, sample 0 neuron 0: |3 − 2|
    assert agreement.rate_error == pytest.approx((1 + 1) / (2 * 2) / 2)
    assert agreement.per_step_mismatch == pytest.approx((1 - 2 / 3, 1 - 1 / 2))
    first = pair.first
    assert (first.step, first.sample, first.neuron, first.values) == (0, 0, (1,), (0.0, 1.0))


def test_equal_batches_take_the_short_way_to_the_same_sums(monkeypatch):
    """Equal traces (the usual case between exact stages) skip the comparing passes: every sum
    and figure is what the full comparison gives."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, (5, 3, 4)).astype(np.float64)
    runs = [
        StageRun({"n": LayerTrace("n", (4,), x.sum(axis=2).astype(np.int64), True, values=x.copy())}, None)
        for x in (a, a)
    ]

    def compared(full: bool):
        if full:
            monkeypatch.setattr(np, "array_equal", lambda *args: False)
        pair = PairComparison(FLOAT_STAGE, Stage("quantized", "q", lambda x: None), ["n"], 5, {"n": 4})
        pair.add(*runs, 0)
        pair.add(*runs, 3)
        return pair

    short, full = compared(False), compared(True)
    assert short.agreements() == full.agreements()
    assert vars(short.sums["n"]).keys() == vars(full.sums["n"]).keys()
    for key, value in vars(full.sums["n"]).items():
        np.testing.assert_array_equal(getattr(short.sums["n"], key), value, err_msg=key)
    assert short.first is None and full.first is None
