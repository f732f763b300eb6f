"""snnc's integer simulator against Lava's CPU fixed-point run of the same network, and the two
ways of putting sum pooling on Loihi, measured in Lava.

    python benchmarks/bench_loihi.py [--steps 100] [--batch 16] [--repeats 5] [--threads 1]

1. The nmnist-cnn (examples/nmnist_cnn.py) compiled for loihi: snnc's integer simulation of the
   compiled graph (median of --repeats runs) and Lava running the emitted NetX file through
   lava-dl's `netx.hdf5.Network` (`Loihi2SimCfg(select_tag="fixed_pt")`, CPU, one run in a
   torch-free child; Lava's `run` only: its import and the network's construction are printed
   apart), on the same T × B Bernoulli(0.1) spikes. Prints both times, the ratio (the Loihi
   backend issue asks for ≥ 100×), and whether Lava's spikes equal snnc's. snnc runs with
   --threads torch threads (default 1: this small network's integer simulation is bound by its
   per-step overhead, and on a loaded 2-core machine two threads measured 5-10× slower than one;
   Lava's runtime is one OS process per Lava process and uses every core anyway).
2. Pooling: the same network with its sum pools folded into the next layer's weights
   (pooling=fold, the NetX file of 1.) and as layers of their own sending graded spikes
   (pooling=graded, Lava processes): Lava's run time, the Lava processes, the cores and chips of
   the partition, synapses, the output's latency in Lava steps, and whether the spikes agree.
   (The folded network run as Lava processes takes the NetX file's time: the same Dense/Conv/LIF.)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))

import nmnist_cnn

import snnc
from snnc.backends.loihi.in_lava import run_graphs
from snnc.backends.loihi.rules import limits_of, loihi_net, placed


def snnc_seconds(compiled, x: np.ndarray, repeats: int) -> tuple[float, np.ndarray]:
    compiled.simulate(x[:2])  # warm-up: torch's first call
    times, out = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        out = compiled.simulate(x).output
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for snnc's simulation (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    graph = nmnist_cnn.build()
    x = nmnist_cnn.sample_input(T=args.steps, B=args.batch)
    variants = {
        "fold": snnc.compile(graph, "loihi", max_chips=8),
        "graded": snnc.compile(graph, "loihi", emit="lava", pooling="graded", max_chips=8),
    }
    jobs = [(variants["fold"].graph, x, "netx", ()), (variants["graded"].graph, x, "processes", ())]
    (netx, netx_s), (graded, graded_s) = run_graphs(jobs)

    sim_s, expected = snnc_seconds(variants["fold"], x, args.repeats)
    same = np.array_equal(netx.output, expected)
    print(f"nmnist-cnn, T={args.steps}, B={args.batch} ({int(expected.sum())} output spikes)")
    print(f"  snnc integer simulation : {sim_s * 1e3:9.1f} ms (median of {args.repeats}, {args.threads} thread(s))")
    print(
        f"  Lava fixed_pt, NetX     : {netx_s['run'] * 1e3:9.1f} ms run ({int(netx_s['steps'])} steps; "
        f"+ {netx_s['import']:.1f} s import, {netx_s['build']:.1f} s to build, {netx_s['read_and_stop']:.1f} s to stop)"
    )
    ratio = netx_s["run"] / sim_s
    print(f"  ratio Lava / snnc       : {ratio:9.1f}x   (asked: >= 100x{'' if ratio >= 100 else ': BELOW'})")
    print(f"  spikes                  : {'identical' if same else 'DIFFERENT'}")

    print("\npooling on Loihi: folded into the next layer vs a layer of graded spikes (Lava processes)")
    print(f"  {'variant':<16}{'Lava run':>10}{'processes':>11}{'cores':>7}{'chips':>7}", end="")
    print(f"{'synapses':>11}{'latency':>9}  spikes")
    rows = (("fold (NetX)", "fold", netx, netx_s), ("graded (Lava)", "graded", graded, graded_s))
    for label, variant, result, seconds in rows:
        compiled = variants[variant]
        net = loihi_net(compiled.graph)
        part = placed(compiled.graph, limits_of(compiled.options))
        processes = 2 * len(net.blocks) + 2  # synapse + neuron per block, the source and the sink
        latency = net.lava_delay(net.outputs["out"])
        agree = "identical" if np.array_equal(result.output, expected) else "DIFFERENT"
        print(
            f"  {label:<16}{seconds['run']:>9.2f}s{processes:>11}{len(part.cores):>7}{part.chips:>7}"
            f"{sum(c.synapses for c in part.cores):>11}{latency:>9}  {agree}"
        )
    if not same:  # a wrong result is a failure; a slow run on a loaded machine is a measurement
        sys.exit(1)


if __name__ == "__main__":
    main()
