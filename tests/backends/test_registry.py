"""The one target registry (snnc/backends/__init__.py): every verb taking --target accepts exactly
the registered targets, and a target is its own package plus one registry line — shown here by a
complete target defined in this test module and registered for the test alone."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pytest

import snnc
from snnc import cli
from snnc.backends import TARGETS
from snnc.backends.target import Artefacts, Target
from snnc.diagnostics import Diagnostic, SnncError
from snnc.ir import GraphBuilder, Linear, Neuron, serialize
from snnc.passes.base import Pass
from snnc.passes.fold_bn import FoldBN


def _target_choices() -> dict[str, list[str]]:
    """--target's choices in every verb that has one (the command builds the parser of the verb it runs)."""
    found = {}
    for name in cli.VERBS:
        verbs = next(a for a in cli._parser(name)._actions if isinstance(a, argparse._SubParsersAction))
        for action in verbs.choices[name]._actions:
            if "--target" in action.option_strings:
                found[name] = list(action.choices)
    return found


def test_every_verb_with_a_target_accepts_exactly_the_registered_ones():
    choices = _target_choices()
    assert {"compile", "check", "report"} <= set(choices)
    assert all(found == list(TARGETS) for found in choices.values()), choices


@dataclass(frozen=True)
class FakeOptions:
    lanes: Literal[1, 2, 4] = field(default=1, metadata={"help": "how many lanes the fake chip has"})
    limit: int = field(default=8, metadata={"help": "the most neurons a layer may have"})


def _too_big(graph, options: FakeOptions):
    for node in graph:
        if isinstance(node.op, Neuron) and node.type.numel > options.limit * options.lanes:
            yield Diagnostic("TARGET-OPTION", f"{node.type.numel} neurons > {options.limit}", node=node.name)


class FakeTarget(Target):
    """A whole target in a dozen lines: options, a pipeline, one rule, a lowering."""

    name: ClassVar[str] = "fake"
    summary: ClassVar[str] = "a target defined in a test"
    Options: ClassVar[type] = FakeOptions
    rules: ClassVar = (_too_big,)

    def pipeline(self, options: FakeOptions, calib: Any = None) -> list[Pass]:
        return [FoldBN()]

    def lower(self, graph, out_dir: Path, options: FakeOptions) -> Artefacts:
        path = Path(out_dir) / f"{graph.name}.lanes{options.lanes}.snnc"
        serialize.save(graph, path)
        return {"graph": path}


def tiny():
    b = GraphBuilder("tiny")
    b.output("out", b.add("n", Neuron(), b.add("fc", Linear(np.ones((6, 3), np.float32)), b.input("x", (3,)))))
    return b.build()


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(TARGETS, "fake", f"{__name__}:FakeTarget")


def test_a_target_defined_elsewhere_plugs_in_with_one_registry_line(fake, tmp_path):
    compiled = snnc.compile(tiny(), "fake", out_dir=tmp_path, lanes="2")  # text, as the CLI gives it
    assert compiled.options == FakeOptions(lanes=2) and [p.name for p in compiled.passes] == ["fold-bn"]
    assert compiled.artefacts == {"graph": tmp_path / "tiny.lanes2.snnc"}
    assert snnc.check(tiny(), "fake", limit=4) == [Diagnostic("TARGET-OPTION", "6 neurons > 4", node="n")]
    with pytest.raises(SnncError) as err:
        snnc.compile(tiny(), "fake", lanes=3)
    assert [d.rule for d in err.value.diagnostics] == ["TARGET-OPTION"] and "1, 2, 4" in err.value.render()
    assert "fake" in _target_choices()["compile"]


def test_the_cli_generates_each_target_s_flags_from_its_options(fake, tmp_path):
    serialize.save(tiny(), tmp_path / "tiny.snnc")
    model, out = str(tmp_path / "tiny.snnc"), str(tmp_path)
    assert cli.main(["compile", model, "--target", "fake", "--lanes", "4", "-o", out]) == 0
    assert (tmp_path / "tiny.lanes4.snnc").exists()
    assert cli.main(["compile", model, "--target", "sim", "--lanes", "4", "-o", out]) == 2  # not a sim option
