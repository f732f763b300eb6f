"""A graph imported from a library records how the library batched its layers, and keeps it."""

import numpy as np

from snnc.ir import GraphBuilder, Linear, Neuron
from snnc.ir.graph import Graph
from snnc.ir.serialize import dumps, loads
from snnc.sim.engine import window_length


def graph(batching):
    b = GraphBuilder("g")
    b.output("out", b.add("n", Neuron(), b.add("fc", Linear(np.ones((4, 3))), b.input("x", (3,)))))
    g = b.build()
    return Graph(g.nodes, g.name, batching=batching)


def test_batching_survives_passes_and_files():
    g = graph("step")
    assert g.with_nodes(g.nodes).batching == "step"
    assert loads(dumps(g)).batching == "step"
    assert loads(dumps(graph(None))).batching is None


def test_the_simulator_batches_as_the_source_did():
    assert window_length(graph("step"), 100, 16) == 1
    assert window_length(graph("sequence"), 100, 16) == 100
    assert window_length(graph(None), 100, 16) == 100  # free: a tiny graph fits whole sequences
