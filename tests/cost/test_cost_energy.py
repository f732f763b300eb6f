"""Energy models on small nets whose energy is computed here by hand from the published constants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snnc.cost import PRECISIONS, count, estimate
from snnc.cost.accounting import Convention
from snnc.cost.energy import access
from snnc.diagnostics import SnncError
from snnc.driver.report import models, report, select_model
from snnc.ir import FLOAT, AvgPool2d, Conv2d, Flatten, GraphBuilder, Linear, Neuron, SumPool2d

IF = {"threshold": 1.0, "reset": "zero"}


def linear_net():
    """x (4 spikes) → fc (all-ones 3×4) → IF → out. Input [1,0,1,0] then silence: the three
    neurons get 2 at step 0 and fire; nothing at step 1."""
    b = GraphBuilder("fc")
    b.input("x", (4,))
    b.add("fc", Linear(weight=np.ones((3, 4), np.float32)), "x")
    b.output("out", b.add("if", Neuron(**IF), "fc"))
    x = np.zeros((2, 1, 4), np.uint8)
    x[0, 0] = [1, 0, 1, 0]
    return b.build(), x


def encoder_net():
    """x (real 0.5) → conv 3×3 pad 1 (ones, 1→2) → IF → flatten → fc (ones, 32→5) → IF. Every conv
    output is ≥ 2 · 0.5 = 1, so all 32 neurons fire at every step."""
    b = GraphBuilder("enc")
    b.input("x", (1, 4, 4), FLOAT)
    b.add("conv", Conv2d(weight=np.ones((2, 1, 3, 3), np.float32), padding=1), "x")
    b.add("if1", Neuron(**IF), "conv")
    b.add("fc", Linear(weight=np.ones((5, 32), np.float32)), b.add("flat", Flatten(), "if1"))
    b.output("out", b.add("if2", Neuron(**IF), "fc"))
    return b.build()


def test_literature_energy_by_hand():
    """E = 4.6 pJ · MACs + 0.9 pJ · ACs: conv fed reals, 288 FLOPs × 3 steps MACs; fc fed spikes,
    32 spikes × 5 outputs × 3 steps ACs. The ANN: (288 + 160) MACs once."""
    x = np.full((3, 2, 1, 4, 4), 0.5, np.float32)
    r = report(encoder_net(), x)
    conv, fc = (next(layer for layer in r.layers if layer.name == n) for n in ("conv", "fc"))
    assert (conv.counted_as, conv.macs, conv.input_kind) == ("mac", 864, "real")
    assert (fc.counted_as, fc.acs) == ("ac", 480)
    assert r.total["energy_pj"] == pytest.approx(864 * 4.6 + 480 * 0.9)
    assert r.ann == {"macs": 448, "energy_pj": pytest.approx(448 * 4.6), "basis": r.model.ann_basis}
    assert r.energy_ratio == pytest.approx(448 * 4.6 / (864 * 4.6 + 480 * 0.9))
    once = report(encoder_net(), x, encoding_once=True)
    assert once.total["energy_pj"] == pytest.approx(288 * 4.6 + 480 * 0.9) and not once.diagnostics


def test_encoding_once_needs_a_static_input():
    x = np.full((3, 1, 1, 4, 4), 0.5, np.float32)
    x[2] = 0.75
    r = report(encoder_net(), x, encoding_once=True)
    assert [d.rule for d in r.diagnostics] == ["COST-ENCODING-VARIES"]
    assert next(layer for layer in r.layers if layer.name == "conv").macs == 288 * 3


def test_precision_presets_and_paper_sops():
    graph, x = linear_net()
    int8 = report(graph, x, precision="int8")
    assert int8.total["energy_pj"] == pytest.approx(6 * 0.03)
    paper = report(graph, x, sops="paper")  # fr · T · FLOPs = (2/8) · 2 · 12
    assert paper.total["acs"] == 6 == paper.layers[0].sops_paper


def test_integer_inputs_ac_by_default_or_mac():
    """fc fed a count of 3 on one input: by default 3 events × 3 outputs = 9 ACs; as MACs, one
    non-zero input × 3 outputs = 3 MACs."""
    b = GraphBuilder("count")
    b.input("x", (2,), FLOAT)
    b.output("out", b.add("fc", Linear(weight=np.ones((3, 2), np.float32)), "x"))
    x = np.array([[[3.0, 0.0]]], np.float32)
    as_ac, as_mac = report(b.build(), x), report(b.build(), x, integer_inputs="mac")
    assert (as_ac.layers[0].counted_as, as_ac.total["acs"], as_ac.total["macs"]) == ("ac", 9, 0)
    assert as_ac.total["energy_pj"] == pytest.approx(9 * 0.9)
    assert (as_mac.layers[0].counted_as, as_mac.total["macs"], as_mac.total["energy_pj"]) == (
        "mac-events",
        3,
        pytest.approx(3 * 4.6),
    )


def sum_pooled_net(pool=None):
    """x (spikes 1×2×2) → conv 1×1 (weight 1) → IF → sum pool 2×2 → flatten → fc (ones, 1→3) → IF.
    Step 0: three of the four pixels spike, so IF fires three times and the pool hands fc a count
    of 3; step 1: one pixel, a count of 1."""
    b = GraphBuilder("pooled")
    b.input("x", (1, 2, 2))
    b.add("conv", Conv2d(weight=np.ones((1, 1, 1, 1), np.float32)), "x")
    b.add("if1", Neuron(**IF), "conv")
    b.add("pool", pool or SumPool2d(kernel=2), "if1")
    b.add("fc", Linear(weight=np.ones((3, 1), np.float32)), b.add("flat", Flatten(), "pool"))
    b.output("out", b.add("if2", Neuron(**IF), "fc"))
    x = np.zeros((2, 1, 1, 2, 2), np.uint8)
    x[0, 0, 0] = [[1, 1], [1, 0]]
    x[1, 0, 0] = [[0, 0], [0, 1]]
    return b.build(), x


@pytest.mark.parametrize("pool", [SumPool2d(kernel=2), AvgPool2d(kernel=2)])
def test_pooled_counts_are_accumulates_per_event_by_default(pool):
    """The counts 3 and 1 reaching fc are 4 events × 3 connections = 12 ACs, as Speck adds them
    (one per event), not 2 non-zero inputs × 3 = 6 MACs; conv reads 4 spikes × fan-out 1 = 4 ACs.
    An average pool is counted as the sum pool a chip runs, its 1/4 moved into fc's weights.
    Literature model: 0.9 pJ per AC, 4.6 pJ per MAC."""
    graph, x = sum_pooled_net(pool)
    default, as_mac = report(graph, x), report(graph, x, integer_inputs="mac")
    fc = next(layer for layer in default.layers if layer.name == "fc")
    assert (fc.input_kind, fc.counted_as, fc.acs, fc.macs) == ("integer", "ac", 12, 0)
    assert (default.total["acs"], default.total["macs"]) == (4 + 12, 0)
    assert default.total["energy_pj"] == pytest.approx((4 + 12) * 0.9)
    assert (as_mac.total["acs"], as_mac.total["macs"]) == (4, 6)
    assert as_mac.total["energy_pj"] == pytest.approx(4 * 0.9 + 6 * 4.6)
    rules = default.to_dict()["model"]["rules"]
    assert any("k ACs per connection" in rule for rule in rules)
    assert any("one MAC per non-zero input per connection" in rule for rule in as_mac.to_dict()["model"]["rules"])


def test_memory_model_by_hand():
    """int32 (add 0.1, mult 3.1 pJ), 32-bit words, every tensor under 8 KB: 10 pJ · 32/64 = 5 pJ per access."""
    graph, x = linear_net()
    r = report(graph, x, model="memory")
    fc, neuron = r.layers
    # 6 accumulates; 2 events × 3 addressing adds; 6 weight reads; 6 membrane reads + 6 writes; 2 input reads
    assert fc.energy_breakdown == pytest.approx(
        {"arithmetic": 0.6, "addressing": 0.6, "weight reads": 30, "membrane R/W": 60, "activation R/W": 10}
    )
    # 3 neurons × 2 steps: one add and a read + write each; 3 spikes: a reset add and a write each
    assert neuron.energy_breakdown == pytest.approx({"arithmetic": 0.9, "membrane R/W": 60, "activation R/W": 15})
    # ANN twin: 12 MACs with a weight and an input read each; (4 + 3 + 3) addressing adds; 3 writes
    assert r.ann["energy_pj"] == pytest.approx(12 * (3.2 + 5 + 5) + 10 * 0.1 + 3 * 5)


def test_access_energy_rule():
    assert access(64, 1024) == 10 and access(64, 1025) == 20  # 8 KB holds 1024 64-bit words
    assert access(32, 8 << 10) == 20 / 2 and access(8, 1 << 20) == 100 / 8 and access(8, (1 << 20) + 1) == 1300 / 8


def test_speck_model_by_hand():
    graph, x = linear_net()
    r = report(graph, x, model="target", target="speck", dt=1e-3)
    e_syn = math.sqrt(10 * 100)
    assert r.total["energy_pj"] == pytest.approx(6 * e_syn)
    assert r.total["energy_range_pj"] == pytest.approx([60, 600])
    assert r.total["static_pj"] == pytest.approx(0.42e-3 * 2 * 1e-3 * 1e12)  # P_rest · T · dt
    assert r.layers[0].counted_as == "event"
    busy = report(graph, x, model="speck", dt=1e-3, synops_ceiling=2000)  # 6 SynOps in 2 ms = 3000/s
    assert [(d.rule, d.node, d.measured) for d in busy.diagnostics] == [("COST-SYNOPS-RATE", "fc", 3000)]


def test_loihi_model_by_hand():
    """23.6 pJ per SOP; 81 pJ per active update (non-zero input: 3 at step 0), 52 per inactive (3);
    1.7 pJ per spike (3)."""
    graph, x = linear_net()
    r = report(graph, x, model="loihi")
    assert r.total["energy_pj"] == pytest.approx(6 * 23.6 + 3 * 81 + 3 * 52 + 3 * 1.7)
    assert r.total["static_pj"] is None  # no dt, no static energy


def test_target_models_warn_about_real_inputs():
    x = np.full((2, 1, 1, 4, 4), 0.5, np.float32)
    for target in ("speck", "loihi"):
        r = report(encoder_net(), x, model="target", target=target)
        assert [(d.rule, d.node) for d in r.diagnostics] == [("COST-REAL-INPUT", "conv")]


def test_every_constant_is_labelled_with_a_source():
    for name in models():
        model = select_model(name, "speck" if name == "target" else None)
        assert model.constants, name
        for c in model.constants:
            assert c.status in ("published", "derived", "fitted", "estimate") and len(c.source) > 20, c
    assert {p.add.status for p in PRECISIONS.values()} == {"published"}


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"model": "watts"}, "COST-MODEL"),
        ({"model": "target"}, "COST-MODEL"),
        ({"target": "truenorth"}, "COST-TARGET"),
        ({"precision": "int4"}, "COST-MODEL"),
        ({"dt": -1.0}, "COST-MODEL"),
        ({"batch_size": 0}, "COST-DATA"),
        ({"sops": "some"}, "COST-MODEL"),
        ({"model": "speck", "synops_ceiling": 1e6}, "COST-MODEL"),  # a rate needs dt
        ({"model": "loihi", "dt": 1e-3, "synops_ceiling": 1e6}, "COST-MODEL"),
    ],
)
def test_bad_options_are_diagnostics(kwargs, rule):
    graph, x = linear_net()
    with pytest.raises(SnncError) as e:
        report(graph, x, **kwargs)
    assert e.value.diagnostics[0].rule == rule and e.value.exit_code == 2


def test_empty_or_inconsistent_data_is_a_diagnostic():
    graph, x = linear_net()
    for data in ([], [x, np.zeros((3, 1, 4), np.uint8)]):
        with pytest.raises(SnncError) as e:
            count(graph, data)
        assert e.value.diagnostics[0].rule == "COST-DATA"
    with pytest.raises(SnncError) as e:
        report(graph, x[:, :, :3])
    assert e.value.diagnostics[0].rule == "SIM-INPUT-SHAPE"


def test_estimate_reuses_counts_across_models():
    graph, x = linear_net()
    counts = count(graph, [x])
    lit, mem = estimate(counts, select_model("literature")), estimate(counts, select_model("memory"), Convention())
    assert lit.total["sops"] == mem.total["sops"] == 6 and lit.total["energy_pj"] < mem.total["energy_pj"]
