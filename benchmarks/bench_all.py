"""Every performance figure of issue 16 from one run, as ratios measured side by side.

    python benchmarks/bench_all.py [--rounds 9] [--samples 10000] [--threads N] [--skip-report]

1. nmnist-cnn (examples/nmnist_cnn.py: 2×34×34 spikes → conv 12 → IF → sum-pool → conv 32 → IF →
   sum-pool → fc 10 → IF, integer weights; T = 100, B = 16, Bernoulli(0.1) input), built in sinabs
   and loaded with `snnc.load` as a user does. Columns, timed in interleaved rounds (A, B, C, A,
   B, C, ...: a change in machine load hits every column alike), each column's sample in a round
   at least 0.2 s of back-to-back runs (`_repeats_for`), median of the rounds: sinabs'
   forward, SpikingJelly's multi-step forward, a dense per-step torch loop, snnc's float
   simulation of the loaded graph, snnc's integer simulation of the graph compiled for `sim`
   (8 bits), and Lava's CPU fixed_pt run of the graph compiled for Loihi where the Loihi backend
   provides it (benchmarks/bench_loihi.py measures the same). Every column's output spikes are
   compared with snnc's float simulation. Then the integer run on sparser inputs with its
   event-driven synaptic ops on and off (benchmarks/bench_int_sim.py `sparse_inputs`).
2. The command's start: `snnc --version`, `snnc --help`, `snnc inspect examples/nmnist_cnn.snnc`.
3. Compile time: SEW-ResNet-18 at 224×224 (SpikingJelly's own sew_resnet18) loaded and compiled
   for sim, and chains of 10 to 1000 Linear → IF layers, time per node (linear in node count?).
4. `snnc report` and `snnc validate` (the commands, as a user runs them) over a synthetic file of
   N-MNIST-sized samples (T = 100, 2×34×34 spikes as bytes; 10 000 by default) written to a
   temporary folder: samples per second, and each command's peak memory against the same command
   on a tenth of the samples (memory bounded by the batch, not the data set: the peak must not
   grow with the data).
5. With a CUDA GPU: nmnist-cnn's integer simulation at B = 256 on the GPU against the same run on
   2 CPU threads, and their output spikes compared; without one, the target is listed as not
   measured.

The machine, its load average and torch's thread count head the output; a last table lists every
target of the issue with its measured figure and whether it is met.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).parents[1] / "examples"))
sys.path.insert(0, str(Path(__file__).parent))

import nmnist_cnn
from bench_int_sim import sparse_inputs
from bench_sim import dense_forward, spikingjelly_forward

import snnc
from snnc.ir import GraphBuilder, Linear, Neuron
from snnc.sim import run

ROOT = Path(__file__).parents[1]
T, B = 100, 16
Forward = Callable[[], np.ndarray]  # a run of the network → output spikes [T, B, 10]


@dataclass(frozen=True)
class Target:
    """One figure of issue 16: measured, its limit, and whether "at least" or "below" meets it."""

    what: str
    measured: float | None  # None: this machine cannot measure it (no GPU)
    limit: float
    at_least: bool
    unit: str = "x"

    @property
    def met(self) -> bool:
        if self.measured is None:
            return False
        return self.measured >= self.limit if self.at_least else self.measured < self.limit

    def row(self) -> str:
        sign = ">=" if self.at_least else "<"
        if self.measured is None:
            return f"  {self.what:44} {'-':>9} {self.unit:2} {sign:>2} {self.limit:<7g} not measured here"
        verdict = "met" if self.met else "NOT MET"
        return f"  {self.what:44} {self.measured:9.2f} {self.unit:2} {sign:>2} {self.limit:<7g} {verdict}"


TARGETS: list[Target] = []


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{cpu}; {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
        f"Python {platform.python_version()}; load average {load}"
    )


# --- 1. nmnist-cnn ----------------------------------------------------------------------------


def sinabs_net(weights: list[torch.Tensor]) -> nn.Module:
    """The net in sinabs: IAFSqueeze(threshold 16, single spike, reset to zero) on [B·T, ...]."""
    import sinabs.layers as sl
    from sinabs.activation import MembraneReset, SingleSpike

    def iaf() -> nn.Module:
        return sl.IAFSqueeze(batch_size=B, spike_threshold=16.0, spike_fn=SingleSpike, reset_fn=MembraneReset())

    net = nn.Sequential(
        nn.Conv2d(2, 12, 5, bias=False),
        iaf(),
        sl.SumPool2d(2),
        nn.Conv2d(12, 32, 5, bias=False),
        iaf(),
        sl.SumPool2d(2),
        nn.Flatten(),
        nn.Linear(800, 10, bias=False),
        iaf(),
    )
    with torch.no_grad():
        for index, w in zip((0, 3, 7), weights):
            net[index].weight.copy_(w)
    return net.eval()


def sinabs_forward(net: nn.Module, x: np.ndarray) -> Forward:
    xt = torch.from_numpy(x).float().transpose(0, 1).reshape(B * T, 2, 34, 34)  # sinabs' [B·T, ...]

    @torch.no_grad()
    def forward() -> np.ndarray:
        for m in net:
            if hasattr(m, "reset_states"):
                m.reset_states()
        return net(xt).reshape(B, T, 10).transpose(0, 1).numpy()

    return forward


def lava_forward(x: np.ndarray) -> tuple[Forward | None, str]:
    """Lava's fixed_pt run of the graph compiled for Loihi, where the Loihi backend offers one."""
    try:
        from snnc.backends.loihi.in_lava import run_graphs
    except ImportError:
        return None, "the Loihi backend's Lava runner (snnc.backends.loihi.in_lava) is not on this branch"
    graph = snnc.compile(nmnist_cnn.build(), "loihi", max_chips=8).graph

    def forward() -> np.ndarray:
        ((result, _),) = run_graphs([(graph, x, "netx", ())])  # (SimResult, the child's stage times)
        return result.output

    return forward, ""


SAMPLE_SECONDS = 0.2  # each column's timed sample lasts at least this long (`_repeats_for`)
SPARSE_DENSITIES = (0.002, 0.005)  # below nmnist-cnn's crossover (bench_int_sim.py sweeps more)


def _repeats_for(forward: Forward) -> int:
    """How many runs of `forward` one timed sample takes, so that it lasts SAMPLE_SECONDS or more
    (timeit's autorange, https://docs.python.org/3/library/timeit.html#timeit.Timer.autorange):
    on a shared machine, load comes in bursts of tens of milliseconds, which would inflate a
    single 35 ms run far more than a 200 ms one; samples of equal length weigh them alike."""
    start = time.perf_counter()
    forward()
    return max(1, math.ceil(SAMPLE_SECONDS / (time.perf_counter() - start)))


def nmnist(rounds: int) -> None:
    graph = nmnist_cnn.build()
    x = nmnist_cnn.sample_input(T=T, B=B)
    weights = [torch.from_numpy(graph.node(n).op.weight) for n in ("conv1", "conv2", "fc")]
    net = sinabs_net(weights)
    loaded = snnc.load(net, input_shape=(2, 34, 34), input_dtype="spike")
    compiled = snnc.compile(loaded, "sim")
    sj, _ = spikingjelly_forward(graph, x)
    loop = dense_forward(graph, x)
    columns: dict[str, Forward] = {
        "sinabs": sinabs_forward(net, x),
        "SpikingJelly": lambda: sj()["if3"].numpy(),
        "torch loop": lambda: loop()["if3"].numpy(),
        "snnc float": lambda: run(loaded, x).output,
        "snnc int": lambda: run(compiled.graph, x).output,
    }
    lava, why_not = lava_forward(x)
    outputs = {name: forward() for name, forward in columns.items()}  # warm-up, and the spikes compared
    repeats = {name: _repeats_for(forward) for name, forward in columns.items()}
    times: dict[str, list[float]] = {name: [] for name in columns}
    for _ in range(rounds):
        for name, forward in columns.items():
            start = time.perf_counter()
            for _ in range(repeats[name]):
                forward()
            times[name].append((time.perf_counter() - start) / repeats[name])
    seconds = {name: statistics.median(ts) for name, ts in times.items()}
    if lava is not None:
        start = time.perf_counter()
        outputs["Lava fixed_pt"] = lava()
        seconds["Lava fixed_pt"] = time.perf_counter() - start  # one run: seconds each

    print(f"\n1. nmnist-cnn, T={T}, B={B}, {int(outputs['snnc float'].sum())} output spikes; median of {rounds} rounds")
    print(f"   (seconds per run; a round times each column over >= {SAMPLE_SECONDS} s of runs: {_counts(repeats)})")
    reference = outputs["snnc float"].astype(np.float32)
    print(f"{'':14} {'seconds':>8}  {'spikes = snnc float':>20}")
    for name, s in seconds.items():
        same = np.array_equal(outputs[name].astype(np.float32), reference)
        print(f"{name:14} {s:8.3f}  {'identical' if same else 'DIFFERENT':>20}")
    if lava is None:
        print(f"{'Lava fixed_pt':14} {'-':>8}  ({why_not})")
    flt, ints = seconds["snnc float"], seconds["snnc int"]
    for lib in ("sinabs", "SpikingJelly"):
        TARGETS.append(Target(f"float sim: {lib} / snnc float", seconds[lib] / flt, 2, True))
    for lib in ("sinabs", "SpikingJelly"):
        TARGETS.append(Target(f"integer sim: {lib} / snnc int", seconds[lib] / ints, 4, True))
    TARGETS.append(Target("integer sim: torch loop / snnc int", seconds["torch loop"] / ints, 1.5, True))
    if lava is not None:
        TARGETS.append(Target("Lava fixed_pt / snnc int", seconds["Lava fixed_pt"] / ints, 100, True))
    spikes = all(np.array_equal(o.astype(np.float32), reference) for o in outputs.values())
    print(f"every column's output spikes identical to snnc float: {'yes' if spikes else 'NO'}")
    for t in TARGETS:
        print(t.row())
    sparse_inputs(compiled.graph, rounds, SPARSE_DENSITIES)  # the event-driven paths, chosen from the data


# --- 2. the command's start -------------------------------------------------------------------


def _counts(repeats: dict[str, int]) -> str:
    return ", ".join(f"{name} {n}" for name, n in repeats.items())


def command_start(rounds: int) -> None:
    print(f"\n2. the snnc command, wall seconds, median of {rounds} (a bare `python -c pass` for scale)")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "snnc --version": [sys.executable, "-m", "snnc", "--version"],
        "snnc --help": [sys.executable, "-m", "snnc", "--help"],
        "snnc inspect nmnist_cnn.snnc": [sys.executable, "-m", "snnc", "inspect", "examples/nmnist_cnn.snnc"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
            times[name].append(time.perf_counter() - start)
    limits = {"snnc --version": 0.3, "snnc --help": 0.3, "snnc inspect nmnist_cnn.snnc": 1.0}
    for name, ts in times.items():
        print(f"  {name:30} {statistics.median(ts):6.2f} s")
        if name in limits:
            TARGETS.append(Target(name, statistics.median(ts), limits[name], False, "s"))


# --- 3. compile time --------------------------------------------------------------------------


def sew_resnet18() -> None:
    from spikingjelly.activation_based import functional, neuron

    from snnc.frontend.spikingjelly import import_sew_resnet

    torch.manual_seed(0)
    net = import_sew_resnet().sew_resnet18(spiking_neuron=neuron.IFNode, cnf="ADD")
    functional.set_step_mode(net, "m")
    start = time.perf_counter()
    graph = snnc.load(net.eval(), input_shape=(3, 224, 224))
    loaded = time.perf_counter()
    snnc.compile(graph, "sim", input_range=(0.0, 1.0))
    done = time.perf_counter()
    print(f"\n3. SEW-ResNet-18 at 224x224 ({len(graph.nodes)} nodes): load {loaded - start:.2f} s + compile for sim "
          f"{done - loaded:.2f} s = {done - start:.2f} s")  # fmt: skip
    TARGETS.append(Target("SEW-ResNet-18 224x224 load + compile (sim)", done - start, 5, False, "s"))


def chain(layers: int) -> snnc.Graph:
    rng = np.random.default_rng(0)
    b = GraphBuilder(f"chain{layers}")
    name = b.input("x", (16,), snnc.ir.SPIKE)
    for k in range(layers):
        fc = b.add(f"fc{k}", Linear(weight=rng.integers(-4, 5, (16, 16)).astype(np.float32)), name)
        name = b.add(f"if{k}", Neuron(threshold=np.float32(4.0), reset="zero"), fc)
    b.output("out", name)
    return b.build()


def compile_chains() -> None:
    print("   chains of Linear → IF layers compiled for sim:")
    print(f"   {'layers':>7} {'nodes':>6} {'seconds':>8} {'ms per node':>12}")
    for layers in (10, 100, 1000):
        graph = chain(layers)
        start = time.perf_counter()
        snnc.compile(graph, "sim")
        s = time.perf_counter() - start
        print(f"   {layers:7d} {len(graph.nodes):6d} {s:8.2f} {1000 * s / len(graph.nodes):12.2f}")


# --- 4. report and validate over a data set ----------------------------------------------------


def write_samples(path: Path, samples: int) -> None:
    """N-MNIST-sized spikes [T, samples, 2, 34, 34] as bytes, Bernoulli(0.05), written step by step
    (memory: one step of the data set, not all of it)."""
    x = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(T, samples, 2, 34, 34))
    rng = np.random.default_rng(0)
    for t in range(T):
        x[t] = rng.random((samples, 2, 34, 34), dtype=np.float32) < 0.05
    x.flush()
    del x


PEAK = """import runpy, sys
sys.argv = ["snnc", *sys.argv[1:]]
try:
    runpy.run_module("snnc", run_name="__main__")
finally:  # the peak of this process since its exec (wait4's ru_maxrss would count the parent's pages at fork)
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print("peak-kB", peak.split()[1], file=sys.stderr)
"""


def command(argv: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory (MB) and stderr of `snnc ARGV` in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, *argv], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):  # validate exits 1 where a tolerance is exceeded
        raise RuntimeError(f"snnc {' '.join(argv)} failed: {done.stderr[-2000:]}")
    peak = next(int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak-kB"))
    return seconds, peak / 1024, done.stderr


def data_set(counts: dict[str, int], batch: int) -> None:
    """`snnc report` (batches of `batch`) and `snnc validate` (its default batches: as many samples
    as 512 MB of traces hold) over counts[verb] samples, and over a tenth of them for the memory."""
    model = "examples/nmnist_cnn.snnc"
    verbs = {
        "report": ["report", model, "--batch-size", str(batch), "--format", "json"],
        "validate": ["validate", model, "--target", "sim", "--format", "json"],
    }
    print(f"\n4. the commands over N-MNIST-sized samples (T={T}, 2x34x34 spikes stored as bytes, "
          f"{T * 2 * 34 * 34 / 2**20:.2f} MB per sample, 4x that as float32)")  # fmt: skip
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for verb, argv in verbs.items():
            samples = counts[verb]
            full, tenth = folder / "full.npy", folder / "tenth.npy"
            write_samples(full, samples)
            write_samples(tenth, max(1, samples // 10))
            small = command([*argv, "--data", str(tenth)])
            seconds, peak, err = command([*argv, "--data", str(full)])
            said = next((x.strip() for x in err.splitlines() if "samples/s" in x), "")
            print(f"   snnc {verb} over {samples:,} samples ({full.stat().st_size / 2**20:,.0f} MB): {seconds:.1f} s, "
                  f"{samples / seconds:.1f} samples/s; it printed \"{said}\"")  # fmt: skip
            print(f"     peak memory {peak:,.0f} MB; over a tenth of the samples {small[1]:,.0f} MB")
            TARGETS.append(Target(f"snnc {verb}: peak memory, 10x the data / 1x", peak / small[1], 1.25, False))


# --- 5. CUDA ----------------------------------------------------------------------------------

CUDA_BATCH = 256


def cuda(rounds: int) -> None:
    """The integer simulation batched on a CUDA GPU against the same run on 2 CPU threads."""
    print(
        f"\n5. integer simulation of nmnist-cnn (compiled for sim), T={T}, B={CUDA_BATCH}: CUDA against 2 CPU threads"
    )
    what = "CUDA int sim / 2-core CPU throughput"
    if not torch.cuda.is_available():
        print("   no CUDA device on this machine: not measured")
        TARGETS.append(Target(what, None, 20, True))
        return
    graph = snnc.compile(nmnist_cnn.build(), "sim").graph
    x = nmnist_cnn.sample_input(T=T, B=CUDA_BATCH)

    def timed(device: str) -> tuple[float, np.ndarray]:
        out = run(graph, x, device=device).output  # warm-up
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            run(graph, x, device=device)
            times.append(time.perf_counter() - start)
        return statistics.median(times), out

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        cpu_s, cpu_out = timed("cpu")
    finally:
        torch.set_num_threads(threads)
    gpu_s, gpu_out = timed("cuda")
    same = np.array_equal(cpu_out, gpu_out)
    print(f"   {torch.cuda.get_device_name()}: {gpu_s:.3f} s, {CUDA_BATCH / gpu_s:,.0f} samples/s")
    print(f"   CPU, 2 threads: {cpu_s:.3f} s, {CUDA_BATCH / cpu_s:,.0f} samples/s")
    print(f"   output spikes identical: {'yes' if same else 'NO'}")
    TARGETS.append(Target(what, cpu_s / gpu_s if same else 0.0, 20, True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved timed rounds (median reported)")
    parser.add_argument("--samples", type=int, default=10_000, help="samples snnc report runs in part 4")
    parser.add_argument("--validate-samples", type=int, default=10_000, help="samples snnc validate runs in part 4")
    parser.add_argument("--batch", type=int, default=256, help="samples per batch in part 4")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--skip-data", action="store_true", help="leave out part 4 (minutes at T=100)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {machine()}")
    nmnist(args.rounds)
    command_start(args.rounds)
    sew_resnet18()
    compile_chains()
    if not args.skip_data:
        data_set({"report": args.samples, "validate": args.validate_samples}, args.batch)
    cuda(args.rounds)
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    measured = [t for t in TARGETS if t.measured is not None]
    print(f"\nissue 16 targets ({sum(t.met for t in measured)} of the {len(measured)} measured here met):")
    for t in TARGETS:
        print(t.row())


if __name__ == "__main__":
    main()
