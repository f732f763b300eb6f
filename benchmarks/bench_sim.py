"""Float simulator speed on the standard net, against SpikingJelly and a plain torch loop.

    python benchmarks/bench_sim.py [--repeats N]

Times, in one process, the same nmnist-cnn (examples/nmnist_cnn.py) on the same T=100, B=16
Bernoulli spikes: (1) snnc's `sim.run`, (2) SpikingJelly's own multi-step forward of the same
network, (3) a dense per-step torch loop (conv → IF → pool … one step at a time: the practical
floor for this network in eager PyTorch). Each is warmed up once; the median of N runs is
reported, with time steps per second and synaptic events per second. Synaptic events are the
exact synaptic operations of the run, taken from snnc's measured activity: for a conv, each
input event times the number of output positions its value reaches (the fan-out map a
transposed convolution of ones gives, as sinabs' SynOps hooks compute it); for a linear layer,
each input event times out_features. Then all three must agree on every layer's spikes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

import nmnist_cnn

from snnc.ir import Conv2d, Graph, Linear
from snnc.sim import Activity, run

T, B = 100, 16
LAYERS = ("if1", "if2", "if3")  # the spiking layers compared across implementations
Spikes = dict[str, np.ndarray]  # layer → [T, B, *shape]


def weights(graph: Graph) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return tuple(torch.from_numpy(graph.node(name).op.weight) for name in ("conv1", "conv2", "fc"))


# --- the three implementations ----------------------------------------------------------------


def snnc_forward(graph: Graph, x: np.ndarray) -> Callable[[], Spikes]:
    def forward() -> Spikes:
        return {"if3": run(graph, x).output}

    return forward


def snnc_layers(graph: Graph, x: np.ndarray) -> Spikes:
    result = run(graph, x, record=[f"{name}:out" for name in LAYERS])
    return {name: result.traces[name]["out"] for name in LAYERS}


def spikingjelly_forward(graph: Graph, x: np.ndarray) -> tuple[Callable[[], Spikes], Callable[[], Spikes]]:
    """SpikingJelly's multi-step network; sum pooling made exact with divisor_override=1."""
    from spikingjelly.activation_based import functional, layer, neuron

    def if_node() -> nn.Module:
        return neuron.IFNode(v_threshold=nmnist_cnn.THRESHOLD, v_reset=0.0, step_mode="m")

    def sum_pool() -> nn.Module:
        return layer.SeqToANNContainer(nn.AvgPool2d(2, divisor_override=1))

    net = nn.Sequential(
        layer.Conv2d(2, 12, 5, bias=False, step_mode="m"),
        if_node(),
        sum_pool(),
        layer.Conv2d(12, 32, 5, bias=False, step_mode="m"),
        if_node(),
        sum_pool(),
        layer.Flatten(step_mode="m"),
        layer.Linear(800, 10, bias=False, step_mode="m"),
        if_node(),
    ).eval()
    with torch.no_grad():
        for index, w in zip((0, 3, 7), weights(graph)):
            net[index].weight.copy_(w)
    xt = torch.from_numpy(x).float()
    spiking = dict(zip(LAYERS, (net[1], net[4], net[8])))

    @torch.no_grad()
    def forward() -> Spikes:
        functional.reset_net(net)
        return {"if3": net(xt)}

    def layers() -> Spikes:
        seen: Spikes = {}
        hooks = [m.register_forward_hook(lambda m, i, o, n=n: seen.__setitem__(n, o)) for n, m in spiking.items()]
        forward()
        for hook in hooks:
            hook.remove()
        return {name: s.numpy() for name, s in seen.items()}

    return forward, layers


def dense_forward(graph: Graph, x: np.ndarray) -> Callable[[], Spikes]:
    """One step at a time through the whole network, IF as SpikingJelly writes it."""
    w1, w2, w3 = weights(graph)
    xt = torch.from_numpy(x).float()
    theta = nmnist_cnn.THRESHOLD

    def integrate_and_fire(v: torch.Tensor, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = v + current
        s = (h >= theta).float()
        return s, h * (1 - s)

    @torch.no_grad()
    def forward() -> Spikes:
        v1, v2, v3 = torch.zeros(B, 12, 30, 30), torch.zeros(B, 32, 11, 11), torch.zeros(B, 10)
        out: dict[str, list[torch.Tensor]] = {name: [] for name in LAYERS}
        for x_t in xt:
            s1, v1 = integrate_and_fire(v1, F.conv2d(x_t, w1))
            s2, v2 = integrate_and_fire(v2, F.conv2d(F.avg_pool2d(s1, 2, divisor_override=1), w2))
            s3, v3 = integrate_and_fire(v3, F.linear(F.avg_pool2d(s2, 2, divisor_override=1).flatten(1), w3))
            for name, s in zip(LAYERS, (s1, s2, s3)):
                out[name].append(s)
        return {name: torch.stack(steps) for name, steps in out.items()}

    return forward


# --- measurement ------------------------------------------------------------------------------


def median_seconds(forward: Callable[[], Spikes], repeats: int) -> float:
    forward()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synaptic_events(graph: Graph, activity: dict[str, Activity]) -> int:
    """Exact synaptic operations: Σ over conv/linear nodes of input events × fan-out."""
    total = 0
    for node in graph:
        (source,) = node.inputs or (None,)
        op = node.op
        if isinstance(op, Conv2d):
            fan_out = conv_fan_out(op, graph.node(source).type.shape, node.type.shape)
            total += int((activity[source].event_map * fan_out).sum())
        elif isinstance(op, Linear):
            total += int(activity[source].events.sum()) * op.out_features
    return total


def conv_fan_out(op: Conv2d, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """How many output elements each input element feeds: a transposed convolution of ones."""
    ones = torch.ones((1, *out_shape))
    kernel = torch.ones((out_shape[0], in_shape[0] // op.groups, *op.kernel))
    out_padding = [
        n - ((o - 1) * s - 2 * p + d * (k - 1) + 1)
        for n, o, s, p, d, k in zip(in_shape[1:], out_shape[1:], op.stride, op.padding, op.dilation, op.kernel)
    ]
    fan = F.conv_transpose2d(ones, kernel, None, op.stride, op.padding, out_padding, op.groups, op.dilation)
    return fan[0].numpy().astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per implementation (median reported)")
    args = parser.parse_args()

    graph, x = nmnist_cnn.build(), nmnist_cnn.sample_input(T=T, B=B)
    sj_forward, sj_layers = spikingjelly_forward(graph, x)
    dense = dense_forward(graph, x)
    implementations = {
        "snnc sim.run": snnc_forward(graph, x),
        "spikingjelly (m)": sj_forward,
        "dense torch loop": dense,
    }
    seconds = {name: median_seconds(forward, args.repeats) for name, forward in implementations.items()}
    events = synaptic_events(graph, run(graph, x, record=("activity",)).activity)

    sj, loop = seconds["spikingjelly (m)"], seconds["dense torch loop"]
    print(f"nmnist-cnn, T={T}, B={B}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'':18} {'seconds':>9} {'steps/s':>9} {'syn. events/s':>14} {'vs SJ':>7} {'vs loop':>8}")
    for name, s in seconds.items():
        print(f"{name:18} {s:9.4f} {T / s:9.1f} {events / s:14.3e} {sj / s:6.2f}x {loop / s:7.2f}x")
    print(f"synaptic events per run: {events:,}")

    reference = snnc_layers(graph, x)
    others = {"spikingjelly": sj_layers(), "dense loop": {k: v.numpy() for k, v in dense().items()}}
    for other, spikes in others.items():
        for layer_name in LAYERS:
            same = np.array_equal(reference[layer_name], spikes[layer_name])
            assert same, f"{other} differs from snnc at {layer_name}"
        print(f"spikes identical to snnc in every layer ({', '.join(LAYERS)}): {other}")
    print(f"output spikes: {int(reference['if3'].sum())}, ok")


if __name__ == "__main__":
    main()
