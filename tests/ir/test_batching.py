"""A graph imported from a library records how the library batched its layers, and keeps it."""

import numpy as np

from snnc.ir import GraphBuilder, Linear, Neuron
from snnc.ir.graph import Graph
from snnc.ir.serialize import dumps, loads
from snnc.sim.engine import window_length
from snnc.sim.exact import order_dependent


def graph(batching):
    """A layer whose float sums depend on their order (weights 0.1 are no multiple of a power of two):
    the batching the library used then decides the simulator's (snnc/sim/exact.py)."""
    b = GraphBuilder("g")
    b.output("out", b.add("n", Neuron(), b.add("fc", Linear(np.full((4, 3), 0.1)), b.input("x", (3,)))))
    g = b.build()
    return Graph(g.nodes, g.name, batching=batching)


def test_batching_survives_passes_and_files():
    g = graph("step")
    assert g.with_nodes(g.nodes).batching == "step"
    assert loads(dumps(g)).batching == "step"
    assert loads(dumps(graph(None))).batching is None


def test_the_simulator_batches_as_the_source_did():
    """Where a layer's float sums depend on their order, the library's batching decides: a
    "sequence" graph runs whole sequences, a "step" graph runs such layers one step at a time
    (tests/sim/test_exact.py compares the values with the library's own batching)."""
    assert order_dependent(graph("step")) == {"fc"}
    assert window_length(graph("sequence"), 100, 16, order_dependent(graph("sequence"))) == 100
    assert window_length(graph(None), 100, 16) == 100  # free: a tiny graph fits whole sequences
