"""Small float graphs for the Loihi backend's unit tests, and compiling them for loihi."""

from __future__ import annotations

import itertools

import numpy as np

from snnc.ir import Conv2d, Flatten, Graph, GraphBuilder, Linear, Neuron
from snnc.passes.base import PassContext, run_passes

LIF = Neuron(threshold=2.0, v_decay=0.75, reset="zero", fire_op="gt")


def ints(rng: np.random.Generator, *shape: int, bound: int = 3) -> np.ndarray:
    return rng.integers(-bound, bound + 1, size=shape).astype(np.float32)


def mlp(sizes=(16, 12, 4), neuron: Neuron = LIF, seed: int = 0, name: str = "mlp") -> Graph:
    rng = np.random.default_rng(seed)
    b = GraphBuilder(name)
    last = b.input("x", (sizes[0],))
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        last = b.add(f"n{k}", neuron, b.add(f"fc{k}", Linear(weight=ints(rng, n_out, n_in)), last))
    b.output("out", last)
    return b.build()


def conv_net(neuron: Neuron = LIF, seed: int = 0) -> Graph:
    """(2, 8, 8) → conv 2→4 3×3 padding 1 → neuron → flatten → fc 256→5 → neuron."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("conv")
    c = b.add("conv", Conv2d(weight=ints(rng, 4, 2, 3, 3), padding=1), b.input("x", (2, 8, 8)))
    flat = b.add("flat", Flatten(), b.add("n0", neuron, c))
    b.output("out", b.add("n1", LIF, b.add("fc", Linear(weight=ints(rng, 5, 256)), flat)))
    return b.build()


def lowered(graph: Graph, **options) -> Graph:
    """`graph` through the loihi pipeline, without the target's check (for the rules' own tests)."""
    from snnc.backends import get_target

    target = get_target("loihi")
    return run_passes(graph, target.pipeline(target.options(options)), PassContext())
