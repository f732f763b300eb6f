"""The Lava runner's own logic, without Lava: re-timing to snnc's steps, the fixed-point guard,
the layouts, and the description file."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from loihi_graphs import conv_net, lowered

from snnc.backends.loihi.blocks import blocks
from snnc.backends.loihi.lava import LavaDescription, describe, from_lava_layout, to_lava_layout
from snnc.backends.loihi.runner import _align, _require_fixed_point


def test_lava_steps_are_re_timed_to_snnc_s():
    """Sample b's step t of a block with Lava delay d is Lava step b·T + t + d (index − 1)."""
    steps, batch, delay = 4, 2, 3
    raw = np.arange(batch * steps + delay - 1)  # value = the sink's index
    aligned = _align(raw, delay, steps, batch)
    assert aligned.tolist() == [[2, 6], [3, 7], [4, 8], [5, 9]]


class _Float:
    tags = ("floating_pt",)  # Lava's @tag list of the model class


class _Fixed:
    tags = ("bit_accurate_loihi", "fixed_pt")


def test_a_float_model_is_an_error():
    _require_fixed_point([SimpleNamespace(name="dense", model_class=_Fixed)])
    with pytest.raises(RuntimeError, match="not a fixed_pt model"):
        _require_fixed_point([SimpleNamespace(name="lif", model_class=_Float)])


@pytest.mark.parametrize("shape", [(3, 4, 5), (3, 7), (6,)])
def test_layouts_round_trip(shape):
    x = np.arange(2 * 3 * np.prod(shape)).reshape(2, 3, *shape)
    lava = to_lava_layout(x, shape)
    assert lava.shape[2:] == {3: (5, 4, 3), 2: (7, 1, 3), 1: (6,)}[len(shape)]
    np.testing.assert_array_equal(from_lava_layout(lava, shape), x)


def test_the_description_file_round_trips(tmp_path):
    description = describe(blocks(lowered(conv_net())))
    description.save(tmp_path / "d.npz")
    loaded = LavaDescription.load(tmp_path / "d.npz")
    assert loaded.outputs == description.outputs and loaded.input_shape == (8, 8, 2)
    for a, b in zip(loaded.layers, description.layers):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.bias_mant, b.bias_mant)
        assert (a.kind, a.in_shape, a.out_shape, a.vth, a.du, a.dv, a.lava_delay) == (
            b.kind, b.in_shape, b.out_shape, b.vth, b.du, b.dv, b.lava_delay
        )  # fmt: skip
    conv, dense = description.layers
    assert conv.weights.shape == (4, 3, 3, 2) and dense.weight_exp == -1  # (O, kW, kH, I); 2W >> 1
