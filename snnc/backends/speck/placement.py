"""Which core each layer goes to: sinabs' memory formulas and its Edmonds–Karp assignment, exactly
(docs/targets/speck.md §1.2, §1.3), or the user's choice checked against the same memories.

Memory, in words, of a layer with conv weight (f, c, kh, kw) and neuron map (f, Ho, Wo)
(sinabs `dynapcnn_layer.py::DynapcnnLayer.memory_summary`; [DS §3.2.4.1]):

    kernel = c · 2^(clog2(kh·kw) + clog2(f))      neuron = f · 2^(clog2(Ho) + clog2(Wo))
    bias   = f if the layer has a bias, else 0    clog2(n) = ceil(log2 n)

A layer fits core i iff each of the three is at most core i's memory (`mapping.py::
LayerConstraints.fits`). The assignment is a maximum bipartite matching found by Edmonds–Karp on
sinabs' flow network (`mapping.py::make_flow_graph`, `edmonds`, `recover_mapping`): source → each
layer, layer → each core it fits (ascending), core → sink, all capacity 1, every node's edges kept
in exactly that insertion order; breadth-first search over the edges in that order, each node's
predecessor set the first time it is reached. The edge order decides which of several maximum
matchings comes out, so keeping it reproduces sinabs' cores bit for bit (speck.md §1.3; sinabs
points the sink's reverse edges at themselves, which no augmenting path ever uses).

Deviation: snnc's quantizer drops an all-zero bias, so such a layer counts 0 bias words where
sinabs counts f; both fit every core's 1024 words whenever f ≤ 1024 (SPECK-CHANNELS), so the
assignment is the same.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from snnc.backends.speck.grouping import Layer, Network
from snnc.backends.speck.spec import BIAS_MEMORY, CORES, KERNEL_MEMORY, NEURON_MEMORY, Capacity, capacities


def clog2(n: int) -> int:
    """ceil(log2(n)) for n ≥ 1, in integers (sinabs computes np.ceil(np.log2(n)))."""
    return (int(n) - 1).bit_length()


@dataclass(frozen=True)
class Memory:
    kernel: int
    neuron: int
    bias: int

    def fits(self, core: Capacity) -> bool:
        return self.kernel <= core.kernel and self.neuron <= core.neuron and self.bias <= core.bias

    def as_dict(self) -> dict[str, int]:
        return {"kernel": self.kernel, "neuron": self.neuron, "bias": self.bias}


def memory(layer: Layer) -> Memory:
    f, c, kh, kw = layer.conv.op.weight.shape
    _, ho, wo = layer.conv.type.shape
    return Memory(
        kernel=c * 2 ** (clog2(kh * kw) + clog2(f)),
        neuron=f * 2 ** (clog2(ho) + clog2(wo)),
        bias=f if layer.conv.op.bias is not None else 0,
    )


def fitting_cores(need: Memory) -> tuple[int, ...]:
    return tuple(core.core for core in capacities() if need.fits(core))


def edmonds_karp(candidates: list[tuple[int, ...]], cores: int) -> list[int | None]:
    """Each layer's core (None if unmatched) from its candidate cores, as sinabs' `get_valid_mapping`."""
    n = len(candidates)
    sink = n + cores + 1
    frm: list[int] = []
    to: list[int] = []
    cap: list[int] = []
    flow: list[int] = []
    adjacent: list[list[int]] = [[] for _ in range(sink + 1)]

    def add(u: int, v: int) -> None:  # edge 2k: u → v (capacity 1), 2k + 1: its reverse (capacity 0)
        for a, b, c in ((u, v, 1), (v, u, 0)):
            adjacent[a].append(len(to))
            frm.append(a)
            to.append(b)
            cap.append(c)
            flow.append(0)

    for i in range(n):
        add(0, i + 1)
    for i, targets in enumerate(candidates):
        for core in targets:
            add(i + 1, n + 1 + core)
    for core in range(cores):
        add(n + 1 + core, sink)
    while True:
        pred: list[int | None] = [None] * (sink + 1)
        queue = deque([0])
        while queue:
            u = queue.popleft()
            for e in adjacent[u]:
                v = to[e]
                if pred[v] is None and v != 0 and cap[e] > flow[e]:
                    pred[v] = e
                    queue.append(v)
        if pred[sink] is None:
            break
        v = sink
        while v != 0:  # every capacity is 1, so each augmenting path carries 1
            e = pred[v]
            flow[e] += 1  # type: ignore[index]
            flow[e ^ 1] -= 1  # type: ignore[operator]
            v = frm[e]  # type: ignore[index]
    assigned: list[int | None] = []
    for i in range(n):
        cores_used = [to[e] - n - 1 for e in adjacent[i + 1] if e % 2 == 0 and flow[e] == 1]
        assigned.append(cores_used[0] if cores_used else None)
    return assigned


@dataclass(frozen=True)
class Placement:
    """Layer name → core, each layer's memory and the cores it fits, in sinabs' layer order."""

    cores: dict[str, int | None]
    memory: dict[str, Memory]
    fits: dict[str, tuple[int, ...]]

    @property
    def complete(self) -> bool:
        return all(core is not None for core in self.cores.values())


def place(net: Network, override: dict[str, int] | None = None) -> Placement:
    """sinabs' assignment of the layers of `net` to cores, with the layers named in `override`
    (layer name → core, already validated: rules.py) fixed and the others matched to the rest."""
    layers = [layer.name for layer in net.layers]
    needs = {layer.name: memory(layer) for layer in net.layers}
    fits = {name: fitting_cores(needs[name]) for name in layers}
    fixed = dict(override or {})
    free = [name for name in layers if name not in fixed]
    taken = set(fixed.values())
    candidates = [tuple(c for c in fits[name] if c not in taken) for name in free]
    matched = dict(zip(free, edmonds_karp(candidates, CORES.value)))
    cores = {name: fixed[name] if name in fixed else matched[name] for name in layers}
    return Placement(cores, needs, fits)


def capacity_table(placement: Placement) -> str:
    """Each layer's needs against each core's capacity, and which cores it fits (for SPECK-MEMORY-ASSIGNMENT)."""
    rows = [("layer", "kernel", "neuron", "bias", "fits cores", "core")]
    for name, need in placement.memory.items():
        core = placement.cores[name]
        fits = ",".join(map(str, placement.fits[name])) or "none"
        rows.append(
            (name, f"{need.kernel:,}", f"{need.neuron:,}", f"{need.bias:,}", fits, "-" if core is None else str(core))
        )
    rows.append(("", "", "", "", "", ""))
    rows.append(("core", "kernel", "neuron", "bias", "", ""))
    for core in capacities():
        rows.append((str(core.core), f"{core.kernel:,}", f"{core.neuron:,}", f"{core.bias:,}", "", ""))
    widths = [max(len(r[k]) for r in rows) for k in range(6)]
    return "\n".join(
        "  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip()
        for r in rows
    )


LARGEST = Memory(max(KERNEL_MEMORY.value), max(NEURON_MEMORY.value), max(BIAS_MEMORY.value))
"""The largest memory of each kind on any core: a layer above one of them fits no core."""
