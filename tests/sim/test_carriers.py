"""Byte carriers of the float simulator (snnc/sim/carriers.py): spikes and small counts travel as
uint8 only where every user reads bytes, and every output, trace, activity count and observed
chunk is what float32 carriers give, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron, SumPool2d
from snnc.ir.types import SPIKE
from snnc.sim import carriers, fused, reference, run


def plain(threshold: float, reset: str = "zero", fire_op: str = "ge") -> Neuron:
    return Neuron(threshold=np.float32(threshold), reset=reset, fire_op=fire_op, spikes="single")


def stack(seed: int, reset: str, fire_op: str, side_output: bool):
    """x → conv → IF → sum-pool 2 → conv → IF → flatten → fc → IF → out, float weights; with
    `side_output` the first neuron is an output as well (so it keeps float32 and the pool casts)."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("stack")
    c1 = b.add("c1", Conv2d(rng.normal(0, 1, (3, 2, 3, 3)).astype(np.float32)), b.input("x", (2, 10, 10), SPIKE))
    n1 = b.add("n1", plain(1.5, reset, fire_op), c1)
    p1 = b.add("p1", SumPool2d(2), n1)
    n2 = b.add(
        "n2", plain(2.0, reset, fire_op), b.add("c2", Conv2d(rng.normal(0, 1, (4, 3, 2, 2)).astype(np.float32)), p1)
    )
    flat = b.add("flat", Flatten(), n2)
    fc = b.add("fc", Linear(rng.normal(0, 1, (5, b.type_of(flat).shape[0])).astype(np.float32)), flat)
    b.output("out", b.add("n3", plain(1.0, reset, fire_op), fc))
    if side_output:
        b.output("side", n1)
    return b.build()


def test_bytes_only_where_every_user_reads_them():
    graph = stack(0, "zero", "ge", side_output=False)
    assert carriers.float_byte_nodes(graph, {}) == {"x", "n1", "p1", "n2", "flat"}
    assert carriers.float_byte_nodes(graph, {"n1": frozenset({"v"})}) == {
        "x",
        "p1",
        "n2",
        "flat",
    }  # traced: torch's loop
    assert carriers.float_byte_nodes(graph, {"n1": frozenset({"activity"})}) == {"x", "n1", "p1", "n2", "flat"}
    side = stack(0, "zero", "ge", side_output=True)
    assert carriers.float_byte_nodes(side, {}) == {"x", "p1", "n2", "flat"}  # n1 is also an output
    leaky = GraphBuilder("g")
    n = leaky.add(
        "n",
        Neuron(threshold=np.float32(1), gain=np.float32(0.5)),
        leaky.add("c", Conv2d(np.ones((1, 1, 1, 1), np.float32)), leaky.input("x", (1, 4, 4), SPIKE)),
    )
    leaky.output("out", leaky.add("pool", SumPool2d(2), n))
    assert carriers.float_byte_nodes(leaky.build(), {}) == {"x"}  # a gain: not the compiled scan


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(["zero", "subtract", "none"]),
    st.sampled_from(["ge", "gt"]),
    st.booleans(),
    st.booleans(),
    st.integers(1, 12),
)
def test_bytes_give_the_float32_results(seed, reset, fire_op, side_output, small_chunks, steps):
    """With and without byte carriers, compiled scan or (chunks too small to load numba) torch's
    loop writing bytes: the same outputs, traces, activity and observed chunks; and the reference's
    spikes."""
    graph = stack(seed, reset, fire_op, side_output)
    x = (np.random.default_rng(seed).random((steps, 2, 2, 10, 10)) < 0.4).astype(np.uint8)
    record = ["p1:out", "n2:out", "activity"]

    def simulate(bytes_: bool):
        seen: dict[str, list[torch.Tensor]] = {"p1": [], "flat": []}
        observers = {name: (lambda chunk, first, name=name: seen[name].append(chunk.clone())) for name in seen}
        with pytest.MonkeyPatch.context() as m:
            m.setattr(carriers, "FLOAT_BYTES", bytes_)
            if small_chunks:
                m.setattr(fused, "available", lambda work: False)
            else:
                m.setattr(fused, "LOAD_WORK", 0)
            result = run(graph, x, record=record, observers=observers)
        return result, {name: torch.cat(chunks) for name, chunks in seen.items()}

    (got, seen), (want, seen_float) = simulate(True), simulate(False)
    for name in want.outputs:
        np.testing.assert_array_equal(got.outputs[name], want.outputs[name], err_msg=name)
    for name in ("p1", "n2"):
        np.testing.assert_array_equal(got.traces[name]["out"], want.traces[name]["out"], err_msg=name)
    for name, activity in want.activity.items():
        np.testing.assert_array_equal(got.activity[name].events, activity.events, err_msg=name)
    for name, chunks in seen_float.items():
        assert seen[name].dtype == torch.float32 and torch.equal(seen[name], chunks), name
    literal = reference.run(graph, x)
    np.testing.assert_array_equal(got.outputs["out"], literal["out"])
