"""`snnc.compile` and `snnc.check`: a model through its target's pipeline (ARCHITECTURE §3).

compile = validate the target's options → load and verify → the target's passes (each pass's
rewrites and diagnostics recorded) → the target's rules → lower into `out_dir`. Any error stops
it before anything is written, and the raised SnncError carries every diagnostic found, warnings
included. check runs the same
stages but returns the diagnostics instead, so a user sees every problem at once: verifier,
quantization, spike-driven and target rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snnc.backends import get_target
from snnc.diagnostics import Diagnostic, Kind, SnncError, errors
from snnc.driver.source import graph_of
from snnc.ir.graph import Graph
from snnc.passes.base import Pass, PassContext, run_passes

if TYPE_CHECKING:
    from snnc.sim import SimResult

AfterPass = Callable[[str, Graph], None]
"""Called with each pass's name and output graph (`--print-between-passes`)."""


@dataclass(frozen=True)
class PassRecord:
    """What one pass of a compilation did: how many rewrites, and what it reported."""

    name: str
    rewrites: int
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Compiled:
    """A graph lowered for `target`. `diagnostics`: everything the passes and the target check
    reported (no errors, or compile would have raised); `artefacts`: what `lower` wrote."""

    graph: Graph
    target: str
    diagnostics: tuple[Diagnostic, ...]
    artefacts: dict[str, Path] = field(default_factory=dict)
    passes: tuple[PassRecord, ...] = ()
    options: Any = None  # the target's Options the graph was compiled with

    def simulate(self, x: Any, *, record: Iterable[str] = (), **how: Any) -> SimResult:
        """Run the compiled graph as the target computes it (integers, for a quantized graph). For
        a quantized real-valued input, float data are real values, quantized as the graph defines
        (`Input.format.encode`: round half to even, saturate); integer data are its integers.
        `how` selects among a target's execution models where it has several (e.g. mode="events")."""
        return get_target(self.target).simulate(self.graph, x, record=record, **how)


def compile(
    source: Any,
    target: str,
    *,
    out_dir: str | Path | None = None,
    calib: Any = None,
    verify_each: bool = False,
    after_pass: AfterPass | None = None,
    **options: Any,
) -> Compiled:
    """Lower `source` (a Graph or anything `snnc.load` reads) for `target`; write the artefacts
    into `out_dir` if given. Raises SnncError: kind INPUT for unusable input, kind CHECK carrying
    every diagnostic if the model fails the verifier, a pass or the target's check."""
    tgt = get_target(target)
    opts = tgt.options(options)
    passes = tgt.pipeline(opts, calib)
    graph = graph_of(source)
    ctx = PassContext(target=target, verify_each=verify_each)
    graph, records = _run(graph, passes, ctx, after_pass)
    found = [*ctx.diagnostics, *tgt.check(graph, opts, calib)]
    if errors(found):
        raise SnncError(found, kind=Kind.CHECK)
    artefacts = tgt.lower(graph, Path(out_dir), opts) if out_dir is not None else {}
    return Compiled(graph, target, tuple(found), artefacts, records, opts)


def check(source: Any, target: str, *, calib: Any = None, **options: Any) -> list[Diagnostic]:
    """Every diagnostic of compiling `source` for `target`, errors included, without writing
    anything. Raises SnncError only for unusable input (a missing file, an unknown target)."""
    tgt = get_target(target)
    opts = tgt.options(options)
    passes = tgt.pipeline(opts, calib)
    try:
        graph = graph_of(source)
    except SnncError as e:
        if e.kind is Kind.CHECK:  # the verifier's errors: no pass can run on an invalid graph
            return list(e.diagnostics)
        raise
    ctx = PassContext(target=target)
    try:
        graph, _ = _run(graph, passes, ctx, None)
    except SnncError as e:  # a pass that cannot go on; what the passes before it found still counts
        if e.kind is not Kind.CHECK:
            raise
        return [*ctx.diagnostics, *e.diagnostics]
    return [*ctx.diagnostics, *tgt.check(graph, opts, calib)]


def _run(
    graph: Graph, passes: list[Pass], ctx: PassContext, after_pass: AfterPass | None
) -> tuple[Graph, tuple[PassRecord, ...]]:
    """Run the passes one at a time (the driver verifies each if asked), recording each one's
    rewrites and diagnostics, and calling `after_pass` after each."""
    records = []
    for p in passes:
        before, seen = ctx.rewrites[p.name], len(ctx.diagnostics)
        graph = run_passes(graph, [p], ctx)
        records.append(PassRecord(p.name, ctx.rewrites[p.name] - before, tuple(ctx.diagnostics[seen:])))
        if after_pass is not None:
            after_pass(p.name, graph)
    return graph, tuple(records)
