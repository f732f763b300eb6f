"""Diagnostics as data.

Every check, pass and loader reports problems as `Diagnostic` records (ARCHITECTURE §4): a stable
rule id, a severity, the node it concerns (the user's module path), what is wrong, and what to
change. Only the CLI renders them. `SnncError` carries one or more diagnostics out of an API call
that cannot continue; the CLI turns it into exit code 1 (the model fails a check) or 2 (bad input).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One finding. `measured` and `limit` carry the numbers behind a resource or range rule;
    `source` is the user's layer (module path) the node stands for, where it differs from the
    node's own name (a node a pass inserted, e.g. `pool.or` from `pool`)."""

    rule: str
    message: str
    node: str | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    measured: Any = None
    limit: Any = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "node": self.node,
            "message": self.message,
            "hint": self.hint,
            "measured": _jsonable(self.measured),
            "limit": _jsonable(self.limit),
            "source": self.source,
        }

    def render(self) -> str:
        where = f" [{self.node}]" if self.node else ""
        if self.node and self.source and self.source != self.node:
            where = f" [{self.node}, from {self.source}]"
        text = f"{self.severity.value}: {self.rule}{where}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class Kind(enum.Enum):
    """Why an API call stopped: the input could not be used, or the model failed a check."""

    INPUT = 2
    CHECK = 1


@dataclass
class SnncError(Exception):
    """Raised when an API call cannot continue; carries every diagnostic found, not just the first."""

    diagnostics: Sequence[Diagnostic]
    kind: Kind = Kind.INPUT
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    @property
    def exit_code(self) -> int:
        return self.kind.value

    def render(self) -> str:
        return "\n".join(d.render() for d in self.diagnostics)

    def __str__(self) -> str:
        return self.render()


def input_error(
    rule: str,
    message: str,
    *,
    node: str | None = None,
    hint: str | None = None,
    measured: Any = None,
    limit: Any = None,
) -> SnncError:
    """Shorthand for the common case: one error diagnostic about unusable input (exit code 2)."""
    return SnncError([Diagnostic(rule, message, node=node, hint=hint, measured=measured, limit=limit)])


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity is Severity.ERROR]
