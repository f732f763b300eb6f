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
