"""The stages `snnc validate` runs on the same input, and what each one shows of every layer.

A stage is one way of computing the network: the source model in its own library, the IR's float
simulation, the integer simulation of the compiled graph, and the target's own execution model
(backends/target.py: ExecutionModel). Each run gives, per layer, what validate compares:

- a layer is one population of neurons, named by the user's module path it came from
  (`Node.source`, which every lowering keeps), so the same layer is found in every stage although
  the compiled graph's nodes differ (BatchNorm folded, pooling rewritten, nodes inserted);
- its values [T, B, *shape]: spikes (counts for multi-spikes), or the membrane of a non-spiking
  readout; its membrane before (h) and after (v) the reset; its threshold. Everything is in the
  float model's units: a quantized state's integers are divided by its `state_format.scale`.

The source stage shows what each converted module returned (frontend/run.py); a stage that traces
no neuron values (an event-driven chip model) shows each layer's events per step only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic
from snnc.ir.graph import Graph, Node
from snnc.ir.ops import Neuron, Output
from snnc.ir.quant import Arithmetic
from snnc.ir.types import Count, Spike
from snnc.sim.result import SimResult


@dataclass
class LayerTrace:
    """One layer in one stage's run (float units). `values` None: only `events` are known."""

    node: str
    shape: tuple[int, ...]  # per sample
    events: np.ndarray  # [T, B]: spikes summed over the layer's neurons (a readout: non-zero values)
    spiking: bool
    values: np.ndarray | None = None  # [T, B, *shape] float32
    v: np.ndarray | None = None
    h: np.ndarray | None = None
    threshold: np.ndarray | None = None  # broadcastable to the per-sample shape
    scale: np.ndarray | None = None  # integer state = float · scale (quantized stages), broadcastable
    module_values: np.ndarray | None = None  # the module's own output where another node makes it
    neuron: Neuron | None = None


@dataclass
class StageRun:
    """One stage's run on one batch: its layers by user module path and its output [T, B, ...]."""

    layers: dict[str, LayerTrace]
    output: np.ndarray | None


@dataclass(frozen=True)
class Stage:
    """A stage: `name` (source, ir, quantized, target), what it is, and how to run it on a batch."""

    name: str
    title: str
    run: Callable[[np.ndarray], StageRun] = field(repr=False)
    arithmetic: Arithmetic | None = None  # how it computes, if in integers
    event_driven: bool = False
    notes: list[Diagnostic] = field(default_factory=list, repr=False)  # what it could not compare


def layer_nodes(graph: Graph) -> dict[str, Node]:
    """The neuron population of each user layer, in evaluation order: per `source`, the last
    Neuron converted or lowered from it."""
    found: dict[str, Node] = {}
    for node in graph.order:
        if isinstance(node.op, Neuron):
            found.pop(node.source, None)
            found[node.source] = node  # re-inserted: the order is that of the last neuron
    return found


def module_nodes(graph: Graph) -> dict[str, Node]:
    """Per `source`, the last node made from that module: what the module itself returned."""
    found: dict[str, Node] = {}
    for node in graph.order:
        if not isinstance(node.op, Output):
            found[node.source] = node
    return found


def graph_stage(
    name: str,
    title: str,
    graph: Graph,
    simulate: Callable[[np.ndarray, tuple[str, ...]], SimResult],
    *,
    traces: tuple[str, ...] = ("out", "v", "h"),
    event_driven: bool = False,
    with_modules: bool = False,
) -> Stage:
    """A stage that runs `graph` with `simulate(x, record)` (the reference simulator, the
    integer one, or a target's model). `traces`: what it can record per node; `with_modules`
    also records what each module returned (for comparison with the source stage)."""
    neurons = layer_nodes(graph)
    modules = {s: n for s, n in module_nodes(graph).items() if s in neurons and n.name != neurons[s].name}
    record = tuple(f"{n.name}:{var}" for n in neurons.values() for var in traces)
    if with_modules:
        record += tuple(f"{n.name}:out" for n in modules.values())
    output = graph.outputs[0] if graph.outputs else None

    def run(x: np.ndarray) -> StageRun:
        result = simulate(x, record)
        traced = ((source, _layer(node, result)) for source, node in neurons.items())
        layers = {source: trace for source, trace in traced if trace is not None}
        for source, node in modules.items():
            if with_modules and node.name in result.traces:
                layers[source].module_values = _float(result.traces[node.name]["out"])
        out = None
        if output is not None:
            raw = result.outputs.get(output.name)
            if raw is None and len(result.outputs) == 1:
                raw = next(iter(result.outputs.values()))
            if raw is not None:
                out = _in_float_units(raw, graph.node(output.inputs[0]))
        return StageRun(layers, out)

    return Stage(name, title, run, graph.arithmetic, event_driven)


def _layer(node: Node, result: SimResult) -> LayerTrace | None:
    """The layer of neuron `node` in a run, by the node's name or its user module path; None if
    the run shows nothing of it (a target model whose results name other nodes)."""
    op: Neuron = node.op  # type: ignore[assignment]
    traced = result.traces.get(node.name) or result.traces.get(node.source) or {}
    activity = result.activity.get(node.name) or result.activity.get(node.source)
    spiking = isinstance(node.type.dtype, (Spike, Count))
    scale = _scale(op, node.type.shape)
    values = traced.get("out")
    trace = LayerTrace(node.name, node.type.shape, np.zeros((0, 0), np.int64), spiking, neuron=op, scale=scale)
    if values is not None:
        trace.values = _float(values) if spiking else _float(values) / (1 if scale is None else scale)
        flat = trace.values.reshape(*trace.values.shape[:2], -1)
        trace.events = (flat if spiking else (flat != 0)).sum(axis=2).astype(np.int64)
    elif activity is not None:
        trace.events = activity.events
    else:
        return None
    for var in ("v", "h"):
        if var in traced:
            setattr(trace, var, _float(traced[var]) / (1 if scale is None else scale))
    threshold = _per_sample(np.asarray(op.threshold, np.float64), node.type.shape)
    trace.threshold = threshold if scale is None else threshold / scale
    return trace


def _scale(op: Neuron, shape: tuple[int, ...]) -> np.ndarray | None:
    """The integer units per float unit of a quantized neuron's state, broadcastable."""
    if op.state_format is None:
        return None
    return _per_sample(np.asarray(op.state_format.scale, np.float64), shape)


def _per_sample(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A parameter (0-d, per channel (C,), or per neuron) shaped to broadcast over [*shape]."""
    if value.ndim == 0 or value.shape == shape:
        return value
    return value.reshape(value.shape[0], *([1] * (len(shape) - 1)))


def _in_float_units(raw: np.ndarray, producer: Node) -> np.ndarray:
    """An output in the float model's units: a quantized readout's integers divided by its scale."""
    values = _float(raw)
    if isinstance(producer.op, Neuron) and producer.op.spikes == "none" and producer.op.state_format is not None:
        values = values / _scale(producer.op, producer.type.shape)
    return values


def _float(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def source_stage(title: str, model: Any, float_graph: Graph) -> Stage:
    """The source model run by its own library (frontend/run.py), its modules by path."""
    from snnc.frontend.run import run_module

    neurons = layer_nodes(float_graph)
    modules = module_nodes(float_graph)
    record = {source: modules[source].type.shape for source in neurons}
    output = float_graph.outputs[0]
    notes: list[Diagnostic] = []

    input_time = getattr(float_graph.inputs[0].op, "time", "sequence")  # "static": the model makes its steps

    def run(x: np.ndarray) -> StageRun:
        ran = run_module(model, x, record, output.type.shape, input_time)
        if not notes:  # the same on every batch
            notes.extend(ran.notes)
        layers = {}
        for source, values in ran.modules.items():
            spiking = isinstance(modules[source].type.dtype, (Spike, Count))  # what the module returns
            flat = values.reshape(*values.shape[:2], -1)
            events = (flat if spiking else (flat != 0)).sum(axis=2).astype(np.int64)
            node = modules[source]
            layers[source] = LayerTrace(node.name, node.type.shape, events, spiking, values=values.astype(np.float64))
        out = None if ran.output is None else ran.output.astype(np.float64)
        return StageRun(layers, out)

    return Stage("source", title, run, notes=notes)
