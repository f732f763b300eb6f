"""Diagnostics rendered for people and for CI systems: text, JSON, SARIF 2.1.0 and JUnit XML
(`--format`); the one place a diagnostic becomes text.

SARIF (OASIS Static Analysis Results Interchange Format 2.1.0) is what code-scanning services
ingest: one run, the tool's rules (id, title, documentation from the rule tables collected by
snnc/diagnostics/rules.py) and one result per diagnostic, located at the model file and,
logically, at the node. JUnit XML is what test dashboards show: one test suite, one failing test
case per error, warnings and notes as passing cases (their messages in the suite's output), and
one passing case when there is nothing to report (as ruff's junit renderer does,
crates/ruff_db/src/diagnostic/render/junit.rs). Both are checked against their schemas in the
tests (tests/schemas/: OASIS' SARIF 2.1.0 JSON schema, the Apache Ant JUnit XSD).
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from snnc.diagnostics import Diagnostic, Severity
from snnc.diagnostics.rules import all_rules


def render_text(diagnostics: Iterable[Diagnostic]) -> str:
    """One diagnostic per paragraph: `severity: RULE [node]: message`, then its hint."""
    return "\n".join(d.render() for d in diagnostics)


def render_json(diagnostics: Iterable[Diagnostic]) -> list[dict[str, Any]]:
    """The diagnostics as JSON-ready records (each command embeds them in its own document)."""
    return [d.to_dict() for d in diagnostics]


SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(diagnostics: Sequence[Diagnostic], *, uri: str, version: str) -> str:
    rule_ids = sorted({d.rule for d in diagnostics})
    rules = [_sarif_rule(rule_id) for rule_id in rule_ids]
    results = [
        {
            "ruleId": d.rule,
            "ruleIndex": rule_ids.index(d.rule),
            "level": _SARIF_LEVEL[d.severity],
            "message": {"text": d.message + (f" (hint: {d.hint})" if d.hint else "")},
            "locations": [_location(d, uri)],
        }
        for d in diagnostics
    ]
    run = {
        "tool": {"driver": {"name": "snnc", "version": version, "rules": rules}},
        "artifacts": [{"location": {"uri": uri}}],
        "results": results,
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)


def _sarif_rule(rule_id: str) -> dict[str, Any]:
    rule = all_rules().get(rule_id)
    if rule is None:
        return {"id": rule_id}
    return {"id": rule_id, "shortDescription": {"text": rule.title}, "fullDescription": {"text": rule.doc}}


def _location(d: Diagnostic, uri: str) -> dict[str, Any]:
    location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    if d.node:
        location["logicalLocations"] = [{"name": d.node, "fullyQualifiedName": d.node, "kind": "module"}]
    return location


def render_junit(
    diagnostics: Sequence[Diagnostic], *, suite: str, failing: Iterable[Severity] = (Severity.ERROR,)
) -> str:
    """JUnit XML in the Apache Ant layout (the schema tests/schemas/JUnit.xsd checks): one
    testsuite; one test case per diagnostic, failing for the severities in `failing` (errors;
    warnings too under `check --strict`), passing otherwise; the passing cases' messages and hints
    in the suite's system-out, since a test case holds only its outcome. `timestamp` is the time of
    the run, or $SOURCE_DATE_EPOCH where set (reproducible output)."""
    failing = set(failing)
    failed = [d for d in diagnostics if d.severity in failing]
    tests = str(max(len(diagnostics), 1))
    root = ET.Element("testsuites")
    cases = ET.SubElement(
        root,
        "testsuite",
        name=suite,
        package="snnc",
        id="0",
        timestamp=_timestamp(),
        hostname="localhost",
        tests=tests,
        failures=str(len(failed)),
        errors="0",
        skipped="0",
        time="0",
    )
    ET.SubElement(cases, "properties")
    if not diagnostics:
        ET.SubElement(cases, "testcase", classname=suite, name="no diagnostics", time="0")
    for d in diagnostics:
        case = ET.SubElement(cases, "testcase", classname=suite, name=f"{d.rule} {d.node or suite}", time="0")
        if d.severity in failing:
            ET.SubElement(case, "failure", message=d.message, type=d.rule).text = d.render()
    ET.SubElement(cases, "system-out").text = "\n".join(d.render() for d in diagnostics if d.severity not in failing)
    ET.SubElement(cases, "system-err").text = ""
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def _timestamp() -> str:
    """ISO 8601 without a time zone, as the schema asks: now (UTC), or $SOURCE_DATE_EPOCH."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S")
