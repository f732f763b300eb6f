"""Reading a .speck.json back: what snnc writes reads back into the same chip (its time-stepped
graph simulates as the compiled graph does), and any damaged or hostile file is SPECK-CONFIG
(exit code 2), never a traceback, checked before anything large is built."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import snnc
from snnc.backends import get_target
from snnc.backends.speck.dvs import View
from snnc.backends.speck.lower import dumps
from snnc.backends.speck.read import MAX_BYTES, parse_config, read_config, to_graph
from snnc.diagnostics import SnncError
from snnc.ir import SPIKE, Conv2d, Crop, Elementwise, Flip, GraphBuilder, Neuron, SumPool2d
from snnc.sim import run

IAF = Neuron(threshold=1.0, spikes="multi", v_min=-1.0)


def w(seed, *shape):
    return np.random.default_rng(seed).normal(0, 0.5, size=shape).astype(np.float32)


def branching():
    """Two layers read the input; one fans out to a pooled merge; biases; an output per branch."""
    b = GraphBuilder("branching")
    x = b.input("x", (2, 8, 8), SPIKE)
    a = b.add("a.iaf", IAF, b.add("a", Conv2d(w(0, 4, 2, 3, 3), w(1, 4) * 0.1, padding=1), x))
    c = b.add("c.iaf", IAF, b.add("c", Conv2d(w(2, 4, 2, 3, 3), padding=1), x))
    merged = b.add("m", Elementwise("add"), b.add("pa", SumPool2d(2), a), b.add("pc", SumPool2d(2), c))
    b.output("out", b.add("d.iaf", IAF, b.add("d", Conv2d(w(3, 3, 4, 3, 3)), merged)))
    b.output("side", c)
    return b.build()


@pytest.fixture(scope="module")
def compiled():
    return snnc.compile(branching(), "speck")


@pytest.fixture(scope="module")
def config(compiled):
    return get_target("speck").config(compiled.graph, compiled.options)


def test_a_written_configuration_reads_back_into_the_same_chip(compiled, config, tmp_path):
    path = tmp_path / "branching.speck.json"
    path.write_bytes(dumps(config))
    chip = read_config(path)
    assert [c.name for c in chip.cores] == ["a", "c", "d"] and [c.name for c in chip.entries] == ["a", "c"]
    graph = to_graph(chip).graph
    x = (np.random.default_rng(0).random((15, 2, 2, 8, 8)) < 0.3).astype(np.float32)
    want, got = run(compiled.graph, x).outputs, run(graph, x).outputs
    cores = {e["source"]["weight"]: e["core"] for e in config["placement"]}
    assert want["out"].any() and want["side"].any()
    np.testing.assert_array_equal(got[f"core{cores['d']}"].reshape(want["out"].shape), want["out"])
    np.testing.assert_array_equal(got[f"core{cores['c']}"], want["side"])


def cropped():
    """The DVS layer pooling 2x1, then keeping rows 1..6 and columns 2..10, mirrored in x and transposed."""
    b = GraphBuilder("cropped")
    x = b.add("pool", SumPool2d((2, 1)), b.input("x", (2, 16, 12), SPIKE))
    x = b.add("flip", Flip(flip_x=True, swap_xy=True), b.add("crop", Crop(1, 7, 2, 11), x))
    b.output("out", b.add("a.iaf", IAF, b.add("a", Conv2d(w(5, 3, 2, 3, 3), padding=1), x)))
    return b.build()


@pytest.fixture(scope="module")
def dvs_config():
    compiled = snnc.compile(cropped(), "speck", dvs_input=True)
    return compiled, get_target("speck").config(compiled.graph, compiled.options)


def test_the_dvs_region_and_mirroring_read_back(dvs_config):
    compiled, config = dvs_config
    dvs = config["dvs_layer"]
    assert (dvs["origin"], dvs["cut"], dvs["mirror"]) == ({"x": 2, "y": 1}, {"x": 10, "y": 6}, {"x": True, "y": False})
    assert dvs["mirror_diagonal"] and dvs["input_shape"] == {"size": {"x": 12, "y": 16}, "feature_count": 2}
    chip = parse_config(config)
    assert chip.input_shape == (2, 16, 12) and chip.dvs is not None
    assert chip.dvs.view == View(1, 7, 2, 11, flip_x=True, swap_xy=True)
    graph = to_graph(chip).graph
    assert [n.op.kind for n in graph][:4] == ["input", "sumpool2d", "crop", "flip"]
    x = (np.random.default_rng(1).random((10, 2, 2, 16, 12)) < 0.3).astype(np.float32)
    want = run(compiled.graph, x).output
    assert want.any()
    np.testing.assert_array_equal(run(graph, x).output.reshape(want.shape), want)


def test_a_damaged_dvs_region_is_named(dvs_config):
    def damaged(edit):
        data = copy.deepcopy(dvs_config[1])
        edit(data["dvs_layer"])
        return refused(data)

    assert "is not a region of the 8x12 pooled map" in damaged(lambda d: d.update(origin={"x": 11, "y": 1}))
    assert "is not a region of the 8x12 pooled map" in damaged(lambda d: d.update(cut={"x": 10, "y": 8}))
    assert "takes 2 polarities" in damaged(lambda d: d["input_shape"].update(feature_count=1))
    assert "mirror.x" in damaged(lambda d: d["mirror"].update(x="yes"))
    assert "does not take" in damaged(lambda d: d.update(mirror_diagonal=False))  # the core's input is transposed


def test_a_dvs_layer_without_its_input_shape_takes_the_pooled_map_to_its_cut(dvs_config):
    """A file written before snnc recorded `input_shape`: the sensor image is taken to end at the cut."""
    data = copy.deepcopy(dvs_config[1])
    del data["dvs_layer"]["input_shape"]
    assert parse_config(data).input_shape == (2, (6 + 1) * 2, (10 + 1) * 1)


def test_the_file_is_deterministic(compiled, config):
    again = snnc.compile(branching(), "speck")
    assert dumps(get_target("speck").config(again.graph, again.options)) == dumps(config)


def refused(data) -> str:
    with pytest.raises(SnncError) as err:
        parse_config(data)
    (d,) = err.value.diagnostics
    assert d.rule == "SPECK-CONFIG" and err.value.exit_code == 2
    return d.message


def test_each_damage_is_named_by_its_path(config):
    def damaged(edit):
        data = copy.deepcopy(config)
        edit(data)
        return refused(data)

    core = config["placement"][0]["core"]
    assert f"cnn_layers[{core}].weights" in damaged(lambda d: d["cnn_layers"][core]["weights"][0].pop())
    assert "threshold_high" in damaged(lambda d: d["cnn_layers"][core].__setitem__("threshold_high", 0))
    assert "in -128..127, found 300" in damaged(lambda d: d["cnn_layers"][core]["weights"][0][0][0].__setitem__(0, 300))
    assert "not the declared" in damaged(lambda d: d["cnn_layers"][core]["dimensions"].__setitem__("kernel_size", 5))
    assert "needs kernel" in damaged(
        lambda d: d["cnn_layers"][core]["dimensions"]["output_shape"].__setitem__("feature_count", 1024)
    )
    assert "not used" in damaged(lambda d: d["cnn_layers"][core]["destinations"][0].update(layer=8, enable=True))
    assert "a list of 9 cores" in damaged(lambda d: d["cnn_layers"].pop())
    assert "format" in damaged(lambda d: d.__setitem__("version", 2))


def test_huge_declared_arrays_are_refused_before_they_are_read(config):
    """A core claiming 1024 channels on a 128x128 map would need 16 M neurons: refused from its
    dimensions alone, whatever its (short) arrays hold."""
    data = copy.deepcopy(config)
    dims = data["cnn_layers"][0]["dimensions"]
    dims["input_shape"]["size"] = {"x": 128, "y": 128}
    dims["output_shape"] = {"size": {"x": 128, "y": 128}, "feature_count": 1024}
    dims.update(kernel_size=1, padding={"x": 0, "y": 0})
    assert "needs kernel 2,048, neuron 16,777,216" in refused(data)


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"{",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"format": NaN}',
        b'{"format": "snnc.speck", "format": "x"}',
        b"\xff\xfe",
        b'{"format": "snnc.speck", "version": 1, "chip": "speck2f", "cnn_layers": 5, "dvs_layer": {}}',
    ],
    ids=["empty", "truncated", "deep", "nan", "duplicate-key", "not-utf8", "wrong-type"],
)
def test_unreadable_files_are_speck_config_errors(tmp_path, text):
    path = tmp_path / "bad.speck.json"
    path.write_bytes(text)
    with pytest.raises(SnncError) as err:
        read_config(path)
    assert [d.rule for d in err.value.diagnostics] == ["SPECK-CONFIG"]


def test_a_file_too_large_is_not_read(tmp_path):
    path = tmp_path / "big.speck.json"
    with open(path, "wb") as f:
        f.truncate(MAX_BYTES + 1)
    with pytest.raises(SnncError, match="at most"):
        read_config(path)


def _mutations(value, draw, depth=0):
    """A copy of `value` with a few random leaves replaced or removed."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        out = dict(value)
        if draw(st.booleans()) and depth > 0:
            del out[key]
        else:
            out[key] = _mutations(value[key], draw, depth + 1)
        return out
    if isinstance(value, list) and value:
        k = draw(st.integers(0, len(value) - 1))
        out = list(value)
        out[k] = _mutations(value[k], draw, depth + 1)
        return out
    return draw(st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=3), st.just([])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_damage_never_escapes_as_a_traceback(config, dvs_config, data):
    """Fuzz: a few random leaves changed anywhere in the file (one without, one with a cropping and
    mirroring DVS layer). Either it still reads as a valid chip, or the reader says SPECK-CONFIG;
    nothing else may happen."""
    mutated = data.draw(st.sampled_from([config, dvs_config[1]]))
    for _ in range(data.draw(st.integers(1, 3))):
        mutated = _mutations(mutated, data.draw)
    try:
        parse_config(mutated)
    except SnncError as e:
        assert [d.rule for d in e.diagnostics] == ["SPECK-CONFIG"]


def test_snnc_simulate_on_a_bad_file_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "bad.speck.json"
    path.write_text(json.dumps({"format": "snnc.speck"}))
    data = tmp_path / "x.npz"
    np.savez(data, x=np.zeros((2, 1, 2, 8, 8), np.float32))
    done = subprocess.run(
        [sys.executable, "-m", "snnc", "simulate", str(path), "--data", str(data)], capture_output=True, text=True
    )
    assert done.returncode == 2 and "SPECK-CONFIG" in done.stderr and "Traceback" not in done.stderr
