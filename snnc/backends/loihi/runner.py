"""Run a network in Lava (CPU, fixed point) in a child interpreter that never imports torch.

Torch inside Lava's forked processes is known to hang (lava `proc/conv/utils.py`; loihi.md §3.3),
and Lava needs Python-3.11 patches (shim.py), so snnc never runs Lava in its own process: the
parent writes the network (a NetX file, or a `LavaDescription` .npz) and the input into a
temporary directory, runs `python -m snnc.backends.loihi.runner DIR`, and reads the results back.
The child blocks `import torch`, installs the shim, and for each job:

- builds the network: lava-dl's own `netx.hdf5.Network(net_config=FILE, reset_interval=T,
  reset_offset=1, input_message_bits=...)`, or snnc's `lava.build(description, T)`;
- feeds all B samples back to back from one `RingBuffer` (sample b's frame t at Lava step
  b·T + t + 1), every neuron resetting before its first input of each sample (netx.md §5);
- records only what the caller compares: a sink `RingBuffer` on each requested block's spikes, a
  `Monitor` on its `v` where voltages are asked for (reading Vars back is slow, netx.md §7);
- runs `RunSteps` with `Loihi2SimCfg(select_tag="fixed_pt")`, chosen explicitly (without a tag
  Lava picks the float models, loihi.md §1.1), and fails if any process ran a model not tagged
  fixed_pt (loihi.md §3.4 item 3);
- stops the runtime in `finally:` (an unstopped Lava run hangs the interpreter at exit,
  docs/environment.md §4), and writes the recorded arrays, re-timed to snnc's delay-free
  convention: block k's value for snnc step t of sample b is Lava's at step b·T + t + d_k, where
  d_k = `LoihiNet.lava_delay(k)` (2 + k in a chain).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

Via = Literal["netx", "processes"]


@dataclass(frozen=True)
class Probe:
    """What to record of one block: its spikes, or its membrane v (after the step's reset)."""

    key: str  # name of the result
    block: int
    lava_delay: int
    what: Literal["spikes", "v"]


@dataclass(frozen=True)
class LavaRun:
    """One network run: `x` [T, B, *shape] in the Lava layout of the network's input port."""

    via: Via
    network: Path  # the .net file, or the LavaDescription .npz
    x: np.ndarray
    probes: tuple[Probe, ...]
    input_bits: int = 0
    per_sample: bool = False  # one network per sample (synaptic delays carry spikes across samples)


@dataclass(frozen=True)
class LavaResult:
    """Per probe key, [T, B, *Lava shape] (int64); wall times of the child's stages in seconds."""

    values: dict[str, np.ndarray]
    seconds: dict[str, float] = field(default_factory=dict)


class LavaRunError(RuntimeError):
    """The child failed: its message and the end of its stderr."""


def run_in_lava(runs: list[LavaRun], *, timeout: float = 600.0) -> list[LavaResult]:
    """Run each job in one child interpreter (one Lava import for all), in order."""
    with tempfile.TemporaryDirectory(prefix="snnc-lava-") as tmp:
        work = Path(tmp)
        jobs = []
        for k, job in enumerate(runs):
            np.save(work / f"x{k}.npy", job.x)
            jobs.append(
                {
                    "via": job.via,
                    "network": str(job.network),
                    "x": f"x{k}.npy",
                    "input_bits": job.input_bits,
                    "per_sample": job.per_sample,
                    "probes": [p.__dict__ for p in job.probes],
                    "result": f"result{k}.npz",
                }
            )
        (work / "jobs.json").write_text(json.dumps(jobs))
        root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "snnc.backends.loihi.runner", str(work)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise LavaRunError(f"Lava did not finish within {timeout:g} s") from e
        if done.returncode != 0:
            raise LavaRunError(f"Lava run failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        results = []
        for job in jobs:
            with np.load(work / job["result"]) as data:
                values = {k: data[k] for k in data.files if k != "seconds"}
                seconds = json.loads(str(data["seconds"]))
            results.append(LavaResult(values, seconds))
        return results


# --- the child ------------------------------------------------------------------------------------


def _block_torch() -> None:
    import importlib.abc

    class NoTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname == "torch" or fullname.startswith("torch."):
                raise ImportError("snnc runs Lava without torch (torch in Lava processes can hang)")
            return None

    if "torch" in sys.modules:
        raise RuntimeError("the Lava runner's interpreter imported torch")
    sys.meta_path.insert(0, NoTorch())


def _child(work: Path) -> None:
    import warnings

    _block_torch()
    # Lava's compiler re-executes every file of a process's package from source, bypassing the
    # shim; those copies are not used, and it only warns (netx.md §6)
    warnings.filterwarnings("ignore", message="Cannot import module")
    started = time.perf_counter()
    from snnc.backends.loihi.shim import install

    install()
    jobs = json.loads((work / "jobs.json").read_text())
    import lava.proc.conv.process
    import lava.proc.dense.process
    import lava.proc.lif.process

    if any(job["via"] == "netx" for job in jobs):
        import lava.lib.dl.netx  # noqa: F401

    imported = time.perf_counter() - started
    for job in jobs:
        values, seconds = _run_job(work, job)
        seconds["import"] = imported
        np.savez(work / job["result"], seconds=np.array(json.dumps(seconds)), **values)


def _run_job(work: Path, job: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """All samples back to back in one network, or (per_sample) one network per sample."""
    x = np.load(work / job["x"])
    if not job["per_sample"]:
        return _run_samples(job, x)
    parts = [_run_samples(job, x[:, b : b + 1]) for b in range(x.shape[1])]
    values = {key: np.concatenate([p[0][key] for p in parts], axis=1) for key in parts[0][0]}
    seconds = {key: sum(p[1][key] for p in parts) for key in parts[0][1]}
    return values, seconds


def _run_samples(job: dict[str, Any], x: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.monitor.process import Monitor

    t0 = time.perf_counter()
    steps_per_sample, batch = x.shape[0], x.shape[1]
    probes = job["probes"]
    steps = batch * steps_per_sample + max(p["lava_delay"] for p in probes) - 1
    frames = np.swapaxes(x, 0, 1).reshape(batch * steps_per_sample, *x.shape[2:])  # sample after sample
    data = np.zeros((*x.shape[2:], steps), np.int32)
    data[..., : frames.shape[0]] = np.moveaxis(frames, 0, -1)
    source = Source(data=data)
    # with one sample per network, the reset interval outlasts the run: each neuron resets once,
    # before its first input, which drops the bias it integrated while the pipeline filled
    network, blocks = _network(job, steps_per_sample if batch > 1 else steps + 1)
    if job["via"] == "netx":
        source.s_out.connect(network.inp)
    else:
        network.feed(source.s_out)
    recorders = []
    for p in probes:
        neuron, out = blocks[p["block"]]
        if p["what"] == "spikes":
            sink = Sink(shape=out.shape, buffer=steps)
            out.connect(sink.a_in)
            recorders.append((p, sink))
        else:
            monitor = Monitor()
            monitor.probe(neuron.v, steps)
            recorders.append((p, monitor))
    t1 = time.perf_counter()
    run_cfg = Loihi2SimCfg(select_tag="fixed_pt")
    values = {}
    try:
        source.run(condition=RunSteps(num_steps=steps), run_cfg=run_cfg)
        t2 = time.perf_counter()
        sinks = [r for p, r in recorders if p["what"] == "spikes"]  # a Monitor's model has no tags
        _require_fixed_point([source, *sinks, *_network_processes(job, network)])
        for p, recorder in recorders:
            if p["what"] == "spikes":
                raw = recorder.data.get()  # (*shape, steps)
                raw = np.moveaxis(raw, -1, 0)
            else:
                neuron = blocks[p["block"]][0]
                raw = recorder.get_data()[neuron.name]["v"]  # (steps, *shape)
            values[p["key"]] = _align(raw, p["lava_delay"], steps_per_sample, batch)
    finally:
        source.stop()
    t3 = time.perf_counter()
    return values, {"build": t1 - t0, "run": t2 - t1, "read_and_stop": t3 - t2, "steps": float(steps)}


def _network(job: dict[str, Any], reset_interval: int):
    """The network and, per block, (neuron process, its output port)."""
    if job["via"] == "netx":
        from lava.lib.dl import netx

        net = netx.hdf5.Network(
            net_config=job["network"],
            input_message_bits=job["input_bits"],
            reset_interval=reset_interval,
            reset_offset=1,  # block k resets at step 2 + k, before its first input (netx.md §5)
        )
        return net, [(layer.neuron, layer.out) for layer in net.layers]
    from snnc.backends.loihi.lava import LavaDescription, build

    network = build(LavaDescription.load(Path(job["network"])), reset_interval)
    return network, [(n, n.s_out) for n in network.neurons]


def _network_processes(job: dict[str, Any], network) -> list[Any]:
    if job["via"] == "netx":
        found = []
        for layer in network.layers:
            found += [getattr(layer, a) for a in ("synapse", "synapse_rec", "neuron") if hasattr(layer, a)]
        return found
    return network.processes()


def _require_fixed_point(processes: list[Any]) -> None:
    """Every process ran a model tagged fixed_pt, none a floating-point one (loihi.md §3.4)."""
    for proc in processes:
        model = proc.model_class
        tags = getattr(model, "tags", [])
        if "fixed_pt" not in tags or "floating_pt" in tags:
            raise RuntimeError(f"Lava ran {proc.name} with {model.__name__} (tags {tags}), not a fixed_pt model")


def _align(raw: np.ndarray, delay: int, steps: int, batch: int) -> np.ndarray:
    """Lava's values per step (index i = Lava step i + 1) as [T, B, ...]: snnc step t of sample b
    is Lava step b·T + t + delay."""
    index = np.arange(batch)[None, :] * steps + np.arange(steps)[:, None] + delay - 1
    return np.asarray(raw)[index].astype(np.int64)


if __name__ == "__main__":
    _child(Path(sys.argv[1]))
