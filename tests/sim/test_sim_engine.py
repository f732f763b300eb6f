"""Scheduling, recurrence, activity, recording and batch independence of the simulator."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from snnc.diagnostics import SnncError
from snnc.ir import (
    FLOAT,
    SPIKE,
    Conv2d,
    Delay,
    Elementwise,
    Flatten,
    Graph,
    GraphBuilder,
    Linear,
    MaxPool2d,
    Neuron,
    SumPool2d,
    TensorType,
)
from snnc.sim import run
from snnc.sim.engine import schedule
from snnc.sim.record import _exact_sums

RNG = np.random.default_rng(1)
ROOT = Path(__file__).parents[2]


def dyadic(*shape: int) -> np.ndarray:
    """Weights in multiples of 1/8: every sum of spikes times them is exact in float32, so results
    cannot depend on the order BLAS sums in (which may change with the batch size)."""
    return (RNG.integers(-16, 17, size=shape) / 8).astype(np.float32)


def spikes(*shape: int, p: float = 0.3) -> np.ndarray:
    return (RNG.random(shape) < p).astype(np.uint8)


# --- recurrence -------------------------------------------------------------------------------


def recurrent(steps: int, w_in: np.ndarray, w_rec: np.ndarray) -> Graph:
    """x → fc → (+ rec(delay(lif))) → lif: a recurrent LIF layer whose feedback waits `steps` steps."""
    n = w_in.shape[0]
    b = GraphBuilder("rnn")
    b.input("x", (w_in.shape[1],))
    b.add("fc", Linear(weight=w_in), "x")
    b.delay("d", steps, TensorType((n,), SPIKE))
    b.add("rec", Linear(weight=w_rec), "d")
    b.add("sum", Elementwise(fn="add"), "fc", "rec")
    b.add("lif", Neuron(threshold=np.float32(1), v_decay=np.float32(0.875), reset="subtract"), "sum")
    b.connect("d", "lif")
    b.output("out", "lif")
    return b.build()


@pytest.mark.parametrize("window", [None, 5])
@pytest.mark.parametrize("steps", [1, 2])
def test_recurrent_delay_matches_a_torch_loop(steps, window):
    w_in, w_rec, x = dyadic(6, 5), dyadic(6, 6), spikes(12, 3, 5, p=0.5)
    got = run(recurrent(steps, w_in, w_rec), x, _window=window).output
    w_in_t, w_rec_t, x_t = torch.from_numpy(w_in), torch.from_numpy(w_rec), torch.from_numpy(x).float()
    v, out = torch.zeros(3, 6), []
    for t in range(len(x)):
        fed_back = out[t - steps] if t >= steps else torch.zeros(3, 6)
        h = 0.875 * v + (F.linear(x_t[t], w_in_t) + F.linear(fed_back, w_rec_t))
        s = (h >= 1).float()
        v = h - s * 1
        out.append(s)
    want = torch.stack(out).numpy()
    assert want.any() and (want != want[0]).any()  # the case is not trivial
    np.testing.assert_array_equal(got, want)


def test_only_the_delay_cycle_runs_step_by_step():
    blocks = schedule(recurrent(1, dyadic(4, 3), dyadic(4, 4)))
    names = [([n.name for n in nodes], stepwise) for nodes, stepwise in blocks]
    assert names == [(["x"], False), (["fc"], False), (["d", "rec", "sum", "lif"], True), (["out"], False)]


# --- layer at a time, windows and step by step agree ------------------------------------------


def feed_forward() -> Graph:
    """Most op kinds, a delay outside any cycle and two outputs."""
    b = GraphBuilder("ff")
    b.input("x", (2, 8, 8))
    b.add("conv", Conv2d(weight=dyadic(4, 2, 3, 3), padding=1), "x")
    b.add("if1", Neuron(threshold=np.float32(1), reset="zero"), "conv")
    b.add("pool", MaxPool2d(kernel=2), "if1")
    b.add("late", Delay(steps=2), "pool")
    b.add("both", Elementwise(fn="or"), "pool", "late")
    b.add("sum", SumPool2d(kernel=2), "both")
    b.add("flat", Flatten(), "sum")
    b.add("fc", Linear(weight=dyadic(5, 16) / 4, bias=dyadic(5)), "flat")
    b.add("multi", Neuron(threshold=np.float32(1.5), spikes="multi", max_spikes=3), "fc")
    b.output("out", "multi")
    b.output("pooled", "pool")
    return b.build()


def assert_same_results(a, b) -> None:
    for name in a.outputs:
        np.testing.assert_array_equal(a.outputs[name], b.outputs[name])
    for name, act in a.activity.items():
        for field in ("events", "nonzero", "event_map"):
            np.testing.assert_array_equal(getattr(act, field), getattr(b.activity[name], field), err_msg=name)
    for name, traces in a.traces.items():
        for var, trace in traces.items():
            np.testing.assert_array_equal(trace, b.traces[name][var], err_msg=f"{name}:{var}")


@pytest.mark.parametrize("mode", [{"_stepwise": True}, {"_window": 1}, {"_window": 3}])
def test_step_by_step_and_windows_equal_layer_at_a_time(mode):
    graph, x = feed_forward(), spikes(10, 3, 2, 8, 8)
    whole = run(graph, x, record=("v", "h", "out", "activity"), _window=10)
    assert whole.outputs["out"].any()
    assert_same_results(run(graph, x, record=("v", "h", "out", "activity"), **mode), whole)


def test_reversed_and_strided_inputs():
    graph, x = feed_forward(), spikes(6, 2, 2, 8, 8)
    flipped = np.ascontiguousarray(x[::-1])
    assert_same_results(run(graph, x[::-1], record=("activity",)), run(graph, flipped, record=("activity",)))


def test_same_input_gives_identical_results():
    graph, x = feed_forward(), spikes(6, 2, 2, 8, 8)
    assert_same_results(run(graph, x, record=("v", "activity")), run(graph, x, record=("v", "activity")))


def test_batch_samples_are_independent():
    graph, x = feed_forward(), spikes(8, 4, 2, 8, 8)
    together = run(graph, x, record=("activity",))
    for b in range(4):
        alone = run(graph, x[:, b : b + 1], record=("activity",))
        for name, out in together.outputs.items():
            np.testing.assert_array_equal(alone.outputs[name][:, 0], out[:, b])
        for name, act in together.activity.items():
            np.testing.assert_array_equal(alone.activity[name].events[:, 0], act.events[:, b])


# --- activity ---------------------------------------------------------------------------------


def test_activity_equals_sums_of_the_recorded_outputs():
    graph, x = feed_forward(), spikes(7, 2, 2, 8, 8)
    result = run(graph, x, record=("out", "activity"))
    assert set(result.activity) == {n.name for n in graph if n.name not in ("out", "pooled")}
    for node in graph:
        if node.name in ("out", "pooled"):
            continue
        out, act = result.traces[node.name]["out"], result.activity[node.name]
        axes = tuple(range(2, out.ndim))
        counted = out if node.type.dtype.is_event else (out != 0)
        np.testing.assert_array_equal(act.events, counted.sum(axis=axes), err_msg=node.name)
        np.testing.assert_array_equal(act.nonzero, (out != 0).sum(axis=axes), err_msg=node.name)
        np.testing.assert_array_equal(act.event_map, counted.sum(axis=(0, 1)), err_msg=node.name)
        assert act.events.dtype == act.nonzero.dtype == act.event_map.dtype == np.int64
        assert act.numel == node.type.numel
        assert act.rate == pytest.approx((out != 0).mean())


def test_multi_spikes_count_by_value():
    b = GraphBuilder()
    b.add("n", Neuron(threshold=np.float32(1), spikes="multi"), b.input("x", (2,), FLOAT))
    b.output("y", "n")
    x = np.array([[[3.5, 0.0]], [[1.0, 2.0]]], np.float32)  # [T=2, B=1, 2]
    act = run(b.build(), x, record=("n:activity",)).activity["n"]
    np.testing.assert_array_equal(act.events, [[3], [3]])  # 3 + 0, then 0.5 + 1 → 1 and 2 → 2
    np.testing.assert_array_equal(act.nonzero, [[1], [2]])
    np.testing.assert_array_equal(act.event_map, [4, 2])


def test_activity_is_measured_only_where_asked():
    graph, x = feed_forward(), spikes(3, 2, 2, 8, 8)
    assert run(graph, x).activity == {}
    result = run(graph, x, record=("if1:activity",))
    assert set(result.activity) == {"if1"}
    with pytest.raises(SnncError) as e:
        result.activity["fc"]
    (d,) = e.value.diagnostics
    assert d.rule == "SIM-RECORD" and d.node == "fc" and "fc:activity" in d.hint


def test_exact_sums_beyond_float32_integers():
    rows = torch.full((1, 2**23 + 3), 3.0)  # sum 25165833 > 2^24: float32 alone would round it
    assert _exact_sums(rows, 1).tolist() == [3 * (2**23 + 3)]


# --- record -----------------------------------------------------------------------------------


def test_record_traces_shapes_and_dtypes():
    graph, x = feed_forward(), spikes(4, 2, 2, 8, 8)
    result = run(graph, x, record=("v", "fc:out", "multi:h"))
    assert set(result.traces) == {"if1", "multi", "fc"}
    assert set(result.traces["if1"]) == {"v"}
    assert set(result.traces["multi"]) == {"v", "h"}
    assert result.traces["if1"]["v"].shape == (4, 2, 4, 8, 8)
    assert result.traces["fc"]["out"].shape == (4, 2, 5)
    assert all(t.dtype == np.float32 for traces in result.traces.values() for t in traces.values())


@pytest.mark.parametrize("request_", ["spikes", "i", "nosuch:v", "conv:v"])
def test_record_rejects_unknown_variables_and_nodes(request_):
    with pytest.raises(SnncError) as e:
        run(feed_forward(), spikes(2, 1, 2, 8, 8), record=(request_,))
    assert [d.rule for d in e.value.diagnostics] == ["SIM-RECORD"]
    assert "out" in e.value.diagnostics[0].hint


def test_several_outputs_have_no_single_output():
    result = run(feed_forward(), spikes(2, 1, 2, 8, 8))
    assert result.outputs["out"].dtype == np.int32  # multi-spike counts
    with pytest.raises(SnncError) as e:
        _ = result.output
    assert e.value.diagnostics[0].rule == "SIM-OUTPUT"


# --- devices and the standard net -------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    graph, x = feed_forward(), spikes(6, 2, 2, 8, 8)
    assert_same_results(run(graph, x, record=("v",), device="cuda"), run(graph, x, record=("v",)))


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_standard_net_matches_a_dense_torch_loop():
    nmnist = load_example("nmnist_cnn")
    graph, x = nmnist.build(), nmnist.sample_input(T=8, B=2, p=0.3)
    w1, w2, w3 = (torch.from_numpy(graph.node(n).op.weight) for n in ("conv1", "conv2", "fc"))
    v1, v2, v3, out = torch.zeros(2, 12, 30, 30), torch.zeros(2, 32, 11, 11), torch.zeros(2, 10), []
    for xt in torch.from_numpy(x).float():
        h1 = v1 + F.conv2d(xt, w1)
        s1 = (h1 >= 16).float()
        v1 = h1 * (1 - s1)
        h2 = v2 + F.conv2d(F.avg_pool2d(s1, 2, divisor_override=1), w2)
        s2 = (h2 >= 16).float()
        v2 = h2 * (1 - s2)
        h3 = v3 + F.linear(F.avg_pool2d(s2, 2, divisor_override=1).flatten(1), w3)
        s3 = (h3 >= 16).float()
        v3 = h3 * (1 - s3)
        out.append(s3)
    np.testing.assert_array_equal(run(graph, x).output, torch.stack(out).numpy())


def test_a_failing_kernel_names_its_node(monkeypatch):
    """As torch.fx's Interpreter does: an exception inside an op's implementation says which node
    (and which user layer) was being simulated."""
    from snnc.sim import ops as sim_ops

    b = GraphBuilder("g")
    b.output("out", b.add("lif", Neuron(), b.add("fc", Linear(dyadic(3, 4)), b.input("x", (4,))), source="layer1"))
    impl = sim_ops.IMPLS[Linear]

    def broken(*args):
        raise ValueError("boom")

    monkeypatch.setitem(sim_ops.IMPLS, Linear, replace(impl, run=broken))
    with pytest.raises(ValueError, match="boom") as err:
        run(b.build(), spikes(2, 1, 4))
    assert any("while simulating node fc (linear" in note for note in err.value.__notes__)
