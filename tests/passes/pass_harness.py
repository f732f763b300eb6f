"""What the pass tests share: run a pass as the driver does (verifying its output), simulate a
graph before and after, and random small graphs for the property tests.

Parameters come in two kinds. Dyadic ones (small multiples of powers of two, BatchNorm variances
that are powers of four with eps = 0) make every float32 product and sum of the small graphs
exact, so an exact rewrite must give bit-identical spikes. Random normal ones round differently
after a rewrite, so the tests measure the spike agreement and assert the bound they measured.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from hypothesis import strategies as st

from snnc.diagnostics import Diagnostic, errors
from snnc.ir import (
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Flatten,
    Graph,
    GraphBuilder,
    Linear,
    Neuron,
    Scale,
    SumPool2d,
    verify,
)
from snnc.passes.base import Pass, PassContext, run_passes
from snnc.sim import run


def apply(p: Pass, graph: Graph) -> tuple[Graph, PassContext]:
    """Run one pass through the driver with verification after it, as --verify-each does."""
    ctx = PassContext(verify_each=True)
    out = run_passes(graph, [p], ctx)
    assert not errors(verify(out))
    return out, ctx


def spikes(graph: Graph, x: np.ndarray) -> np.ndarray:
    return run(graph, x).output


def agreement(before: Graph, after: Graph, x: np.ndarray) -> float:
    """Fraction of output elements (over steps, samples, neurons) that agree."""
    return float((spikes(before, x) == spikes(after, x)).mean())


def assert_same_spikes(before: Graph, after: Graph, x: np.ndarray) -> None:
    expected, got = spikes(before, x), spikes(after, x)
    assert expected.any(), "the test input makes no output spike: the comparison would prove nothing"
    np.testing.assert_array_equal(got, expected)


def assert_exact_and_leftovers_reported(p: Pass, graph: Graph, seed: int, kept: type) -> None:
    """The property every folding pass has on dyadic random stacks: identical output spikes, and a
    diagnostic for each node of type `kept` the pass had to leave in place."""
    out, ctx = apply(p, graph)
    x = random_events((2, 8, 8), seed=seed)
    np.testing.assert_array_equal(run(out, x).output, run(graph, x).output)
    left = {n.name for n in out if isinstance(n.op, kept)}
    assert left == {d.node for d in ctx.diagnostics}, f"every {kept.__name__} left in place is reported"


def random_events(shape: tuple[int, ...], steps: int = 8, batch: int = 3, p: float = 0.3, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((steps, batch, *shape)) < p).astype(np.float32)


def rules_at(diagnostics: Iterable[Diagnostic]) -> list[tuple[str, str | None]]:
    return [(d.rule, d.node) for d in diagnostics]


def kinds(graph: Graph) -> list[str]:
    return [n.op.kind for n in graph]


# --- random small graphs ----------------------------------------------------------------------


class Params:
    """Parameter draws, dyadic (exact in float32) or random normal."""

    def __init__(self, rng: np.random.Generator, dyadic: bool) -> None:
        self.rng, self.dyadic = rng, dyadic

    def weights(self, *shape: int) -> np.ndarray:
        if self.dyadic:
            return self.rng.integers(-4, 5, size=shape) / 4
        return self.rng.normal(0, 0.6, size=shape)

    def batchnorm(self, channels: int) -> BatchNorm:
        if self.dyadic:
            var, eps = self.rng.choice([0.25, 1.0, 4.0], channels), 0.0
            weight = self.rng.choice([-1.0, 0.5, 1.0, 2.0], channels)
            mean, bias = self.rng.integers(-4, 5, (2, channels)) / 4
        else:
            var, eps = self.rng.random(channels) + 0.2, 1e-5
            weight = self.rng.normal(1, 0.5, channels)
            mean, bias = self.rng.normal(0, 0.5, (2, channels))
        return BatchNorm(mean=mean, var=var, weight=weight, bias=bias, eps=eps)

    def factors(self, channels: int) -> np.ndarray:
        if self.dyadic:
            return self.rng.choice([0.25, 0.5, 2.0, 4.0], channels)
        return self.rng.uniform(0.2, 3.0, channels)

    def neuron(self, channels: int) -> Neuron:
        if self.dyadic:
            threshold, decay = self.rng.choice([0.5, 1.0, 2.0], channels), float(self.rng.choice([1.0, 0.5]))
        else:
            threshold, decay = self.rng.uniform(0.3, 2.0, channels), float(self.rng.uniform(0.5, 1.0))
        reset = str(self.rng.choice(["subtract", "zero"]))
        return Neuron(threshold=threshold, v_decay=decay, reset=reset)


LAYERS = ("conv", "conv_pad", "bn", "neuron", "avgpool", "sumpool", "scale")


def random_graph(rng: np.random.Generator, layers: list[str], dyadic: bool) -> Graph:
    """A chain on a (2, 8, 8) spike input built from `layers` (names from LAYERS; one that does
    not fit the current map is left out), then flatten → linear → neuron → output."""
    draw = Params(rng, dyadic)
    b = GraphBuilder("random")
    last = b.input("x", (2, 8, 8))
    for k, kind in enumerate(layers):
        c, h, _ = b.type_of(last).shape
        pool = kind in ("avgpool", "sumpool")
        if (kind == "conv" and h < 4) or (pool and h < 4):
            continue
        if kind in ("conv", "conv_pad"):
            op = Conv2d(weight=draw.weights(3, c, 3, 3), bias=draw.weights(3), padding=int(kind == "conv_pad"))
        elif kind == "bn":
            op = draw.batchnorm(c)
        elif kind == "neuron":
            op = draw.neuron(c)
        elif kind == "scale":
            op = Scale(draw.factors(c))
        else:
            op = AvgPool2d(kernel=2) if kind == "avgpool" else SumPool2d(kernel=2)
        last = b.add(f"{kind}{k}", op, last)
    flat = b.add("flatten", Flatten(), last)
    fc = b.add("fc", Linear(weight=draw.weights(4, b.type_of(flat).shape[0])), flat)
    b.output("out", b.add("out_neuron", Neuron(threshold=1.0), fc))
    return b.build()


layer_lists = st.lists(st.sampled_from(LAYERS), min_size=2, max_size=6)
