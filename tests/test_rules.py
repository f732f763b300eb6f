"""The rule tables (snnc/*/rules.py, collected by snnc/diagnostics/rules.py) document exactly the
rule ids snnc's sources use.

Both directions matter: an id missing from the tables is undocumented for users, and an entry no
code uses documents a diagnostic that can never appear. A rule's documentation site is the first
argument of a `Rule(...)` call; every other rule-id-shaped string literal is a use.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import snnc
from snnc.diagnostics.rules import all_rules, rule_modules

RULE_ID = re.compile(r"[A-Z]+(-[A-Z0-9]+)+")
PACKAGE = Path(snnc.__file__).parent


def _used_rule_ids() -> dict[str, list[str]]:
    """Rule-id-shaped string literals in the package, except those documenting a rule, with where they occur."""
    used: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        documenting = {
            id(node.args[0])
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Rule" and node.args
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and RULE_ID.fullmatch(node.value)
                and id(node) not in documenting
            ):
                used.setdefault(node.value, []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return used


def test_every_rule_id_used_in_the_sources_is_documented():
    undocumented = {rule: where for rule, where in _used_rule_ids().items() if rule not in all_rules()}
    assert not undocumented, f"document these rule ids in their area's rules.py: {undocumented}"


def test_every_documented_rule_is_used():
    unused = sorted(set(all_rules()) - set(_used_rule_ids()))
    assert not unused, f"the rule tables document rules no code reports: {unused}"


def test_entries_are_well_formed():
    for rule_id, rule in all_rules().items():
        assert rule.id == rule_id and RULE_ID.fullmatch(rule_id)
        assert rule.title and not rule.title.endswith(".")
        assert len(rule.doc) > 80, f"{rule_id}: say what it means, why it matters and how to fix it"


def test_every_area_keeps_its_rules_beside_its_code():
    """Each rules.py is found by the collector, and each rule's prefix belongs to its area."""
    assert "snnc.ir.rules" in rule_modules() and "snnc.backends.rules" in rule_modules()
    assert len(all_rules()) == sum(len(__import__(m, fromlist=["RULES"]).RULES) for m in rule_modules())
