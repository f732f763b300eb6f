"""Measured operation counts per layer and per time step, from simulator runs.

Every count comes from the values the reference simulator computed on the user's data, never
from assumed rates (ARCHITECTURE §3). Per synaptic layer (Linear, Conv1d, Conv2d) and step, an
observer on the tensor entering the layer (`sim.run(..., observers=...)`) sums, over the samples:

- `events`: input events (a count of k is k events; for non-event values, non-zero elements);
- `sops_weighted`: Σ x(i) · fan_out(i), the accumulates the input triggers with each event counted
  (sinabs' SynOps: `(input · connection_map).sum()`, synsense/sinabs `sinabs/hooks.py`);
- `sops_binary`: Σ [x(i) ≠ 0] · fan_out(i), one operation per non-zero input per connection;
- NeuroBench's `Effective_ACs`/`Effective_MACs` (neurobench `metrics/workload/synaptic_operations.py`):
  binarised input × binarised weights, to ACs where the input is all in {−1, 0, 1}, else MACs,
  decided per call; here per step and sample, i.e. as NeuroBench run with one sample per call;

and records the range of values seen, from which the layer's input kind (binary, signed-binary,
integer, real) is measured. Neuron layers need no observer: their per-step activity (updates with
non-zero input, output spikes) is in `SimResult.activity`. The per-run totals of operations that
the paper model leaves out (pooling adds, residual adds) come from the activity's event maps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from snnc.diagnostics import input_error
from snnc.ir.connectivity import fan_out, flops, kernel_taps, pool_fan_out
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import POOLING, SYNAPTIC, BatchNorm, Elementwise, Input, Neuron, Output
from snnc.ir.types import Spike
from snnc.sim import run

Tensor = torch.Tensor
Data = np.ndarray | dict[str, np.ndarray]
_EXACT_FLOAT32 = 2**24  # float32 sums of non-negative integers are exact below this (see sim/record.py)


@dataclass
class InputStats:
    """What the values entering a layer were: range, integrality and whether they changed over time."""

    low: float = np.inf
    high: float = -np.inf
    fractional: bool = False
    varies: bool = False  # some sample's input differed between two steps (tracked for non-event tensors)

    @property
    def kind(self) -> str:
        """binary {0,1}; signed-binary {−1,0,1}; integer: non-negative counts; real: anything else."""
        if self.fractional or self.low < -1 or (self.low < 0 and self.high > 1):
            return "real"
        if self.low >= 0:
            return "binary" if self.high <= 1 else "integer"
        return "signed-binary"


@dataclass
class SynapticCounts:
    """One synaptic layer: static shape facts and per-step counts summed over the samples."""

    name: str
    op: str
    source: str
    in_numel: int
    out_numel: int
    out_channels: int
    weights: int  # weight elements (the size of the memory they are read from)
    flops: int  # MACs of one dense pass
    connections: int  # Σ fan-out: connections from real input elements (NeuroBench `Dense` per call)
    taps: int  # weights one event addresses per output channel
    has_bias: bool
    reads_graph_input: bool
    stats: InputStats
    events: np.ndarray
    nonzero: np.ndarray
    sops_weighted: np.ndarray
    sops_binary: np.ndarray
    nb_ac: np.ndarray
    nb_mac: np.ndarray

    @property
    def kind(self) -> str:
        return self.stats.kind

    @property
    def sops(self) -> np.ndarray:
        """Exact accumulates per step: every event × its fan-out; for signed or real values,
        where an event has no count, every non-zero input × its fan-out."""
        return self.sops_weighted if self.kind in ("binary", "integer") else self.sops_binary


@dataclass
class NeuronCounts:
    """One neuron layer, per step summed over the samples."""

    name: str
    numel: int
    leaky: bool  # the update multiplies the state (a_v ≠ 1, or a decaying current)
    has_bias: bool
    feeds_output: bool
    active: np.ndarray  # neurons whose input was non-zero at the step
    spikes: np.ndarray  # output events (a multi-spike of k counts k)
    fired: np.ndarray  # neurons that fired


@dataclass
class Counts:
    """Everything the energy models read. Per-step arrays are [T], sums over all samples."""

    graph: Graph
    steps: int
    samples: int = 0
    synaptic: dict[str, SynapticCounts] = field(default_factory=dict)
    neurons: dict[str, NeuronCounts] = field(default_factory=dict)
    pooling_adds: int = 0  # events × windows reading them
    residual_adds: int = 0  # events entering elementwise add/sub
    batchnorm_elements: int = 0  # elements per sample and step passing through BatchNorm


def batches(x: Data, batch_size: int | None) -> Iterator[Data]:
    """`x` split along the batch axis (axis 1) into parts of at most `batch_size` samples."""
    first = next(iter(x.values()), None) if isinstance(x, dict) else x
    if batch_size is None or np.ndim(first) < 2:
        yield x  # whole, and a malformed `x` goes to the simulator's input checks as it is
        return
    for start in range(0, np.shape(first)[1], batch_size):
        part = slice(start, start + batch_size)
        yield {k: v[:, part] for k, v in x.items()} if isinstance(x, dict) else x[:, part]


def count(
    graph: Graph,
    data: Iterable[Data],
    *,
    device: str = "cpu",
    on_batch: Callable[[int], None] | None = None,
) -> Counts:
    """Simulate `graph` on each batch of `data` and add up the counts; `on_batch(samples)` is
    called after each batch (for a progress bar)."""
    counter: _Counter | None = None
    for x in data:
        first = next(iter(x.values()), None) if isinstance(x, dict) else x
        steps, samples = np.shape(first)[:2] if np.ndim(first) >= 2 else (0, 0)
        counter = counter or _Counter(graph, steps)
        if steps != counter.counts.steps:
            raise input_error(
                "COST-DATA",
                f"batches differ in time steps ({steps} vs {counter.counts.steps})",
                hint="give every batch the same number of steps",
            )
        counter.add(x, samples, device)
        if on_batch is not None:
            on_batch(samples)
    if counter is None:
        raise input_error("COST-DATA", "no data to measure: the data set is empty", hint="give at least one sample")
    return counter.counts


class _Counter:
    def __init__(self, graph: Graph, steps: int) -> None:
        self.counts = Counts(graph, steps)
        self.sources: dict[str, _SourceObserver] = {}
        self.pool_maps = {n.name: pool_fan_out(n, _in_shape(graph, n)) for n in graph if isinstance(n.op, POOLING)}
        self.counts.batchnorm_elements = sum(n.type.numel for n in graph if isinstance(n.op, BatchNorm))
        for node in graph:
            if isinstance(node.op, SYNAPTIC):
                self._add_synaptic(node)
            elif isinstance(node.op, Neuron):
                self.counts.neurons[node.name] = _neuron_counts(graph, node, steps)
        self.measured = sorted(self._measured(graph))

    def _measured(self, graph: Graph) -> set[str]:
        """The nodes whose activity `add` reads (the simulator measures only those)."""
        found = {syn.source for syn in self.counts.synaptic.values()}
        for node in graph:
            if isinstance(node.op, Neuron):
                found |= {node.name, node.inputs[0]}
            elif node.name in self.pool_maps or (isinstance(node.op, Elementwise) and node.op.fn in ("add", "sub")):
                found |= set(node.inputs)
        return found

    def _add_synaptic(self, node: Node) -> None:
        graph, steps = self.counts.graph, self.counts.steps
        source = graph.node(node.inputs[0])
        shape = source.type.shape
        observer = self.sources.setdefault(source.name, _SourceObserver(source))
        all_ones = fan_out(node, shape)
        observer.consumers.append((all_ones, fan_out(node, shape, nonzero_weights=True)))
        zeros = np.zeros(steps, np.float64)
        self.counts.synaptic[node.name] = SynapticCounts(
            name=node.name,
            op=node.op.kind,
            source=source.name,
            in_numel=source.type.numel,
            out_numel=node.type.numel,
            out_channels=node.type.channels,
            weights=int(node.op.weight.size),
            flops=flops(node, shape),
            connections=int(all_ones.sum()),
            taps=kernel_taps(node),
            has_bias=node.op.bias is not None and bool((node.op.bias != 0).any()),
            reads_graph_input=isinstance(source.op, Input),
            stats=observer.stats,
            events=zeros.copy(),
            nonzero=zeros.copy(),
            sops_weighted=zeros.copy(),
            sops_binary=zeros.copy(),
            nb_ac=zeros.copy(),
            nb_mac=zeros.copy(),
        )
        observer.targets.append(self.counts.synaptic[node.name])

    def add(self, x: Data, samples: int, device: str) -> None:
        counts = self.counts
        observers = {name: obs.prepare(device) for name, obs in self.sources.items()}
        record = [f"{name}:activity" for name in self.measured]
        activity = run(counts.graph, x, device=device, observers=observers, record=record).activity
        counts.samples += samples
        for syn in counts.synaptic.values():
            syn.events += activity[syn.source].events.sum(1)
            syn.nonzero += activity[syn.source].nonzero.sum(1)
        for neuron in counts.neurons.values():
            node = counts.graph.node(neuron.name)
            neuron.active += activity[node.inputs[0]].nonzero.sum(1)
            neuron.spikes += activity[node.name].events.sum(1)
            neuron.fired += activity[node.name].nonzero.sum(1)
        for node in counts.graph:
            if node.name in self.pool_maps:
                counts.pooling_adds += int((activity[node.inputs[0]].event_map * self.pool_maps[node.name]).sum())
            elif isinstance(node.op, Elementwise) and node.op.fn in ("add", "sub"):
                counts.residual_adds += sum(activity[i].total for i in node.inputs)


class _SourceObserver:
    """Sums, per step, what the layers reading one node's output are triggered to do."""

    def __init__(self, source: Node) -> None:
        self.is_spike = isinstance(source.type.dtype, Spike)
        self.is_event = source.type.dtype.is_event
        self.stats = InputStats()
        if self.is_spike:
            self.stats.low, self.stats.high = 0.0, 1.0  # the verifier and simulator guarantee {0, 1}
        self.consumers: list[tuple[np.ndarray, np.ndarray]] = []
        self.targets: list[SynapticCounts] = []
        self.last: Tensor | None = None

    def prepare(self, device: str) -> Callable[[Tensor, int], None]:
        k = len(self.consumers)
        ones = np.stack([c[0].reshape(-1) for c in self.consumers], 1)
        both = np.concatenate([ones, np.stack([c[1].reshape(-1) for c in self.consumers], 1)], 1)
        self.ones = torch.from_numpy(ones.astype(np.float32)).to(device)
        self.both = torch.from_numpy(both.astype(np.float32)).to(device)
        self.k = k
        self.last = None
        return self.observe

    def observe(self, chunk: Tensor, first: int) -> None:
        n, b = chunk.shape[:2]
        rows = chunk.reshape(n * b, -1)
        nz = rows if self.is_spike else torch.ne(rows, 0, out=torch.empty_like(rows))
        binary = _exact_dot(nz, self.both)  # [n·B, 2k]: all connections, then non-zero weights only
        weighted = binary[:, : self.k] if self.is_spike else _exact_dot(rows, self.ones)
        effective = binary[:, self.k :]
        spiking = self._spiking_rows(chunk, rows, nz)[:, None]
        per_step = [weighted, binary[:, : self.k], effective * spiking, effective * ~spiking]
        sums = torch.stack(per_step).reshape(4, n, b, self.k).sum(2).cpu().numpy()
        steps = slice(first, first + n)
        for j, target in enumerate(self.targets):
            target.sops_weighted[steps] += sums[0, :, j]
            target.sops_binary[steps] += sums[1, :, j]
            target.nb_ac[steps] += sums[2, :, j]
            target.nb_mac[steps] += sums[3, :, j]

    def _spiking_rows(self, chunk: Tensor, rows: Tensor, nz: Tensor) -> Tensor:
        """Per step and sample, whether every value is in {−1, 0, 1} (NeuroBench `binary_inputs`),
        and the value range seen so far. Spikes are {0, 1} and counts non-negative integers by
        their dtype (the simulator checks inputs and every op keeps them so); others are measured."""
        stats = self.stats
        if self.is_spike:
            return torch.ones(rows.shape[0], dtype=torch.bool, device=rows.device)
        if self.is_event:
            peaks = rows.amax(1)
            stats.low, stats.high = 0.0, max(stats.high, float(peaks.max()))
            return peaks <= 1
        low, high = torch.aminmax(rows)
        stats.low, stats.high = min(stats.low, float(low)), max(stats.high, float(high))
        stats.fractional = stats.fractional or bool(torch.ne(torch.frac(rows), 0).any())
        if not stats.varies:
            previous = chunk[:1] if self.last is None else self.last
            stats.varies = bool(torch.ne(torch.cat([previous, chunk[:-1]]), chunk).any())
            self.last = chunk[-1:].clone()
        return torch.eq(rows.abs(), nz).all(1)


def _exact_dot(rows: Tensor, columns: Tensor) -> Tensor:
    """rows @ columns, float64 where a float32 result could have rounded: products and sums of
    non-negative integers are exact in float32 while every partial sum stays below 2^24."""
    out = rows @ columns
    if out.numel() and float(out.abs().max()) >= _EXACT_FLOAT32:
        out = rows.double() @ columns.double()
    return out.double()


def _neuron_counts(graph: Graph, node: Node, steps: int) -> NeuronCounts:
    op: Any = node.op
    a_v, _, bias = op.affine()
    zeros = np.zeros(steps, np.float64)
    return NeuronCounts(
        name=node.name,
        numel=node.type.numel,
        leaky=bool((a_v != 1).any()) or op.has_current,
        has_bias=bool((bias != 0).any()),
        feeds_output=any(isinstance(u.op, Output) for u in graph.users(node.name)),
        active=zeros.copy(),
        spikes=zeros.copy(),
        fired=zeros.copy(),
    )


def _in_shape(graph: Graph, node: Node) -> tuple[int, ...]:
    return graph.node(node.inputs[0]).type.shape
