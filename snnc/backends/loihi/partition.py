"""Neurons of each layer over Loihi cores, under the per-core limits (docs/targets/loihi.md §5).

A core holds a contiguous range of one layer's neurons (in the layer's flat C-H-W order) and the
synapses into them. Per core it counts:

    neurons     the range's length
    synapses    connections into those neurons with a non-zero weight (padding taps are none),
                and the memory they take at `synapse_bits` each
    fan-in      input axons: distinct source neurons (or input elements) with a synapse into the core
    fan-out     output axons: for each of its neurons, the cores of the next layer it reaches
                (one routing entry per source neuron and destination core, as Loihi 1's N_axout)

Layers are placed from the last to the first, so the cores a neuron's spikes go to are known when
its own layer is cut. Each core takes as many neurons as all four limits allow (or exactly
`neurons_per_core` when the user fixes it), so a limit is exceeded only where one neuron alone
exceeds it, or where a fixed packing does; each excess is recorded per layer (worst core, number
of cores) for the LOIHI-* resource rules. Chips = cores / cores per chip, rounded up.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, astuple, dataclass, field, fields

import numpy as np

from snnc.backends.loihi.blocks import Block, LoihiNet
from snnc.backends.loihi.receptive import ReceptiveFields
from snnc.backends.loihi.spec import LOIHI2, ChipResources


@dataclass(frozen=True)
class Limits:
    """The per-core and per-chip limits a partition obeys (the chip's, or the user's overrides)."""

    neurons_per_core: int
    synaptic_memory_bits: int
    synapse_bits: int
    fan_in: int
    fan_out: int
    cores_per_chip: int
    packing: int | None = None  # the user's neurons per core: cut there, whatever the limits say

    @classmethod
    def of(cls, chip: ChipResources = LOIHI2, packing: int | None = None, cores_per_chip: int | None = None) -> Limits:
        return cls(
            neurons_per_core=chip.neurons_per_core.value,
            synaptic_memory_bits=chip.synaptic_memory_per_core.value,
            synapse_bits=chip.synapse_bits.value,
            fan_in=chip.fan_in_axons_per_core.value,
            fan_out=chip.fan_out_axons_per_core.value,
            cores_per_chip=cores_per_chip or chip.cores_per_chip.value,
            packing=packing,
        )


@dataclass(frozen=True)
class Core:
    index: int
    layer: str
    first: int  # first neuron (flat index in the layer)
    neurons: int
    synapses: int
    fan_in: int
    fan_out: int


@dataclass(frozen=True)
class Excess:
    """One limit exceeded in one layer: the worst core's value and how many cores exceed it."""

    what: str  # "neurons", "synaptic memory", "fan-in", "fan-out"
    layer: str
    measured: int
    limit: int
    cores: int
    single_neuron: bool  # one neuron alone exceeds it: no partition can help


@dataclass(frozen=True)
class LayerSummary:
    layer: str
    kind: str
    neurons: int
    cores: int
    synapses: int
    max_neurons: int
    max_synapses: int
    max_fan_in: int
    max_fan_out: int


@dataclass(frozen=True)
class Partition:
    graph: str
    limits: Limits
    cores: tuple[Core, ...]
    excesses: tuple[Excess, ...] = field(default=())
    kinds: tuple[tuple[str, str], ...] = ()  # layer -> block kind

    @property
    def chips(self) -> int:
        return max(1, math.ceil(len(self.cores) / self.limits.cores_per_chip))

    def layers(self) -> list[LayerSummary]:
        order: dict[str, list[Core]] = {}
        for core in self.cores:
            order.setdefault(core.layer, []).append(core)
        kinds = dict(self.kinds)
        return [
            LayerSummary(
                layer=name,
                kind=kinds.get(name, ""),
                neurons=sum(c.neurons for c in cores),
                cores=len(cores),
                synapses=sum(c.synapses for c in cores),
                max_neurons=max(c.neurons for c in cores),
                max_synapses=max(c.synapses for c in cores),
                max_fan_in=max(c.fan_in for c in cores),
                max_fan_out=max(c.fan_out for c in cores),
            )
            for name, cores in order.items()
        ]

    def to_dict(self) -> dict:
        return {
            "graph": self.graph,
            "chips": self.chips,
            "cores": len(self.cores),
            "limits": _limits_json(self.limits),
            "layers": [asdict(s) for s in self.layers()],
            "per_core": [asdict(c) for c in self.cores],
            "excesses": [asdict(e) for e in self.excesses],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    def to_text(self) -> str:
        lim = self.limits
        lines = [
            f"Loihi 2 partition of {self.graph}: {len(self.cores)} core(s) on {self.chips} chip(s) "
            f"({lim.cores_per_chip} cores per chip)",
            f"limits per core: {lim.neurons_per_core} neurons"
            + (f" (placed: {lim.packing} per core)" if lim.packing else "")
            + f", {lim.synaptic_memory_bits // 8192} KB of synapses at {lim.synapse_bits} bits, "
            f"{lim.fan_in} input axons, {lim.fan_out} output axons (sources: docs/targets/loihi.md §5)",
            "",
        ]
        header = tuple(f.name.replace("max_", "max ").replace("_", "-") for f in fields(LayerSummary))
        rows = [astuple(s) for s in self.layers()]
        lines += _table(header, rows)
        lines += ["", "per core:"]
        rows = [(c.index, c.layer, f"{c.first}..{c.first + c.neurons - 1}", c.neurons, c.synapses, c.fan_in,
                 c.fan_out) for c in self.cores]  # fmt: skip
        lines += _table(("core", "layer", "neurons", "count", "synapses", "fan-in", "fan-out"), rows)
        for e in self.excesses:
            lines.append(f"exceeded: {e.what} of {e.layer}: {e.measured} > {e.limit} on {e.cores} core(s)")
        return "\n".join(lines) + "\n"


def _limits_json(limits: Limits) -> dict:
    chip = LOIHI2
    sources = {
        "neurons_per_core": chip.neurons_per_core,
        "synaptic_memory_bits": chip.synaptic_memory_per_core,
        "synapse_bits": chip.synapse_bits,
        "fan_in": chip.fan_in_axons_per_core,
        "fan_out": chip.fan_out_axons_per_core,
        "cores_per_chip": chip.cores_per_chip,
    }
    out = {}
    for name, value in asdict(limits).items():
        if name in sources:
            default = sources[name]
            status = default.status if value == default.value else "user"
            out[name] = {"value": value, "status": status, "source": default.source}
        else:
            out[name] = value
    return out


def _table(header: tuple, rows: list[tuple]) -> list[str]:
    cells = [tuple(map(str, header))] + [tuple(map(str, r)) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return ["  ".join(v.ljust(w) if i < 2 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths))) for r in cells]


# --- placement -----------------------------------------------------------------------------------


def partition(net: LoihiNet, limits: Limits) -> Partition:
    """Place every block's neurons on cores (see the module docstring)."""
    fan_out: dict[int, np.ndarray] = {b.index: np.zeros(b.neurons, np.int64) for b in net.blocks}
    placed: dict[int, list[Core]] = {}
    excesses: list[Excess] = []
    for block in reversed(net.blocks):  # readers first: a block's fan-out is complete when it is cut
        fields = ReceptiveFields(block)
        cores, reached = _cut(block, fields, fan_out[block.index], limits)
        placed[block.index] = cores
        excesses += _excesses(block.name, cores, limits)
        if block.source is not None:
            for sources in reached:  # one output axon per source neuron and core it reaches
                fan_out[block.source] += sources
    cores = [c for b in net.blocks for c in placed[b.index]]
    numbered = tuple(Core(k, c.layer, c.first, c.neurons, c.synapses, c.fan_in, c.fan_out) for k, c in enumerate(cores))
    return Partition(net.graph.name, limits, numbered, tuple(excesses), tuple((b.name, b.kind) for b in net.blocks))


def _cut(block: Block, fields: ReceptiveFields, fan_out: np.ndarray, limits: Limits):
    """Contiguous ranges of the block's neurons, each as long as the limits allow (at least one
    neuron), or of `limits.packing` neurons; and, per core, the mask of inputs it reads."""
    synapses = fields.synapses()
    cores: list[Core] = []
    reached: list[np.ndarray] = []
    first = 0
    while first < block.neurons:
        union = np.zeros(fields.inputs, bool)
        fan_in = memory = out = 0
        n = first
        while n < block.neurons:
            idx = fields.of(n)
            new = idx[~union[idx]]
            grown = (n - first + 1, memory + synapses[n] * limits.synapse_bits, fan_in + new.size, out + fan_out[n])
            if limits.packing:
                full = n - first >= limits.packing
            else:
                full = n > first and (
                    grown[0] > limits.neurons_per_core
                    or grown[1] > limits.synaptic_memory_bits
                    or grown[2] > limits.fan_in
                    or grown[3] > limits.fan_out
                )
            if full:
                break
            union[new] = True
            _, memory, fan_in, out = grown
            n += 1
        count = n - first
        cores.append(Core(0, block.name, first, count, int(synapses[first:n].sum()), int(fan_in), int(out)))
        reached.append(union)
        first = n
    return cores, reached


def _excesses(layer: str, cores: list[Core], limits: Limits) -> list[Excess]:
    found = []
    checks = (
        ("neurons", lambda c: c.neurons, limits.neurons_per_core),
        ("synaptic memory", lambda c: c.synapses * limits.synapse_bits, limits.synaptic_memory_bits),
        ("fan-in", lambda c: c.fan_in, limits.fan_in),
        ("fan-out", lambda c: c.fan_out, limits.fan_out),
    )
    for what, measure, limit in checks:
        over = [c for c in cores if measure(c) > limit]
        if over:
            single = all(c.neurons == 1 for c in over)
            found.append(Excess(what, layer, max(measure(c) for c in over), limit, len(over), single))
    return found
