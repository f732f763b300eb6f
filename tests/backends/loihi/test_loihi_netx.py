"""The NetX file as netx.md describes it (read here with h5py; lava-dl reads it in the
integration tests), written deterministically, and the replay of NetX's weight encoding."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from loihi_graphs import conv_net, lowered

from snnc.backends.loihi.blocks import blocks
from snnc.backends.loihi.netx import dense_weight_problem, write_netx
from snnc.ir import Conv2d, GraphBuilder, Neuron


def test_the_file_holds_netx_s_layers_and_integer_datasets(tmp_path):
    neuron = Neuron(threshold=2.0, v_decay=0.75, i_decay=0.5, reset="zero", fire_op="gt", bias=np.float32(0.25))
    g = lowered(conv_net(neuron))
    path = write_netx(blocks(g), tmp_path / "conv.net")
    with h5py.File(path, "r") as f:
        layers = f["layer"]
        assert list(layers) == ["0", "1", "2", "3"]
        assert [layers[k]["type"][0] for k in layers] == [b"input", b"conv", b"flatten", b"dense"]
        assert layers["0"]["shape"][()].tolist() == [2, 8, 8] and "neuron" not in layers["0"]
        conv, dense = layers["1"], layers["3"]
        np.testing.assert_array_equal(conv["weight"][()], g.node("conv").op.weight)  # PyTorch order, unflipped
        assert conv["shape"][()].tolist() == [4, 8, 8] and conv["padding"][()].tolist() == [1, 1]
        assert conv["stride"][()].tolist() == [1, 1] and conv["groups"][()] == 1
        op = g.node("n0").op
        cuba = conv["neuron"]
        assert cuba["type"][()] == b"CUBA"
        assert cuba["iDecay"][()] == 4096 - int(op.i_decay) and cuba["vDecay"][()] == 4096 - int(op.v_decay)
        assert cuba["vThMant"][()] == int(op.threshold) >> 6
        assert conv["bias"][()].tolist() == [int(op.bias) >> 6] * 4  # HDF5 units: NetX's bias_exp is 6
        np.testing.assert_array_equal(dense["weight"][()], g.node("fc").op.weight)
        assert dense["inFeatures"][()] == 256 and dense["outFeatures"][()] == 5
        for name, item in _datasets(f):
            if name.endswith("/type"):
                continue
            assert np.issubdtype(item.dtype, np.integer), f"{name} is {item.dtype}: NetX truncates floats"


def _datasets(f):
    found = []
    f.visititems(lambda name, item: found.append((name, item)) if isinstance(item, h5py.Dataset) else None)
    return found


def test_the_same_graph_gives_the_same_bytes(tmp_path):
    net = blocks(lowered(conv_net()))
    a, b = write_netx(net, tmp_path / "a.net"), write_netx(net, tmp_path / "b.net")
    assert a.read_bytes() == b.read_bytes()


def test_a_per_neuron_bias_is_written_in_lava_s_layout(tmp_path):
    bias = np.arange(4 * 3 * 5, dtype=np.float32).reshape(4, 3, 5) / 8
    b = GraphBuilder("g")
    conv = b.add("c", Conv2d(weight=np.ones((4, 1, 1, 1), np.float32)), b.input("x", (1, 3, 5)))
    b.output("out", b.add("n", Neuron(threshold=2.0, reset="zero", fire_op="gt", bias=bias), conv))
    g = lowered(b.build())
    with h5py.File(write_netx(blocks(g), tmp_path / "g.net"), "r") as f:
        written = f["layer/1/bias"][()]
    assert written.shape == (5, 3, 4)  # (W, H, C), the only per-neuron shape NetX accepts
    np.testing.assert_array_equal(written.transpose(2, 1, 0), g.node("n").op.bias >> 6)


@pytest.mark.parametrize(
    ("weights", "problem"),
    [
        ([[3, -5], [7, 1]], None),  # mixed: ×32, 4 bits, exact (netx.md §4)
        ([[127, -128]], None),
        ([[0, 255], [1, 2]], None),  # excitatory up to 255
        ([[-1, -255]], None),  # inhibitory down to −255
        ([[0, 0], [0, 0]], "every weight is 0"),
        ([[300, 10]], "zeroes them"),  # netx.md §4: [[300, 10]] → [[0, 0]]
        ([[0, -128]], "turn weight -128"),  # mixed for NetX, inhibitory for Lava: −256 → −255
        ([[-256, -128, -3]], "turn weight -256"),  # netx.md §4: Lava gives −255
        ([[255, -3]], "leave [-256, 254]"),
    ],
)
def test_netx_s_weight_encoding_is_replayed(weights, problem):
    found = dense_weight_problem(np.array(weights))
    assert (found is None) if problem is None else (problem in found), found
