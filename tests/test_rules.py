"""The rule table (snnc/rules.py) lists exactly the rule ids snnc's sources use.

Both directions matter: an id missing from the table is undocumented for users, and an entry no
code uses documents a diagnostic that can never appear.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import snnc
from snnc.rules import RULES

RULE_ID = re.compile(r"[A-Z]+(-[A-Z0-9]+)+")
PACKAGE = Path(snnc.__file__).parent


def _used_rule_ids() -> dict[str, list[str]]:
    """Rule-id-shaped string literals in the package (rules.py itself excluded), with where they occur."""
    used: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "rules.py" and path.parent == PACKAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.fullmatch(node.value):
                used.setdefault(node.value, []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return used


def test_every_rule_id_used_in_the_sources_is_documented():
    undocumented = {rule: where for rule, where in _used_rule_ids().items() if rule not in RULES}
    assert not undocumented, f"add these rule ids to snnc/rules.py: {undocumented}"


def test_every_documented_rule_is_used():
    unused = sorted(set(RULES) - set(_used_rule_ids()))
    assert not unused, f"snnc/rules.py documents rules no code reports: {unused}"


def test_entries_are_well_formed():
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and RULE_ID.fullmatch(rule_id)
        assert rule.title and not rule.title.endswith(".")
        assert len(rule.doc) > 80, f"{rule_id}: say what it means, why it matters and how to fix it"
