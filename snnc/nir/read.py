"""Reading NIR graphs (neuromorphs/NIR; the installed nir 1.0.8 is the reference) into the IR.

`load_nir(path_or_graph, dt=...)` reads a `.nir` file or an in-memory `nir.NIRGraph` and maps
every NIR primitive onto IR ops. The table, each row after the NIR source that defines it:

    NIR (nir/ir/…)                   IR
    Input, Output (graph.py)         Input (dtype from `input_dtype`), Output
    Affine, Linear (linear.py)       Linear with / without bias: y = W·x + b
    Scale (linear.py)                Scale (one factor per channel, or one for all); a Scale
                                     of ones only joins its input edges (snnc writes adds so)
    Conv1d, Conv2d (conv.py)         Conv1d, Conv2d; torch layout, as nirtorch maps them
                                     (nirtorch/nir_interpreter.py: _default_map_conv2d);
                                     padding "valid" = 0, "same" = symmetric d·(k−1)/2
    SumPool2d, AvgPool2d (pooling.py) SumPool2d, AvgPool2d (padding counted, no ceil mode, as
                                     nirtorch's torch.nn.AvgPool2d defaults)
    Flatten (flatten.py)             Flatten; start_dim/end_dim count per-sample axes, as the
                                     exporters write them (sinabs/nir.py, spikingjelly
                                     nir_exchange/to_nir.py: map_flatten shift torch's dims by 1)
    Delay (delay.py)                 Delay(round(delay/dt)) steps; 0 steps pass the input through
    IF, LIF, CubaLIF, Threshold,     Neuron (spikes "none" for I, LI and CubaLI: the output is
    I, LI, CubaLI                    the membrane); the discretization by forward Euler with
      (neuron.py, threshold.py)      step dt is snnc/nir/primitives.py
    NIRGraph (graph.py)              flattened: inner nodes are named "outer.inner"

Graph semantics: several edges into one node are summed (nirtorch/nir_interpreter.py:
_find_input_nodes adds them), here as Elementwise adds named "<node>.sum". A cycle with no
Delay node on it is delayed by one step on its back edge, as nirtorch does (it feeds the
previous step's output, `{src}_prev_output`) and as snnTorch's RLeaky does
(snntorch/_neurons/rleaky.py); the IR forbids instantaneous cycles.

Real exporters write messy files (docs/environment.md §5, §8): 0-d neuron parameters, a batch
axis in the Input shape, files `nir.read` rejects with its type check. The reader broadcasts
scalars, drops a leading Input axis when the graph only fits without it, reads without NIR's type
check and infers shapes itself; each normalization is an info diagnostic (FE-NIR-NORMALIZED) in
the `diagnostics` list the caller passes. Files written by snnc carry its semantics sidecar
(sidecar.py): when it still describes the graph, the exact IR graph is restored from it. Files
written by a library's own exporter are read with that exporter's conventions where the producer
is given or the file shows it (producers.py), so that they compute what the library computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from snnc.diagnostics import Diagnostic, Severity, SnncError, input_error
from snnc.ir import ops
from snnc.ir.graph import Graph, GraphBuilder
from snnc.ir.types import FLOAT, SPIKE, DType, TensorType
from snnc.nir import primitives as nir_primitives
from snnc.nir.flat import Flat, flatten, note, read_graph
from snnc.nir.primitives import NodeParams, as_array
from snnc.nir.producers import NIR, PRODUCERS, TABLE, Producer, recognise
from snnc.nir.sidecar import restore

DEFAULT_DT = 1e-4  # seconds: SpikingJelly's and snnTorch's exporters' step (nir_exchange/to_nir.py, export_nir.py)
_TIMED = {"IF", "LIF", "CubaLIF", "I", "LI", "CubaLI", "Delay"}  # node types whose mapping depends on dt


def load_nir(
    source: Any,
    *,
    dt: float | None = None,
    input_dtype: DType = FLOAT,
    diagnostics: list[Diagnostic] | None = None,
    producer: str | None = None,
) -> Graph:
    """The IR graph of a NIR file or `nir.NIRGraph` (not yet verified: the caller verifies).

    `dt` is the step in seconds that discretizes NIR's continuous time (nir_primitives.py); None
    takes the dt stored by snnc's writer, else DEFAULT_DT. `producer` ("spikingjelly", "snntorch",
    "sinabs", "norse") reads the neurons with that library exporter's conventions (producers.py;
    `dt` is then the exporter's dt, where its formulas have one); None recognises the producer
    where the file shows it, "nir" keeps NIR's own semantics. `diagnostics` receives info notes on
    what was normalized and restored, and warnings about an outdated snnc sidecar. Whatever the
    file holds, the result is a graph or an SnncError (FE-NIR-*), never another exception.
    """
    if producer not in (None, NIR, *PRODUCERS):
        raise input_error(
            "FE-NIR-PRODUCER-UNKNOWN",
            f"unknown NIR producer {producer!r}",
            hint=f"one of {', '.join(PRODUCERS)}, or '{NIR}' for NIR's own semantics",
        )
    notes: list[Diagnostic] = []
    graph, name = read_graph(source, notes)
    try:
        return _load(graph, name, dt, input_dtype, producer, notes, diagnostics)
    except SnncError:
        raise
    except Exception as e:  # a value of the file that the mapping's own checks let through
        raise input_error(
            "FE-NIR-READ",
            f"{name}: the NIR graph cannot be read ({type(e).__name__}: {str(e)[:200]})",
            hint="export the model again with the library's NIR exporter and nir.write",
        ) from e


def _load(
    graph: Any,
    name: str,
    dt: float | None,
    input_dtype: DType,
    producer: str | None,
    notes: list[Diagnostic],
    diagnostics: list[Diagnostic] | None,
) -> Graph:
    restored, stored_dt = restore(graph, name, notes)
    if restored is not None and dt in (None, stored_dt):
        if producer not in (None, NIR):
            note(notes, f"producer {producer!r} is not used: the file carries snnc's exact graph (its sidecar)")
        _extend(diagnostics, notes)
        return restored
    if restored is not None:
        note(
            notes,
            f"dt = {dt:g} s differs from the {stored_dt:g} s the file was written with; its snnc sidecar "
            "(exact for that dt) is set aside and the NIR part discretized with the new dt",
        )
    flat = flatten(graph, notes)
    conventions = _producer(producer, flat, notes)
    if conventions is not None:
        dt = _exporter_dt(conventions, dt, flat, notes)
    else:
        dt = _choose_dt(dt, stored_dt, flat, notes)
    result = _Importer(flat, dt, input_dtype, name, notes, conventions).run()
    _extend(diagnostics, notes)
    return result


def _producer(given: str | None, flat: Flat, notes: list[Diagnostic]) -> Producer | None:
    """The exporter conventions to read with: the given producer, or the one the file shows."""
    if given == NIR:
        return None
    found = recognise(flat.nodes)
    if given is None and found is None:
        return None
    name = given or found
    assert name is not None
    how = "as given" if given else "recognised from its parameter patterns"
    notes.append(
        _producer_note(
            f"read with {name}'s NIR exporter conventions ({how}): {TABLE[name].restored}",
            "pass producer='nir' (--nir-producer nir) for NIR's own semantics"
            + ("" if given else "; if another library wrote the file, name it"),
        )
    )
    return TABLE[name]


def _producer_note(message: str, hint: str) -> Diagnostic:
    return Diagnostic("FE-NIR-PRODUCER", message, hint=hint, severity=Severity.INFO)


def _exporter_dt(conventions: Producer, dt: float | None, flat: Flat, notes: list[Diagnostic]) -> float:
    """The step the exporter's formulas assumed: the given dt, else one the file implies
    (SpikingJelly's IF writes r = 1/dt), else the exporter's default."""
    if dt is None and conventions.name == "spikingjelly":
        rates = {float(as_array(n.r).ravel()[0]) for n in flat.nodes.values() if type(n).__name__ == "IF"}
        if len(rates) == 1 and rates != {0.0}:
            dt = 1 / rates.pop()
    if dt is None:
        dt = conventions.default_dt if conventions.default_dt is not None else DEFAULT_DT
        if conventions.default_dt is not None:
            note(notes, f"dt = {dt:g} s, {conventions.name}'s NIR export default (the file states none)")
    return _choose_dt(float(dt), None, flat, [])


def _extend(sink: list[Diagnostic] | None, notes: list[Diagnostic]) -> None:
    if sink is not None:
        sink.extend(notes)


def _choose_dt(dt: float | None, stored: float | None, flat: Flat, notes: list[Diagnostic]) -> float:
    if dt is None:
        dt = stored if stored is not None else DEFAULT_DT
        timed = sorted(k for k, n in flat.nodes.items() if type(n).__name__ in _TIMED)
        if stored is None and timed:
            note(
                notes,
                f"NIR time is continuous; discretized with dt = {DEFAULT_DT:g} s, the SpikingJelly and snnTorch "
                f"exporters' step (the file states none; {len(timed)} node(s) depend on it)",
                timed[0],
            )
    if not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
        raise input_error(
            "FE-NIR-DT", f"dt = {dt!r} is not a positive time step in seconds", hint="e.g. dt=1e-4 (0.1 ms)"
        )
    return float(dt)


class _Retry(Exception):
    """A recurrent edge's type was guessed wrongly; build again with the measured types."""


class _Importer:
    """Builds the IR from a flattened NIR graph: topological order with back edges delayed,
    summed inputs, one mapping per primitive."""

    def __init__(
        self,
        flat: Flat,
        dt: float,
        input_dtype: DType,
        name: str,
        notes: list[Diagnostic],
        producer: Producer | None = None,
    ) -> None:
        self.flat, self.dt, self.input_dtype, self.name, self.notes = flat, dt, input_dtype, name, notes
        self.producer = producer
        breakers = {k for k, n in flat.nodes.items() if type(n).__name__ == "Delay" and _delays(n)}
        self.back_edges = flat.back_edges(breakers)
        for src, dst in self.back_edges:
            note(
                notes,
                f"the cycle through {src!r} → {dst!r} has no NIR Delay; the edge is delayed by one step (dt), "
                "as nirtorch and snnTorch's RLeaky feed the previous step's output",
                dst,
            )
        self.order = flat.order(self.back_edges, breakers)

    def run(self) -> Graph:
        first: SnncError | None = None
        inputs = [k for k, n in self.flat.nodes.items() if type(n).__name__ == "Input" and k not in self.flat.junctions]
        attempts = [False]
        if any(len(_shape(self.flat.nodes[k])) >= 2 for k in inputs):
            attempts.append(True)
        for drop in attempts:
            try:
                graph = self._build_retrying(drop)
            except SnncError as e:
                first = first or e
                continue
            if drop:
                for k in inputs:
                    shape = _shape(self.flat.nodes[k])
                    note(
                        self.notes,
                        f"input shape {list(shape)} has a leading batch axis; the graph only fits "
                        f"per-sample shape {list(shape[1:])}, which snnc uses",
                        k,
                    )
            return graph
        assert first is not None
        raise first

    def _build_retrying(self, drop_batch: bool) -> Graph:
        hints: dict[str, TensorType] = {}
        for _ in range(3):
            try:
                return self._build(drop_batch, hints)
            except _Retry:
                continue
        raise AssertionError("recurrent edge types did not settle")  # each retry fixes every wrong guess

    def _build(self, drop_batch: bool, hints: dict[str, TensorType]) -> Graph:
        b = GraphBuilder(self.name)
        self.b, self.out, self.pending = b, {}, []  # pending: (delay node, NIR source) to connect
        self.delayed = {edge: self._recurrent_delay(edge, hints) for edge in self.back_edges}
        normalized: dict[str, dict[str, str]] = {}  # node -> parameter -> what was done to it
        for key in self.order:
            node = self.flat.nodes[key]
            kind = type(node).__name__
            if key in self.flat.junctions or _is_identity(node):
                self.out[key] = self._summed_input(key, as_name=key)
                continue
            if kind == "Input":
                shape = _shape(node)
                self.out[key] = b.input(key, shape[1:] if drop_batch and len(shape) >= 2 else shape, self.input_dtype)
                continue
            if kind == "Delay":
                self.out[key] = self._delay_node(key, node, hints)
                continue
            x = self._summed_input(key)
            if kind == "Output":
                self.out[key] = b.output(key, x)
                continue
            try:
                self.out[key] = self._map(key, node, x, normalized)
            except SnncError:
                raise
            except Exception as e:  # a field of the wrong kind: a string, NaN, an array for a number
                raise input_error(
                    "FE-NIR-READ",
                    f"NIR {kind} node holds values snnc cannot read as its fields ({type(e).__name__}: {e})",
                    node=key,
                    hint="export the model again with the library's NIR exporter and nir.write",
                ) from e
        wrong = False
        for delay, src in self.pending:
            actual = b.type_of(self.out[src])
            if actual != b.type_of(delay):
                hints[delay], wrong = actual, True
            else:
                b.connect(delay, self.out[src])
        if wrong:
            raise _Retry()
        for key, changes in normalized.items():
            said = "; ".join(f"{field}: {what}" for field, what in changes.items())
            note(self.notes, f"parameters normalized: {said}", key)
        return b.build()

    def _recurrent_delay(self, edge: tuple[str, str], hints: dict[str, TensorType]) -> str:
        src, dst = edge
        name = self.b.fresh(f"{src}.delayed")
        ty = hints.get(name) or self._guess_type(src, dst)
        self.pending.append((self.b.delay(name, 1, ty, origin="nir.edge"), src))
        return name

    def _delay_node(self, key: str, node: Any, hints: dict[str, TensorType]) -> str:
        delay = as_array(node.delay) / self.dt
        steps = np.rint(delay)
        if delay.size == 0 or not (np.abs(delay - steps) <= 1e-6 * np.maximum(1, steps)).all() or steps.min() < 0:
            raise input_error(
                "FE-UNSUPPORTED-ATTR",
                f"NIR Delay of {as_array(node.delay).ravel()[:4].tolist()} s is not a whole number of steps of "
                f"dt = {self.dt:g} s",
                node=key,
                hint="choose a dt that divides every delay",
            )
        if len(np.unique(steps)) != 1:
            raise input_error(
                "FE-UNSUPPORTED-ATTR",
                f"NIR Delay holds different delays per neuron ({int(steps.min())}..{int(steps.max())} steps); "
                "an IR Delay has one",
                node=key,
                hint="split the layer by delay",
            )
        if int(steps.flat[0]) == 0:
            return self._summed_input(key)
        sources = [s for s, d in self.flat.edges if d == key]
        if len(sources) != 1:
            raise input_error(
                "FE-UNSUPPORTED-ATTR", f"NIR Delay has {len(sources)} input edges; snnc delays one", node=key
            )
        src = sources[0]
        ty = hints.get(key) or self._guess_type(src, key)
        self.pending.append((self.b.delay(key, int(steps.flat[0]), ty, origin="nir.Delay"), src))
        return key

    def _guess_type(self, src: str, dst: str) -> TensorType:
        """The type a recurrent edge carries, before its source is built: the shape the NIR nodes
        declare, spikes from a spiking neuron (a wrong guess is measured and the graph rebuilt)."""
        node = self.flat.nodes[src]
        dtype = SPIKE if type(node).__name__ in nir_primitives.SPIKING else FLOAT
        for candidate in (node, self.flat.nodes[dst]):
            shape = _declared_shape(candidate)
            if shape is not None:
                return TensorType(shape, dtype)
        raise input_error(
            "FE-UNSUPPORTED-ATTR",
            f"cannot tell the shape of the recurrent edge {src!r} → {dst!r}: neither node declares one",
            node=dst,
            hint="give the nodes' input and output types in the NIR graph",
        )

    def _summed_input(self, key: str, as_name: str | None = None) -> str:
        """The node's input: its one source, or the sum of all (the last add named `as_name`)."""
        sources = [self.delayed.get((s, key)) or self.out[s] for s, d in self.flat.edges if d == key]
        if not sources:
            raise input_error("FE-NIR-READ", "the node has no input edge", node=key, hint="connect it or remove it")
        total = sources[0]
        for k, other in enumerate(sources[1:], 2):
            name = as_name if as_name and k == len(sources) else self.b.fresh(f"{key}.sum")
            total = self.b.add(name, ops.Elementwise("add"), total, other, origin="nir.edges")
        return total

    def _map(self, key: str, node: Any, x: str, normalized: dict[str, dict[str, str]]) -> str:
        kind = type(node).__name__
        b, origin = self.b, f"nir.{kind}"
        if kind in nir_primitives.NEURONS:
            params = NodeParams(node, key, b.type_of(x).shape)
            if self.producer is not None and kind in self.producer.kinds:
                neuron = self.producer.restore(kind, params, self.dt)
            else:
                neuron = nir_primitives.NEURONS[kind](params, self.dt)
            out = b.add(key, neuron, x, origin=origin)
            if params.changes:
                normalized[key] = params.changes
            return out
        mapper = nir_primitives.LAYERS.get(kind)
        if mapper is None:
            raise input_error(
                "FE-UNSUPPORTED-OP",
                f"NIR node type {kind} has no IR mapping",
                node=key,
                hint=f"snnc reads the primitives of nir 1.0.8: {', '.join(_KNOWN)}",
            )
        return b.add(key, mapper(key, node, b.type_of(x)), x, origin=origin)


def _is_identity(node: Any) -> bool:
    """A NIR Scale of ones only joins its input edges (snnc writes additions so)."""
    return type(node).__name__ == "Scale" and bool(np.all(as_array(node.scale) == 1))


def _delays(node: Any) -> bool:
    """Whether a NIR Delay holds back its input (a zero delay passes it through: no cycle breaker)."""
    delay = as_array(getattr(node, "delay", 0))
    return bool(delay.size and (delay > 0).all())


def _shape(node: Any) -> tuple[int, ...]:
    types = getattr(node, "input_type", None) or getattr(node, "output_type", None) or {}
    value = next(iter(types.values()), None)
    return tuple(int(d) for d in np.asarray(value).ravel()) if value is not None else ()


def _declared_shape(node: Any) -> tuple[int, ...] | None:
    kind = type(node).__name__
    if kind in ("Affine", "Linear"):
        return (int(as_array(node.weight).shape[0]),)
    for field in ("v_threshold", "threshold", "r", "tau", "scale", "delay"):
        value = getattr(node, field, None)
        if value is not None and as_array(value).ndim > 0 and as_array(value).size > 1:
            return as_array(value).shape
    for types in (getattr(node, "output_type", None), getattr(node, "input_type", None)):
        value = next(iter((types or {}).values()), None)
        if value is not None and np.asarray(value).size:
            return tuple(int(d) for d in np.asarray(value).ravel())
    return None


_KNOWN = ("Input", "Output", *nir_primitives.LAYERS, "Delay", *nir_primitives.NEURONS, "NIRGraph")


def is_nir_graph(source: Any) -> bool:
    """True for an in-memory NIR graph object (loaded without touching the nir package)."""
    return type(source).__module__.startswith("nir.") and type(source).__name__ == "NIRGraph"


def is_nir_path(source: Any) -> bool:
    return isinstance(source, (str, Path)) and Path(str(source)).suffix.lower() == ".nir"
