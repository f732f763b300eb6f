"""The Speck spec reproduces sinabs' discretization bit for bit (docs/targets/speck.md §3.2).

The reference is sinabs' own `sinabs/backend/dynapcnn/discretize.py`, loaded from its file: the
`sinabs.backend.dynapcnn` package imports samna at import time (docs/environment.md §3), but this
module imports only torch and `sinabs.layers`, so it loads without a stand-in.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from snnc.backends.speck.spec import SPECK
from snnc.ir import SPIKE, Conv2d, GraphBuilder, Neuron
from snnc.passes.base import PassContext
from snnc.passes.quantize import Quantize

torch = pytest.importorskip("torch")
sinabs = pytest.importorskip("sinabs", reason="sinabs is the reference for the Speck quantizer")
sl = pytest.importorskip("sinabs.layers")


def _discretize():
    path = Path(sinabs.__file__).parent / "backend" / "dynapcnn" / "discretize.py"
    spec = importlib.util.spec_from_file_location("sinabs_discretize", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


discretize = _discretize()


def layer(rng: np.random.Generator, k: int):
    """A random conv + IAF pair: weights spanning 10^-3..10^3, with or without bias, v_min and an
    initialised state; thresholds both below and far above the weights (the 16-bit range binds)."""
    magnitude = 10 ** rng.uniform(-3, 3)
    weight = (rng.normal(size=(4, 2, 3, 3)) * magnitude).astype(np.float32)
    if k % 3 == 0:
        weight = np.abs(weight)  # one-signed: the positive side sets the scale
    bias = (rng.normal(size=4) * magnitude).astype(np.float32) if k % 2 else None
    threshold = np.float32(magnitude * 10 ** rng.uniform(-1, 3))
    v_min = None if k % 5 == 0 else np.float32(-threshold * rng.uniform(0.1, 300))
    v_init = (rng.normal(size=(4, 6, 6)) * threshold).astype(np.float32) if k % 4 == 0 else None
    return weight, bias, threshold, v_min, v_init


def sinabs_reference(weight, bias, threshold, v_min, v_init):
    conv = torch.nn.Conv2d(2, 4, 3, bias=bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight))
        if bias is not None:
            conv.bias.copy_(torch.from_numpy(bias))
    low = None if v_min is None else float(v_min)
    iaf = sl.IAFSqueeze(batch_size=1, spike_threshold=float(threshold), min_v_mem=low)
    if v_init is not None:
        iaf.v_mem = torch.from_numpy(v_init)[None]
    conv, iaf = discretize.discretize_conv_spike(conv, iaf, to_int=False)
    return {
        "weight": conv.weight.detach().numpy(),
        "bias": None if bias is None else conv.bias.detach().numpy(),
        "threshold": float(iaf.spike_threshold),
        "v_min": float(iaf.min_v_mem),
        "v_init": None if v_init is None else iaf.v_mem.detach().numpy()[0],
    }


def snnc_quantized(weight, bias, threshold, v_min, v_init):
    """The same pair as IR (sinabs' IAF: subtract reset, multi-spike, v ≥ θ, min_v_mem clamp)."""
    b = GraphBuilder("speck")
    conv = b.add("conv", Conv2d(weight, bias), b.input("x", (2, 8, 8), SPIKE))
    neuron = Neuron(
        threshold=threshold,
        spikes="multi",
        v_min=v_min,
        v_init=np.zeros((), np.float32) if v_init is None else v_init,
    )
    b.output("out", b.add("iaf", neuron, conv))
    ctx = PassContext(verify_each=True)
    graph = Quantize(SPECK)(b.build(), ctx)
    return graph, ctx.diagnostics


def test_matches_sinabs_discretize_on_random_layers():
    rng = np.random.default_rng(0)
    for k in range(120):
        params = layer(rng, k)
        want = sinabs_reference(*params)
        graph, diags = snnc_quantized(*params)
        if any(d.severity.value == "error" for d in diags):
            assert graph.arithmetic is None  # refused (e.g. θ rounds to 0), as QUANT-ZEROED says
            assert want["threshold"] == 0 or not want["weight"].any(), k
            continue
        conv, iaf = graph.node("conv").op, graph.node("iaf").op
        assert np.array_equal(conv.weight, want["weight"].astype(np.int64)), k
        if want["bias"] is not None:
            assert np.array_equal(conv.bias, want["bias"].astype(np.int64)), k
        assert (int(iaf.threshold), int(iaf.v_min)) == (want["threshold"], want["v_min"]), k
        if want["v_init"] is not None:
            assert np.array_equal(iaf.v_init, want["v_init"].astype(np.int64)), k


def test_unset_v_min_is_sinabs_minus_32768_trap():
    """min_v_mem=None scales −32768 into 16 bits: s ≤ 1, small weights vanish (speck.md §3.3)."""
    weight = np.full((4, 2, 3, 3), 0.3, np.float32)
    want = sinabs_reference(weight, None, np.float32(2.0), None, None)
    graph, diags = snnc_quantized(weight, None, np.float32(2.0), None, None)
    assert not want["weight"].any() and graph.arithmetic is None
    zeroed = [d for d in diags if d.rule == "QUANT-ZEROED"]
    assert zeroed and zeroed[0].measured == zeroed[0].limit == weight.size  # every weight lost
