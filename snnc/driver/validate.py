"""`snnc.validate`: will the trained network behave the same on the target, and where does it not?

The same input goes through every stage (stages.py), in pipeline order:

    source     the model run by its own library (SpikingJelly, snnTorch, sinabs, Norse, torch.nn),
               when the source is a PyTorch model
    ir         the IR's float simulation (snnc.simulate), which reproduces the library exactly
    quantized  the integer simulation of the graph compiled for the target (Compiled.simulate)
    target     the target's own execution model (Target.execution_model), where it has one: a
               target whose integer simulation is its execution (sim) has no further stage

Each stage is compared with the one before it, layer by layer (divergence.py), and where stages
differ, the first divergence says which layer, step, sample and neuron, with both values and the
likely cause. With labels, every stage's accuracy. A `Tolerance` says how much disagreement is
acceptable; what exceeds it is a VALIDATE-TOLERANCE error (exit code 1 on the command line).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from snnc.backends import get_target
from snnc.diagnostics import Diagnostic, Severity, input_error
from snnc.driver.agreement import LayerAgreement, PairComparison
from snnc.driver.divergence import Divergence
from snnc.driver.stages import Stage, graph_stage, layer_nodes, source_stage
from snnc.ir.graph import Graph
from snnc.ir.verify import verify_or_raise
from snnc.npz import StoredArray

TRACE_BYTES = 512 << 20
"""What the traces of one batch may take: validate keeps every neuron's values, charge and
membrane in every stage (float64), so it runs as many samples at a time as fit in this."""
BYTES_PER_NEURON_STEP = 8 * 8  # float64 × (source output, IR out/v/h, integer out/v/h, target out)


@dataclass(frozen=True)
class Tolerance:
    """How much two adjacent stages may disagree before validation fails (None: not checked). The
    defaults check what a network is for, its decisions, and each layer's firing rates; spike
    timing (a spike one step early or late) is reported, and checked only when asked, since a
    rate-coded network that is quantized well still moves some spikes by a step.

    spikes     the largest spike mismatch of a layer (1 − Σmin/Σmax of the spike counts: the share
               of spikes the two stages do not have in common)
    decisions  the largest fraction of samples whose decision (the argmax of the output summed
               over the steps) changes from one stage to the next
    accuracy   the largest drop of a stage's accuracy below the first stage's (with labels)
    rate       the largest firing-rate error of a layer (mean |count difference| per neuron / T)
    membrane   the largest mean membrane error of a layer, relative to its threshold
    """

    spikes: float | None = None
    decisions: float | None = 0.05
    accuracy: float | None = 0.02
    rate: float | None = 0.05
    membrane: float | None = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"tolerance {f.name}={value:g} must be a non-negative number")

    @classmethod
    def parse(cls, given: Any) -> Tolerance:
        """A Tolerance from a Tolerance, a mapping, or text `key=value,...` (value "none": not
        checked); the keys not given keep their defaults."""
        if given is None or isinstance(given, Tolerance):
            return given or cls()
        if isinstance(given, str):
            items = [part.partition("=") for part in given.split(",") if part.strip()]
            given = {key.strip(): value.strip() for key, _, value in items}
        known = {f.name for f in dataclasses.fields(cls)}
        values: dict[str, float | None] = {}
        for key, value in dict(given).items():
            if key not in known:
                raise input_error(
                    "VALIDATE-TOLERANCE-OPTION",
                    f"no tolerance named {key!r}; the tolerances are: {', '.join(sorted(known))}",
                    hint="e.g. --tolerance spikes=0.1,decisions=0.02",
                )
            try:
                values[key] = None if value is None or str(value).lower() == "none" else float(value)
            except (TypeError, ValueError):
                raise input_error(
                    "VALIDATE-TOLERANCE-OPTION",
                    f"tolerance {key}={value!r} is not a number",
                    hint=f"give {key}=NUMBER, or {key}=none not to check it",
                ) from None
        try:
            return dataclasses.replace(cls(), **values)
        except ValueError as e:
            raise input_error("VALIDATE-TOLERANCE-OPTION", str(e), hint="give non-negative numbers") from None

    def to_dict(self) -> dict[str, float | None]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class StageSummary:
    """One stage: its name and title, accuracy (with labels), and the share of samples whose
    decision agrees with the stage before it."""

    name: str
    title: str
    accuracy: float | None
    agreement: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "accuracy": self.accuracy, "agreement": self.agreement}


@dataclass(frozen=True)
class ValidationReport:
    """What `snnc.validate` found. `stages` in pipeline order; `layers`: the agreement of each
    layer between each stage and the one before it; `divergences`: the first divergence of each
    pair of stages that differ; `diagnostics`: notes, warnings and the VALIDATE-TOLERANCE errors."""

    model: str
    target: str
    steps: int
    samples: int
    stages: tuple[StageSummary, ...]
    layers: tuple[LayerAgreement, ...]
    divergences: tuple[Divergence, ...]
    tolerance: Tolerance
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        """No tolerance exceeded."""
        return not self.failures

    @property
    def failures(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.rule == "VALIDATE-TOLERANCE")

    @property
    def first_divergence(self) -> Divergence | None:
        """The first difference in pipeline order: in the first pair of stages that differ."""
        return self.divergences[0] if self.divergences else None

    def layer(self, name: str, pair: tuple[str, str]) -> LayerAgreement:
        return next(a for a in self.layers if a.layer == name and a.pair == pair)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_divergence
        return {
            "model": self.model,
            "target": self.target,
            "ok": self.ok,
            "steps": self.steps,
            "samples": self.samples,
            "stages": [s.to_dict() for s in self.stages],
            "first_divergence": None if first is None else first.to_dict(),
            "divergences": [d.to_dict() for d in self.divergences],
            "layers": [a.to_dict() for a in self.layers],
            "tolerance": self.tolerance.to_dict(),
            "diagnostics": [d.to_dict() for d in self.diagnostics],
        }


def validate(
    source: Any,
    target: str,
    data: Any,
    *,
    labels: Any = None,
    tolerance: Tolerance | dict[str, Any] | str | None = None,
    calib: Any = None,
    batch_size: int | None = None,
    input_shape: tuple[int, ...] | None = None,
    input_dtype: str = "float",
    trust_pickle: bool = False,
    weights: Any = None,
    graph: Graph | None = None,
    on_batch: Callable[[int], None] | None = None,
    **options: Any,
) -> ValidationReport:
    """Run `data` ([T, B, *input shape]) through every stage of `source` compiled for `target`
    (with the target's `options` and `calib` data) and compare them (module docstring), in batches
    of `batch_size` samples (default: as many as TRACE_BYTES of traces hold). The loading options
    are `snnc.load`'s; `graph`, if given, is `source` already loaded."""
    from snnc import frontend, sim
    from snnc.driver.compile import compile

    tol = Tolerance.parse(tolerance)
    if batch_size is not None and batch_size < 1:
        raise input_error("VALIDATE-DATA", f"batch_size must be at least 1, got {batch_size}", hint="e.g. 16")
    model = frontend.module_of(source, trust_pickle=trust_pickle, weights=weights)
    if graph is None:
        graph = (
            source
            if isinstance(source, Graph)
            else frontend.load(
                model if model is not None else source, input_shape, trust_pickle=trust_pickle, input_dtype=input_dtype
            )
        )
    verify_or_raise(graph)
    x = _data(graph, data)
    y = _labels(labels, x.shape[1])
    compiled = compile(graph, target, calib=calib, **options)
    notes = [d for d in compiled.diagnostics if d.severity is not Severity.INFO]
    stages = []
    if model is not None:
        stages.append(source_stage(f"the model in {_libraries(model)}", model, graph))
    run_float = lambda xb, rec: sim.run(graph, xb, record=rec)  # noqa: E731
    stages.append(graph_stage("ir", "IR float simulation", graph, run_float, with_modules=bool(stages)))
    arith = compiled.graph.arithmetic
    stages.append(
        graph_stage(
            "quantized",
            f"integer simulation ({arith.name if arith else target})",
            compiled.graph,
            lambda xb, rec: compiled.simulate(xb, record=rec),
        )
    )
    stages += _target_stage(target, compiled.graph, notes)
    layers = list(layer_nodes(graph))
    numel = {s: math.prod(n.type.shape) for s, n in layer_nodes(graph).items()}
    steps, samples = x.shape[:2]
    batch_size = batch_size or max(1, TRACE_BYTES // (steps * sum(numel.values()) * BYTES_PER_NEURON_STEP))
    pairs = [PairComparison(a, b, layers, steps, numel) for a, b in itertools.pairwise(stages)]
    decisions: list[list[np.ndarray]] = [[] for _ in stages]
    for start in range(0, samples, batch_size):
        xb = x[:, start : start + batch_size]
        runs = [stage.run(xb) for stage in stages]
        for pair, run_a, run_b in zip(pairs, runs, runs[1:]):
            pair.add(run_a, run_b, start)
        for k, run in enumerate(runs):
            if run.output is not None:
                decisions[k].append(run.output.sum(axis=0).reshape(xb.shape[1], -1).argmax(axis=1))
        if on_batch is not None:
            on_batch(xb.shape[1])
    notes += [note for stage in stages for note in stage.notes]
    return _report(graph.name, target, x, y, stages, pairs, decisions, tol, notes)


def _report(
    model: str,
    target: str,
    x: np.ndarray,
    y: np.ndarray | None,
    stages: list[Stage],
    pairs: list[PairComparison],
    decisions: list[list[np.ndarray]],
    tol: Tolerance,
    notes: list[Diagnostic],
) -> ValidationReport:
    made = [np.concatenate(d) if d else None for d in decisions]
    summaries = []
    for k, stage in enumerate(stages):
        accuracy = None if y is None or made[k] is None else float((made[k] == y).mean())
        previous = made[k - 1] if k else None
        agreement = None if previous is None or made[k] is None else float((made[k] == previous).mean())
        summaries.append(StageSummary(stage.name, stage.title, accuracy, agreement))
    failures = _stage_failures(summaries, tol)
    layers = []
    for pair in pairs:
        for agreement in pair.agreements():
            exceeded = _exceeded(agreement, tol)
            failures += [_failure(agreement, name, measured, limit) for name, measured, limit in exceeded]
            layers.append(dataclasses.replace(agreement, exceeded=tuple(name for name, _, _ in exceeded)))
    divergences = tuple(p.first for p in pairs if p.first is not None)
    steps, samples = x.shape[:2]
    return ValidationReport(
        model, target, steps, samples, tuple(summaries), tuple(layers), divergences, tol, (*notes, *failures)
    )


def _exceeded(a: LayerAgreement, tol: Tolerance) -> list[tuple[str, float, float]]:
    found = []
    measures = (("spikes", a.spike_mismatch), ("rate", a.rate_error), ("membrane", a.membrane_error_relative))
    for name, measured in measures:
        limit = getattr(tol, name)
        if limit is not None and measured is not None and measured > limit:
            found.append((name, measured, limit))
    return found


_MEASURES = {"spikes": "spike mismatch", "rate": "firing-rate error", "membrane": "membrane error / threshold"}


def _failure(a: LayerAgreement, name: str, measured: float, limit: float) -> Diagnostic:
    return Diagnostic(
        "VALIDATE-TOLERANCE",
        f"layer {a.layer!r}: {_MEASURES[name]} {measured:.4g} between {a.pair[0]} and {a.pair[1]} "
        f"exceeds the tolerance {limit:g}",
        node=a.nodes[1],
        source=a.layer,
        hint="see the first divergence for where and why; raise the tolerance (--tolerance "
        f"{name}=...) only if the difference is acceptable",
        measured=measured,
        limit=limit,
    )


def _stage_failures(summaries: list[StageSummary], tol: Tolerance) -> list[Diagnostic]:
    found = []
    first = summaries[0]
    for previous, s in itertools.pairwise(summaries):
        if tol.decisions is not None and s.agreement is not None and 1 - s.agreement > tol.decisions:
            found.append(
                Diagnostic(
                    "VALIDATE-TOLERANCE",
                    f"{1 - s.agreement:.1%} of the samples change their decision from {previous.name} to {s.name}, "
                    f"more than the tolerance {tol.decisions:g}",
                    hint="see the first divergence for where the stages part",
                    measured=1 - s.agreement,
                    limit=tol.decisions,
                )
            )
        if tol.accuracy is not None and None not in (s.accuracy, first.accuracy):
            drop = first.accuracy - s.accuracy  # type: ignore[operator]
            if drop > tol.accuracy:
                found.append(
                    Diagnostic(
                        "VALIDATE-TOLERANCE",
                        f"the accuracy drops by {drop:.1%} from {first.name} ({first.accuracy:.1%}) to {s.name} "
                        f"({s.accuracy:.1%}), more than the tolerance {tol.accuracy:g}",
                        hint="see the first divergence for where the stages part",
                        measured=drop,
                        limit=tol.accuracy,
                    )
                )
    return found


def _target_stage(target: str, graph: Graph, notes: list[Diagnostic]) -> list[Stage]:
    """The target's own execution model as a stage; none for a target its integer simulation is
    (sim), and a warning for a target that has not declared one yet."""
    tgt = get_target(target)
    model = tgt.execution_model
    if model is None:
        if not tgt.simulated_exactly:
            notes.append(
                Diagnostic(
                    "VALIDATE-NO-TARGET-MODEL",
                    f"the {target} target has no execution model of its own in validate yet: compared the source, "
                    "the IR and the integer simulation of the compiled graph only",
                    hint="the integer simulation is what snnc's lowering for this target computes; run the "
                    "compiled artefacts on the target to compare the hardware",
                    severity=Severity.WARNING,
                )
            )
        return []

    def simulate(xb: np.ndarray, record: tuple[str, ...]) -> Any:
        return tgt.simulate(graph, xb, record=record, **model.how)

    traces = tuple(v for v in ("out", "v", "h") if v in model.records)
    return [graph_stage("target", model.title, graph, simulate, traces=traces, event_driven=model.event_driven)]


def _libraries(model: Any) -> str:
    from snnc.frontend import LIBRARY_FRONTENDS

    found = sorted({type(m).__module__.split(".")[0] for m in model.modules()} & set(LIBRARY_FRONTENDS))
    return " and ".join(found) or "PyTorch"


def _data(graph: Graph, data: Any) -> np.ndarray | StoredArray:
    """The input [T, B, *shape] of a one-input graph, checked as the simulator checks it. An array
    left in its file (snnc/npz.py: StoredArray) stays there, read batch by batch: its first sample is
    checked here, every batch again when it is simulated."""
    from snnc.sim.checks import check_inputs

    if len(graph.inputs) != 1:
        raise input_error(
            "VALIDATE-DATA",
            f"the graph has {len(graph.inputs)} inputs; validate runs models with one input",
            hint="validate each input path separately",
        )
    if isinstance(data, dict):
        if len(data) != 1:
            raise input_error("VALIDATE-DATA", "validate takes one input array", hint="pass x as [T, B, *shape]")
        data = next(iter(data.values()))
    x = data if isinstance(data, StoredArray) else np.asarray(data)
    check_inputs(graph, x[:, :1] if isinstance(x, StoredArray) else x)  # SIM-INPUT-*: a wrong shape or values
    return x


def _labels(labels: Any, samples: int) -> np.ndarray | None:
    if labels is None:
        return None
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != samples or y.dtype.kind not in "iub":
        raise input_error(
            "VALIDATE-DATA",
            f"labels of shape {list(y.shape)} and dtype {y.dtype} for {samples} samples",
            hint="give one integer class label per sample",
        )
    return y.astype(np.int64)
