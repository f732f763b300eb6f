"""snnc/sim/exact.py: the facts that free the simulator from the library's batching, and the fast
paths they allow, held bit for bit against the literal float evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from snnc.ir import FLOAT, SPIKE, Conv2d, Count, GraphBuilder, Linear, Neuron, SumPool2d, TensorType
from snnc.sim import run
from snnc.sim.engine import window_length
from snnc.sim.exact import grid, order_dependent, pools_exactly, sums_exactly
from snnc.sim.ops import sumpool2d

f32 = np.float32


@given(st.integers(-30, 10), hnp.arrays(np.int64, st.integers(1, 20), elements=st.integers(-(2**20), 2**20)))
def test_grid_is_the_coarsest_power_of_two_dividing_every_value(k, ints):
    values = (ints * 2.0**k).astype(f32)
    found = grid(values)
    if not ints.any():
        assert found is None
        return
    assert found is not None and found >= k
    assert np.all(values / 2.0**found == np.round(values / 2.0**found))  # all multiples of 2^found
    assert not np.all(values / 2.0 ** (found + 1) == np.round(values / 2.0 ** (found + 1)))


def test_spikes_times_integer_weights_sum_exactly_and_real_inputs_do_not():
    weight = np.arange(-6, 6, dtype=f32).reshape(3, 4)
    assert sums_exactly(Linear(weight=weight), TensorType((4,), SPIKE))
    assert sums_exactly(Linear(weight=weight / 1024, bias=np.full(3, 0.5, f32)), TensorType((4,), Count(4)))
    assert not sums_exactly(Linear(weight=weight), TensorType((4,), FLOAT))
    assert not sums_exactly(Linear(weight=weight), TensorType((4,), Count()))  # unbounded counts
    assert not sums_exactly(Linear(weight=weight * f32(0.1)), TensorType((4,), SPIKE))  # 0.1 is no dyadic
    wide = np.array([[2.0**23, 2.0**23, 1.0, 0.0]], f32)  # 2^24 + 1 needs 25 bits
    assert not sums_exactly(Linear(weight=wide), TensorType((4,), SPIKE))
    assert sums_exactly(Linear(weight=wide[:, 1:]), TensorType((3,), SPIKE))
    assert sums_exactly(Linear(weight=wide * 2**-40), TensorType((4,), SPIKE)) is False  # scale does not help


@settings(max_examples=60, deadline=None)
@given(st.integers(-12, 4), st.integers(1, 2**16), st.integers(0, 2**32 - 1))
def test_exact_sums_do_not_depend_on_the_row_count(k, high, seed):
    rng = np.random.default_rng(seed)
    weight = (rng.integers(-high, high + 1, (5, 40)) * 2.0**k).astype(f32)
    op = Linear(weight=weight)
    x = rng.integers(0, 4, (64, 40)).astype(f32)
    if not sums_exactly(op, TensorType((40,), Count(3))):
        assert high * 3 * 40 >= 2**24 // 40  # only wide weights can fail
        return
    w, rows = torch.from_numpy(weight), torch.from_numpy(x)
    together = F.linear(rows, w)
    apart = torch.stack([F.linear(r[None], w)[0] for r in rows])
    exact = torch.from_numpy((x.astype(np.float64) @ weight.astype(np.float64).T).astype(f32))
    assert torch.equal(together, apart) and torch.equal(together, exact)


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from([(2, 2), (3, 3), (2, 3), (1, 1), (3, 1)]),
    st.sampled_from([None, (1, 1), (2, 1)]),
    st.sampled_from([(0, 0), (1, 0), (1, 1)]),
    st.integers(1, 6),
    st.data(),
)
def test_strided_sums_equal_the_average_pool_order(kernel, stride, padding, high, data):
    """The fast sum pool (exact event sums, then fl(fl(Σ/area)·area)) equals sinabs' order
    computed by avg_pool2d, bit for bit, for every kernel area (powers of two or not)."""
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        return  # torch requires padding ≤ kernel / 2
    op = SumPool2d(kernel=kernel, stride=stride, padding=padding)
    x = torch.from_numpy(
        np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(0, high + 1, (2, 3, 2, 7, 6)).astype(f32)
    )
    assert pools_exactly(op, TensorType((2, 7, 6), Count(high)))
    assert torch.equal(sumpool2d(op, [x], True), sumpool2d(op, [x], False))


def test_real_valued_pool_inputs_keep_the_average_pool():
    op = SumPool2d(kernel=3)
    assert not pools_exactly(op, TensorType((1, 6, 6), FLOAT))
    assert not pools_exactly(op, TensorType((1, 6, 6), Count()))


# --- the engine's use of it -------------------------------------------------------------------


def cnn(weight_scale: float, batching: str | None):
    rng = np.random.default_rng(0)
    b = GraphBuilder()
    b.input("x", (2, 8, 8), SPIKE)
    b.add("conv", Conv2d(weight=(rng.integers(-4, 5, (4, 2, 3, 3)) * weight_scale).astype(f32)), "x")
    b.add("if", Neuron(threshold=f32(2.0), reset="zero"), "conv")
    b.output("out", "if")
    graph = b.build()
    return type(graph)(graph.nodes, graph.name, graph.arithmetic, batching)


def test_library_batching_is_kept_only_for_layers_whose_sums_are_inexact():
    exact, inexact = cnn(0.25, "sequence"), cnn(0.1, "sequence")
    assert order_dependent(exact) == frozenset() and order_dependent(inexact) == {"conv"}
    assert window_length(inexact, 100, 4096, order_dependent(inexact)) == 100  # the whole sequence, as the library
    assert window_length(exact, 100, 4096, order_dependent(exact)) == window_length(cnn(0.25, None), 100, 4096) < 100


@pytest.mark.parametrize("batching", ["step", "sequence"])
def test_inexact_layers_are_evaluated_as_the_library_batched_them(batching):
    graph = cnn(0.1, batching)
    x = (np.random.default_rng(1).random((6, 3, 2, 8, 8)) < 0.4).astype(f32)
    w = torch.from_numpy(graph.node("conv").op.weight)
    xt = torch.from_numpy(x)
    if batching == "step":
        expected = torch.stack([F.conv2d(step, w) for step in xt])
    else:
        expected = F.conv2d(xt.flatten(0, 1), w).unflatten(0, (6, 3))
    got = run(graph, x, record=("conv:out",)).traces["conv"]["out"]
    np.testing.assert_array_equal(got, expected.numpy())
