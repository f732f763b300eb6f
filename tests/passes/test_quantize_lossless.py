"""The sim formats quantize exactly wherever exactness is possible (QuantSpec.lossless_scale)."""

import nmnist_cnn
import numpy as np
import pytest

import snnc


@pytest.mark.parametrize("bits", [8, 16])
def test_integer_valued_model_quantizes_exactly(bits):
    """nmnist-cnn's weights are integers in [-8, 8] and its thresholds 16: a power-of-two scale
    holds them all exactly, so the integer simulation spikes exactly as the float one."""
    graph = nmnist_cnn.build()
    compiled = snnc.compile(graph, "sim", bits=bits)
    assert {d.rule for d in compiled.diagnostics} == {"QUANT-LOSS"}  # no threshold or zeroing warnings
    for node in compiled.graph.nodes:
        fmt = getattr(node.op, "weight_format", None)
        if fmt is not None:
            assert np.log2(fmt.scale).is_integer()
    x = nmnist_cnn.sample_input(T=30, B=4, seed=3)
    np.testing.assert_array_equal(compiled.simulate(x).output, snnc.simulate(graph, x).output)


def test_real_valued_weights_keep_the_fitted_scale():
    """Lossless snapping never applies where it would lose precision: random float weights keep the
    rule's scale (largest |w| on the end of the range), which is not a power of two."""
    graph = nmnist_cnn.build()
    rng = np.random.default_rng(0)
    nodes = [
        n.replace(op=n.op.replace(weight=n.op.weight + rng.normal(0, 0.01, n.op.weight.shape).astype(np.float32)))
        if n.op.kind == "conv2d"
        else n
        for n in graph.nodes
    ]
    compiled = snnc.compile(graph.with_nodes(nodes), "sim", bits=8)
    conv1 = compiled.graph.node("conv1").op.weight_format
    assert not np.log2(conv1.scale).is_integer()
