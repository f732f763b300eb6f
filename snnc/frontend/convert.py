"""Turn a captured run of a PyTorch model into an IR graph.

`timeline.py` first sees the capture as one time step (folding models that loop over time).
Converters (registry.py) then see one `ConvertContext` per call. Every conversion problem becomes a
diagnostic naming the module path and the line of the model's code that made the call; conversion
goes on past it so that all are reported at once, one diagnostic per module and problem. The type
of every node a converter returns is checked against the traced tensor's shape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch
from torch.utils import _pytree as pytree

from snnc.diagnostics import Diagnostic, Severity, SnncError
from snnc.frontend.capture import Call, Capture, Ref
from snnc.frontend.context import ConversionFailed, ConvertContext
from snnc.frontend.registry import FUNCTION_CONVERTERS, find_module_converter
from snnc.frontend.timeline import Source, Timeline
from snnc.ir.graph import Graph, GraphBuilder
from snnc.ir.ops import Op
from snnc.ir.types import FLOAT, SPIKE, DType, TensorType

INPUT_NAME = "input"
OUTPUT_NAME = "output"


class _Converter:
    module_converter = staticmethod(find_module_converter)

    def __init__(self, cap: Capture, line: Timeline, input_dtype: DType, forced: dict[int, DType], input_op: dict):
        self.cap = cap
        self.timeline = line
        self.builder = GraphBuilder()
        self.node_of: dict[int, str | None] = {}  # template value -> IR node (None: failed or state)
        self.state: set[int] = set()  # values a converter declared neuron state (a returned membrane)
        self.delays: dict[tuple[int, int], str] = {}
        self.pending: list[tuple[str, int]] = []  # (delay node, source value) to connect at the end
        self.forced = forced
        self.diagnostics: list[Diagnostic] = []
        self.unsupported: dict[str, list[tuple[Call, str]]] = {}  # module path -> (function call, why not)
        self.notes: list[Diagnostic] = []
        shape = self.sample_shape(line.input_value)
        self.node_of[line.input_value] = self.builder.input(INPUT_NAME, shape, input_dtype, **input_op)

    def sample_shape(self, value: int) -> tuple[int, ...]:
        return tuple(self.cap.values[value].shape[self.timeline.lead(value) :])

    def source_of(self, call: Call, ref: Ref) -> Source:
        k = [r for r in call.refs()].index(ref.value)
        return self.timeline.sources[(call.index, k)]

    def node_for(self, call: Call, ref_pos: int) -> str:
        source = self.timeline.sources[(call.index, ref_pos)]
        if source.delay == 0:
            node = self.node_of.get(source.value)
            if node is None:
                self._check_not_state(call, source.value)
                raise _Skip()
            return node
        key = (source.value, source.delay)
        if key not in self.delays:
            self._check_starts_at_zero(call, ref_pos)
            ty = TensorType(self.sample_shape(source.value), self._guess_dtype(source.value))
            hint = self._name_hint(source.value)
            name = self.builder.fresh(f"{hint}.delay{source.delay}")
            self.delays[key] = self.builder.delay(name, source.delay, ty, source=hint)
            self.pending.append((name, source.value))
        return self.delays[key]

    def _check_starts_at_zero(self, call: Call, ref_pos: int) -> None:
        """A Delay outputs zero before its first input arrives, so the value the model passed at step 0
        where the template reads an earlier step's value (`fc(torch.zeros(...))`) must be zero."""
        first = self.timeline.first.get(call.index)
        positions = [i for i, leaf in enumerate(pytree.tree_leaves((call.args, call.kwargs))) if isinstance(leaf, Ref)]
        leaves = pytree.tree_leaves((first.args, first.kwargs)) if first is not None else []
        initial = leaves[positions[ref_pos]] if positions[ref_pos] < len(leaves) else None
        if isinstance(initial, Ref):
            initial = self.cap.values[initial.value].tensor
        if not (isinstance(initial, (torch.Tensor, int, float)) and not torch.as_tensor(initial).any()):
            raise ConversionFailed(
                Diagnostic(
                    "FE-STATE",
                    "reads a value from an earlier time step whose value at the first step is not zero "
                    f"({type(initial).__name__}); snnc's Delay starts at zero",
                    node=ConvertContext(self, call).name,
                    hint="start the value fed back across time steps at zero (e.g. torch.zeros)",
                )
            )

    def _check_not_state(self, call: Call, value: int) -> None:
        """Neuron state (a membrane a neuron returns) has no IR node: reading it as data is refused."""
        if value in self.state:
            producer = self.cap.calls[self.cap.values[value].producer]
            raise ConversionFailed(
                Diagnostic(
                    "FE-STATE",
                    f"reads the state (e.g. the membrane) that {producer.name} returns; "
                    "an snnc graph passes only a neuron's spikes on",
                    node=ConvertContext(self, call).name,
                    hint="compute from the neuron's output spikes; its state stays inside the neuron",
                )
            )

    def _name_hint(self, value: int) -> str:
        producer = self.cap.values[value].producer
        return self.cap.calls[producer].name if producer is not None else INPUT_NAME

    def _guess_dtype(self, value: int) -> DType:
        """A delayed value's dtype before its producer is converted: spikes if every traced value is
        0 or 1, real otherwise. A wrong guess is caught by `connect` and the conversion is redone."""
        if value in self.forced:
            return self.forced[value]
        t = self.cap.values[value].tensor
        return SPIKE if bool(((t == 0) | (t == 1)).all()) else FLOAT

    def add(self, ctx: ConvertContext, op: Op, inputs: tuple[str, ...], suffix: str) -> str:
        name = self.builder.fresh(ctx.name + suffix)
        origin = type(ctx.call.target).__qualname__ if ctx.call.is_module else ctx.call.name
        module = type(ctx.call.target).__module__ if ctx.call.is_module else "torch"
        try:
            return self.builder.add(name, op, *inputs, origin=f"{module.split('.')[0]}.{origin}", source=ctx.name)
        except SnncError as e:
            raise ConversionFailed(e.diagnostics[0]) from None

    def convert_call(self, call: Call) -> None:
        ctx = ConvertContext(self, call)
        if call.is_module:
            converter = find_module_converter(call.target)
            run = (lambda: converter(ctx, call.target)) if converter else None
            what = f"module {type(call.target).__module__}.{type(call.target).__qualname__}"
        else:
            converter = FUNCTION_CONVERTERS.get(call.name)
            run = (lambda: converter(ctx)) if converter else None
            what = f"operation {call.name}"
        if run is None:
            self._fail_all(call, _no_converter(ctx, what))
            return
        try:
            result = run()
        except _Skip:
            self._fail_all(call, None)
            return
        except ConversionFailed as e:
            self._fail_all(call, e.diagnostic)
            return
        names = result if isinstance(result, tuple) else (result,)
        for slot, value in enumerate(call.outputs):
            node = names[slot] if slot < len(names) else None
            self.node_of[value] = node
            if node is None:
                self.state.add(value)
            if node is not None and self.builder.type_of(node).shape != self.sample_shape(value):
                self.diagnostics.append(
                    Diagnostic(
                        "FE-SHAPE",
                        f"converted to {self.builder.type_of(node)} but the model computed "
                        f"{list(self.cap.values[value].shape)} (per sample {list(self.sample_shape(value))})",
                        node=ctx.name,
                        hint="this layer is used in a way snnc does not model; please report it",
                    )
                )
                self.node_of[value] = None

    def _fail_all(self, call: Call, diagnostic: Diagnostic | None) -> None:
        """The call's outputs fail; its diagnostic is kept, except that the operations a traced-through
        module cannot have converted are gathered into one diagnostic for that module (`finish`)."""
        grouped = diagnostic is not None and diagnostic.rule == "FE-UNSUPPORTED-OP" and call.scope
        if grouped and not call.is_module and diagnostic is not None:
            self.unsupported.setdefault(call.scope, []).append((call, diagnostic.message))
        elif diagnostic is not None:
            self.diagnostics.append(_located(diagnostic, call))
        for value in call.outputs:
            self.node_of[value] = None

    def finish(self) -> Graph:
        for delay, value in self.pending:
            source = self.node_of.get(value)
            if source is None:
                if value in self.state:
                    self.diagnostics.append(
                        Diagnostic(
                            "FE-STATE",
                            f"the model reads the state that {self._name_hint(value)} returned at an earlier step",
                            node=delay,
                            hint="compute from the neuron's output spikes; its state stays inside the neuron",
                        )
                    )
                continue
            try:
                self.builder.connect(delay, source)
            except SnncError:
                raise _Retype(value, self.builder.type_of(source).dtype) from None
        outputs = [v for v in self.timeline.outputs if v is not None]
        emitted = 0
        for k, value in enumerate(outputs):
            node = self.node_of.get(value)
            if node is not None:
                self.builder.output(OUTPUT_NAME if len(outputs) == 1 else f"{OUTPUT_NAME}{k}", node)
                emitted += 1
            elif value in self.state:
                self.notes.append(_returned_state(self._name_hint(value)))
        self.notes += [_reduced(how, call) for how, call in self.timeline.reduced.values()]
        for scope, calls in self.unsupported.items():
            self.diagnostics.append(_unsupported_in(scope, self.cap.modules.get(scope), calls))
        if self.diagnostics:
            raise SnncError(_distinct(self.diagnostics))
        if not emitted:  # nothing returned, or only neuron state (membranes)
            raise SnncError(
                [
                    Diagnostic(
                        "FE-OUTPUT",
                        "the model returns no tensor snnc can map to a graph output",
                        hint="return the output spikes (a tensor, or a stack over time steps)",
                    )
                ]
            )
        return self.builder.build()


_CONVERTER_HINT = (
    "replace it by a supported layer or operation (README: Loading trained models), or register a converter "
    "with snnc.frontend.registry.module_converter / function_converter"
)


def _no_converter(ctx: ConvertContext, what: str) -> Diagnostic:
    return Diagnostic("FE-UNSUPPORTED-OP", f"{what} has no snnc converter", node=ctx.name, hint=_CONVERTER_HINT)


def _unsupported_in(scope: str, module: object, found: list[tuple[Call, str]]) -> Diagnostic:
    """One diagnostic for a traced-through module whose forward computes what snnc cannot convert."""
    reasons = list(dict.fromkeys(why for _, why in found))
    what = f" ({type(module).__module__}.{type(module).__qualname__})" if module is not None else ""
    located = next((c.location for c, _ in found if c.location), None)
    return Diagnostic(
        "FE-UNSUPPORTED-OP",
        f"module {scope}{what} computes what snnc cannot convert: {'; '.join(reasons)}"
        + (f" (at {_short(located)})" if located else ""),
        node=scope,
        hint=f"replace {scope} by a supported layer, or register a module converter for its class "
        "(snnc.frontend.registry.module_converter)",
    )


def _located(diagnostic: Diagnostic, call: Call) -> Diagnostic:
    """The diagnostic with the file and line of the model's code that made the call."""
    if call.location is None or " (at " in diagnostic.message:
        return diagnostic
    return replace(diagnostic, message=f"{diagnostic.message} (at {_short(call.location)})")


def _short(location: str) -> str:
    """A location relative to the current directory where it lies below it."""
    path, _, line = location.rpartition(":")
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return location
    return f"{relative}:{line}" if not relative.startswith("..") else location


def _distinct(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """One diagnostic per node and rule (a module called at several steps or places fails once)."""
    seen: set[tuple] = set()
    out = []
    for d in diagnostics:
        key = (d.rule, d.node, d.message.split(" (at ")[0])
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _reduced(how: str, call: Call) -> Diagnostic:
    return Diagnostic(
        "FE-TIME-LAYOUT",
        f"the model returns the {how} over time steps of this output (at {_short(call.location or '?')}); "
        "the graph outputs its value at every step",
        node=call.scope or None,
        hint=f"take result.output.{how}(0) of the simulation to get the model's value",
        severity=Severity.INFO,
    )


def _returned_state(producer: str) -> Diagnostic:
    return Diagnostic(
        "FE-TIME-LAYOUT",
        f"the model also returns the state (e.g. the membrane) of {producer}, which is not a graph output",
        node=producer,
        hint=f"record it in the simulation: snnc.simulate(graph, x, record=('{producer}:v',))",
        severity=Severity.INFO,
    )


class _Skip(Exception):
    """A call whose input failed to convert: reported once, at the failing call."""


@dataclass
class _Retype(Exception):
    value: int
    dtype: DType


def convert(
    cap: Capture,
    line: Timeline,
    *,
    input_dtype: DType,
    name: str,
    batching: str | None = None,
    input_op: dict | None = None,
    notes: list[Diagnostic] | None = None,
) -> Graph:
    """The IR graph of a capture seen through its timeline; SnncError listing every call that could
    not be converted. `batching` is recorded on the graph (snnc/ir/graph.py BATCHING), `input_op`
    are further fields of the graph's Input; `notes` receives what the caller should know about
    the outputs (info diagnostics)."""
    forced: dict[int, DType] = {}
    for _ in range(8):  # each retry fixes the dtype of one delayed value
        conv = _Converter(cap, line, input_dtype, forced, input_op or {})
        for call in line.calls:
            conv.convert_call(call)
        try:
            graph = conv.finish()
        except _Retype as r:
            forced[r.value] = r.dtype
            continue
        if notes is not None:
            notes.extend(_distinct(conv.notes))
        return Graph(graph.nodes, name, batching=batching)
    raise AssertionError("delayed value dtypes did not settle")
