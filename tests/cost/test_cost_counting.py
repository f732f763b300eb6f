"""Fan-out maps and measured counts against hand-computed cases: borders, stride, padding,
dilation, groups, linear layers; sparse, dense, count, signed and real inputs; batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.cost import batches, count
from snnc.ir import FLOAT, SPIKE, Conv1d, Conv2d, Count, GraphBuilder, Linear, Neuron, SumPool2d
from snnc.ir.connectivity import fan_out, flops, pool_fan_out
from snnc.sim import run

ONES_4X4_PAD1 = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


def conv_net(conv, in_shape, dtype=SPIKE):
    """x → conv → IF → out: one synaptic layer reading the graph input."""
    b = GraphBuilder("one-conv")
    b.input("x", in_shape, dtype)
    b.add("conv", conv, "x")
    b.output("out", b.add("if", Neuron(threshold=1.0, reset="zero"), "conv"))
    return b.build()


def node(conv, in_shape):
    return conv_net(conv, in_shape).node("conv")


def ones(*shape):
    return np.ones(shape, np.float32)


# --- fan-out maps, by hand ---------------------------------------------------------------------


def test_padding_border_fan_out():
    """3×3 kernel, padding 1: a corner input reaches 4 outputs, an edge 6, the interior 9."""
    fan = fan_out(node(Conv2d(weight=ones(2, 1, 3, 3), padding=1), (1, 4, 4)), (1, 4, 4))
    np.testing.assert_array_equal(fan[0], 2 * ONES_4X4_PAD1)  # two output channels


@pytest.mark.parametrize(
    ("size", "stride", "padding", "dilation", "per_axis"),
    [
        (5, 2, 0, 1, [1, 1, 2, 1, 1]),  # windows 0-2 and 2-4 overlap at 2
        (4, 2, 1, 1, [1, 2, 1, 1]),  # padded windows -1..1 and 1..3
        (6, 2, 0, 1, [1, 1, 2, 1, 1, 0]),  # the last column is read by no window
        (5, 1, 0, 2, [1, 0, 1, 0, 1]),  # dilation 2: taps 0, 2, 4 of one window
    ],
)
def test_stride_padding_dilation_fan_out(size, stride, padding, dilation, per_axis):
    conv = Conv2d(weight=ones(1, 1, 3, 3), stride=stride, padding=padding, dilation=dilation)
    fan = fan_out(node(conv, (1, size, size)), (1, size, size))
    np.testing.assert_array_equal(fan[0], np.outer(per_axis, per_axis))


def test_groups_and_zero_weights_fan_out():
    """4 inputs, 6 outputs, 2 groups: each input channel feeds the 3 outputs of its group; with
    `nonzero_weights`, only the connections whose weight is not zero."""
    weight = ones(6, 2, 1, 1)
    weight[0, 0] = 0  # output 0 no longer reads input channel 0
    weight[4, 1] = 0  # output 4 (group 2) no longer reads input channel 3
    n = node(Conv2d(weight=weight, groups=2), (4, 2, 2))
    np.testing.assert_array_equal(fan_out(n, (4, 2, 2)), np.full((4, 2, 2), 3))
    np.testing.assert_array_equal(fan_out(n, (4, 2, 2), nonzero_weights=True)[:, 0, 0], [2, 3, 3, 2])


def test_conv1d_and_linear_fan_out():
    c1 = node(Conv1d(weight=ones(3, 1, 2)), (1, 5))
    np.testing.assert_array_equal(fan_out(c1, (1, 5)), [[3, 6, 6, 6, 3]])
    weight = np.array([[1, 0, 2], [0, 0, 3]], np.float32)
    b = GraphBuilder("fc")
    b.input("x", (3,))
    b.output("out", b.add("fc", Linear(weight=weight), "x"))
    fc = b.build().node("fc")
    np.testing.assert_array_equal(fan_out(fc, (3,)), [2, 2, 2])
    np.testing.assert_array_equal(fan_out(fc, (3,), nonzero_weights=True), [1, 0, 2])
    assert flops(fc, (3,)) == 6


def test_flops_count_padded_taps():
    """The papers' FLOPs include taps on the padding: 9 · C_in · C_out · H_out · W_out."""
    conv = Conv2d(weight=ones(2, 1, 3, 3), padding=1)
    assert flops(node(conv, (1, 4, 4)), (1, 4, 4)) == 9 * 2 * 16
    assert fan_out(node(conv, (1, 4, 4)), (1, 4, 4)).sum() == 2 * ONES_4X4_PAD1.sum() < 9 * 2 * 16


def test_pool_fan_out():
    b = GraphBuilder("pool")
    b.input("x", (1, 5, 5))
    b.output("out", b.add("pool", SumPool2d(kernel=2, stride=2), "x"))
    fan = pool_fan_out(b.build().node("pool"), (1, 5, 5))
    np.testing.assert_array_equal(fan[0], np.outer([1, 1, 1, 1, 0], [1, 1, 1, 1, 0]))


# --- measured counts ----------------------------------------------------------------------------


def test_single_events_at_the_border_and_inside():
    """Step 0: one spike in a corner → 2·4 SOPs; step 1: one inside → 2·9; fr·T·FLOPs says 18 each."""
    graph = conv_net(Conv2d(weight=ones(2, 1, 3, 3), padding=1), (1, 4, 4))
    x = np.zeros((2, 1, 1, 4, 4), np.uint8)
    x[0, 0, 0, 0, 0] = 1
    x[1, 0, 0, 2, 1] = 1
    s = count(graph, [x]).synaptic["conv"]
    np.testing.assert_array_equal(s.sops, [8, 18])
    np.testing.assert_array_equal(s.events, [1, 1])
    assert s.kind == "binary" and s.flops == 288


def test_sparse_and_dense_inputs():
    graph = conv_net(Conv2d(weight=ones(2, 1, 3, 3), padding=1), (1, 4, 4))
    dense = count(graph, [np.ones((3, 2, 1, 4, 4), np.uint8)]).synaptic["conv"]
    np.testing.assert_array_equal(dense.sops, [2 * 2 * ONES_4X4_PAD1.sum()] * 3)  # 2 samples, 2 outputs
    assert dense.connections == 2 * ONES_4X4_PAD1.sum()
    silent = count(graph, [np.zeros((3, 2, 1, 4, 4), np.uint8)]).synaptic["conv"]
    assert silent.sops.sum() == silent.events.sum() == silent.nb_ac.sum() == 0


def test_counts_weight_events_binary_does_not():
    """A count of 3 is three events (sinabs, Speck); NeuroBench's binarised input makes it one."""
    graph = conv_net(Conv2d(weight=ones(1, 1, 3, 3), padding=1), (1, 4, 4), dtype=Count(3))
    x = np.zeros((1, 1, 1, 4, 4), np.uint8)
    x[0, 0, 0, 1, 1] = 3
    s = count(graph, [x]).synaptic["conv"]
    assert s.kind == "integer"
    assert (s.sops_weighted[0], s.sops_binary[0], s.nb_mac[0], s.nb_ac[0]) == (27, 9, 9, 0)
    assert s.sops[0] == 27


@pytest.mark.parametrize(
    ("values", "kind"),
    [([0, 1], "binary"), ([-1, 0, 1], "signed-binary"), ([0, 2], "integer"), ([0, 0.5], "real"), ([-2, 0], "real")],
)
def test_input_kind_is_measured(values, kind):
    graph = conv_net(Conv2d(weight=ones(1, 1, 3, 3)), (1, 4, 4), dtype=FLOAT)
    x = np.zeros((2, 1, 1, 4, 4), np.float32)
    x[0, 0, 0, 0, : len(values)] = values
    s = count(graph, [x]).synaptic["conv"]
    assert s.kind == kind
    spiking = kind in ("binary", "signed-binary")
    assert (s.nb_ac.sum() > 0) == spiking and (s.nb_mac.sum() > 0) == (not spiking)


def test_neuron_counts_from_activity():
    graph = conv_net(Conv2d(weight=ones(1, 1, 1, 1)), (1, 2, 2))
    x = np.zeros((3, 1, 1, 2, 2), np.uint8)
    x[0, 0, 0, 0, 0] = 1  # fires at once (θ = 1)
    x[2, 0, 0, :, :] = 1
    n = count(graph, [x]).neurons["if"]
    np.testing.assert_array_equal(n.active, [1, 0, 4])
    np.testing.assert_array_equal(n.fired, [1, 0, 4])
    assert n.numel == 4 and n.feeds_output and not n.leaky


def test_batches_add_up_to_one_run():
    rng = np.random.default_rng(0)
    graph = conv_net(Conv2d(weight=rng.normal(size=(3, 2, 3, 3)).astype(np.float32), stride=2), (2, 9, 9))
    x = (rng.random((4, 7, 2, 9, 9)) < 0.3).astype(np.uint8)
    whole = count(graph, [x])
    parts = count(graph, batches(x, 3))
    assert parts.samples == whole.samples == 7
    for name in ("sops_weighted", "sops_binary", "nb_ac", "events", "nonzero"):
        np.testing.assert_array_equal(getattr(parts.synaptic["conv"], name), getattr(whole.synaptic["conv"], name))


def test_per_step_sums_match_the_activity_event_map():
    """The observer's per-step SOPs add up to Σ event_map · fan-out from the simulator's Activity."""
    rng = np.random.default_rng(1)
    conv = Conv2d(weight=ones(4, 2, 3, 3), padding=(1, 2), stride=(1, 2))
    graph = conv_net(conv, (2, 8, 8))
    x = (rng.random((5, 3, 2, 8, 8)) < 0.2).astype(np.uint8)
    event_map = run(graph, x, record=("x:activity",)).activity["x"].event_map
    total = (event_map * fan_out(graph.node("conv"), (2, 8, 8))).sum()
    assert count(graph, [x]).synaptic["conv"].sops.sum() == total


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(3, 9),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2]),
    p=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_exact_sops_equal_a_convolution_with_ones(size, k, stride, padding, dilation, groups, p, seed):
    """Independent check of the fan-out map: Σ_i x(i)·fan_out(i) is the sum of the layer's
    output when its weights are all ones (each output adds one per input event it reads)."""
    if dilation * (k - 1) + 1 > size + 2 * padding:
        return
    rng = np.random.default_rng(seed)
    weight = rng.integers(-1, 2, size=(4, 4 // groups, k, k)).astype(np.float32)
    conv = Conv2d(weight=weight, stride=stride, padding=padding, dilation=dilation, groups=groups)
    graph = conv_net(conv, (4, size, size))
    x = (rng.random((2, 2, 4, size, size)) < p).astype(np.uint8)
    s = count(graph, [x]).synaptic["conv"]
    xt = torch.from_numpy(x).float().flatten(0, 1)
    args = (None, stride, padding, dilation, groups)
    every = F.conv2d(xt, torch.ones_like(torch.from_numpy(weight)), *args).unflatten(0, (2, 2))
    nonzero = F.conv2d(xt, torch.from_numpy((weight != 0).astype(np.float32)), *args).unflatten(0, (2, 2))
    np.testing.assert_array_equal(s.sops, every.sum((1, 2, 3, 4)).numpy())
    np.testing.assert_array_equal(s.nb_ac, nonzero.sum((1, 2, 3, 4)).numpy())
