"""Seeded mutation fuzzing of snnc's readers, run by tests/security/test_fuzz_readers.py.

Run as a script, this is the *worker*: one process that caps its own address space
(RLIMIT_AS), builds a valid file per reader, derives mutants from it with a seeded RNG (bit
flips, byte overwrites, truncations, splices, and edits of the format's own header or inner
members with checksums and CRCs recomputed, so that the mutants get past the outer checks), and
runs the `snnc` command on each in-process, as a user would from the shell. It prints one JSON
record per case: exit code, stderr, whether an output file or a temporary file was left, the
seconds taken. A case that passes the memory cap ends as a MemoryError (exit 70 "internal
error"), one that hangs is cut by an alarm; both are failures the test reports.

    python tests/security/fuzz.py READER [READER ...] --cases N --seed S --dir DIR
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import resource
import signal
import struct
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

CASE_SECONDS = 20  # a case that runs longer than this is a hang
MEMORY_CAP = 3 << 30  # address space the worker may add to what it holds after its imports
SNNC_MEMORY = "512MiB"  # snnc's own limit inside the worker: far below the cap


# --- valid seed files ---------------------------------------------------------------------------


def tiny_graph():
    from snnc.ir import Conv2d, Flatten, GraphBuilder, Linear, Neuron, SumPool2d
    from snnc.ir.ops import Delay

    rng = np.random.default_rng(0)
    b = GraphBuilder("tiny")
    b.input("x", (2, 8, 8))
    b.add("conv", Conv2d(weight=rng.integers(-2, 3, (4, 2, 3, 3)).astype(np.float32), padding=1), "x")
    b.add("if1", Neuron(threshold=2.0, reset="subtract"), "conv")
    b.add("pool", SumPool2d(kernel=2), "if1")
    b.add("flat", Flatten(), "pool")
    b.add("fc", Linear(weight=rng.integers(-2, 3, (5, 64)).astype(np.float32)), "flat")
    b.add("lif", Neuron(threshold=1.0, v_decay=0.5), "fc")
    b.add("late", Delay(2), "lif")
    b.output("out", "late")
    return b.build()


def seed_snnc(d: Path) -> Path:
    from snnc.ir.serialize import save

    save(tiny_graph(), d / "seed.snnc")
    return d / "seed.snnc"


def seed_npz(d: Path) -> Path:
    rng = np.random.default_rng(1)
    np.savez_compressed(d / "seed.npz", x=(rng.random((6, 2, 2, 8, 8)) < 0.3).astype(np.float32))
    return d / "seed.npz"


def seed_nir(d: Path) -> Path:
    """A plain NIR file (no snnc sidecar: the NIR mapping is what gets fuzzed), as nir.write writes."""
    import nir

    rng = np.random.default_rng(2)
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2, 8, 8])),
            "conv": nir.Conv2d(
                input_shape=(8, 8),
                weight=rng.normal(size=(4, 2, 3, 3)).astype(np.float32),
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=np.zeros(4, np.float32),
            ),
            "lif": nir.LIF(
                tau=np.full((4, 8, 8), 2e-3, np.float32),
                r=np.ones((4, 8, 8), np.float32),
                v_leak=np.zeros((4, 8, 8), np.float32),
                v_threshold=np.ones((4, 8, 8), np.float32),
            ),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
            "fc": nir.Affine(weight=rng.normal(size=(3, 64)).astype(np.float32), bias=np.zeros(3, np.float32)),
            "li": nir.CubaLIF(
                tau_mem=np.full(3, 1e-3, np.float32),
                tau_syn=np.full(3, 1e-3, np.float32),
                r=np.ones(3, np.float32),
                v_leak=np.zeros(3, np.float32),
                v_threshold=np.ones(3, np.float32),
                w_in=np.ones(3, np.float32),
            ),
            "output": nir.Output(output_type=np.array([3])),
        },
        edges=[("input", "conv"), ("conv", "lif"), ("lif", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "li"), ("li", "output")],
        type_check=False,
    )  # fmt: skip
    nir.write(d / "seed.nir", graph)
    return d / "seed.nir"


def seed_onnx(d: Path) -> Path:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 3)
    ).eval()
    torch.onnx.export(model, (torch.zeros(1, 2, 8, 8),), str(d / "seed.onnx"), dynamo=False)
    return d / "seed.onnx"


def seed_pt(d: Path) -> Path:
    import torch
    from spikingjelly.activation_based import layer, neuron
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(layer.Conv2d(2, 4, 3), neuron.LIFNode(tau=2.0), layer.Flatten(), layer.Linear(144, 3))
    torch.save(model, d / "seed.pt")
    return d / "seed.pt"


# --- mutations ----------------------------------------------------------------------------------

Mutator = Callable[[bytes, random.Random], bytes]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        k = rng.randrange(len(out))
        out[k] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random) -> bytes:
    """Bytes set to boundary values: 0, 0xff, 0x7f, 0x80, or a 4/8-byte huge or negative integer."""
    out = bytearray(data)
    k = rng.randrange(len(out))
    value = rng.choice([b"\x00", b"\xff", b"\x7f", b"\x80", struct.pack("<i", -1), struct.pack("<I", 2**31 - 1),
                        struct.pack("<Q", 2**62), struct.pack("<q", -(2**40))])  # fmt: skip
    out[k : k + len(value)] = value
    return bytes(out[: len(data)])


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def splice(data: bytes, rng: random.Random) -> bytes:
    """A chunk of the file copied over (or inserted at) another place."""
    a, n = rng.randrange(len(data)), rng.randint(1, 64)
    chunk = data[a : a + n]
    b = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:b] + chunk + data[b:]
    return data[:b] + chunk + data[b + len(chunk) :]


RAW: list[Mutator] = [flip_bits, overwrite, truncate, splice]


def in_member(pick: Callable[[list[str]], str | None]) -> Mutator:
    """Mutate one member of a zip archive (a .npz array, a .pt pickle or storage) and write the
    archive again, so its CRCs are right and the mutant reaches the member's own reader."""

    def mutate(data: bytes, rng: random.Random) -> bytes:
        with zipfile.ZipFile(io.BytesIO(data)) as zin:
            names = zin.namelist()
            target = pick(names) or rng.choice(names)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zout:
                for info in zin.infolist():
                    body = zin.read(info)
                    if info.filename == target and body:
                        body = rng.choice(RAW)(body, rng)
                    zout.writestr(info.filename, body)
        return buffer.getvalue()

    return mutate


def snnc_header(data: bytes, rng: random.Random) -> bytes:
    """Edit the JSON header of a .snnc file (numbers, strings, lists) and fix its checksum."""
    from snnc.ir.serialize import _PREFIX, _pack

    _, _, header_len, payload_len, _ = _PREFIX.unpack_from(data)
    doc = json.loads(data[_PREFIX.size : _PREFIX.size + header_len])
    payload = data[len(data) - payload_len :]
    _edit_json(doc, rng)
    return _pack(json.dumps(doc).encode(), payload)


def snnc_values(data: bytes, rng: random.Random) -> bytes:
    """Like `snnc_header`, but each edit keeps the leaf's JSON type, so the graph still decodes
    and its values reach the verifier, the simulator and the NIR writer."""
    from snnc.ir.serialize import _PREFIX, _pack

    _, _, header_len, payload_len, _ = _PREFIX.unpack_from(data)
    doc = json.loads(data[_PREFIX.size : _PREFIX.size + header_len])
    payload = data[len(data) - payload_len :]
    leaves: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            if isinstance(value, (dict, list)):
                walk(value)
            elif key not in ("offset", "length"):
                leaves.append((node, key))

    walk(doc)
    for _ in range(rng.randint(1, 3)):
        container, key = rng.choice(leaves)
        value = container[key]
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            container[key] = rng.choice([0, -1, 1, 3, 2**31, 10**6, 10**12, 2**62])
        elif isinstance(value, float):
            container[key] = rng.choice([0.0, -1.0, 1e308, -1e-308, float("nan"), float("inf")])
        elif isinstance(value, str):
            container[key] = rng.choice(["", "x", "$x^$", "../../etc/passwd", "a/b", ".", "\x00", value + value])
    return _pack(json.dumps(doc).encode(), payload)


def _edit_json(doc: object, rng: random.Random) -> None:
    """Replace one leaf of a JSON document by a hostile value."""
    path: list[tuple[object, object]] = []

    def walk(node: object) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            path.append((node, key))
            walk(value)

    walk(doc)
    container, key = rng.choice(path)
    container[key] = rng.choice(
        [0, -1, 1, 2**31, 10**12, -(10**12), 1e308, float("nan"), "", "x" * 10, None, True, [], {}, [0] * 3,
         [10**6, 10**6], {"array": 1}, "float[100000,100000]", "spike[2,100000,100000]"]
    )  # fmt: skip


HOSTILE_DATASETS = [
    np.zeros(0, np.float32), np.float32(np.nan), np.array(-1), np.array([10**9, 10**9]), b"Conv2d", b"NIRGraph",
    np.array(b"x"), np.zeros((2, 2, 2, 2, 2), np.float32), np.array([30000, 30000]), np.array([[b"input", b"nowhere"]]),
    np.array(1e30, np.float32),
]  # fmt: skip


def nir_edit(data: bytes, rng: random.Random) -> bytes:
    """Replace one dataset of the NIR file with a hostile one: another shape, dtype or value."""
    import h5py

    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+") as f:
        datasets: list[str] = []
        f.visititems(lambda name, obj: datasets.append(name) if isinstance(obj, h5py.Dataset) else None)
        name = rng.choice(datasets)
        old = f[name][()]
        del f[name]
        f.create_dataset(name, data=rng.choice([*HOSTILE_DATASETS, np.asarray(old).ravel()[:1]]))
    return buffer.getvalue()


def onnx_edit(data: bytes, rng: random.Random) -> bytes:
    """Change one dim, attribute or initializer field of the ONNX model to a hostile value."""
    import onnx

    model = onnx.load_from_string(data)
    g = model.graph
    choice = rng.randrange(4)
    if choice == 0 and g.initializer:
        t = rng.choice(list(g.initializer))
        if t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice([0, 1, 7, 2**31, 10**12])
    elif choice == 1:
        node = rng.choice(list(g.node))
        for a in node.attribute:
            if a.ints:
                a.ints[rng.randrange(len(a.ints))] = rng.choice([0, -1, 30000, 2**40])
            elif a.type == onnx.AttributeProto.INT:
                a.i = rng.choice([0, -1, 2**40])
    elif choice == 2:
        dims = g.input[0].type.tensor_type.shape.dim
        dims[rng.randrange(len(dims))].dim_value = rng.choice([0, 1, 100000, 2**40])
    else:
        node = rng.choice(list(g.node))
        if node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(["", "missing", g.output[0].name])
    return model.SerializeToString()


# --- one reader: its seed, mutators and command -------------------------------------------------


def reader_cases(reader: str, d: Path) -> tuple[Path, list[Mutator], Callable[[Path, Path], list[str]]]:
    """The seed file, the mutators and the command line (given the mutant and an output path)."""
    snnc_path, npz_path = seed_snnc(d), seed_npz(d)
    if reader == "snnc":
        return snnc_path, [*RAW, snnc_header, snnc_values, snnc_values], lambda m, o: _simulate(m, npz_path, o)
    if reader == "snnc-export":  # graphs no NIR exporter made, through the NIR writer
        return snnc_path, [snnc_header, snnc_values, snnc_values], _export
    if reader == "npz":
        member = in_member(lambda names: None)
        return npz_path, [*RAW, member, member, npy_header], lambda m, o: _report(snnc_path, m, o)
    if reader == "nir":
        return seed_nir(d), [*RAW, nir_edit, nir_edit, nir_edit], _export
    if reader == "nir-sidecar":  # files snnc exported: the sidecar restore and its fallback
        import snnc

        snnc.export(tiny_graph(), d / "seed.nir")
        return d / "seed.nir", [*RAW, nir_edit, nir_edit], _export
    if reader == "onnx":
        return seed_onnx(d), [*RAW, onnx_edit, onnx_edit], lambda m, o: _convert(m, d / "calib.npz", o)
    if reader == "pt":
        pickle_member = in_member(lambda names: next(n for n in names if n.endswith("data.pkl")))
        return seed_pt(d), [*RAW, pickle_member, pickle_member, pickle_member], _export_pt
    raise SystemExit(f"unknown reader {reader}")


def _simulate(model: Path, data: Path, out: Path) -> list[str]:
    return ["simulate", str(model), "--data", str(data), "-o", str(out)]


def _report(model: Path, data: Path, out: Path) -> list[str]:
    return ["report", str(model), "--data", str(data), "--format", "html", "-o", str(out)]


def _export(model: Path, out: Path) -> list[str]:
    return ["export", str(model), "-o", str(out)]


def _export_pt(model: Path, out: Path) -> list[str]:
    return ["export", str(model), "--input-shape", "2,8,8", "-o", str(out)]


def _convert(model: Path, calib: Path, out: Path) -> list[str]:
    return ["convert", str(model), "--calib", str(calib), "-o", str(out)]


def npy_header(data: bytes, rng: random.Random) -> bytes:
    """Rewrite the .npy header inside the archive: a lying shape, dtype or order."""
    with zipfile.ZipFile(io.BytesIO(data)) as zin:
        name = zin.namelist()[0]
        body = zin.read(name)
    header = rng.choice(
        ["{'descr': '<f4', 'fortran_order': False, 'shape': (2, 100000, 100000, 3), }",
         "{'descr': '|O', 'fortran_order': False, 'shape': (6, 2, 2, 8, 8), }",
         "{'descr': '<f4', 'fortran_order': True, 'shape': (6, 2, 2, 8, 8), }",
         "{'descr': '<f8', 'fortran_order': False, 'shape': (6, 2, 2, 8, 8), }",
         "{'descr': '>f4', 'fortran_order': False, 'shape': (6, 2, 2, 8, 8), }",
         "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
         "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }"]
    )  # fmt: skip
    start = body.index(b"{")
    end = body.index(b"\n", start) + 1
    raw = header.encode().ljust(end - start - 1) + b"\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zout:
        zout.writestr(name, body[:start] + raw + body[end:] if len(raw) == end - start else body[:start] + raw)
    return buffer.getvalue()


# --- running a case -----------------------------------------------------------------------------


class Hang(Exception):
    pass


def run_case(argv: list[str], output: Path) -> dict:
    from snnc import cli

    out, err = io.StringIO(), io.StringIO()

    def alarm(signum: int, frame: object) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(CASE_SECONDS)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(argv)
    except Hang:
        code = "hang"
    except SystemExit as e:  # argparse
        code = e.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    temporaries = [p.name for p in output.parent.iterdir() if p.name.startswith(".snnc-tmp-")]
    return {
        "exit": code,
        "stderr": err.getvalue()[-2000:],
        "written": output.exists(),
        "temporaries": temporaries,
        "seconds": round(time.perf_counter() - start, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("readers", nargs="+")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    os.environ["SNNC_MAX_MEMORY"] = SNNC_MEMORY
    import torch  # noqa: F401  (imported before the cap: its address-space reservations are not the cases')

    import snnc.cli  # noqa: F401

    for reader in args.readers:
        d = args.dir / reader
        d.mkdir(parents=True, exist_ok=True)
        np.savez(d / "calib.npz", x=np.random.default_rng(3).random((8, 2, 8, 8)).astype(np.float32))
        seed, mutators, command = reader_cases(reader, d)
        data = seed.read_bytes()
        baseline = run_case(command(seed, d / "out" / "baseline"), d / "out" / "baseline")
        print(json.dumps({"reader": reader, "case": "baseline", **baseline}), flush=True)
        _cap_address_space()
        for k in range(args.cases):
            rng = random.Random(f"{args.seed}-{reader}-{k}")
            mutator = mutators[k % len(mutators)]
            try:
                mutant = mutator(data, rng)
            except Exception as e:  # the mutator could not apply to this seed: skip the case
                print(json.dumps({"reader": reader, "case": k, "skipped": f"{type(e).__name__}: {e}"}), flush=True)
                continue
            path = d / f"mutant{k}{seed.suffix}"
            path.write_bytes(mutant)
            output = d / "out" / f"out{k}"
            result = run_case(command(path, output), output)
            digest = hashlib.sha256(mutant).hexdigest()[:12]
            print(json.dumps({"reader": reader, "case": k, "mutator": mutator.__name__, "sha": digest, **result}),
                  flush=True)  # fmt: skip
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({"reader": reader, "case": "peak", "peak_rss": peak}), flush=True)


_capped = False


def _cap_address_space() -> None:
    """Cap the address space at what the worker holds now plus MEMORY_CAP (once)."""
    global _capped
    if _capped:
        return
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    held = pages * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (held + MEMORY_CAP, resource.getrlimit(resource.RLIMIT_AS)[1]))
    _capped = True


if __name__ == "__main__":
    sys.exit(main())
