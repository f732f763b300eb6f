"""What every pass shares: the context it reports to, and the driver that runs a pipeline.

A pass is a small pure function object from graph to graph (ARCHITECTURE §3): a frozen
dataclass whose fields are its options and whose `name` is its stable spelling (file, table and
CLI agree: `fold_bn.py` ↔ `fold-bn`), called as `pass_(graph, ctx) -> Graph`. It never edits its
input; it reports what it rewrote (`ctx.count`) and every problem it found or rewrite it had to
skip (`ctx.emit`, a Diagnostic naming the node), as torch.fx's PassResult and xdsl's ModulePass
do. "Verified graph in, verified graph out": `run_passes` checks it after every pass when asked,
and names the failing pass and the passes run before it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol

from snnc.diagnostics import Diagnostic, Kind, SnncError, errors
from snnc.ir.graph import Graph
from snnc.ir.verify import verify


@dataclass
class PassContext:
    target: str | None = None
    verify_each: bool = False  # verify after every pass (tests, `--verify-each`)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rewrites: Counter[str] = field(default_factory=Counter)  # pass name -> rewrites made
    applied: list[str] = field(default_factory=list)  # names of the passes run, in order

    def emit(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    def count(self, pass_name: str, n: int = 1) -> None:
        self.rewrites[pass_name] += n


class Pass(Protocol):
    name: ClassVar[str]

    def __call__(self, graph: Graph, ctx: PassContext) -> Graph: ...


def with_sources(diagnostics: list[Diagnostic], *graphs: Graph) -> list[Diagnostic]:
    """`diagnostics` with each one's `source` filled in from the first of `graphs` holding its node,
    where the node stands for a user layer of another name (a node a pass inserted or renamed)."""
    out = []
    for d in diagnostics:
        holder = next((g for g in graphs if d.node is not None and d.node in g), None)
        source = holder.node(d.node).source if holder is not None and d.node is not None else None
        out.append(replace(d, source=source) if d.source is None and source not in (None, d.node) else d)
    return out


def run_passes(graph: Graph, passes: Iterable[Pass], ctx: PassContext) -> Graph:
    """Apply `passes` in order. With `ctx.verify_each`, a pass whose output fails the verifier
    raises SnncError (kind CHECK) carrying the verifier's errors and naming the pass."""
    for p in passes:
        seen = len(ctx.diagnostics)
        before, graph = graph, p(graph, ctx)
        ctx.diagnostics[seen:] = with_sources(ctx.diagnostics[seen:], graph, before)
        ctx.applied.append(p.name)
        if ctx.verify_each:
            found = errors(verify(graph))
            if found:
                before = ", ".join(ctx.applied[:-1]) or "none"
                note = Diagnostic(
                    "PASS-BROKE-GRAPH",
                    f"pass {p.name} produced an invalid graph (passes run before it: {before})",
                    hint="this is a bug in snnc; please report it with the model",
                )
                raise SnncError([note, *found], kind=Kind.CHECK)
    return graph
