"""`run(..., observers=...)`: each observed node's output reaches its observer chunk by chunk, in
step order, every step exactly once, with the values the simulator computed, in every schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snnc.diagnostics import SnncError
from snnc.ir import SPIKE, Delay, Elementwise, GraphBuilder, Linear, Neuron, TensorType
from snnc.sim import run

T, B = 7, 3


def _recurrent_graph():
    """x → fc → (+ rec(delay(lif))) → lif: the cycle runs step by step, fc layer at a time."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("rnn")
    b.input("x", (5,))
    b.add("fc", Linear(weight=rng.integers(-4, 5, (4, 5)).astype(np.float32)), "x")
    b.delay("d", 1, TensorType((4,), SPIKE))
    b.add("rec", Linear(weight=rng.integers(-4, 5, (4, 4)).astype(np.float32)), "d")
    b.add("sum", Elementwise(fn="add"), "fc", "rec")
    b.add("lif", Neuron(threshold=np.float32(2), v_decay=np.float32(0.5)), "sum")
    b.connect("d", "lif")
    b.output("out", "lif")
    return b.build()


@pytest.mark.parametrize("options", [{}, {"_window": 2}, {"_window": 1}, {"_stepwise": True}])
def test_observers_see_every_step_once_in_order(options):
    graph = _recurrent_graph()
    x = (np.random.default_rng(1).random((T, B, 5)) < 0.5).astype(np.uint8)
    seen: dict[str, list[tuple[int, np.ndarray]]] = {"fc": [], "lif": []}

    def observer(name: str):
        def see(chunk: torch.Tensor, first: int) -> None:
            assert chunk.dtype == torch.float32 and chunk.shape[1:] == (B, 4)
            seen[name].append((first, chunk.clone().numpy()))

        return see

    result = run(graph, x, record=("fc:out", "lif:out"), observers={n: observer(n) for n in seen}, **options)
    for name, chunks in seen.items():
        firsts = [first for first, _ in chunks]
        lengths = [len(c) for _, c in chunks]
        assert firsts == list(np.cumsum([0, *lengths[:-1]])), "chunks must be contiguous and in step order"
        assert sum(lengths) == T
        np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), result.traces[name]["out"])


def test_observing_changes_nothing():
    graph = _recurrent_graph()
    x = (np.random.default_rng(2).random((T, B, 5)) < 0.5).astype(np.uint8)
    plain = run(graph, x, record=("activity",))
    ignore = {"rec": lambda chunk, first: None, "d": lambda chunk, first: None}
    watched = run(graph, x, record=("activity",), observers=ignore)
    np.testing.assert_array_equal(plain.output, watched.output)
    assert all(np.array_equal(plain.activity[n].events, watched.activity[n].events) for n in plain.activity)


def test_observing_an_unknown_node_is_a_diagnostic():
    graph = _recurrent_graph()
    with pytest.raises(SnncError) as e:
        run(graph, np.zeros((T, B, 5), np.uint8), observers={"nope": lambda chunk, first: None})
    assert e.value.diagnostics[0].rule == "SIM-RECORD" and "nope" in e.value.diagnostics[0].message


def test_delay_output_is_observed_too():
    graph = _recurrent_graph()
    x = (np.random.default_rng(3).random((T, B, 5)) < 0.5).astype(np.uint8)
    chunks: list[np.ndarray] = []
    result = run(graph, x, record=("lif:out",), observers={"d": lambda c, f: chunks.append(c.clone().numpy())})
    lif = result.traces["lif"]["out"]
    np.testing.assert_array_equal(np.concatenate(chunks), np.concatenate([np.zeros_like(lif[:1]), lif[:-1]]))
    assert isinstance(graph.node("d").op, Delay)
