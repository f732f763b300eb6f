"""Arithmetic, IntRange and Mantissa (snnc/ir/quant.py): their values, the verifier's checks of a
quantized graph against its arithmetic, and their place in the .snnc file (format version 2)."""

from __future__ import annotations

import hashlib
import json
import struct

import numpy as np
import pytest

from snnc.backends.loihi.spec import LOIHI
from snnc.backends.speck.spec import SPECK
from snnc.diagnostics import SnncError
from snnc.ir import FloatOrder, Graph, GraphBuilder, Linear, Neuron, NumberFormat
from snnc.ir import serialize as ser
from snnc.ir.quant import Arithmetic, IntRange, Mantissa
from snnc.ir.types import SPIKE
from snnc.ir.verify import verify


def test_register_ranges():
    assert (IntRange(8, "saturate").min, IntRange(8, "saturate").max) == (-128, 127)
    assert (IntRange(24, "saturate_symmetric").min, IntRange(24, "saturate_symmetric").max) == (-(2**23) + 1, 2**23 - 1)


def test_loihi_threshold_and_bias_formats():
    """vth << 6 with vth < 2^17; bias_mant << bias_exp with a 13-bit mantissa, exponent 0..7."""
    threshold, bias = LOIHI.arithmetic.threshold, LOIHI.arithmetic.bias
    assert threshold.max == 131071 * 64
    assert threshold.representable(np.array([64, 128, 131071 * 64, 100, 131072 * 64])).tolist() == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert bias.representable(np.array([4095, 4096, 4095 * 128, -4096 * 128, 4097])).tolist() == [
        True, True, True, True, False,
    ]  # fmt: skip
    # the finest exponent that holds the value: 4097 needs steps of 2 (a tie, to even: 4096)
    assert bias.quantize(np.array([4097.0, 4099.0, 10.4, -3.5])).tolist() == [4096, 4100, 10, -4]
    assert threshold.quantize(np.array([6400.0, 6431.0, 1e12])).tolist() == [6400, 6400, 131071 * 64]


def test_arithmetic_json_round_trip_and_problems():
    for arith in (SPECK.arithmetic, LOIHI.arithmetic):
        assert Arithmetic.from_json(json.loads(json.dumps(arith.to_json()))) == arith
        assert arith.problems() == []
    bad = Arithmetic("bad", IntRange(80, "wrap"), IntRange(8, "clip"), IntRange(8), IntRange(8), 9, "up",
                     Mantissa(8), Mantissa(8), Mantissa(8))  # fmt: skip
    problems = bad.problems()
    assert len(problems) == 4, problems  # 80 bits, "clip", "up", 2^9 beyond an 8-bit voltage


def quantized(arith: Arithmetic | None, **neuron) -> Graph:
    b = GraphBuilder("q", arithmetic=arith)
    fc = b.add("fc", Linear(np.ones((2, 3), np.int64), weight_format=NumberFormat(8)), b.input("x", (3,), SPIKE))
    params = {"threshold": 64, "v_decay": 4096, "gain": 64, "state_format": NumberFormat(24)} | neuron
    b.output("out", b.add("n", Neuron(**params), fc))
    return b.build()


def rules(graph: Graph) -> list[tuple[str, str | None]]:
    return [(d.rule, d.node) for d in verify(graph)]


def test_quantized_graph_needs_an_arithmetic():
    assert rules(quantized(LOIHI.arithmetic)) == []
    assert rules(quantized(None)) == [("IR-QUANT-ARITHMETIC", "fc")]


def test_neuron_integers_must_fit_the_arithmetic():
    assert rules(quantized(LOIHI.arithmetic, threshold=100)) == [("IR-QUANT-RANGE", "n")]  # not vth << 6
    assert rules(quantized(LOIHI.arithmetic, v_decay=4097)) == [("IR-QUANT-RANGE", "n")]  # beyond 2^12
    assert rules(quantized(LOIHI.arithmetic, gain=3)) == [("IR-QUANT-RANGE", "n")]  # not 2^(6 + exp)
    (diag,) = verify(quantized(LOIHI.arithmetic, bias=4097))  # 13-bit mantissa: 4097 is odd, > 4095
    assert diag.measured == 4097 and diag.limit == str(LOIHI.arithmetic.bias)


def test_quantized_neuron_must_use_the_affine_forms():
    graph = quantized(LOIHI.arithmetic, float_order=FloatOrder("delta", rate=1), v_decay=1, gain=1)
    assert ("IR-QUANT-NEURON", "n") in rules(graph)


def test_arithmetic_round_trips_in_the_file():
    graph = quantized(LOIHI.arithmetic)
    data = ser.dumps(graph)
    assert struct.unpack_from("<I", data, 8) == (2,)
    assert ser.loads(data).arithmetic == LOIHI.arithmetic


def rewritten(graph: Graph, edit, version: int) -> bytes:
    """`graph`'s file with its JSON header edited by `edit(doc)` and the given format version,
    packed (lengths, padding, checksum) as serialize packs a file."""
    data = ser.dumps(graph)
    _, _, header_len, _, _ = ser._PREFIX.unpack_from(data)
    doc = json.loads(data[ser._PREFIX.size : ser._PREFIX.size + header_len])
    edit(doc)
    payload = data[ser._align(ser._PREFIX.size + header_len) :]
    header = json.dumps(doc, separators=(",", ":")).encode()
    padding = bytes(ser._align(ser._PREFIX.size + len(header)) - ser._PREFIX.size - len(header))
    fields = ser.MAGIC + struct.pack("<IQQ", version, len(header), len(payload))
    return fields + hashlib.sha256(fields + header + padding + payload).digest() + header + padding + payload


def test_version_1_files_still_load():
    b = GraphBuilder("old")
    b.output("out", b.add("n", Neuron(threshold=2.0), b.input("x", (3,), SPIKE)))
    graph = ser.loads(rewritten(b.build(), lambda doc: doc.pop("arithmetic"), version=1))  # as format 1 wrote it
    assert graph.arithmetic is None and verify(graph) == []


def test_malformed_arithmetic_is_a_corrupt_file():
    def drop_overflow(doc):
        doc["arithmetic"]["voltage"] = {"bits": 24}

    with pytest.raises(SnncError) as err:
        ser.loads(rewritten(quantized(LOIHI.arithmetic), drop_overflow, version=2))
    assert err.value.diagnostics[0].rule == "IO-CORRUPT" and "arithmetic" in err.value.diagnostics[0].message
