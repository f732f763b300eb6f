"""Every Speck rule: a network that breaks exactly that rule gets exactly that diagnostic, and one
network that breaks several gets all of them at once (snnc check never stops at the first)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import snnc
from snnc.diagnostics import Severity
from snnc.ir import SPIKE, Conv2d, Crop, Elementwise, Flip, Graph, GraphBuilder, Int, MaxPool2d, Neuron, SumPool2d
from snnc.ir.types import TensorType

IAF = Neuron(threshold=1.0, spikes="multi", v_min=-1.0)


def conv(c_in: int, c_out: int, k=3, seed: int = 0, **kw) -> Conv2d:
    k = (k, k) if isinstance(k, int) else k
    weight = np.random.default_rng(seed).normal(0, 0.3, size=(c_out, c_in // kw.get("groups", 1), *k))
    return Conv2d(weight=weight.astype(np.float32), **kw)


def chain(shape: tuple[int, ...], *layers, dtype=SPIKE, origin: str | None = None) -> Graph:
    """input → layers (name, op) in a row → output."""
    b = GraphBuilder("net")
    last = b.input("x", shape, dtype)
    for name, op in layers:
        last = b.add(name, op, last, origin=origin if isinstance(op, Neuron) else None)
    b.output("out", last)
    return b.build()


def layer(name: str, c_in: int, c_out: int, k=3, neuron: Neuron = IAF, **kw) -> list[tuple[str, object]]:
    return [(name, conv(c_in, c_out, k, **kw)), (f"{name}.iaf", neuron)]


def found(graph: Graph, **options) -> list[tuple[str, str | None]]:
    """The SPECK rules reported (errors and warnings) as (rule, node)."""
    return sorted(
        (d.rule, d.node)
        for d in snnc.check(graph, "speck", **options)
        if d.rule.startswith("SPECK-") and d.severity is not Severity.INFO
    )


def recurrent() -> Graph:
    b = GraphBuilder("net")
    x = b.input("x", (2, 8, 8))
    back = b.delay("back", 1, TensorType((2, 8, 8), SPIKE))
    c = b.add("c", conv(2, 2, padding=1), b.add("sum", Elementwise("add"), x, back))
    n = b.add("c.iaf", Neuron(threshold=1.0, v_min=-1.0), c)
    b.connect("back", n)
    b.output("out", n)
    return b.build()


def fanout3() -> Graph:
    b = GraphBuilder("net")
    n = b.add("a.iaf", IAF, b.add("a", conv(2, 2), b.input("x", (2, 8, 8))))
    for k in range(3):
        b.output(f"out{k}", b.add(f"b{k}.iaf", IAF, b.add(f"b{k}", conv(2, 2, seed=k), n)))
    return b.build()


def crops_per_branch() -> Graph:
    """Two layers read the input, each through a crop of its own."""
    b = GraphBuilder("net")
    x = b.input("x", (2, 8, 8))
    for k, crop in enumerate((Crop(0, 6, 0, 6), Crop(2, 8, 2, 8))):
        b.output(f"out{k}", b.add(f"b{k}.iaf", IAF, b.add(f"b{k}", conv(2, 2, seed=k), b.add(f"crop{k}", crop, x))))
    return b.build()


CASES: dict[str, tuple[Callable[[], Graph], dict, list[tuple[str, str | None]]]] = {
    "op": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, padding=1), ("max", MaxPool2d(2)), *layer("b", 2, 2)),
        {},
        [("SPECK-OP-UNSUPPORTED", "max")],
    ),
    "structure": (
        lambda: chain((2, 8, 8), ("a", conv(2, 2)), *layer("b", 2, 2)),
        {},
        [("SPECK-LAYER-STRUCTURE", "a")],
    ),
    "recurrence": (recurrent, {}, [("SPECK-RECURRENCE", "back")]),
    "input-events": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2), dtype=Int(8, False)),
        {},
        [("SPECK-INPUT-EVENTS", "x")],
    ),
    "input-pooling": (
        lambda: chain((2, 8, 8), ("pool", SumPool2d(2)), *layer("a", 2, 2)),
        {},
        [("SPECK-INPUT-POOLING", "pool")],
    ),
    "dvs-pooling": (
        lambda: chain((2, 9, 9), ("pool", SumPool2d(3)), *layer("a", 2, 2)),
        {"dvs_input": True},
        [("SPECK-DVS-POOLING", "pool")],
    ),
    "dvs-size": (lambda: chain((3, 8, 8), *layer("a", 3, 2)), {"dvs_input": True}, [("SPECK-DVS-SIZE", "x")]),
    "crop-on-host-input": (
        lambda: chain((2, 8, 8), ("crop", Crop(0, 6, 1, 7)), *layer("a", 2, 2)),
        {},
        [("SPECK-CROP-FLIP-PLACEMENT", "crop")],
    ),
    "flip-after-a-layer": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, padding=1), ("flip", Flip(swap_xy=True)), *layer("b", 2, 2)),
        {"dvs_input": True},
        [("SPECK-CROP-FLIP-PLACEMENT", "flip")],
    ),
    "crop-per-branch": (crops_per_branch, {"dvs_input": True}, [("SPECK-CROP-FLIP-PLACEMENT", "x")]),
    "dvs-pool-after-crop": (
        lambda: chain((2, 16, 16), ("crop", Crop(0, 12, 0, 12)), ("pool", SumPool2d(2)), *layer("a", 2, 2)),
        {"dvs_input": True},
        [("SPECK-DVS-POOL-AFTER-CROP", "pool")],
    ),
    "neuron": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=1.0, v_min=-1.0, fire_op="gt"))),
        {},
        [("SPECK-NEURON", "a.iaf")],
    ),
    "neuron-threshold-per-channel": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=np.array([1.0, 2.0]), v_min=-1.0))),
        {},
        [("SPECK-NEURON", "a.iaf")],
    ),
    "neuron-scalar": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=1.0, v_min=np.array([-1.0, -2.0])))),
        {},
        [("SPECK-NEURON-SCALAR", "a.iaf")],
    ),
    "vmin-unset-sinabs": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=1.0)), origin="sinabs.IAFSqueeze"),
        {},
        [("SPECK-VMIN-UNSET", "a.iaf")],
    ),
    "threshold-low": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=1.0, v_min=-1e-4))),
        {},
        [("SPECK-THRESHOLD-LOW", "a.iaf")],
    ),
    "kernel-square": (lambda: chain((2, 8, 8), *layer("a", 2, 2, (3, 5))), {}, [("SPECK-KERNEL-SQUARE", "a")]),
    "kernel-size": (lambda: chain((1, 20, 20), *layer("a", 1, 1, 17)), {}, [("SPECK-KERNEL-SIZE", "a")]),
    "stride": (lambda: chain((2, 9, 9), *layer("a", 2, 2, stride=3)), {}, [("SPECK-STRIDE", "a")]),
    "padding": (lambda: chain((2, 8, 8), *layer("a", 2, 2, padding=8)), {}, [("SPECK-PADDING", "a")]),
    "dilation": (lambda: chain((2, 8, 8), *layer("a", 2, 2, dilation=2)), {}, [("SPECK-DILATION", "a")]),
    "groups": (lambda: chain((2, 8, 8), *layer("a", 2, 2, groups=2)), {}, [("SPECK-GROUPS", "a")]),
    "channels": (lambda: chain((1, 1, 1), *layer("a", 1, 1100, 1)), {}, [("SPECK-CHANNELS", "a")]),
    "input-size": (lambda: chain((1, 130, 130), *layer("a", 1, 1, stride=2)), {}, [("SPECK-INPUT-SIZE", "a")]),
    "neuron-map": (lambda: chain((1, 70, 70), *layer("a", 1, 1, padding=1)), {}, [("SPECK-NEURON-MAP", "a")]),
    "pool-window": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2), ("pool", SumPool2d(2, stride=1)), *layer("b", 2, 2)),
        {},
        [("SPECK-POOL-WINDOW", "pool")],
    ),
    "pool-square": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, padding=1), ("pool", SumPool2d((2, 4))), *layer("b", 2, 2, 2)),
        {},
        [("SPECK-POOL-SQUARE", "pool")],
    ),
    "pool-size": (
        lambda: chain((2, 9, 9), *layer("a", 2, 2, padding=1), ("pool", SumPool2d(3)), *layer("b", 2, 2)),
        {},
        [("SPECK-POOL-SIZE", "pool")],
    ),
    "pool-remainder": (
        lambda: chain((2, 9, 9), *layer("a", 2, 2), ("pool", SumPool2d(2)), *layer("b", 2, 2)),
        {},
        [("SPECK-POOL-REMAINDER", "pool")],
    ),
    "exit-pooling": (
        lambda: chain((2, 8, 8), *layer("a", 2, 2, padding=1), ("pool", SumPool2d(2))),
        {},
        [("SPECK-EXIT-POOLING", "pool")],
    ),
    "fanout": (fanout3, {}, [("SPECK-FANOUT", "a.iaf")]),
    "cores": (
        lambda: chain((2, 4, 4), *[x for k in range(10) for x in layer(f"l{k}", 2, 2, 1, seed=k)]),
        {},
        [("SPECK-CORES", "l9")],
    ),
    "memory-kernel": (lambda: chain((64, 5, 5), *layer("a", 64, 128, 5)), {}, [("SPECK-MEMORY-KERNEL", "a")]),
    "memory-neuron": (lambda: chain((1, 64, 64), *layer("a", 1, 32, padding=1)), {}, [("SPECK-MEMORY-NEURON", "a")]),
    "memory-bias": (
        lambda: chain((1, 1, 1), ("a", conv(1, 1100, 1, bias=np.ones(1100, np.float32))), ("a.iaf", IAF)),
        {},
        [("SPECK-CHANNELS", "a"), ("SPECK-MEMORY-BIAS", "a")],  # more than 1024 biases means more than 1024 channels
    ),
    "memory-pairing": (
        lambda: chain((10, 8, 9), *layer("a", 10, 256, padding=1)),
        {},
        [("SPECK-MEMORY-PAIRING", "a")],
    ),
    "memory-assignment": (
        lambda: chain((64, 1, 1), *layer("a", 64, 1024, 1), *layer("b", 1024, 64, 1), *layer("c", 64, 1024, 1)),
        {},
        [("SPECK-MEMORY-ASSIGNMENT", "c")],
    ),
    "core-override": (lambda: chain((2, 8, 8), *layer("a", 2, 2)), {"cores": {"a": 9}}, [("SPECK-CORE-OVERRIDE", "a")]),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_alone(case: str) -> None:
    build, options, expected = CASES[case]
    assert found(build(), **options) == expected


def test_an_unset_lower_bound_is_only_a_warning_for_other_libraries() -> None:
    graph = chain((2, 8, 8), *layer("a", 2, 2, neuron=Neuron(threshold=1.0)))
    diagnostics = [d for d in snnc.check(graph, "speck") if d.rule == "SPECK-VMIN-UNSET"]
    assert [d.severity for d in diagnostics] == [Severity.WARNING]
    compiled = snnc.compile(graph, "speck")  # writes threshold_low = -32768, the register's minimum
    config = snnc.backends.get_target("speck").config(compiled.graph)
    assert config["cnn_layers"][0]["threshold_low"] == -32768


def test_core_override_names_unknown_layers_and_shared_cores() -> None:
    graph = chain((2, 8, 8), *layer("a", 2, 2), *layer("b", 2, 2))
    assert found(graph, cores={"nope": 1}) == [("SPECK-CORE-OVERRIDE", None)]
    assert found(graph, cores={"a": 1, "b": 1}) == [("SPECK-CORE-OVERRIDE", None)]
    big = chain((64, 5, 5), *layer("a", 64, 32, 5), *layer("b", 32, 2, 1))  # a: 64·2^(5+5) words, cores 5, 6 only
    assert found(big, cores={"a": 0}) == [("SPECK-CORE-OVERRIDE", "a")]
    placed = snnc.compile(big, "speck", cores={"a.iaf": 6})  # a layer by its neuron's name; b placed around it
    assert [(d.node, d.measured["core"]) for d in placed.diagnostics if d.rule == "SPECK-PLACEMENT"] == [
        ("a", 6),
        ("b", 0),
    ]


def test_monitor_names_unknown_layers_and_a_missing_or_pooling_dvs_layer() -> None:
    graph = chain((2, 8, 8), *layer("a", 2, 2), *layer("b", 2, 2))
    assert found(graph, monitor=("a", "b.iaf", "exit")) == []
    assert found(graph, monitor=("a", "nope")) == [("SPECK-MONITOR", None)]
    assert found(graph, monitor=("dvs",)) == [("SPECK-MONITOR", None)]  # the input comes from the host
    assert found(graph, monitor=("dvs",), dvs_input=True) == []
    pooled = chain((2, 16, 16), ("pool", SumPool2d(2)), *layer("a", 2, 2))
    assert found(pooled, monitor=("dvs",), dvs_input=True) == [("SPECK-MONITOR", "x")]  # a warning
    compiled = snnc.compile(graph, "speck", dvs_input=True, monitor=("dvs",))
    config = snnc.backends.get_target("speck").config(compiled.graph, compiled.options)
    assert config["dvs_layer"]["monitor_enable"] and not any(c["monitor_enable"] for c in config["cnn_layers"])


def test_no_assignment_shows_every_layers_needs_against_every_core() -> None:
    build, options, _ = CASES["memory-assignment"]
    (d,) = [d for d in snnc.check(build(), "speck", **options) if d.rule == "SPECK-MEMORY-ASSIGNMENT"]
    table = d.message.split("\n", 1)[1]
    assert "fits cores" in table and table.count("5,6") == 3  # each of the three layers fits only cores 5 and 6
    assert all(f"\n{k} " in "\n" + table for k in range(9))  # one row per core
    assert set(d.measured) == {"a", "b", "c"} and len(d.limit) == 9


def test_memory_hints_say_what_to_change() -> None:
    (d,) = [d for d in snnc.check(CASES["memory-kernel"][0](), "speck") if d.rule == "SPECK-MEMORY-KERNEL"]
    assert d.measured == 64 * 2 ** (5 + 7) and d.limit == 65536
    assert "reduce out_channels from 128 to 32" in d.hint  # 64 · 2^(5 + 5) = 65,536


def test_every_violation_at_once() -> None:
    b = GraphBuilder("many")
    x = b.input("x", (2, 40, 40))
    big = b.add("big.iaf", IAF, b.add("big", conv(2, 4, 17, stride=3, padding=8), x))  # kernel, stride, padding
    pooled = b.add("pool", SumPool2d(3), b.add("flip", Flip(flip_y=True), big))  # a flip; 3x3: not 1, 2, 4
    wide = b.add("wide.iaf", IAF, b.add("wide", conv(4, 1100, 1), pooled))  # channels
    for k in range(3):  # three destinations; the first one's kernel memory 1100·2^6 words is too large
        b.output(f"out{k}", b.add(f"t{k}.iaf", IAF, b.add(f"t{k}", conv(1100, 64 if k == 0 else 2, 1, seed=k), wide)))
    rules = {rule for rule, _ in found(b.build())}
    assert rules >= {
        "SPECK-KERNEL-SIZE",
        "SPECK-STRIDE",
        "SPECK-PADDING",
        "SPECK-POOL-SIZE",
        "SPECK-CHANNELS",
        "SPECK-FANOUT",
        "SPECK-MEMORY-KERNEL",
        "SPECK-CROP-FLIP-PLACEMENT",
    }


def test_every_placed_layer_gets_a_placement_note() -> None:
    graph = chain((2, 8, 8), *layer("a", 2, 4), *layer("b", 4, 2))
    notes = [d for d in snnc.check(graph, "speck") if d.rule == "SPECK-PLACEMENT"]
    assert [(d.node, d.measured["core"], d.measured["kernel"]) for d in notes] == [
        ("a", 0, 2 * 16 * 4),
        ("b", 1, 64 * 2),
    ]
