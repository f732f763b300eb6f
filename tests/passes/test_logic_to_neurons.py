"""logic-to-neurons: and/or/iand of spikes as a sum or difference and a stateless neuron, checked
on the whole truth table and on random spike trains."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, kinds

from snnc.ir import Elementwise, GraphBuilder
from snnc.passes.logic_to_neurons import LogicToNeurons
from snnc.sim import run

TRUTH = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "iand": [0, 1, 0, 0]}  # (a, b) = 00, 01, 10, 11


def logic(fn: str):
    b = GraphBuilder("g")
    b.output("out", b.add("logic", Elementwise(fn), b.input("a", (3,)), b.input("b", (3,))))
    return b.build()


def run_both(g, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out, ctx = apply(LogicToNeurons(), g)
    assert kinds(out) == ["input", "input", "elementwise", "neuron", "output"] and ctx.rewrites["logic-to-neurons"] == 1
    feed = {"a": a, "b": b}
    return run(g, feed).output, run(out, feed).output


@pytest.mark.parametrize("fn", sorted(TRUTH))
def test_truth_table_then_a_repeat_shows_no_state(fn):
    """Steps: (a, b) = 00, 01, 10, 11, then 00 again: the neuron must not remember step 4."""
    a = np.array([0, 0, 1, 1, 0], np.float32)[:, None, None].repeat(3, axis=2)
    b = np.array([0, 1, 0, 1, 0], np.float32)[:, None, None].repeat(3, axis=2)
    before, after = run_both(logic(fn), a, b)
    assert after[:, 0, 0].tolist() == [*TRUTH[fn], 0]
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("fn", sorted(TRUTH))
def test_random_spike_trains(fn):
    rng = np.random.default_rng(0)
    a, b = (rng.random((2, 20, 4, 3)) < 0.5).astype(np.float32)
    before, after = run_both(logic(fn), a, b)
    assert before.any()
    np.testing.assert_array_equal(after, before)
