"""Builders of hostile files, one per class of attack on snnc's readers (used by
tests/security/test_hostile_inputs.py and benchmarks/bench_hostile_inputs.py).

Each pickle payload's only effect, if a loader ran it, is to create a marker file: a test
asserts the marker is absent after snnc refused the file, and present after Python's own
unpickler ran the same bytes, so that a payload that silently stopped working would fail the
test instead of passing it.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import os
import pickle
import struct
import subprocess
import sys
import time
import types
import warnings
import zipfile
from pathlib import Path

import h5py
import nir
import numpy as np

LIBRARY_MODULES = ("sinabs.layers.iaf", "snntorch._neurons.leaky", "spikingjelly.activation_based.surrogate")


# --- pickles ------------------------------------------------------------------------------------


def checkpoint(path: Path, pickled: bytes, storages: dict[str, bytes] | None = None) -> Path:
    """A zip laid out as torch.save writes it (torch/serialization.py `_save`) around `pickled`."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickled)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        for key, data in (storages or {}).items():
            z.writestr(f"archive/data/{key}", data)
    return path


def _args(*args: object) -> bytes:
    """The opcodes that push the tuple `args` (protocol 2, no PROTO, no STOP)."""
    return pickle.dumps(args, protocol=2)[2:-1]


def call_global(module: str, name: str, *args: object) -> bytes:
    """GLOBAL module name, then REDUCE with `args`: what `os.system("...")` pickles to. Protocol 4,
    under which Python's own unpickler also resolves a dotted name attribute by attribute."""
    return b"\x80\x04c" + f"{module}\n{name}\n".encode() + _args(*args) + b"R."


def call_stack_global(module: str, name: str, *args: object) -> bytes:
    """The same call with protocol 4's STACK_GLOBAL (the names pushed as strings first)."""
    names = b"".join(b"\x8c" + bytes([len(s)]) + s.encode() for s in (module, name))
    return b"\x80\x04" + names + b"\x93" + _args(*args) + b"R."


def module_path_to(start: str, target: types.ModuleType, depth: int = 4) -> str | None:
    """A dotted attribute path from library module `start` to module `target` through the modules
    each one imports (breadth first): the chain a loader that walks attributes would follow."""
    root = importlib.import_module(start)
    seen, queue = {id(root)}, collections.deque([(root, [])])
    while queue:
        module, path = queue.popleft()
        with warnings.catch_warnings():  # some torch attributes warn when merely looked at
            warnings.simplefilter("ignore")
            modules = [(k, v) for k, v in vars(module).items() if isinstance(v, types.ModuleType)]
        for key, value in modules:
            if id(value) in seen or len(path) >= depth:
                continue
            if value is target:
                return ".".join([*path, key])
            seen.add(id(value))
            queue.append((value, [*path, key]))
    return None


def chained_payloads(marker: Path) -> dict[str, bytes]:
    """Attribute chains from an allowlisted library module to os, subprocess, io.FileIO and
    builtins, each pickled to create `marker`."""
    import builtins
    import io as io_module
    import os
    import subprocess

    calls = {
        "os.system": (os, "system", (f"touch {marker}",)),
        "subprocess.Popen": (subprocess, "Popen", (["touch", str(marker)],)),
        "io.FileIO": (io_module, "FileIO", (str(marker), "w")),
        "builtins.exec": (builtins, "exec", (f"open({str(marker)!r}, 'w').close()",)),
    }
    payloads = {}
    for what, (target, function, args) in calls.items():
        for start in LIBRARY_MODULES:
            chain = module_path_to(start, target)
            if chain is not None:
                payloads[f"{what} via {start}.{chain}"] = call_global(start, f"{chain}.{function}", *args)
                payloads[f"{what} via {start}.{chain} (STACK_GLOBAL)"] = call_stack_global(
                    start, f"{chain}.{function}", *args
                )
                break
    return payloads


def prefix_payload(marker: Path) -> bytes:
    """A class under a trusted name prefix whose `__setstate__` unpickles its state
    (spikingjelly/activation_based/examples/common/multiprocessing_env.py CloudpickleWrapper):
    NEWOBJ, then BUILD with a pickle that creates `marker`."""
    inner = call_global("io", "FileIO", str(marker), "w")
    module = "spikingjelly.activation_based.examples.common.multiprocessing_env"
    state = b"C" + bytes([len(inner)]) + inner if len(inner) < 256 else b"B" + struct.pack("<I", len(inner)) + inner
    return b"\x80\x03c" + f"{module}\nCloudpickleWrapper\n".encode() + b")\x81" + state + b"b."


def linear_reduce(*args: object) -> bytes:
    """`torch.nn.Linear(*args)` by REDUCE: an allowlisted class called with the file's arguments."""
    return call_global("torch.nn.modules.linear", "Linear", *args)


def expanded_parameter_model(path: Path, rows: int = 10**9) -> Path:
    """torch.save of a Linear whose weight is an 8-number storage viewed as rows × 8 (stride 0)."""
    import torch
    from torch import nn

    layer = nn.Linear(8, 1)
    layer.weight = nn.Parameter(torch.zeros(1, 8).expand(rows, 8), requires_grad=False)
    torch.save(nn.Sequential(layer), path)
    return path


def expanded_buffer_model(path: Path, rows: int = 10**9) -> Path:
    """torch.save of a model with a buffer that is an 8-number storage viewed as rows × 8."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(8, 2))
    model.register_buffer("table", torch.zeros(1, 8).expand(rows, 8))
    torch.save(model, path)
    return path


def nested_model(path: Path, depth: int = 100_000) -> Path:
    """A model with an attribute that is a list nested `depth` deep (any copy of it recurses)."""
    import torch
    from torch import nn

    model = nn.Sequential(nn.Linear(2, 2))
    model.deep = "PLACEHOLDER"
    torch.save(model, path)
    with zipfile.ZipFile(path) as z:
        records = {n: z.read(n) for n in z.namelist()}
    name = next(n for n in records if n.endswith("data.pkl"))
    nest = b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST × depth, then APPEND × (depth − 1)
    records[name] = records[name].replace(b"X\x0b\x00\x00\x00PLACEHOLDER", nest)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in records.items():
            z.writestr(n, data)
    return path


# --- graphs that declare huge work ----------------------------------------------------------------


def huge_graphs() -> dict[str, object]:
    """Tiny, valid-looking graphs whose declared sizes need terabytes to simulate."""
    from snnc.ir import Conv2d, GraphBuilder, Linear, Neuron
    from snnc.ir.ops import Delay

    graphs = {}
    b = GraphBuilder("delay")
    b.input("x", (4,))
    b.add("late", Delay(steps=10**12), "x")
    b.output("out", "late")
    graphs["Delay(steps=10**12)"] = b
    b = GraphBuilder("padding")
    b.input("x", (1, 8, 8))
    b.add("conv", Conv2d(weight=np.ones((1, 1, 3, 3), np.float32), padding=30_000), "x")
    b.add("if", Neuron(threshold=1.0), "conv")
    b.output("out", "if")
    graphs["conv padding 30000"] = b
    b = GraphBuilder("wide")
    b.input("x", (2, 100_000, 100_000))
    b.add("if", Neuron(threshold=1.0), "x")
    b.output("out", "if")
    graphs["input [2, 100000, 100000]"] = b
    b = GraphBuilder("small")
    b.input("x", (4,))
    b.add("fc", Linear(weight=np.ones((3, 4), np.float32)), "x")
    b.add("if", Neuron(threshold=1.0), "fc")
    b.output("out", "if")
    graphs["(control: a small graph)"] = b
    return {name: builder.build() for name, builder in graphs.items()}


def lying_npz(path: Path, shape: tuple[int, ...] = (2, 2, 100_000, 115_448)) -> Path:
    """An .npz whose one member declares `shape` float32 (172 GiB by default) and holds 64 bytes."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", buffer.getvalue() + bytes(64))
    return path


SECRET = b"TOPSECRET-" * 4 + b"01234567"  # 48 bytes: a 3×4 float32 weight
NIR_TRICKS = ("external storage", "external link", "soft link", "virtual dataset")


def plain_nir(path: Path) -> Path:
    """input [4] → Linear 3×4 (node "fc") → output, written by nir itself."""
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([4])),
            "fc": nir.Linear(weight=np.zeros((3, 4), np.float32)),
            "output": nir.Output(output_type=np.array([3])),
        },
        edges=[("input", "fc"), ("fc", "output")],
    )
    nir.write(path, graph)
    return path


def nir_reading_outside(folder: Path, trick: str) -> Path:
    """A NIR file (`folder`/x.nir) whose Linear weight is HDF5 data outside the dataset: `trick`
    points it at `folder`/secret.bin (48 bytes), at another file or at another dataset."""
    secret = folder / "secret.bin"
    secret.write_bytes(SECRET)
    with h5py.File(folder / "other.h5", "w") as other:
        other["w"] = np.frombuffer(SECRET, np.float32).reshape(3, 4)
    path = plain_nir(folder / "x.nir")
    with h5py.File(path, "r+") as f:
        fc = f["node/nodes/fc"]
        del fc["weight"]
        if trick == "external storage":
            fc.create_dataset("weight", shape=(3, 4), dtype="<f4", external=[(str(secret), 0, len(SECRET))])
        elif trick == "external link":
            fc["weight"] = h5py.ExternalLink(str(folder / "other.h5"), "/w")
        elif trick == "soft link":
            fc["weight"] = h5py.SoftLink("/node/nodes/input/shape")
        else:
            layout = h5py.VirtualLayout(shape=(3, 4), dtype="<f4")
            layout[:] = h5py.VirtualSource(str(folder / "other.h5"), "w", shape=(3, 4))
            fc.create_virtual_dataset("weight", layout)
    return path


# Runs snnc's CLI and, at exit, writes the child's own peak RSS (VmHWM of its memory map, new at
# exec) to the fd it is given. The rusage of the child (os.wait4) would not do: Linux carries the
# parent's peak across fork and exec, so a child of a large pytest process reports the parent's.
_PEAK_REPORTING_CLI = """
import atexit, os, runpy, sys
def peak():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    os.write(int(os.environ["SNNC_TEST_PEAK_FD"]), line.split()[1].encode())
atexit.register(peak)
sys.argv[0] = "snnc"
runpy.run_module("snnc", run_name="__main__", alter_sys=True)
"""


def run_cli(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, int, float]:
    """`python -m snnc ARGV` in a child process: exit code, stderr, its peak RSS (bytes), seconds."""
    start = time.perf_counter()
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", _PEAK_REPORTING_CLI, *argv],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
            env={
                **os.environ,
                "PYTHONPATH": str(Path(__file__).parents[2]),
                "SNNC_TEST_PEAK_FD": str(write_end),
                **(env or {}),
            },
        )
        os.close(write_end)
        _, stderr = child.communicate()
        with os.fdopen(read_end, "rb") as report:
            peak_kib = int(report.read() or b"0")
    finally:
        for fd in (read_end, write_end):
            with contextlib.suppress(OSError):
                os.close(fd)
    assert peak_kib > 0, "the child reported no peak memory"
    return child.returncode, stderr.decode(), peak_kib * 1024, time.perf_counter() - start
