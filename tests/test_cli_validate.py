"""The shipped trained examples end to end, as a user runs them (subprocesses in a temporary
directory): the Speck example through every verb as `make demo` runs it, `snnc validate` on each
(exit codes 0/1/2, the JSON report checked against its schema, the HTML report), `snnc convert` on
the ONNX one, `snnc check` in SARIF and JUnit on one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from test_cli_compile import SCHEMAS, process, valid_junit, valid_sarif

EXAMPLES = Path(__file__).parents[1] / "examples"


def valid_report(text: str) -> dict:
    report = json.loads(text)
    schema = json.loads((SCHEMAS / "snnc-validate.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema).validate(report)
    return report


def validate(*args: str | Path, cwd: Path):
    return process("validate", *args, cwd=cwd)


def test_speck_example_through_every_verb_as_make_demo_runs_it(tmp_path):
    """The README's main command: the SpikingJelly conv net for Speck inspected, checked, compiled
    into a chip configuration, the configuration run in the event-driven model on the sample,
    reported with Speck's energy model, and validated in four stages (SpikingJelly, IR, Speck's
    integers, the event-driven model)."""
    model, sample = EXAMPLES / "speck_digits.pt", EXAMPLES / "speck_digits_sample.npz"
    labels = np.load(sample)["y"]
    spike = ("--input-dtype", "spike")

    done = process("inspect", model, *spike, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    neurons = {n["origin"] for n in json.loads(done.stdout)["nodes"] if n["kind"] == "neuron"}
    assert neurons == {"spikingjelly.IFNode"}

    done = process("check", model, *spike, "--target", "speck", "--format", "json", cwd=tmp_path)
    checked = json.loads(done.stdout)
    assert done.returncode == 0 and checked["errors"] == 0, done.stdout
    # SpikingJelly's IF neuron has no lower bound: Speck's is its 16-bit register's minimum
    assert {d["rule"] for d in checked["diagnostics"] if d["severity"] == "warning"} >= {"SPECK-VMIN-UNSET"}

    out = tmp_path / "out"
    done = process("compile", model, *spike, "--target", "speck", "-o", out, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    artefacts = json.loads(done.stdout)["artefacts"]
    config = json.loads(Path(artefacts["config"]).read_text(encoding="utf-8"))
    assert [e["core"] for e in config["placement"]] == [0, 1, 2]

    done = process("simulate", artefacts["config"], "--data", sample, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (output,) = json.loads(done.stdout)["outputs"]
    counts = np.array(output["per_neuron"]).reshape(len(labels), 10)
    assert output["shape"] == [16, len(labels), 10, 1, 1] and (counts.argmax(1) == labels).mean() > 0.85
    done = process("simulate", artefacts["config"], "--data", sample, cwd=tmp_path)
    shown = " ".join(str(int(c)) for c in counts[0])  # the class neurons [10, 1, 1] listed as ten counts
    assert done.returncode == 0 and f"sample 0: {counts[0].sum()}  per neuron [{shown}]" in done.stdout

    page = tmp_path / "report.html"
    done = process(
        "report", model, *spike, "--target", "speck", "--model", "target", "--data", sample, "--format", "json",
        "-o", page, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    cost = json.loads(done.stdout)
    assert cost["model"]["name"] == "speck" and cost["total"]["macs"] == 0 and cost["total"]["sops"] > 0
    assert page.is_file()

    done = validate(
        model, *spike, "--target", "speck", "--data", sample, "--labels", sample, "--format", "json",
        "-o", tmp_path / "validate.html", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = valid_report(done.stdout)
    assert [s["name"] for s in report["stages"]] == ["source", "ir", "quantized", "target"] and report["ok"]
    assert report["stages"][0]["title"] == "the model in spikingjelly"
    assert all(s["accuracy"] > 0.85 for s in report["stages"])
    exact = [a for a in report["layers"] if a["stages"] == ["source", "ir"]]
    assert len(exact) == 3 and all(a["spike_mismatch"] == 0 for a in exact)  # SpikingJelly and the IR agree
    assert report["first_divergence"]["stages"] == ["ir", "quantized"]
    assert ["quantized", "target"] in [d["stages"] for d in report["divergences"]]


def test_speck_example_oversize_variant_fails_check(tmp_path):
    """`speck_digits.py --oversize`: the same SpikingJelly net 80 times wider, which no Speck holds;
    check names every layer that does not fit and exits 1."""
    oversize = tmp_path / "oversize.pt"
    made = subprocess.run(
        [sys.executable, EXAMPLES / "speck_digits.py", "--oversize", oversize], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    done = process("check", oversize, "--target", "speck", "--format", "json", cwd=tmp_path)
    errors = {(d["rule"], d["node"]) for d in json.loads(done.stdout)["diagnostics"] if d["severity"] == "error"}
    assert done.returncode == 1
    assert errors == {("SPECK-CHANNELS", "3"), ("SPECK-MEMORY-KERNEL", "3"), ("SPECK-MEMORY-KERNEL", "7")}


def test_loihi_example_oversize_variant_fails_check(tmp_path):
    """`make demo-loihi`'s last step: `loihi_digits:oversize` (snnTorch's default reset, 9,000 hidden
    neurons) names every rule it breaks and exits 1."""
    done = process(
        "check", "loihi_digits:oversize", "--input-shape", "64", "--input-dtype", "spike", "--target", "loihi",
        "--format", "json", cwd=tmp_path, path=EXAMPLES,
    )  # fmt: skip
    errors = {(d["rule"], d["node"]) for d in json.loads(done.stdout)["diagnostics"] if d["severity"] == "error"}
    assert done.returncode == 1
    assert errors == {
        ("LOIHI-RESET", "1"),
        ("LOIHI-RESET", "3"),
        ("LOIHI-RESET-TIMING", "1"),
        ("LOIHI-RESET-TIMING", "3"),
        ("LOIHI-FAN-IN", "3"),
    }


def test_sinabs_example_validates_with_every_stage(tmp_path):
    sample = EXAMPLES / "sinabs_digits_sample.npz"
    done = validate(
        EXAMPLES / "sinabs_digits.pt", "--input-dtype", "spike", "--target", "sim", "--data", sample,
        "--labels", sample, "--format", "json", "-o", tmp_path / "report.html", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = valid_report(done.stdout)
    assert [s["name"] for s in report["stages"]] == ["source", "ir", "quantized"] and report["ok"]
    accuracy = {s["name"]: s["accuracy"] for s in report["stages"]}
    assert accuracy["source"] == accuracy["ir"] > 0.85 and accuracy["quantized"] > 0.85
    exact = [a for a in report["layers"] if a["stages"] == ["source", "ir"]]
    assert len(exact) == 3 and all(a["spike_mismatch"] == 0 for a in exact)  # sinabs and the IR: spike for spike
    assert report["first_divergence"]["stages"] == ["ir", "quantized"]
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "spike_output" in page and page.count("data:image/png;base64,") == 4


def test_norse_example_from_its_factory_and_weights(tmp_path):
    sample = EXAMPLES / "norse_digits_sample.npz"
    done = process(
        "validate", "norse_digits:model", "--weights", EXAMPLES / "norse_digits.pt", "--input-shape", "64",
        "--input-dtype", "spike", "--target", "sim", "--data", sample, "--labels", sample, "--format", "json",
        cwd=tmp_path, path=EXAMPLES,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = valid_report(done.stdout)
    readout = next(a for a in report["layers"] if a["compared"] == "values" and a["stages"] == ["source", "ir"])
    assert readout["membrane_error"] == 0  # the LI readout: Norse's membrane and the IR's agree exactly


def test_onnx_example_converted_then_validated_and_a_tolerance_exceeded(tmp_path):
    converted = tmp_path / "onnx_digits.snnc"
    done = process(
        "convert", EXAMPLES / "onnx_digits.onnx", "--calib", EXAMPLES / "onnx_digits_calib.npz", "--encoding",
        "rate", "--steps", "8", "-o", converted, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0 and converted.is_file(), done.stderr
    sample = EXAMPLES / "onnx_digits_sample.npz"
    labelled = ("--data", sample, "--labels", sample)
    done = validate(converted, "--target", "sim", *labelled, "--format", "json", cwd=tmp_path)
    report = valid_report(done.stdout)
    assert done.returncode == 0 and [s["name"] for s in report["stages"]] == ["ir", "quantized"]
    strict = validate(converted, "--target", "sim", "--data", sample, "--tolerance", "spikes=0", cwd=tmp_path)
    assert strict.returncode == 1 and "EXCEEDED spikes" in strict.stdout and "first divergence:" in strict.stdout


def test_unusable_input_exits_2(tmp_path):
    model = EXAMPLES / "sinabs_digits.pt"
    wrong = validate(model, "--target", "sim", "--data", EXAMPLES / "onnx_digits_sample.npz", cwd=tmp_path)
    assert wrong.returncode == 2 and "SIM-INPUT-SHAPE" in wrong.stderr
    sample = EXAMPLES / "sinabs_digits_sample.npz"
    bad = validate(model, "--target", "sim", "--data", sample, "--tolerance", "spikes=lots", cwd=tmp_path)
    assert bad.returncode == 2 and "VALIDATE-TOLERANCE-OPTION" in bad.stderr


@pytest.mark.parametrize("fmt", ["sarif", "junit"])
def test_check_of_a_shipped_example_in_ci_formats(tmp_path, fmt):
    done = process("check", EXAMPLES / "sinabs_digits.pt", "--target", "sim", "--format", fmt, cwd=tmp_path)
    assert done.returncode == 0
    if fmt == "sarif":
        assert valid_sarif(done.stdout)["runs"][0]["results"]  # the quantization notes
    else:
        assert valid_junit(done.stdout).find("testsuite").get("failures") == "0"


def test_no_example_is_large():
    sizes = {p.name: p.stat().st_size for p in EXAMPLES.iterdir() if p.suffix in (".pt", ".onnx", ".npz")}
    assert sizes and max(sizes.values()) < 2_000_000, sizes
    assert os.access(EXAMPLES / "digits_events.py", os.R_OK)
