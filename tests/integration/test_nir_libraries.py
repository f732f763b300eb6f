"""Each library's own NIR export, loaded by snnc and simulated, against the library's forward.

NIR's neurons fire on v > θ, reset to v_reset in the same step and emit one spike (nir/ir/
neuron.py); snnc discretizes them by forward Euler with the dt the exporter assumed
(snnc/nir/primitives.py). Where an exporter's conventions lose or change something, the
test measures the difference under NIR's own semantics (producer="nir"), then names it exactly:
with the lost switches restored on the imported neurons (or the dt the exporter's parameters
imply), the spikes match the library's. The last tests read the same files with their
producer's conventions (snnc/nir/producers.py), given or recognised: exact.

    SpikingJelly  IF/LIF with hard reset, dt = 1e-4: exact but for >= vs > (shown on grid inputs)
    snnTorch      Leaky/Synaptic: v_reset = 0 written for the subtract reset, which snnTorch
                  applies one step late: restore reset="subtract", reset_timing="next_step"
    sinabs        IAF: written as IF with r = 1, i.e. dt = 1; multi-spike, subtract reset and >=
                  lost: restore spikes="multi", reset="subtract", fire_op="ge"
    Norse         LIFBox: τ written as dt/τ_mem_inv (= dt·τ), so Euler reproduces Norse only with
                  dt = dt_norse² (with dt_norse the result is off by the factor dt_norse); IAF is
                  written with r = 1, i.e. dt = 1 (no single dt fits a net mixing both); LIF as
                  CubaLIF with w_in = 1, which scales the synaptic input by c_s
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc.ir import Neuron
from snnc.passes.rewrite import Rewriter

nir = pytest.importorskip("nir")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # nirtorch's legacy extractor, used by exporters
T, B = 24, 3


def _linear(n_in: int, n_out: int, gain: float, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    layer = nn.Linear(n_in, n_out)
    with torch.no_grad():
        layer.weight.mul_(gain)
    return layer


def _write(graph, path, compression: str | None = "gzip") -> str:
    nir.write(path, graph, compression=compression)
    return str(path)


def _patched(graph, **fields) -> snnc.Graph:
    """The graph with the given switches set on every neuron: what the exporter did not write."""
    rw = Rewriter(graph)
    for n in graph.nodes:
        if isinstance(n.op, Neuron):
            rw.set_op(n.name, n.op.replace(**fields))
    return rw.build()


def _mismatches(a: np.ndarray, b: np.ndarray) -> int:
    return int((a != b).sum())


def _inputs(shape: tuple[int, ...], seed: int = 1, grid: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.random((T, B, *shape), dtype=np.float32)
    return np.round(x * 4) / 4 if grid else x


# --- SpikingJelly --------------------------------------------------------------------------------


def _sj_net(grid: bool):
    from spikingjelly.activation_based import functional, layer, neuron

    l1, l2 = layer.Linear(10, 16), layer.Linear(16, 8)
    l1.load_state_dict(_linear(10, 16, 2.0, 0).state_dict())
    l2.load_state_dict(_linear(16, 8, 3.0, 1).state_dict())
    if grid:  # weights on a 1/4 grid: membranes land exactly on the threshold
        for m in (l1, l2):
            with torch.no_grad():
                for p in m.parameters():
                    p.copy_(torch.round(p * 4) / 4)
    net = nn.Sequential(l1, neuron.LIFNode(tau=2.0, v_reset=0.0), l2, neuron.IFNode(v_reset=0.0))
    functional.set_step_mode(net, "m")
    return net


@pytest.mark.parametrize("grid", [False, True])
def test_spikingjelly_export_matches_but_for_the_fire_comparison(tmp_path, grid):
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based import functional

    net = _sj_net(grid)
    x = _inputs((10,), grid=grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = sj.export_to_nir(net, torch.from_numpy(x), dt=1e-4)
    functional.reset_net(net)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    loaded = snnc.load(_write(graph, tmp_path / "sj.nir"), dt=1e-4, producer="nir")
    got = snnc.simulate(loaded, x).output
    ge = snnc.simulate(_patched(loaded, fire_op="ge"), x).output
    print(f"spikingjelly: {expected.sum():.0f} spikes; NIR (v > θ) differs in {_mismatches(got, expected)}")
    assert expected.any()
    np.testing.assert_array_equal(ge, expected)  # SpikingJelly fires on h >= θ (_ops/surrogate.py)
    if grid:
        assert _mismatches(got, expected) > 0  # membranes exactly at θ: NIR's strict > misses them
    else:
        np.testing.assert_array_equal(got, expected)  # real-valued inputs never hit θ exactly


# --- snnTorch ------------------------------------------------------------------------------------


def test_snntorch_export_loses_the_subtract_reset(tmp_path):
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    beta, alpha = torch.rand(16) * 0.3 + 0.65, torch.rand(8) * 0.4 + 0.3
    net = nn.Sequential(
        _linear(10, 16, 2.0, 0),
        snn.Leaky(beta=beta, threshold=torch.ones(16), init_hidden=True),
        _linear(16, 8, 2.0, 1),
        snn.Synaptic(alpha=alpha, beta=torch.full((8,), 0.8), threshold=torch.ones(8), init_hidden=True),
    )
    x = _inputs((10,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export_to_nir(net, torch.zeros(10))
    for m in net:  # a fresh state per run (docs/library-semantics.md §2: reset every neuron directly)
        if hasattr(m, "reset_hidden"):
            m.reset_hidden()
    with torch.no_grad():
        expected = np.stack([net(torch.from_numpy(x[t])).numpy() for t in range(T)])
    loaded = snnc.load(_write(graph, tmp_path / "snntorch.nir"), producer="nir")  # dt 1e-4: snnTorch's export step
    got = snnc.simulate(loaded, x).output
    restored = snnc.simulate(_patched(loaded, reset="subtract", reset_timing="next_step"), x).output
    print(f"snntorch: {expected.sum():.0f} spikes; NIR zero reset differs in {_mismatches(got, expected)}")
    assert expected.any() and _mismatches(got, expected) > 0
    np.testing.assert_array_equal(restored, expected)


# --- sinabs --------------------------------------------------------------------------------------


def _sinabs_forward(net: nn.Module, x: np.ndarray) -> np.ndarray:
    import sinabs.layers as sl

    for m in net:
        if isinstance(m, sl.StatefulLayer):  # the export ran the net: start afresh
            m.reset_states()
    with torch.no_grad():  # squeeze layers take (B·T, …), batch-major (docs/library-semantics.md §3.2)
        flat = torch.from_numpy(x).transpose(0, 1).reshape(B * T, *x.shape[2:])
        out = net(flat)
    return out.reshape(B, T, *out.shape[1:]).transpose(0, 1).numpy()


def _sinabs_check(graph, x: np.ndarray, expected: np.ndarray) -> None:
    """sinabs writes IF with r = 1 (dt = 1) and loses MultiSpike, MembraneSubtract and v >= θ."""
    loaded = snnc.load(graph, dt=1.0, producer="nir")
    got = snnc.simulate(loaded, x).output
    restored = snnc.simulate(_patched(loaded, spikes="multi", reset="subtract", fire_op="ge"), x).output
    lost = _mismatches(got, expected)
    print(f"sinabs: {expected.sum():.0f} spikes (max {expected.max():.0f} per step); NIR differs in {lost}")
    assert expected.max() > 1 and lost > 0
    np.testing.assert_array_equal(restored, expected)


def test_sinabs_export_is_dt_one_and_loses_multispikes(tmp_path):
    sinabs = pytest.importorskip("sinabs")
    import sinabs.layers as sl

    net = nn.Sequential(
        _linear(10, 16, 3.0, 0), sl.IAFSqueeze(batch_size=B), _linear(16, 8, 3.0, 1), sl.IAFSqueeze(batch_size=B)
    )
    x = _inputs((10,))
    graph = sinabs.to_nir(net, torch.zeros(B, 10))
    _sinabs_check(_write(graph, tmp_path / "sinabs.nir"), x, _sinabs_forward(net, x))


def test_sinabs_conv_graph_that_nir_cannot_write_loads_in_memory():
    """sinabs leaves Conv2d.input_shape and Flatten.input_type unset, so nir.write fails on the
    graph (h5py: "One of data, shape or dtype must be specified"); snnc reads the object itself."""
    sinabs = pytest.importorskip("sinabs")
    import sinabs.layers as sl

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3), sl.IAFSqueeze(batch_size=B), sl.SumPool2d(2), nn.Flatten(), nn.Linear(36, 5),
        sl.IAFSqueeze(batch_size=B),
    )  # fmt: skip
    with torch.no_grad():
        net[0].weight.mul_(3)
        net[4].weight.mul_(6)
    x = _inputs((2, 8, 8))
    graph = sinabs.to_nir(net, torch.zeros(B, 2, 8, 8))
    with pytest.raises(TypeError):
        nir.write(io.BytesIO(), graph)
    _sinabs_check(graph, x, _sinabs_forward(net, x))


# --- Norse ---------------------------------------------------------------------------------------


def _norse_run(cells: list[nn.Module], x: np.ndarray) -> np.ndarray:
    import norse.torch as nt

    net = nt.SequentialState(*cells)
    state, out = None, []
    with torch.no_grad():
        for t in range(T):
            z, state = net(torch.from_numpy(x[t]), state)
            out.append(z.numpy())
    return np.stack(out)


def test_norse_lifbox_export_needs_dt_squared(tmp_path):
    nt = pytest.importorskip("norse.torch")

    n = 16  # every parameter per neuron: NIR's LIF asserts they share one shape (nir/ir/neuron.py)
    p = nt.LIFBoxParameters(
        tau_mem_inv=torch.full((n,), 100.0), v_th=torch.full((n,), 0.3), v_leak=torch.zeros(n), v_reset=torch.zeros(n)
    )
    cells = [_linear(10, 16, 6.0, 0), nt.LIFBoxCell(p)]
    x = _inputs((10,))
    expected = _norse_run(cells, x)
    path = _write(nt.to_nir(nt.SequentialState(*cells), torch.zeros(10), dt=1e-3), tmp_path / "norse.nir")
    squared = snnc.load(path, dt=1e-3**2, producer="nir")
    got = snnc.simulate(squared, x, record=("v",))
    print(f"norse LIFBox: {expected.sum():.0f} spikes; loaded with dt=1e-6: {_mismatches(got.output, expected)} differ")
    assert expected.any()
    np.testing.assert_array_equal(got.output, expected)
    (neuron,) = [n.op for n in snnc.load(path, dt=1e-3, producer="nir").nodes if isinstance(n.op, Neuron)]
    # k = dt/τ = 100 = c_m / dt_norse, not c_m
    np.testing.assert_allclose(1 / neuron.float_order.rate, 100.0, rtol=1e-6)


def test_norse_lif_export_scales_the_synaptic_input(tmp_path):
    """LIFCell is written as CubaLIF with w_in = 1, but Norse's current j = i + x enters unscaled,
    where NIR's Euler step scales it by k_syn·w_in (w_in = τ_syn/dt would undo that): loaded with
    dt = dt_norse², the membrane input is c_s (here 0.2) times Norse's; divided back out, the
    spikes match."""
    nt = pytest.importorskip("norse.torch")

    n = 16
    p = nt.LIFParameters(
        tau_syn_inv=torch.full((n,), 200.0),
        tau_mem_inv=torch.full((n,), 100.0),
        v_th=torch.full((n,), 0.3),
        v_leak=torch.zeros(n),
        v_reset=torch.zeros(n),
    )
    cells = [_linear(10, n, 2.0, 0), nt.LIFCell(p)]
    x = _inputs((10,))
    expected = _norse_run(cells, x)
    path = _write(nt.to_nir(nt.SequentialState(*cells), torch.zeros(10)), tmp_path / "lif.nir")
    loaded = snnc.load(path, dt=1e-6, producer="nir")
    (name,) = [node.name for node in loaded.nodes if isinstance(node.op, Neuron)]
    op = loaded.node(name).op
    np.testing.assert_allclose(op.gain, 0.1 * 0.2, rtol=1e-5)  # c_m · c_s; Norse's is c_m
    rw = Rewriter(loaded)
    rw.set_op(name, op.replace(gain=(op.gain / (1 - op.i_decay)).astype(np.float32)))
    got, restored = snnc.simulate(loaded, x).output, snnc.simulate(rw.build(), x).output
    print(f"norse LIF: {expected.sum():.0f} spikes; as written {_mismatches(got, expected)} differ")
    assert expected.any() and _mismatches(got, expected) > 0
    np.testing.assert_array_equal(restored, expected)


def test_norse_iaf_export_is_dt_one(tmp_path):
    nt = pytest.importorskip("norse.torch")

    cells = [_linear(10, 16, 1.0, 0), nt.IAFCell(nt.IAFParameters(v_th=torch.full((16,), 0.5)))]
    x = _inputs((10,))
    expected = _norse_run(cells, x)
    graph = nt.to_nir(nt.SequentialState(*cells), torch.zeros(10))
    got = snnc.simulate(snnc.load(_write(graph, tmp_path / "iaf.nir"), dt=1.0), x).output
    assert expected.any()
    np.testing.assert_array_equal(got, expected)


def test_norse_file_with_scalar_parameters_loads(tmp_path):
    """Norse's default parameters are 0-d tensors: nir.write needs compression=None and nir.read
    rejects the file (docs/environment.md §5); snnc reads it and says so."""
    nt = pytest.importorskip("norse.torch")

    cells = [_linear(10, 16, 3.0, 0), nt.LIFBoxCell()]
    path = _write(nt.to_nir(nt.SequentialState(*cells), torch.zeros(10)), tmp_path / "scalar.nir", compression=None)
    with pytest.raises(ValueError, match="type mismatch"):
        nir.read(path)
    notes: list = []
    graph = snnc.load(path, dt=1e-6, diagnostics=notes, producer="nir")
    x = _inputs((10,))
    assert {n.rule for n in notes} == {"FE-NIR-NORMALIZED"}
    assert any("broadcast" in n.message for n in notes) and any("type checking" in n.message for n in notes)
    np.testing.assert_array_equal(snnc.simulate(graph, x).output, _norse_run(cells, x))


def test_norse_braille_file_with_a_recurrent_cuba_layer():
    """Norse ships a real NIR file (a CubaLIF layer with an Affine recurrence and no Delay): it
    loads, the cycle gets a one-step Delay, and it simulates."""
    nt = pytest.importorskip("norse")
    from pathlib import Path

    path = Path(nt.__file__).parent / "torch" / "utils" / "test" / "braille.nir"
    if not path.is_file():
        pytest.skip("this Norse installation does not ship braille.nir")
    notes: list = []
    graph = snnc.load(path, diagnostics=notes)
    assert any(n.op.kind == "delay" for n in graph.nodes)
    assert any("no NIR Delay" in n.message for n in notes)
    out = snnc.simulate(graph, (_inputs((12,)) < 0.3).astype(np.float32) * 5).output
    assert out.shape == (T, B, 7)


# --- read with the producer's conventions ----------------------------------------------------------


def _producer_reads(path, producer: str, x: np.ndarray, expected: np.ndarray, **load) -> None:
    """Given and recognised, the producer's conventions reproduce the library exactly; the note
    says what was restored."""
    for given in (producer, None):
        notes: list = []
        got = snnc.simulate(snnc.load(path, producer=given, diagnostics=notes, **load), x).output
        (note,) = [n for n in notes if n.rule == "FE-NIR-PRODUCER"]
        assert producer in note.message and ("as given" if given else "recognised") in note.message
        np.testing.assert_array_equal(got, expected)


def test_spikingjelly_file_read_as_spikingjelly_is_exact(tmp_path):
    """LIF (÷τ), IF and a PLIF without decay_input (×sigmoid(w), charge "delta_leak") on grid inputs,
    where NIR's v > θ loses spikes: SpikingJelly's v ≥ θ restored, dt read from the IF's r = 1/dt."""
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    from spikingjelly.activation_based import functional, layer, neuron

    net = _sj_net(grid=True)
    tail = layer.Linear(8, 8)
    tail.load_state_dict(_linear(8, 8, 3.0, 2).state_dict())
    with torch.no_grad():
        for p in tail.parameters():
            p.copy_(torch.round(p * 4) / 4)
    net = nn.Sequential(*net, tail, neuron.ParametricLIFNode(init_tau=2.5, v_reset=0.0, decay_input=False))
    functional.set_step_mode(net, "m")
    x = _inputs((10,), grid=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = sj.export_to_nir(net, torch.from_numpy(x), dt=1e-4)
    functional.reset_net(net)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    path = _write(graph, tmp_path / "sj.nir")
    plain = snnc.simulate(snnc.load(path, producer="nir"), x).output
    assert expected.any() and _mismatches(plain, expected) > 0
    _producer_reads(path, "spikingjelly", x, expected)


def test_snntorch_file_read_as_snntorch_is_exact(tmp_path):
    snn = pytest.importorskip("snntorch")
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(0)
    net = nn.Sequential(
        _linear(10, 16, 2.0, 0),
        snn.Leaky(beta=torch.rand(16) * 0.3 + 0.65, threshold=torch.ones(16), init_hidden=True),
        _linear(16, 8, 2.0, 1),
        snn.Synaptic(
            alpha=torch.rand(8) * 0.4 + 0.3, beta=torch.full((8,), 0.8), threshold=torch.ones(8), init_hidden=True
        ),
    )
    x = _inputs((10,))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = export_to_nir(net, torch.zeros(10))
    for m in net:
        if hasattr(m, "reset_hidden"):
            m.reset_hidden()
    with torch.no_grad():
        expected = np.stack([net(torch.from_numpy(x[t])).numpy() for t in range(T)])
    _producer_reads(_write(graph, tmp_path / "snntorch.nir"), "snntorch", x, expected)


def test_sinabs_file_read_as_sinabs_is_exact(tmp_path):
    """IAF (multi-spikes, subtract reset, v ≥ θ) and LIF (α = exp(−1/τ), norm_input) written as
    IF and LIF with τ in steps."""
    sinabs = pytest.importorskip("sinabs")
    import sinabs.layers as sl

    net = nn.Sequential(
        _linear(10, 16, 3.0, 0), sl.IAFSqueeze(batch_size=B), _linear(16, 8, 6.0, 1),
        sl.LIFSqueeze(tau_mem=torch.full((8,), 5.0), batch_size=B, spike_threshold=torch.full((8,), 0.5)),
    )  # fmt: skip
    x = _inputs((10,))
    graph = sinabs.to_nir(net, torch.zeros(B, 10))
    expected = _sinabs_forward(net, x)
    assert expected.max() > 1
    _producer_reads(_write(graph, tmp_path / "sinabs.nir"), "sinabs", x, expected)


def test_norse_file_read_as_norse_is_exact(tmp_path):
    """LIFBoxCell, LIFCell and IAFCell with the exporter's default dt: τ = dt/τ_inv inverted to
    Norse's c = dt·τ_inv bit for bit, LIFCell's unscaled input, IAFCell's v + x."""
    nt = pytest.importorskip("norse.torch")

    n = 16
    box = nt.LIFBoxParameters(
        tau_mem_inv=torch.full((n,), 100.0), v_th=torch.full((n,), 0.3), v_leak=torch.zeros(n), v_reset=torch.zeros(n)
    )
    lif = nt.LIFParameters(
        tau_syn_inv=torch.full((8,), 200.0),
        tau_mem_inv=torch.full((8,), 150.0),
        v_th=torch.full((8,), 0.3),
        v_leak=torch.zeros(8),
        v_reset=torch.zeros(8),
    )
    cells = [
        _linear(10, n, 6.0, 0), nt.LIFBoxCell(box), _linear(n, 8, 2.0, 1), nt.LIFCell(lif),
        _linear(8, 8, 3.0, 2), nt.IAFCell(nt.IAFParameters(v_th=torch.full((8,), 0.5))),
    ]  # fmt: skip
    x = _inputs((10,))
    expected = _norse_run(cells, x)
    path = _write(nt.to_nir(nt.SequentialState(*cells), torch.zeros(10)), tmp_path / "norse.nir")
    _producer_reads(path, "norse", x, expected)


def test_a_producer_is_named_or_refused():
    with pytest.raises(snnc.SnncError) as err:
        snnc.load(nir.NIRGraph({}, []), producer="brian2")
    assert err.value.diagnostics[0].rule == "FE-NIR-PRODUCER-UNKNOWN"
    with pytest.raises(snnc.SnncError) as err:
        snnc.load(nn.Linear(2, 2), producer="snntorch")
    assert err.value.diagnostics[0].rule == "FE-NIR-PRODUCER-UNKNOWN"
