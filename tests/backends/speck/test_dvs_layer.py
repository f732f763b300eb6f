"""sinabs' DVSLayer (importable only through samna, here the stand-in): its pooling, crop and flips
become SumPool2d → Crop → Flip in sinabs' forward order, equal to `DVSLayer.forward` value for
value; a 1x1 pooling still marks the DVS layer; a crop outside the pooled map is refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import sinabs.layers as sl
import torch
from torch import nn

import snnc
from snnc.backends import get_target
from snnc.diagnostics import errors
from snnc.sim import reference, run

T, B = 6, 2


def with_dvs(dynapcnn, shape=(16, 16), channels: int = 2, **kwargs) -> nn.Module:
    conv = nn.Conv2d(channels, 2, 3, bias=False)
    with torch.no_grad():  # excitatory, so that the neurons fire
        conv.weight.copy_(torch.rand(conv.weight.shape, generator=torch.Generator().manual_seed(0)) * 0.3)
    return nn.Sequential(
        dynapcnn.DVSLayer(input_shape=shape, merge_polarities=channels == 1, **kwargs),
        conv,
        sl.IAFSqueeze(batch_size=B, min_v_mem=-1.0),
    ).eval()


def events(channels: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.random((T, B, channels, *shape)) < 0.3) + (rng.random((T, B, channels, *shape)) < 0.1)).astype(
        np.float32
    )


def test_a_dvs_layer_without_pooling_still_configures_the_dvs(dynapcnn):
    compiled = snnc.compile(snnc.load(with_dvs(dynapcnn)), "speck")
    dvs = get_target("speck").config(compiled.graph)["dvs_layer"]
    assert dvs["destinations"][0] == {"layer": 0, "enable": True} and dvs["pooling"] == {"x": 1, "y": 1}
    assert dvs["pass_sensor_events"] is False  # sinabs: a DVSLayer's pixel array is off unless dvs_input


def test_crop_and_flips_become_ops_in_sinabs_order(dynapcnn):
    model = with_dvs(dynapcnn, (16, 24), pool=(2, 4), crop=((1, 7), (0, 5)), flip_x=True, swap_xy=True)
    graph = snnc.load(model)
    dvs = [(n.name, n.op.kind, n.source) for n in graph if n.source == "0"]
    assert dvs == [("0", "sumpool2d", "0"), ("0.crop_layer", "crop", "0"), ("0.flip_layer", "flip", "0")]
    crop, flip = graph.node("0.crop_layer").op, graph.node("0.flip_layer").op
    assert (crop.top, crop.bottom, crop.left, crop.right) == (1, 7, 0, 5)
    assert (flip.flip_y, flip.flip_x, flip.swap_xy) == (False, True, True)
    assert graph.node("0.flip_layer").type.shape == (2, 5, 6)


def test_a_whole_map_crop_and_no_flip_add_no_node(dynapcnn):
    graph = snnc.load(with_dvs(dynapcnn, (16, 16), pool=(2, 2), crop=((0, 8), (0, 8))))
    assert [n.op.kind for n in graph] == ["input", "sumpool2d", "conv2d", "neuron", "output"]


DVS_SETTINGS = {
    "crop": ((16, 16), 2, {"crop": ((2, 14), (3, 16))}),
    "pool_crop": ((32, 24), 1, {"pool": (4, 2), "crop": ((1, 7), (2, 12))}),
    "flip_x": ((16, 12), 2, {"flip_x": True}),
    "flip_y": ((16, 12), 2, {"flip_y": True}),
    "swap_xy": ((16, 12), 1, {"swap_xy": True}),
    "all": ((20, 28), 1, {"pool": (2, 2), "crop": ((1, 9), (2, 13)), "flip_x": True, "flip_y": True, "swap_xy": True}),
}


@pytest.mark.parametrize("setting", DVS_SETTINGS)
def test_the_dvs_ops_equal_sinabs_forward(dynapcnn, setting):
    """The DVS nodes' output (the literal reference) equals `DVSLayer.forward`, and the whole
    network (the fast simulator) equals sinabs' forward spike for spike."""
    shape, channels, kwargs = DVS_SETTINGS[setting]
    model = with_dvs(dynapcnn, shape, channels, **kwargs)
    x = events(channels, shape)
    graph = snnc.load(model, input_shape=(channels, *shape))
    last = [n.name for n in graph if n.source == "0"][-1]
    library = torch.from_numpy(x).transpose(0, 1).flatten(0, 1)  # [B·T, ...], batch-major
    with torch.no_grad():
        dvs, out = model[0](library), model(library)

    def as_time_major(y: torch.Tensor) -> np.ndarray:
        return y.unflatten(0, (B, T)).transpose(0, 1).numpy()

    np.testing.assert_array_equal(reference.run(graph, x)[last], as_time_major(dvs))
    spikes = run(graph, x).output
    assert spikes.sum() > 0
    np.testing.assert_array_equal(spikes, as_time_major(out))


@pytest.mark.parametrize("crop", [((0, 9), (0, 8)), ((0, 8), (-3, 8))], ids=["past-the-end", "negative"])
def test_a_crop_outside_the_pooled_map_is_refused(dynapcnn, crop):
    """sinabs' forward slices as Python does (rows 0:9 of 8 are 8 rows, columns -3:8 the last 3)
    but writes the chip's cut and origin from the bounds as given; snnc names the DVS layer."""
    with pytest.raises(snnc.SnncError) as err:
        snnc.load(with_dvs(dynapcnn, (16, 16), pool=(2, 2), crop=crop))
    assert [(d.rule, d.node) for d in err.value.diagnostics] == [("FE-UNSUPPORTED-ATTR", "0")]
    assert "0 <= top < bottom <= 8" in err.value.diagnostics[0].hint


@pytest.mark.parametrize("kwargs", [{"crop": ((0, 12), (2, 16))}, {"flip_y": True}], ids=["crop", "flip"])
def test_a_pooling_after_a_cropping_or_flipping_dvs_layer_is_refused_as_sinabs_refuses_it(dynapcnn, kwargs):
    """sinabs dynapcnn_layer_utils.py::consolidate_dvs_pooling raises ValueError; snnc names the pooling."""
    model = nn.Sequential(with_dvs(dynapcnn, **kwargs)[0], sl.SumPool2d(2), *with_dvs(dynapcnn)[1:])
    with pytest.raises(ValueError, match="followed by a pooling layer"):
        dynapcnn.DynapcnnNetwork(model, input_shape=(2, 16, 16), discretize=True)
    rules = [(d.rule, d.node) for d in errors(snnc.check(snnc.load(model, input_shape=(2, 16, 16)), "speck"))]
    assert rules == [("SPECK-DVS-POOL-AFTER-CROP", "1")]
