"""Placement equals sinabs' own functions (docs/targets/speck.md §1.2, §1.3): the memory formulas
against `DynapcnnLayer.memory_summary`, and the Edmonds–Karp assignment against sinabs'
`make_flow_graph` / `edmonds` on random candidate lists, including the ones with no full matching."""

from __future__ import annotations

import numpy as np
import sinabs.layers as sl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.backends.speck.grouping import Layer
from snnc.backends.speck.placement import edmonds_karp, memory
from snnc.ir import SPIKE, Conv2d, GraphBuilder, Neuron

candidates = st.lists(st.lists(st.integers(0, 8), unique=True).map(sorted), min_size=1, max_size=11)


@settings(max_examples=400, deadline=None)
@given(candidates)
def test_the_assignment_is_sinabs_on_random_candidate_lists(dynapcnn, layers):
    from sinabs.backend.dynapcnn.mapping import edmonds, make_flow_graph

    graph = edmonds(make_flow_graph(layers, 9), 0, len(layers) + 10)
    expected = [next((e.t - len(layers) - 1 for e in graph[i + 1] if e.flow == 1), None) for i in range(len(layers))]
    assert edmonds_karp([tuple(c) for c in layers], 9) == expected


@settings(max_examples=60, deadline=None)
@given(
    c=st.integers(1, 64),
    f=st.integers(1, 300),
    k=st.integers(1, 7),
    size=st.integers(7, 70),
    stride=st.sampled_from([1, 2, 4]),
    padding=st.integers(0, 3),
    bias=st.booleans(),
)
def test_memory_is_sinabs_memory_summary(dynapcnn, c, f, k, size, stride, padding, bias):
    conv = torch.nn.Conv2d(c, f, k, stride=stride, padding=padding, bias=bias)
    want = dynapcnn.DynapcnnLayer(conv, sl.IAFSqueeze(batch_size=1), (c, size, size), [[1, 1]], discretize=False)
    b = GraphBuilder("g")
    op = Conv2d(np.zeros((f, c, k, k), np.float32), np.ones(f, np.float32) if bias else None, stride, padding)
    node = b.add("conv", op, b.input("x", (c, size, size), SPIKE))
    b.output("out", b.add("iaf", Neuron(), node))
    g = b.build()
    got = memory(Layer(g.node("conv"), g.node("iaf"), (c, size, size), (), (), True))
    assert got.as_dict() == {key: int(v) for key, v in want.memory_summary().items()}
