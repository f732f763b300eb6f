"""The quantized Neuron in integers: hand-computed two-neuron cases for each Arithmetic rule, Lava's
own fixed-point checks (docs/targets/loihi.md §1.3), and the torch engine against the numpy
integer reference (snnc/sim/reference.py) on random neurons and arithmetics, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.backends.loihi.spec import LOIHI
from snnc.ir import GraphBuilder, Int, Neuron, NumberFormat, TensorType
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.ir.verify import verify
from snnc.sim import reference, run

WIDE = IntRange(32, "saturate")


def arithmetic(voltage: IntRange = WIDE, current: IntRange = WIDE, shift: int = 4, rounding: str = "floor",
               input_: IntRange = WIDE) -> Arithmetic:  # fmt: skip
    bits = voltage.bits
    return Arithmetic("test", WIDE, input_, current, voltage, shift, rounding, Mantissa(bits), Mantissa(bits),
                      Mantissa(bits))  # fmt: skip


def neuron(arith: Arithmetic, **params) -> Neuron:
    one = arith.decay_one
    defaults = {"threshold": 2**20, "v_decay": one, "reset": "zero", "fire_op": "ge"}
    return Neuron(**(defaults | params), state_format=NumberFormat(arith.voltage.bits))


def simulate(op: Neuron, arith: Arithmetic, x: list, in_bits: int = 32) -> dict[str, np.ndarray]:
    """Spikes s and traces h, v (and i) of a two-neuron layer driven by integers x [T][2]."""
    b = GraphBuilder("two", arithmetic=arith)
    b.output("s", b.add("n", op, b.input("x", (2,), Int(in_bits))))
    graph = b.build()
    assert verify(graph) == []
    x = np.asarray(x, np.int64)[:, None, :]  # [T, B=1, 2]
    result = run(graph, x, record=["v", "h"] + (["i"] if op.has_current else []))
    traces = {name: t[:, 0] for name, t in result.traces["n"].items()}
    return {"s": result.output[:, 0].astype(np.int64)} | traces


# --- hand-computed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overflow, v",
    [
        ("saturate", [[100, -100], [127, -128], [127, -128]]),
        ("saturate_symmetric", [[100, -100], [127, -127], [127, -127]]),
        ("wrap", [[100, -100], [-56, 56], [44, -44]]),  # 200 − 256, −200 + 256
    ],
)
def test_voltage_register_saturates_or_wraps(overflow, v):
    arith = arithmetic(voltage=IntRange(8, overflow))
    out = simulate(neuron(arith, threshold=127, fire_op="gt"), arith, [[100, -100]] * 3)
    assert out["v"].tolist() == v and not out["s"].any()


@pytest.mark.parametrize(
    "rounding, v",
    [
        ("toward_zero", [[-3, 3], [-2, 2]]),  # −15/4 → −3, then −9/4 → −2
        ("floor", [[-4, 3], [-3, 2]]),  # −15/4 → −4, then −12/4 → −3
    ],
)
def test_decay_rounds_negative_values_as_the_target(rounding, v):
    arith = arithmetic(shift=2, rounding=rounding)  # m = 3: a factor of 3/4
    out = simulate(neuron(arith, v_decay=3, v_init=np.array([-5, 5])), arith, [[0, 0]] * 2)
    assert out["v"].tolist() == v


@pytest.mark.parametrize("fire_op, spikes", [("ge", [1, 1]), ("gt", [0, 1])])
def test_fire_comparison_at_the_threshold(fire_op, spikes):
    arith = arithmetic()
    out = simulate(neuron(arith, threshold=10, fire_op=fire_op), arith, [[10, 11]])
    assert out["s"][0].tolist() == spikes
    assert out["v"][0].tolist() == [10 * (1 - spikes[0]), 0]  # zero reset where fired


def test_current_wraps_once_keeping_plus_half():
    """wrap_once (Lava u): > 2^(b−1) subtracts 2^b, ≤ −2^(b−1) adds it; +2^(b−1) itself stays."""
    arith = arithmetic(current=IntRange(8, "wrap_once"))
    op = neuron(arith, i_decay=arith.decay_one, i_init=np.array([100, -100]))
    assert simulate(op, arith, [[40, -40]])["i"][0].tolist() == [140 - 256, -140 + 256]
    op = neuron(arith, i_decay=arith.decay_one, i_init=np.array([88, -88]))
    assert simulate(op, arith, [[40, -40]])["i"][0].tolist() == [128, -128 + 256]


@pytest.mark.parametrize("fire_op, counts", [("ge", [2, 2]), ("gt", [1, 2])])
def test_multi_spike_counts_and_subtract_reset(fire_op, counts):
    arith = arithmetic()
    op = neuron(arith, threshold=4, fire_op=fire_op, spikes="multi", reset="subtract")
    out = simulate(op, arith, [[8, 9]])
    assert out["s"][0].tolist() == counts
    assert out["v"][0].tolist() == [8 - 4 * counts[0], 9 - 4 * counts[1]]


def test_v_min_clamps_after_the_reset():
    arith = arithmetic()
    out = simulate(neuron(arith, v_min=np.array(-5)), arith, [[-3, -9], [-3, 1]])
    assert out["v"].tolist() == [[-3, -5], [-5, -4]]


def test_a_leaky_integrator_outputs_its_integer_membrane():
    """spikes "none": never fires, however high v gets; the output is v. Decay 12/16, floor:
    v = 100 → floor(75) + 0 = 75 → floor(56.25) + 10 = 66; −100 → −75 → floor(−56.25) = −57."""
    arith = arithmetic(shift=4)
    op = neuron(arith, threshold=1, v_decay=12, spikes="none", reset="none")
    assert op.infer([TensorType((2,), Int(32))]).dtype == Int(32)  # the state's integers
    out = simulate(op, arith, [[100, -100], [0, 0], [10, 0]])
    assert out["s"].tolist() == out["v"].tolist() == [[100, -100], [75, -75], [66, -57]]


# --- Lava's fixed-point LIF, the runs recorded in docs/targets/loihi.md §1.3 ---------------


def test_lava_current_truncates_toward_zero():
    """du = 0 still decays: u = −1 gives 0 and u = −4097 gives −4095 (m = 4096 − (du + 1))."""
    arith = LOIHI.arithmetic
    op = neuron(arith, threshold=2**22, fire_op="gt", gain=64, i_decay=4095, i_init=np.array([-1, -4097]))
    assert simulate(op, arith, [[0, 0]])["i"][0].tolist() == [0, -4095]


def test_lava_current_wraps_once():
    """u = 2^23 − 64 plus 64 stays 2^23; u = −2^23 becomes +2^23; 2^23 + 1 becomes −(2^23 − 1)."""
    arith = LOIHI.arithmetic
    op = neuron(arith, threshold=2**22, fire_op="gt", gain=64, i_decay=4096, i_init=np.array([2**23 - 64, -(2**23)]))
    assert simulate(op, arith, [[1, 0]])["i"][0].tolist() == [2**23, 2**23]
    op = neuron(arith, threshold=2**22, fire_op="gt", gain=64, i_decay=4096, i_init=np.array([2**23 - 63, 0]))
    assert simulate(op, arith, [[1, 0]])["i"][0].tolist() == [-(2**23) + 1, 0]


def test_lava_bias_charges_v_and_fires_strictly_above_threshold():
    """bias 64, vth 2 (2 << 6 = 128): v = 64, 128 (no spike), 192 → spike → 0."""
    arith = LOIHI.arithmetic
    op = neuron(arith, threshold=128, fire_op="gt", gain=64, bias=64, i_decay=0)
    out = simulate(op, arith, [[0, 0]] * 4)
    assert out["h"][:, 0].tolist() == [64, 128, 192, 64] and out["s"][:, 0].tolist() == [0, 0, 1, 0]


def test_lava_input_shift_wraps_in_int32():
    """a << 6 is computed in int32 (loihi.md §1.3): 2^25 << 6 = 2^31 wraps to −2^31."""
    arith = LOIHI.arithmetic
    op = neuron(arith, threshold=2**22, fire_op="gt", gain=64, i_decay=0)
    # the current register then folds −2^31 once: −2^31 + 2^24
    assert simulate(op, arith, [[2**25, 1]])["i"][0].tolist() == [-(2**31) + 2**24, 64]


# --- wide registers: an int32 state only where every intermediate fits it ----------------------
# (found by tests/sim/test_reference.py; each case once chose int32 and lost the exact value)


def test_a_31_bit_wrapping_voltage_register():
    """Wrapping takes h modulo 2^31, which int32 cannot hold: 2^30 − 1 + 2^29 → −2^29 − 1."""
    arith = arithmetic(voltage=IntRange(31, "wrap"), current=IntRange(31, "wrap"))
    op = neuron(arith, threshold=2**29 - 1, reset="none", v_init=np.array([2**30 - 1, -(2**30) + 1]))
    out = simulate(op, arith, [[2**29, -(2**29)]], in_bits=31)
    assert out["v"][0].tolist() == [-(2**29) - 1, 2**29 + 1]
    assert out["v"][0].tolist() == reference.neuron(op, np.array([[[2**29, -(2**29)]]]), arith)["v"][0, 0].tolist()


def test_a_31_bit_wrapping_input_register():
    """g·x = 2^30 + 6 wraps in the 31-bit input register to −2^30 + 6, then saturates in 16 bits."""
    arith = arithmetic(voltage=IntRange(16, "saturate"), input_=IntRange(31, "wrap"))
    op = neuron(arith, threshold=100, reset="none", gain=2)
    assert simulate(op, arith, [[2**29 + 3, -(2**29) - 3]], in_bits=31)["h"][0].tolist() == [-(2**15), 2**15 - 1]


def test_the_current_sum_of_two_wide_registers():
    """dec(i) + a = (2^30 − 1) + (2^31 − 2) leaves int32 before the current register saturates it."""
    arith = arithmetic(voltage=IntRange(8, "saturate"), current=IntRange(31, "saturate"))
    op = neuron(arith, threshold=100, reset="none", gain=2, i_decay=arith.decay_one)
    assert simulate(op, arith, [[2**30 - 1, 0]] * 2, in_bits=31)["i"].tolist() == [[2**30 - 1, 0]] * 2


def test_a_wide_late_input():
    """h = R_voltage(v + z) with z at the limits of int32: 1000 + 2^31 − 1 saturates to 2^15 − 1."""
    arith = arithmetic(voltage=IntRange(16, "saturate"))
    op = neuron(arith, threshold=100, reset="none", v_init=1000)
    b = GraphBuilder("late", arithmetic=arith)
    b.output("s", b.add("n", op, b.input("x", (2,), Int(8)), b.input("z", (2,), Int(32))))
    z = np.array([[[2**31 - 1, -(2**31)]]])
    h = run(b.build(), {"x": np.zeros_like(z), "z": z}, record=["h"]).traces["n"]["h"]
    assert h[0, 0].tolist() == [2**15 - 1, -(2**15)]


# --- against the reference -------------------------------------------------------------------


@st.composite
def cases(draw):
    overflow = st.sampled_from(["wrap", "wrap_once", "saturate", "saturate_symmetric"])
    bits = draw(st.integers(6, 14))
    shift = draw(st.integers(0, min(6, bits - 2)))  # 2^k must fit the state format
    arith = Arithmetic(
        "random",
        WIDE,
        IntRange(draw(st.integers(bits, 20)), draw(st.sampled_from(["wrap", "saturate"]))),
        IntRange(bits, draw(overflow)),
        IntRange(bits, draw(overflow)),
        shift,
        draw(st.sampled_from(["floor", "toward_zero"])),
        Mantissa(bits),
        Mantissa(bits),
        Mantissa(bits),
    )
    half, one = 2 ** (bits - 1), 1 << shift

    def value(lo: int, hi: int):
        return draw(
            st.one_of(
                st.integers(lo, hi).map(np.array), st.lists(st.integers(lo, hi), min_size=2, max_size=2).map(np.array)
            )
        )

    spikes = draw(st.sampled_from(["single", "multi", "none"]))
    current = draw(st.booleans())
    op = Neuron(
        threshold=value(1, half - 1),
        v_decay=value(0, one),
        gain=value(-4, 4),
        bias=value(-half // 4, half // 4),
        i_decay=value(0, one) if current else None,
        input_order=draw(st.sampled_from(["current_first", "voltage_first"])),
        reset=draw(st.sampled_from(["zero", "subtract", "none"])),
        v_reset=value(-half // 2, half // 2),
        reset_timing=draw(st.sampled_from(["same_step", "next_step", "next_step_state"])),
        fire_op=draw(st.sampled_from(["ge", "gt"])),
        spikes=spikes,
        max_spikes=draw(st.one_of(st.none(), st.integers(1, 5))) if spikes == "multi" else None,
        v_min=value(-half + 1, 0) if draw(st.booleans()) else None,
        v_init=value(-half + 1, half - 1),
        i_init=value(-half + 1, half - 1),
        state_format=NumberFormat(bits),
    )
    steps = draw(st.integers(1, 12))
    x = draw(
        st.lists(st.lists(st.integers(-2 * half, 2 * half), min_size=2, max_size=2), min_size=steps, max_size=steps)
    )
    return op, arith, x


@settings(max_examples=150, deadline=None)
@given(cases())
def test_matches_the_reference_bit_for_bit(case):
    op, arith, x = case
    got = simulate(op, arith, x)
    want = reference.neuron(op, np.asarray(x, np.int64)[:, None, :], arith)
    for name, value in got.items():
        assert np.array_equal(value, want[name][:, 0]), name
