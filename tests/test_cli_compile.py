"""`snnc compile` and `snnc check` end to end: exit codes 0/1/2, JSON, SARIF 2.1.0 and JUnit XML
(each validated against its schema, tests/schemas/), --strict, nothing written on failure.

The contract cases run as a user runs them, a subprocess in a temporary directory; the others call
`snnc.cli.main` in-process (the same parser and code, without a second Python start-up each)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from test_compile import small_cnn

from snnc import cli
from snnc.diagnostics.rules import all_rules
from snnc.ir import FLOAT, AvgPool2d, serialize

SCHEMAS = Path(__file__).parent / "schemas"
PASSES = ["canonicalize-neuron", "fold-bn", "avgpool-to-sumpool", "absorb-scale", "quantize", "check-spike-driven"]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """good (compiles), warned (compiles with a warning: the range of its real-valued input is not
    known), failing (QUANT-UNSUPPORTED + SPIKE-DRIVEN), nan (the verifier rejects it)."""
    d = tmp_path_factory.mktemp("models")
    graphs = {
        "good": small_cnn(),
        "warned": small_cnn(dtype=FLOAT),
        "failing": small_cnn(pool=AvgPool2d(kernel=2, padding=1, count_include_pad=False), bn=False),
        "nan": small_cnn(nan=True),
    }
    paths = {}
    for stem, graph in graphs.items():
        paths[stem] = d / f"{stem}.snnc"
        serialize.save(graph, paths[stem])
    return paths


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


def process(*args: str | Path, cwd: Path, path: Path | None = None) -> Done:
    """`snnc ARGS` in a subprocess; `path` is put in front of PYTHONPATH (a factory's module)."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(path), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-m", "snnc", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300, env=env
    )
    assert "Traceback" not in done.stderr
    return Done(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def in_process(capsys, monkeypatch, tmp_path):
    """`snnc ARGS` through cli.main in tmp_path; argparse's exits become return codes."""
    monkeypatch.chdir(tmp_path)

    def call(*args: str | Path) -> Done:
        try:
            code = cli.main([str(a) for a in args])
        except SystemExit as e:
            code = int(e.code)
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return Done(code, out, err)

    return call


# --- compile ----------------------------------------------------------------------------------


def test_compile_writes_the_lowered_graph_and_prints_what_each_pass_did(models, tmp_path):
    done = process("compile", models["good"], "--target", "sim", "-o", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "out" / "small-cnn.sim.snnc"
    assert serialize.load(written).arithmetic is not None
    assert re.search(r"fold-bn +1 rewrite\(s\)", done.stdout) and "QUANT-LOSS [conv]" in done.stdout
    assert f"wrote graph: {written}" in done.stdout


def test_a_failing_compile_exits_1_and_writes_nothing(models, tmp_path):
    out = tmp_path / "out"
    done = process("compile", models["failing"], "--target", "sim", "-o", out, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    rules = {(d["rule"], d["node"]) for d in json.loads(done.stdout)["diagnostics"]}
    assert {("QUANT-UNSUPPORTED", "pool"), ("SPIKE-DRIVEN", "fc")} <= rules
    assert not out.exists()


def test_compile_json_with_16_bits_and_debug_flags(models, tmp_path, in_process):
    done = in_process(
        "compile", models["good"], "--target", "sim", "--bits", "16", "--format", "json",
        "--verify-each", "--print-between-passes", "-o", "out",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert [p["name"] for p in summary["passes"]] == PASSES and summary["nodes"] == {"before": 8, "after": 7}
    assert summary["passes"][PASSES.index("fold-bn")]["rewrites"] == 1
    graph = serialize.load(tmp_path / summary["artefacts"]["graph"])
    assert graph.node("conv").op.weight_format.bits == 16
    assert [line for line in done.stderr.splitlines() if line.startswith("// after ")] == [
        f"// after {name}" for name in PASSES
    ]


@pytest.mark.parametrize(
    ("args", "words"),
    [(("--bits", "12"), "invalid choice"), (("-o", "FILE"), "IO-WRITE"), (("--target", "loihi9"), "invalid choice")],
)
def test_bad_options_exit_2_and_write_nothing(models, tmp_path, in_process, args, words):
    (tmp_path / "FILE").write_text("not a directory")
    done = in_process("compile", models["good"], "--target", "sim", *args)
    assert done.returncode == 2 and words in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["FILE"]


# --- check ------------------------------------------------------------------------------------


def test_check_of_a_clean_model_exits_0_and_writes_nothing(models, tmp_path):
    done = process("check", models["good"], "--target", "sim", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["errors"], report["warnings"]) == (0, 0) and report["notes"] == 2  # QUANT-LOSS per layer
    assert list(tmp_path.iterdir()) == []


def test_check_text(models, in_process):
    done = in_process("check", models["failing"], "--target", "sim")
    assert done.returncode == 1
    assert "error: QUANT-UNSUPPORTED [pool]" in done.stdout and "warning: SPIKE-DRIVEN [fc]" in done.stdout
    assert "warning: PASS-AVGPOOL-NOT-CONVERTED [pool]" in done.stdout  # the border windows are uneven
    assert done.stdout.rstrip().endswith("for sim: 1 error(s), 2 warning(s)")


def test_check_json_of_a_graph_the_verifier_rejects_exits_1(models, in_process):
    done = in_process("check", models["nan"], "--target", "sim", "--format", "json")
    assert done.returncode == 1
    assert [(d["rule"], d["node"]) for d in json.loads(done.stdout)["diagnostics"]] == [("IR-NONFINITE", "conv")]


def valid_sarif(text: str) -> dict:
    """The SARIF log, checked against OASIS' SARIF 2.1.0 schema (errata01)."""
    log = json.loads(text)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)
    return log


def valid_junit(text: str) -> ET.Element:
    """The JUnit report, checked against the Apache Ant JUnit schema."""
    xmlschema.XMLSchema(SCHEMAS / "JUnit.xsd").validate(text)
    return ET.fromstring(text)


def test_check_sarif(models, tmp_path):
    done = process("check", models["failing"], "--target", "sim", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 1
    sarif = valid_sarif(done.stdout)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "snnc" and run["results"]
    for result in run["results"]:
        rule = driver["rules"][result["ruleIndex"]]
        assert rule["id"] == result["ruleId"] and result["level"] in ("error", "warning", "note")
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == str(models["failing"])
    spike = next(r for r in run["results"] if r["ruleId"] == "SPIKE-DRIVEN")
    assert spike["level"] == "warning" and spike["locations"][0]["logicalLocations"][0]["name"] == "fc"
    documented = next(r for r in driver["rules"] if r["id"] == "SPIKE-DRIVEN")
    assert documented["fullDescription"]["text"] == all_rules()["SPIKE-DRIVEN"].doc


def test_check_junit(models, tmp_path, in_process):
    done = process("check", models["failing"], "--target", "sim", "--format", "junit", cwd=tmp_path)
    assert done.returncode == 1
    (suite,) = valid_junit(done.stdout).findall("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("tests")) == len(cases) and int(suite.get("failures")) == len(failures) == 1
    assert failures[0].get("name") == "QUANT-UNSUPPORTED pool"
    assert "SPIKE-DRIVEN" in suite.find("system-out").text  # the warning passes, its message kept
    clean = in_process("check", models["good"], "--target", "sim", "--format", "junit")
    assert clean.returncode == 0 and valid_junit(clean.stdout).find("testsuite").get("failures") == "0"


def test_check_strict_fails_on_warnings(models, in_process, monkeypatch):
    """A model with warnings only (the range of its real input is unknown, so its threshold is
    clipped) passes check, and fails it with --strict, where JUnit counts the warnings as failures."""
    plain = in_process("check", models["warned"], "--target", "sim", "--format", "json")
    found = json.loads(plain.stdout)
    warned = [d["rule"] for d in found["diagnostics"] if d["severity"] == "warning"]
    assert plain.returncode == 0 and found["errors"] == 0 and warned == ["QUANT-INPUT-RANGE", "QUANT-THRESHOLD"]
    strict = in_process("check", models["warned"], "--target", "sim", "--strict")
    assert strict.returncode == 1 and "--strict: warnings fail" in strict.stdout
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    junit = in_process("check", models["warned"], "--target", "sim", "--format", "junit", "--strict")
    suite = valid_junit(junit.stdout).find("testsuite")
    assert junit.returncode == 1 and suite.get("failures") == "2"
    assert [f.get("type") for f in suite.findall("testcase/failure")] == warned
    assert suite.get("timestamp") == "1970-01-01T00:00:00"
    sarif = in_process("check", models["warned"], "--target", "sim", "--format", "sarif", "--strict")
    levels = {r["ruleId"]: r["level"] for r in valid_sarif(sarif.stdout)["runs"][0]["results"]}
    assert sarif.returncode == 1 and levels["QUANT-INPUT-RANGE"] == "warning"


def test_check_of_a_missing_model_exits_2(tmp_path, in_process):
    done = process("check", tmp_path / "missing.snnc", "--target", "sim", "--format", "sarif", cwd=tmp_path)
    assert done.returncode == 2
    (result,) = valid_sarif(done.stdout)["runs"][0]["results"]
    assert (result["ruleId"], result["level"]) == ("IO-NOT-FOUND", "error")
    text = in_process("check", tmp_path / "missing.snnc", "--target", "sim")
    assert text.returncode == 2 and "IO-NOT-FOUND" in text.stderr
