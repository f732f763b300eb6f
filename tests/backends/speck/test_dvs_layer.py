"""sinabs' DVSLayer (importable only through samna, here the stand-in): its pooling becomes the
Speck DVS layer's (tests/golden: dvs_pooling), a 1x1 pooling still marks the DVS layer, and crop
and flips, which the IR cannot express yet, are refused by name."""

from __future__ import annotations

import pytest
import sinabs.layers as sl
from torch import nn

import snnc
from snnc.backends import get_target


def with_dvs(dynapcnn, **kwargs) -> nn.Module:
    return nn.Sequential(
        dynapcnn.DVSLayer(input_shape=(16, 16), **kwargs),
        nn.Conv2d(2, 2, 3, bias=False),
        sl.IAFSqueeze(batch_size=1, min_v_mem=-1.0),
    )


def test_a_dvs_layer_without_pooling_still_configures_the_dvs(dynapcnn):
    compiled = snnc.compile(snnc.load(with_dvs(dynapcnn)), "speck")
    dvs = get_target("speck").config(compiled.graph)["dvs_layer"]
    assert dvs["destinations"][0] == {"layer": 0, "enable": True} and dvs["pooling"] == {"x": 1, "y": 1}
    assert dvs["pass_sensor_events"] is False  # sinabs: a DVSLayer's pixel array is off unless dvs_input


@pytest.mark.parametrize(
    "kwargs", [{"crop": ((2, 14), (0, 16))}, {"flip_x": True}, {"swap_xy": True}], ids=["crop", "flip", "swap"]
)
def test_crop_and_flips_are_refused(dynapcnn, kwargs):
    with pytest.raises(snnc.SnncError) as err:
        snnc.load(with_dvs(dynapcnn, **kwargs))
    assert [(d.rule, d.node) for d in err.value.diagnostics] == [("FE-UNSUPPORTED-ATTR", "0")]
