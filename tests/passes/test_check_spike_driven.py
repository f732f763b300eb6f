"""check-spike-driven: clean SNNs pass; each kind of real-valued source is named with its path and
hint; encoding layers; count limits; products of event tensors; severity per target."""

from __future__ import annotations

import numpy as np
import pytest
from pass_harness import apply, rules_at

from snnc.diagnostics import Severity
from snnc.ir import (
    FLOAT,
    AvgPool2d,
    BatchNorm,
    Conv2d,
    Elementwise,
    Flatten,
    GraphBuilder,
    Linear,
    Neuron,
    ReLU,
    Scale,
    SumPool2d,
)
from snnc.passes.check_spike_driven import CheckSpikeDriven

IF = Neuron(threshold=1.0)


def conv(c_in: int = 2, c_out: int = 2) -> Conv2d:
    return Conv2d(weight=np.ones((c_out, c_in, 3, 3), np.float32), padding=1)


def chain(*ops, dtype=FLOAT):
    """input (2, 4, 4) → enc (conv) → lif → ops… → fc → out: `ops` as (name, op) pairs."""
    b = GraphBuilder("g")
    last = b.add("lif", IF, b.add("enc", conv(), b.input("x", (2, 4, 4), dtype=dtype)))
    for name, op in ops:
        last = b.add(name, op, last)
    flat = b.add("flat", Flatten(), last)
    b.output("out", b.add("fc", Linear(weight=np.ones((3, b.type_of(flat).shape[0]), np.float32)), flat))
    return b.build()


def test_a_spiking_net_with_an_encoding_layer_is_clean():
    g = chain(("conv", conv()), ("lif2", IF), ("pool", SumPool2d(kernel=2)))
    out, ctx = apply(CheckSpikeDriven(), g)
    assert out is g and ctx.diagnostics == [] and ctx.rewrites["check-spike-driven"] == 0


@pytest.mark.parametrize(
    ("ops", "path", "hint"),
    [
        ([("bn", BatchNorm(mean=np.zeros(2), var=np.ones(2), weight=np.ones(2), bias=np.ones(2)))], "bn", "fold-bn"),
        ([("pool", AvgPool2d(kernel=2))], "pool", "avgpool-to-sumpool"),
        ([("scale", Scale(np.float32(2)))], "scale", "absorb-scale"),
        ([("conv", conv()), ("relu", ReLU())], "conv → relu", "spiking neuron between"),
        ([("conv", conv())], "conv", "spiking neuron between"),
    ],
    ids=["batchnorm", "avgpool", "scale", "conv-relu", "conv-conv"],
)
def test_each_real_valued_source_is_named_with_its_path(ops, path, hint):
    _out, ctx = apply(CheckSpikeDriven(), chain(*ops))
    assert rules_at(ctx.diagnostics) == [("SPIKE-DRIVEN", "fc")]
    d = ctx.diagnostics[0]
    assert f"(path {path} → flat → fc)" in d.message and hint in d.hint
    assert d.severity is Severity.ERROR and d.measured == "float"
    if ops[-1][0] == "relu":  # the ReLU passes the conv's real values on: the conv is where they start
        assert "from conv (conv2d)" in d.message


def test_the_first_layer_on_a_real_input_is_an_encoding_layer_unless_named_otherwise():
    g = chain()
    assert apply(CheckSpikeDriven(), g)[1].diagnostics == []
    _, ctx = apply(CheckSpikeDriven(encoding=()), g)
    assert rules_at(ctx.diagnostics) == [("SPIKE-DRIVEN", "enc")]
    assert "(path x → enc)" in ctx.diagnostics[0].message and "encoding layer" in ctx.diagnostics[0].hint


def test_a_layer_behind_a_normalised_input_still_encodes():
    b = GraphBuilder("g")
    x = b.add("norm", Scale(np.float32(0.5)), b.input("x", (2, 4, 4), dtype=FLOAT))
    b.output("out", b.add("lif", IF, b.add("enc", conv(), x)))
    assert apply(CheckSpikeDriven(), b.build())[1].diagnostics == []


def test_counts_above_the_targets_limit():
    g = chain(("pool", SumPool2d(kernel=2)))  # count<=4 into fc
    assert apply(CheckSpikeDriven(), g)[1].diagnostics == []
    assert apply(CheckSpikeDriven(max_count=4), g)[1].diagnostics == []
    _, ctx = apply(CheckSpikeDriven(max_count=1), g)
    assert rules_at(ctx.diagnostics) == [("SPIKE-DRIVEN", "fc")]
    d = ctx.diagnostics[0]
    assert d.measured == "count<=4>" and d.limit == "spike or count<=1>" and "(path pool → flat → fc)" in d.message


def test_products_of_event_tensors_are_flagged_with_the_targets_severity():
    b = GraphBuilder("g")
    x = b.input("x", (4,))
    q, k = b.add("q", IF, x), b.add("k", Neuron(threshold=2.0), x)
    attention = b.add("qk", Elementwise("mul"), q, k)
    gated = b.add("gate", Elementwise("mul"), q, b.input("v", (4,), dtype=FLOAT))  # event × real: a gate
    b.output("out", attention)
    b.output("out2", gated)
    _, ctx = apply(CheckSpikeDriven(severity=Severity.WARNING), b.build())
    assert rules_at(ctx.diagnostics) == [("SPIKE-PRODUCT", "qk")]
    assert ctx.diagnostics[0].severity is Severity.WARNING
