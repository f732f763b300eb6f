"""snnc.compile and snnc.check for the sim target: the lowered graph, what each pass did, every
diagnostic at once, nothing written on failure, and the target registry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import snnc
from snnc.backends import TARGETS, get_target
from snnc.backends.target import Target
from snnc.diagnostics import Severity, SnncError
from snnc.ir import SPIKE, AvgPool2d, BatchNorm, Conv2d, Flatten, GraphBuilder, Linear, Neuron, serialize, verify

IF = Neuron(threshold=4.0, reset="zero")


def small_cnn(pool=None, bn: bool = True, nan: bool = False, seed: int = 0, dtype=SPIKE) -> snnc.Graph:
    """x (spikes, or `dtype`) → conv → [bn] → if → [pool] → flatten → fc → if → out, integer weights."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("small-cnn")
    weight = rng.integers(-3, 4, (4, 2, 3, 3)).astype(np.float32)
    if nan:
        weight[0, 0, 0, 0] = np.nan
    last = b.add("conv", Conv2d(weight=weight), b.input("x", (2, 8, 8), dtype))
    if bn:
        op = BatchNorm(mean=np.full(4, 0.5), var=np.full(4, 0.25), weight=np.ones(4), bias=np.zeros(4), eps=0.0)
        last = b.add("bn", op, last)
    last = b.add("if1", IF, last)
    if pool is not None:
        last = b.add("pool", pool, last)
    flat = b.add("flat", Flatten(), last)
    fc = b.add("fc", Linear(weight=rng.integers(-3, 4, (5, b.type_of(flat).shape[0])).astype(np.float32)), flat)
    b.output("out", b.add("if2", IF, fc))
    return b.build()


def test_compile_for_sim_folds_quantizes_and_checks():
    compiled = snnc.compile(small_cnn(), "sim")
    assert [(p.name, p.rewrites) for p in compiled.passes] == [
        ("canonicalize-neuron", 0),
        ("fold-bn", 1),
        ("avgpool-to-sumpool", 0),
        ("absorb-scale", 0),
        ("quantize", 4),
        ("check-spike-driven", 0),
    ]
    g = compiled.graph
    assert not verify(g) and g.arithmetic is not None and "bn" not in g
    assert {n.name for n in g if n.op.formats()} == {"conv", "if1", "fc", "if2"}
    assert g.node("conv").op.weight_format.bits == 8 and compiled.artefacts == {}
    losses = [d.node for d in compiled.diagnostics if d.rule == "QUANT-LOSS"]
    (quantize,) = [p for p in compiled.passes if p.name == "quantize"]
    assert losses == ["conv", "fc"] and quantize.diagnostics == tuple(compiled.diagnostics[:2])


def test_bits_and_verification_after_every_pass():
    compiled = snnc.compile(small_cnn(), "sim", bits=16, verify_each=True)
    assert compiled.graph.node("fc").op.weight_format.bits == 16


def test_the_lowered_graph_is_written_and_reads_back(tmp_path):
    compiled = snnc.compile(small_cnn(), "sim", out_dir=tmp_path / "out")
    path = compiled.artefacts["graph"]
    assert path == tmp_path / "out" / "small-cnn.sim.snnc"
    assert serialize.dumps(snnc.load(path)) == serialize.dumps(compiled.graph)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def _failing() -> snnc.Graph:
    """An average pool whose border windows divide by fewer elements (padding without
    count_include_pad) has no exact sum-pool form, so it leaves real values that no integer
    format holds (QUANT-UNSUPPORTED) and that the fc multiplies (SPIKE-DRIVEN, a warning on sim)."""
    return small_cnn(pool=AvgPool2d(kernel=2, padding=1, count_include_pad=False), bn=False)


def test_a_failing_model_raises_every_diagnostic_and_writes_nothing(tmp_path):
    with pytest.raises(SnncError) as err:
        snnc.compile(_failing(), "sim", out_dir=tmp_path)
    found = {(d.rule, d.node, d.severity) for d in err.value.diagnostics}
    assert ("QUANT-UNSUPPORTED", "pool", Severity.ERROR) in found
    assert ("SPIKE-DRIVEN", "fc", Severity.WARNING) in found
    assert err.value.exit_code == 1 and list(tmp_path.iterdir()) == []


def test_check_returns_the_same_diagnostics_instead_of_raising():
    found = snnc.check(_failing(), "sim")
    assert {(d.rule, d.node) for d in found} >= {("QUANT-UNSUPPORTED", "pool"), ("SPIKE-DRIVEN", "fc")}
    assert not [d for d in snnc.check(small_cnn(), "sim") if d.severity is not Severity.INFO]


def test_check_reports_a_graph_the_verifier_rejects():
    found = snnc.check(small_cnn(nan=True), "sim")
    assert [(d.rule, d.node) for d in found] == [("IR-NONFINITE", "conv")]


@pytest.mark.parametrize("call", [snnc.compile, snnc.check])
def test_an_unknown_target_is_an_input_error(call):
    with pytest.raises(SnncError) as err:
        call(small_cnn(), "speck9")
    assert err.value.diagnostics[0].rule == "TARGET-UNKNOWN" and err.value.exit_code == 2


def test_every_registered_target_has_the_protocol():
    for name in TARGETS:
        target = get_target(name)
        assert isinstance(target, Target) and target.name == name
        assert all(callable(getattr(target, f)) for f in ("pipeline", "check", "lower", "simulate", "energy_model"))
        assert dataclasses.is_dataclass(target.Options) and target.Options.__dataclass_params__.frozen


def test_the_compiled_graph_simulates_in_integers():
    """The integer simulation of the compiled graph against the float graph. Measured on these
    10 nets (T=20, B=4, 5 outputs): 95.0% to 99.75% of the output spikes agree, the same at 8
    and 16 bits: integer weights with thresholds 4 make many float sums land exactly on the
    threshold, and there rounding w·s (not proportional to w) decides the spike."""
    x = (np.random.default_rng(1).random((20, 4, 2, 8, 8)) < 0.4).astype(np.float32)
    worst = 1.0
    for seed in range(10):
        g = small_cnn(seed=seed)
        expected = snnc.simulate(g, x).output
        compiled = snnc.compile(g, "sim")
        assert compiled.graph.arithmetic is not None
        worst = min(worst, float((compiled.simulate(x).output == expected).mean()))
    assert worst >= 0.95
