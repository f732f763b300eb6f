"""An ANN converted by snnc.convert with current encoding (its input real-valued every step)
compiled for the sim target at 8 and 16 bits: the input quantized from calibration data, the
readout layer's integer sums as the output; the integer SNN's accuracy against the float SNN's
on the held-out digits (measured and printed; bounds from those measurements)."""

from __future__ import annotations

import numpy as np
import pytest
from test_convert_ann import digits, mlp  # noqa: F401  (its fixtures: sklearn's digits, the trained MLP)

import snnc
from snnc.diagnostics import Severity
from snnc.ir import Int

STEPS = 32


@pytest.fixture(scope="module")
def data(request) -> tuple[np.ndarray, ...]:
    """x, y, x_test, y_test of test_convert_ann's `digits` (named apart from the imported fixture)."""
    return request.getfixturevalue("digits")


@pytest.fixture(scope="module")
def converted(request, data):
    return snnc.convert(request.getfixturevalue("mlp"), data[0][:500], encoding="current")


# Measured on the MLP of test_convert_ann (trained with seed 0), 397 test digits, T=32: the float
# SNN classifies 99.24%; the integer SNN 99.24% at 8 and at 16 bits, its decisions equal to the
# float SNN's on 99.50% (8 bits) and 100% (16 bits) of the digits. Bounds: those, rounded down
# by about one digit in 400.
AGREEMENT = {8: 0.9925, 16: 0.9975}


@pytest.mark.parametrize("bits", [8, 16])
def test_a_converted_ann_with_real_input_compiles_and_keeps_its_accuracy(data, converted, bits):
    x, _, x_test, y_test = data
    calib = converted.encode(x[:100], STEPS)
    compiled = snnc.compile(converted.graph, "sim", bits=bits, calib=calib)
    graph = compiled.graph
    assert graph.inputs[0].type.dtype == Int(bits, signed=False)  # digits / 16 lie in [0, 1]
    assert graph.outputs[0].type.dtype == Int(32)  # the readout layer's integer sums
    assert not [d for d in compiled.diagnostics if d.severity is Severity.ERROR]
    data = converted.encode(x_test, STEPS)
    float_choice = snnc.simulate(converted.graph, data).output.sum(axis=0).argmax(-1)
    int_choice = compiled.simulate(data).output.astype(np.int64).sum(axis=0).argmax(-1)
    accuracy = {"float": float((float_choice == y_test).mean()), "int": float((int_choice == y_test).mean())}
    agree = float((float_choice == int_choice).mean())
    print(f"\nsim-int{bits}, T={STEPS}: accuracy float SNN {accuracy['float']:.2%}, integer SNN {accuracy['int']:.2%}")
    print(f"  decisions agree on {agree:.2%} of {len(y_test)} digits")
    assert agree >= AGREEMENT[bits] and accuracy["int"] >= accuracy["float"] - (1 - AGREEMENT[bits])
