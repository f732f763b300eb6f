"""Every diagnostic rule of snnc, documented once (ARCHITECTURE §4), collected from its areas.

A rule id names the problem, not its fix (ruff's rule naming convention), and stays stable: CI
scripts filter on it. Each entry says what the rule means, why it matters and how to fix it, and,
where the rule compares a value with a limit, where that limit comes from. The prefix says which
part of snnc reports it: IR (verifier), IO (the .snnc file format), SIM (reference simulator),
FE (model loading), CLI (the command line), PASS/SPIKE/QUANT (passes), TARGET (targets and their
options), SPECK/LOIHI (a chip's rules), COST (the cost model), CONVERT/EXPORT (interchange).

Each area keeps its rules beside the code that reports them, in a module named `rules.py`
holding a tuple `RULES` of `Rule`s (snnc/ir/rules.py, snnc/backends/speck/rules.py, ...), as ruff
keeps a rule's documentation in its own file; this module collects them all, as ruff's codes.rs
does. A new area's rules.py is found without registering it. `tests/test_rules.py` keeps the
tables honest: every rule id used in snnc's sources is documented, every documented rule is used,
and no id is documented twice.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    """One rule: `title` is a one-line summary, `doc` the paragraph a user reads to fix it."""

    id: str
    title: str
    doc: str
    limit_source: str | None = None  # where a numeric limit comes from; None if the rule has none


def rule_modules() -> list[str]:
    """The dotted names of every area's rule module: each `rules.py` in the package."""
    package = Path(__file__).resolve().parents[1]
    found = []
    for path in sorted(package.rglob("rules.py")):
        if path == Path(__file__).resolve():
            continue
        parts = path.relative_to(package.parent).with_suffix("").parts
        found.append(".".join(parts))
    return found


@functools.cache
def all_rules() -> dict[str, Rule]:
    """Every documented rule by id, from every area; a rule documented twice is a bug in snnc."""
    table: dict[str, Rule] = {}
    for name in rule_modules():
        for rule in importlib.import_module(name).RULES:
            if rule.id in table:
                raise RuntimeError(f"rule {rule.id} is documented twice ({name})")
            table[rule.id] = rule
    return table
