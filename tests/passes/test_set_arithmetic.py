"""set-arithmetic: a quantized graph gets wider registers (Speck's time-stepped model, which holds a
step's summed events before firing as sinabs' float32 network does); narrower ones are refused."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pass_harness import apply, rules_at

from snnc.backends.speck.spec import SPECK, STEPS
from snnc.ir import Conv2d, Count, GraphBuilder, Neuron
from snnc.ir.quant import IntRange
from snnc.passes.base import PassContext
from snnc.passes.quantize import Quantize
from snnc.passes.set_arithmetic import SetArithmetic
from snnc.sim import run


def quantized():
    """One input event per step reaches 16 taps of weight 1 and a threshold of 1: h = 16·127 · 20
    events in a step would saturate a 16-bit register, not a 32-bit one."""
    b = GraphBuilder("g")
    conv = b.add("c", Conv2d(np.ones((1, 1, 4, 4), np.float32)), b.input("x", (1, 4, 4), Count()))
    b.output("out", b.add("iaf", Neuron(threshold=1.0, spikes="multi", v_min=-1.0), conv))
    return Quantize(SPECK)(b.build(), PassContext())


def test_wider_registers_hold_a_steps_sum():
    g = quantized()
    out, ctx = apply(SetArithmetic(STEPS), g)
    assert out.arithmetic == STEPS and ctx.rewrites["set-arithmetic"] == 1
    x = np.ones((1, 1, 1, 4, 4), np.float32) * 20  # 20 events per pixel: h = 16·20·127 = 40,640
    assert run(g, x).output.sum() == 32767 // 127  # the 16-bit register saturates
    assert run(out, x).output.sum() == 16 * 20  # floor(40,640 / 127): what sinabs fires
    assert [n.op for n in out] == [n.op for n in g]


def test_narrower_registers_are_refused():
    narrow = replace(STEPS, voltage=IntRange(8, "saturate"))
    out, ctx = apply(SetArithmetic(narrow), quantized())
    assert out.arithmetic == SPECK.arithmetic and rules_at(ctx.diagnostics) == [("PASS-ARITHMETIC-NARROWER", None)]
