"""to_samna: every field of the configuration file lands on samna's object (here the recording
stand-in, conftest.py), as sinabs assigns them; without samna, a clear SPECK-SAMNA."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import snnc
from snnc.backends import get_target
from snnc.backends.speck import to_samna
from snnc.ir import SPIKE, Conv2d, GraphBuilder, Neuron, SumPool2d

SNNC_ONLY = {"format", "version", "chip", "graph", "placement"}


def config(chip: str = "speck2f", dvs_input: bool = True):
    rng = np.random.default_rng(0)
    iaf = Neuron(threshold=1.0, spikes="multi", v_min=-1.0)
    b = GraphBuilder("net")
    x = b.add("dvs", SumPool2d(2), b.input("x", (2, 16, 16), SPIKE))
    a = b.add("a.iaf", iaf, b.add("a", Conv2d(rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4), padding=1), x))
    b.output(
        "out",
        b.add("b.iaf", iaf, b.add("b", Conv2d(rng.normal(size=(3, 4, 2, 2)), stride=2), b.add("p", SumPool2d(2), a))),
    )
    compiled = snnc.compile(b.build(), "speck", chip=chip, dvs_input=dvs_input)
    return get_target("speck").config(compiled.graph, compiled.options)


def without_source(value):
    if isinstance(value, dict):
        return {k: without_source(v) for k, v in value.items() if k != "source"}
    if isinstance(value, list):
        return [without_source(v) for v in value]
    return value


@pytest.mark.parametrize("chip", ["speck2f", "speck2e"])
def test_every_field_lands_on_the_samna_object(dynapcnn, chip):
    from samna.configuration import plain

    data = config(chip, dvs_input=True)
    obj = to_samna(data)
    assert type(obj).__module__ == "samna.configuration"  # samna.<chip>.configuration.SpeckConfiguration
    del data["dvs_layer"]["input_shape"]  # snnc's: the sensor image the configuration expects
    assert plain(obj) == without_source({k: v for k, v in data.items() if k not in SNNC_ONLY})
    assert obj.dvs_layer.pass_sensor_events is True and obj.dvs_layer.pooling.x == 2  # dicts became structures


def test_without_samna_the_conversion_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "samna", None)  # import samna raises ImportError
    with pytest.raises(snnc.SnncError) as err:
        to_samna(config())
    assert [d.rule for d in err.value.diagnostics] == ["SPECK-SAMNA"] and err.value.exit_code == 2


def test_a_damaged_configuration_is_refused_before_samna_is_touched(monkeypatch):
    monkeypatch.setitem(sys.modules, "samna", None)
    data = config()
    data["cnn_layers"][0]["threshold_high"] = "high"
    with pytest.raises(snnc.SnncError) as err:
        to_samna(data)
    assert [d.rule for d in err.value.diagnostics] == ["SPECK-CONFIG"]
