"""snnc's Speck configuration equals sinabs 3.1.3's, field by field, and its time-stepped simulation
equals sinabs' discretized network, spike for spike (docs/targets/speck.md §5, §8, §9).

sinabs' own `DynapcnnNetwork(...).make_config(...)` runs through the recording samna stand-in
(conftest.py); layers are matched by the module name of their weight layer (sinabs numbers them by
a set-order accident, §8). The networks are in networks.py; the configurations snnc writes for the
small ones are kept in tests/golden/speck/ (tests/golden_files.py; regenerate: `make golden`).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from golden_files import assert_golden
from networks import BATCHNORM_EPS, CASES, Case
from sinabs_reference import Reference, compare, events, sinabs_forward, sinabs_reference, snnc_compiled, snnc_config

from snnc.backends.speck.lower import dumps

BY_NAME = {case.name: case for case in (*CASES, BATCHNORM_EPS)}


@functools.cache
def reference(name: str) -> Reference:
    return sinabs_reference(BY_NAME[name])


@functools.cache
def compiled(name: str):
    return snnc_compiled(BY_NAME[name])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_every_field_and_core_equals_sinabs(dynapcnn, case: Case) -> None:
    ref = reference(case.name)
    config = snnc_config(compiled(case.name))
    assert compare(ref, config) == []
    assert {e["core"] for e in config["placement"]} == set(ref.cores.values())
    unused = [core for core in range(9) if core not in ref.cores.values()]
    assert all(config["cnn_layers"][k]["source"] is None for k in unused)
    assert not any(d["enable"] for k in unused for d in config["cnn_layers"][k]["destinations"])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_time_stepped_simulation_equals_sinabs_discretized_network(dynapcnn, case: Case) -> None:
    x = events(case)
    expected = sinabs_forward(reference(case.name), x)
    result = compiled(case.name).simulate(x)
    got = {_exit_layer(compiled(case.name).graph, name): y.reshape(len(y), -1) for name, y in result.outputs.items()}
    assert sorted(got) == sorted(expected)
    assert sum(int(v.sum()) for v in expected.values()) > 0, "no output spike: the comparison proves nothing"
    for layer, spikes in expected.items():
        np.testing.assert_array_equal(got[layer], spikes, err_msg=layer)


@pytest.mark.parametrize(
    ("sinabs_monitor", "snnc_monitor"),
    [("all", ("all",)), (["dvs"], ("dvs",)), (["dvs", -1], ("dvs", "exit")), ([1], ("1",))],
)
def test_monitored_cores_and_dvs_layer_equal_sinabs(dynapcnn, sinabs_monitor, snnc_monitor) -> None:
    """--monitor as sinabs' make_config(monitor_layers=...) (chips/dynapcnn.py: monitor_layers):
    cores by layer name, "all", "exit" (sinabs' -1) and "dvs" (the DVS layer's own monitor)."""
    case = BY_NAME["dvs_pooling"]
    ref = sinabs_reference(case, monitor_layers=sinabs_monitor)
    config = snnc_config(snnc_compiled(case, monitor=snnc_monitor))
    assert compare(ref, config) == []
    cores = {entry["core"] for entry in config["placement"]}
    want = {core: ref.config["cnn_layers"][core]["monitor_enable"] for core in cores}
    assert {core: config["cnn_layers"][core]["monitor_enable"] for core in cores} == want
    assert any(want.values()) or sinabs_monitor == ["dvs"]
    assert config["dvs_layer"]["monitor_enable"] == ref.config["dvs_layer"]["monitor_enable"] == ("dvs" in snnc_monitor)


def _exit_layer(graph, output: str) -> str:
    """The weight layer whose neuron an output reads (through flattens and pools)."""
    from snnc.ir.ops import Conv2d

    name = graph.node(output).inputs[0]
    while not isinstance(graph.node(name).op, Conv2d):
        name = graph.node(name).inputs[0]
    return name


@pytest.mark.parametrize(
    ("name", "cores"),
    [("auto_mapping", [0, 3, 5, 6, 1]), ("large_net", [0, 1, 2, 8, 4, 5, 6, 3, 7])],
)
def test_sinabs_own_test_networks_land_on_their_documented_cores(dynapcnn, name: str, cores: list[int]) -> None:
    """speck.md §1.3: the cores sinabs' tests/test_dynapcnn/test_auto_mapping.py and test_large_net.py give."""
    config = snnc_config(compiled(name))
    assert [e["core"] for e in config["placement"]] == cores
    assert [e["layer"] for e in config["placement"]] == list(range(len(cores)))


def test_a_merge_of_different_average_pools_gets_sinabs_rescale(dynapcnn) -> None:
    found = [d for d in compiled("merge_fanout").diagnostics if d.rule == "PASS-MERGE-RESCALE"]
    assert [(d.node, d.limit) for d in found] == [("merge", 0.31)]


def test_batchnorm_differs_from_sinabs_only_by_the_eps_sinabs_ignores(dynapcnn) -> None:
    """sinabs' merge_bn divides by sqrt(running_var), without eps (sinabs backend/dynapcnn/utils.py::
    merge_bn; speck.md §8); snnc folds correctly. With eps 0 the two agree (CASES: batchnorm_eps0);
    with eps 1e-5 and running variances of 1e-5..1e-4, the folded layer's weights and biases differ
    (here up to 25% of a weight), and nothing else does."""
    ref = reference(BATCHNORM_EPS.name)
    problems = compare(ref, snnc_config(compiled(BATCHNORM_EPS.name)))
    assert problems and all(p.startswith(("0 (core 0) weights", "0 (core 0) biases")) for p in problems)
    core = ref.cores["0"]
    theirs = np.array(ref.config["cnn_layers"][core]["weights"])
    ours = np.array(snnc_config(compiled(BATCHNORM_EPS.name))["cnn_layers"][core]["weights"])
    assert 0 < np.abs(ours - theirs).max() <= 0.25 * np.abs(theirs).max()


@pytest.mark.golden
@pytest.mark.parametrize("case", [c for c in CASES if c.golden], ids=lambda c: c.name)
def test_configuration_matches_its_golden_file(dynapcnn, case: Case) -> None:
    """The emitted file, byte for byte (reviewed as a diff when it changes)."""
    assert_golden(f"speck/{case.name}.speck.json", dumps(snnc_config(compiled(case.name))).decode("utf-8"))
