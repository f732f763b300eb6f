"""The pass table (snnc/passes/__init__.py) and the targets' pipelines (snnc/backends/<t>/target.py)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import snnc.passes
from snnc.backends import TARGETS, get_target
from snnc.diagnostics import Severity, SnncError
from snnc.passes import PASSES, get_pass

PACKAGE = Path(snnc.passes.__file__).parent


@pytest.mark.parametrize("name", sorted(PASSES))
def test_every_registered_name_is_the_pass_s_own_name(name):
    cls = get_pass(name)
    assert cls.name == name
    assert Path(inspect.getfile(cls)).stem == name.replace("-", "_")
    doc = inspect.getmodule(cls).__doc__ or ""
    assert "Why" in doc and "preserves" in doc, "a pass's module says why it exists and what it preserves"


def test_every_pass_class_in_the_package_is_registered():
    """A class with a string `name` and a __call__ defined in a module of snnc/passes (or of a
    subpackage such as passes/quantize/) is a pass."""
    found = {}
    for info in pkgutil.walk_packages(snnc.passes.__path__, "snnc.passes."):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            is_pass = inspect.isclass(cls) and isinstance(getattr(cls, "name", None), str) and callable(cls)
            if is_pass and cls.__module__ == module.__name__ and "__call__" in vars(cls):
                found[cls.name] = cls.__name__
    assert found == PASSES


def test_an_unknown_pass_lists_the_known_ones():
    with pytest.raises(KeyError, match="fold-bn"):
        get_pass("fold-batchnorm")


def pipeline(target, **options):
    t = get_target(target)
    return t.pipeline(t.options(options))


def test_the_sim_pipeline():
    passes = pipeline("sim")
    assert [p.name for p in passes] == [
        "canonicalize-neuron",
        "fold-bn",
        "avgpool-to-sumpool",
        "absorb-scale",
        "quantize",
        "check-spike-driven",
    ]
    assert passes[-2].spec.weight_bits == 8 and passes[-1].severity is Severity.WARNING
    assert pipeline("sim", bits=16)[-2].spec.weight_bits == 16
    assert pipeline("sim", encoding=("conv1",))[-1].encoding == ("conv1",)


@pytest.mark.parametrize(
    ("target", "options", "rule"),
    [("sim", {"bits": 12}, "TARGET-OPTION"), ("sim", {"bit": 8}, "TARGET-OPTION"), ("speck9", {}, "TARGET-UNKNOWN")],
)
def test_bad_targets_and_options_are_input_errors(target, options, rule):
    with pytest.raises(SnncError) as err:
        pipeline(target, **options)
    assert [d.rule for d in err.value.diagnostics] == [rule] and err.value.exit_code == 2


def test_every_pipeline_is_made_of_registered_passes():
    for target in TARGETS:
        assert all(PASSES.get(p.name) == type(p).__name__ for p in pipeline(target))
