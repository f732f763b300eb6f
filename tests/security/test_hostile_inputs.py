"""Hostile inputs: each class of attack on snnc's readers and writers, built here and refused.

Threat model. The files snnc reads come from third parties the user does not control: a model
downloaded from a model zoo, a colleague's checkpoint, an artifact of someone else's CI run, a
NIR or ONNX file from a paper's repository, a data archive. Whoever made such a file may have
crafted it. Through snnc's default paths (`snnc.load`, `snnc.simulate`, `snnc.report`, `snnc
inspect/check/simulate/report/compile/export/convert` without `--trust-pickle`) such a file must
not be able to
- run code: no pickle global outside the exact allowlist, no call of a class with the file's
  arguments, no hook or callable the file chose;
- read or write local files outside `-o`: no HDF5 external storage, links or virtual datasets,
  no ONNX external data other than the model's own sibling file, no write through a symlink,
  FIFO or device at `-o`;
- exhaust memory or time: every declared size (storages, tensor views, graph shapes, delays,
  paddings, array headers, datasets) is checked against the limits of snnc/limits.py before
  anything is allocated;
- crash snnc with exit code 70 ("a bug in snnc") or a traceback: every malformed input ends
  with exit code 1 or 2 and a diagnostic (tests/security/test_fuzz_readers.py fuzzes each reader);
- leave half-written outputs: nothing is written on error, temporary files are removed, and
  stale ones of killed runs are cleaned up.
`--trust-pickle` / `trust_pickle=True` remains the user's explicit way to run a file they trust.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import hostile
import numpy as np
import pytest
import torch
from torch import nn

import snnc
from snnc import cli, limits
from snnc.atomic import remove_stale_temporaries, write_atomically
from snnc.diagnostics import SnncError
from snnc.frontend.safe_load import load_pickled_model
from snnc.ir.serialize import save

ROOT = Path(snnc.__file__).parents[1]


def rules(call, *args, **kwargs) -> list[str]:
    with pytest.raises(SnncError) as err:
        call(*args, **kwargs)
    return [d.rule for d in err.value.diagnostics]


# --- pickles: code execution --------------------------------------------------------------------


def test_attribute_chains_through_library_modules_are_refused(tmp_path):
    """A global spelled as an allowlisted library module plus a dotted path through the modules it
    imports reaches os.system, subprocess.Popen, io.FileIO and builtins.exec."""
    marker = tmp_path / "marker"
    payloads = hostile.chained_payloads(marker)
    assert {name.split(" ")[0] for name in payloads} == {"os.system", "subprocess.Popen", "io.FileIO", "builtins.exec"}
    for name, payload in payloads.items():
        path = hostile.checkpoint(tmp_path / "evil.pt", payload)
        with pytest.raises(SnncError) as err:
            load_pickled_model(path)
        (diag,) = err.value.diagnostics
        assert diag.rule == "FE-UNSAFE-PICKLE" and "walks through" in diag.message, name
        assert not marker.exists(), name
        # the payload is live: Python's own unpickler runs it (Popen returns before its child is done)
        result = pickle.loads(payload)
        if isinstance(result, subprocess.Popen):
            result.wait()
        assert marker.exists(), name
        marker.unlink()


def test_cli_inspect_and_check_run_nothing(tmp_path):
    """The audit's reproduction: `snnc inspect evil.pt` and `snnc check evil.pt` started a process."""
    marker = tmp_path / "marker"
    payload = next(p for name, p in hostile.chained_payloads(marker).items() if name.startswith("subprocess"))
    hostile.checkpoint(tmp_path / "evil.pt", payload)
    for verb in (["inspect"], ["check", "--target", "sim"]):
        code, stderr, _, _ = hostile.run_cli(*verb, "evil.pt", cwd=tmp_path)
        assert code == 2 and "FE-UNSAFE-PICKLE" in stderr and "Traceback" not in stderr
    time.sleep(0.5)  # a started `touch` would have run by now
    assert not marker.exists()


def test_class_under_a_trusted_name_prefix_is_refused(tmp_path):
    """spikingjelly.activation_based.examples...CloudpickleWrapper: a name under the old trusted
    prefix, whose __setstate__ unpickles its state."""
    marker = tmp_path / "marker"
    payload = hostile.prefix_payload(marker)
    assert rules(load_pickled_model, hostile.checkpoint(tmp_path / "evil.pt", payload)) == ["FE-UNSAFE-PICKLE"]
    assert not marker.exists()
    pickle.loads(payload)
    assert marker.exists()


def test_names_resolve_to_exact_objects_only():
    from snnc.frontend import allowlist

    assert allowlist.resolve("torch.nn.modules.linear", "Linear").obj is nn.Linear
    refused = [
        ("torch.nn.modules.linear", "torch.os.system"),  # through a module
        ("torch.nn.modules.linear", "F.relu"),  # an imported module's function
        ("torch.nn.modules.linear", "Parameter"),  # imported into the module, defined elsewhere
        ("torch.nn.modules.linear", "Linear.forward"),  # not a class
        ("sinabs.layers", "IAF"),  # a package re-exporting: the defining module is allowlisted, not this one
        ("snntorch.utils", "reset"),  # a module under a trusted prefix, not on the list
    ]
    for module, name in refused:
        with pytest.raises(allowlist.NotAllowed):
            allowlist.resolve(module, name)


def test_hooks_and_foreign_getattr_are_refused(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2))
    model.register_forward_hook(nn.functional.relu)  # an allowlisted function, but chosen by the file
    torch.save(model, tmp_path / "hooked.pt")
    assert rules(load_pickled_model, tmp_path / "hooked.pt") == ["FE-UNSAFE-PICKLE"]
    getattr_payload = hostile.call_global("builtins", "getattr", "os", "system")
    assert rules(load_pickled_model, hostile.checkpoint(tmp_path / "g.pt", getattr_payload)) == ["FE-UNSAFE-PICKLE"]


# --- pickles: sizes -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [(30000, 30000), ("a", None), (10**12,)])
def test_reduce_on_an_allowlisted_class_is_refused_before_allocating(tmp_path, args):
    """A ~100-byte file calling Linear(30000, 30000) allocated 7 GB and ran 25 s; wrong-typed
    arguments ended in exit code 70."""
    path = hostile.checkpoint(tmp_path / "linear.pt", hostile.linear_reduce(*args))
    start = time.perf_counter()
    with pytest.raises(SnncError) as err:
        load_pickled_model(path)
    assert time.perf_counter() - start < 0.5
    (diag,) = err.value.diagnostics
    assert diag.rule == "FE-UNSAFE-PICKLE" and "torch.nn.modules.linear.Linear" in diag.message


def test_views_with_impossible_strides_are_refused(tmp_path):
    """A 1×8 storage expanded to 10⁹×8 (32 GB once copied): past the limit as a buffer or a
    parameter; a parameter whose rows share memory is refused at any size."""
    assert rules(load_pickled_model, hostile.expanded_parameter_model(tmp_path / "p.pt")) == ["FE-TOO-LARGE"]
    assert rules(load_pickled_model, hostile.expanded_buffer_model(tmp_path / "b.pt")) == ["FE-TOO-LARGE"]
    assert rules(load_pickled_model, hostile.expanded_parameter_model(tmp_path / "s.pt", rows=4)) == [
        "FE-TENSOR-LAYOUT"
    ]
    small_buffer = load_pickled_model(hostile.expanded_buffer_model(tmp_path / "ok.pt", rows=4))
    assert small_buffer.table.stride() == (0, 1)  # a small shared-memory buffer is data like any other


def test_storages_are_checked_against_the_archive_and_the_limit(tmp_path):
    torch.save(nn.Sequential(nn.Linear(100, 100)), tmp_path / "m.pt")
    with limits.override(memory=20_000):  # the 40 kB weight no longer fits
        assert rules(load_pickled_model, tmp_path / "m.pt") == ["FE-TOO-LARGE"]
    load_pickled_model(tmp_path / "m.pt")
    # the weight's record holds 8 bytes where the pickle declares 10 000 floats
    with zipfile.ZipFile(tmp_path / "m.pt") as z:
        records = {n: z.read(n) for n in z.namelist()}
    weight = next(n for n in records if n.endswith("/data/0"))
    records[weight] = bytes(8)
    with zipfile.ZipFile(tmp_path / "short.pt", "w") as z:
        for name, data in records.items():
            z.writestr(name, data)
    assert rules(load_pickled_model, tmp_path / "short.pt") == ["FE-CORRUPT-FILE"]


def test_deeply_nested_attributes_end_in_a_diagnostic(tmp_path):
    assert rules(snnc.load, str(hostile.nested_model(tmp_path / "deep.pt")), input_shape=(2,)) == ["FE-CORRUPT-FILE"]


def test_state_dicts_load_through_the_same_reader(tmp_path):
    marker = tmp_path / "marker"
    payload = next(iter(hostile.chained_payloads(marker).values()))
    hostile.checkpoint(tmp_path / "w.pt", payload)
    assert rules(snnc.load, "torch.nn:Identity", weights=tmp_path / "w.pt") == ["FE-UNSAFE-PICKLE"]
    assert not marker.exists()


# --- graphs and data that declare huge work -----------------------------------------------------


@pytest.mark.parametrize("name", [n for n in hostile.huge_graphs() if not n.startswith("(")])
def test_tiny_graphs_declaring_huge_work_are_refused(tmp_path, name):
    path = tmp_path / "g.snnc"
    save(hostile.huge_graphs()[name], path)
    assert path.stat().st_size < 2048
    with pytest.raises(SnncError) as err:
        snnc.load(str(path))
    (diag,) = err.value.diagnostics
    assert diag.rule == "IR-TOO-LARGE" and diag.measured > diag.limit == limits.current().memory
    assert "SNNC_MAX_MEMORY" in diag.hint and diag.node is not None


def test_cli_refuses_huge_graphs_and_shapes_quickly_and_small(tmp_path):
    save(hostile.huge_graphs()["Delay(steps=10**12)"], tmp_path / "delay.snnc")
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 1, 4), np.float32))
    code, stderr, rss, seconds = hostile.run_cli("simulate", "delay.snnc", "--data", "x.npz", cwd=tmp_path)
    assert code == 1 and "IR-TOO-LARGE" in stderr and "29.1 TiB" in stderr
    assert rss < 1 << 30 and seconds < 60
    torch.save(nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten()), tmp_path / "small.pt")
    code, stderr, rss, _ = hostile.run_cli("inspect", "small.pt", "--input-shape", "2,100000,100000", cwd=tmp_path)
    assert code == 2 and "FE-TOO-LARGE" in stderr and rss < 1 << 30


def test_raising_the_limit_lets_a_large_graph_through(tmp_path):
    graph = hostile.huge_graphs()["input [2, 100000, 100000]"]
    with limits.override(memory="2TiB"):
        assert snnc.load(graph) is graph
    code, stderr, _, _ = hostile.run_cli(
        "inspect", "g.snnc", cwd=_saved(graph, tmp_path), env={"SNNC_MAX_MEMORY": "2TiB"}
    )
    assert code == 0, stderr
    code, stderr, _, _ = hostile.run_cli("inspect", "g.snnc", cwd=tmp_path, env={"SNNC_MAX_MEMORY": "lots"})
    assert code == 2 and "CLI-LIMIT" in stderr
    assert cli.main(["inspect", str(tmp_path / "g.snnc"), "--max-memory", "2TiB"]) == 0
    assert cli.main(["inspect", str(tmp_path / "g.snnc")]) == 1  # the flag held for that command only


def _saved(graph, directory: Path) -> Path:
    save(graph, directory / "g.snnc")
    return directory


def test_padding_in_a_model_file_is_refused_while_tracing():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=30_000))
    assert rules(snnc.load, model, input_shape=(1, 8, 8)) == ["FE-TOO-LARGE"]


def test_simulation_runs_are_sized_from_the_data():
    graph = hostile.huge_graphs()["(control: a small graph)"]
    x = np.zeros((200_000, 1, 4), np.float32)
    with limits.override(memory="8MiB"):  # the T × B records and the window's values take 20 MB
        assert rules(snnc.simulate, graph, x) == ["SIM-TOO-LARGE"]
    with limits.override(work=10**6):
        assert rules(snnc.simulate, graph, x) == ["SIM-TOO-LARGE"]
    assert snnc.simulate(graph, x[:10]).output.shape == (10, 1, 3)


def test_data_files_are_checked_before_reading(tmp_path):
    from snnc.commands.common import read_data

    graph = hostile.huge_graphs()["(control: a small graph)"]
    path = hostile.lying_npz(tmp_path / "lie.npz")
    assert path.stat().st_size < 1024
    with pytest.raises(SnncError) as err:
        read_data(path, graph)
    (diag,) = err.value.diagnostics
    assert diag.rule == "CLI-DATA-READ" and "172 GiB" in diag.message
    np.savez(tmp_path / "ok.npz", x=np.zeros((2, 1, 4), np.float32))
    with limits.override(memory=16):
        assert rules(read_data, tmp_path / "ok.npz", graph) == ["CLI-DATA-READ"]  # 32 bytes: over the limit


def test_damaged_and_empty_archives_are_diagnostics(tmp_path, capsys):
    save(hostile.huge_graphs()["(control: a small graph)"], tmp_path / "g.snnc")
    np.savez_compressed(tmp_path / "ok.npz", x=np.zeros((64, 1, 4), np.float32))
    data = bytearray((tmp_path / "ok.npz").read_bytes())
    start = data.index(b"x.npy") + 5  # the deflated stream of the member
    data[start + 20 : start + 40] = bytes(20)
    (tmp_path / "zlib.npz").write_bytes(bytes(data))
    with zipfile.ZipFile(tmp_path / "empty.npz", "w") as z:
        z.writestr("readme.txt", "no arrays here")
    for name, rule in (("zlib.npz", "CLI-DATA-READ"), ("empty.npz", "CLI-DATA-KEY")):
        code = cli.main(["report", str(tmp_path / "g.snnc"), "--data", str(tmp_path / name)])
        stderr = capsys.readouterr().err
        assert code == 2 and rule in stderr and "internal error" not in stderr, name


# --- files that point outside themselves --------------------------------------------------------


@pytest.mark.parametrize("trick", hostile.NIR_TRICKS)
def test_nir_files_cannot_read_local_files(tmp_path, trick):
    path = hostile.nir_reading_outside(tmp_path, trick)
    if trick == "external storage":  # h5py itself reads the secret through it
        with h5py.File(path, "r") as f:
            assert f["node/nodes/fc/weight"][()].tobytes() == hostile.SECRET
    out = tmp_path / "out.nir"
    code = cli.main(["export", str(path), "-o", str(out)])
    assert code == 2 and not out.exists()
    assert rules(snnc.load, str(path)) == ["FE-NIR-READ"]


def test_nir_datasets_are_sized_before_reading(tmp_path):
    path = hostile.plain_nir(tmp_path / "x.nir")
    with h5py.File(path, "r+") as f:
        del f["node/nodes/fc/weight"]
        f["node/nodes/fc"].create_dataset("weight", shape=(300_000, 300_000), dtype="<f4", chunks=(1, 1000))
    assert path.stat().st_size < 100_000  # unwritten chunks: nothing stored, 335 GiB declared
    assert rules(snnc.load, str(path)) == ["FE-NIR-TOO-LARGE"]


def _external(tensor, location: str) -> None:
    """Point an ONNX tensor's data at bytes 0..48 of `location` (onnx/external_data_helper.py)."""
    import onnx

    tensor.ClearField("raw_data")
    del tensor.external_data[:]
    for key, value in (("location", location), ("offset", "0"), ("length", "48")):
        tensor.external_data.add(key=key, value=value)
    tensor.data_location = onnx.TensorProto.EXTERNAL


def test_onnx_external_data_is_read_only_from_the_models_own_file(tmp_path):
    import onnx

    (tmp_path / "secret.txt").write_bytes(b"TOPSECRET" * 8)
    torch.onnx.export(nn.Sequential(nn.Linear(4, 3)), (torch.zeros(1, 4),), str(tmp_path / "net.onnx"), dynamo=False)
    model = onnx.load(str(tmp_path / "net.onnx"))
    weight = next(t for t in model.graph.initializer if list(t.dims) == [3, 4])
    for location in ("secret.txt", "../secret.txt", str(tmp_path / "secret.txt"), "net.onnx"):
        _external(weight, location)
        (tmp_path / "evil.onnx").write_bytes(model.SerializeToString())
        assert rules(snnc.load, str(tmp_path / "evil.onnx")) == ["FE-ONNX-READ"], location
    # the exporter's own layout, <model>.onnx beside <model>.onnx.data, loads
    _external(weight, "evil.onnx.data")
    (tmp_path / "evil.onnx.data").write_bytes(np.arange(12, dtype=np.float32).tobytes())
    (tmp_path / "evil.onnx").write_bytes(model.SerializeToString())
    graph = snnc.load(str(tmp_path / "evil.onnx"))
    linear = next(n.op for n in graph if n.op.kind == "linear")
    assert np.array_equal(linear.weight.ravel(), np.arange(12, dtype=np.float32))


def test_onnx_initializer_dims_must_match_their_data(tmp_path):
    import onnx

    torch.onnx.export(nn.Sequential(nn.Linear(4, 3)), (torch.zeros(1, 4),), str(tmp_path / "net.onnx"), dynamo=False)
    model = onnx.load(str(tmp_path / "net.onnx"))
    model.graph.initializer[0].dims[0] = 10**12
    onnx.save(model, str(tmp_path / "lie.onnx"))
    assert rules(snnc.load, str(tmp_path / "lie.onnx")) == ["FE-ONNX-READ"]


# --- outputs ------------------------------------------------------------------------------------


def test_special_files_at_the_output_path_are_not_replaced(tmp_path):
    save(hostile.huge_graphs()["(control: a small graph)"], tmp_path / "g.snnc")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "link").symlink_to(victim)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "sock"))
    specials = ["link", "fifo", "dir", "sock"]
    try:  # a device node like /dev/null (as root, the old writer replaced it by a regular file)
        os.mknod(tmp_path / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        specials.append("null")
    except PermissionError:  # creating device nodes needs CAP_MKNOD; the other kinds still run
        pass
    try:
        for name in specials:
            target = tmp_path / name
            with pytest.raises(SnncError) as err:
                write_atomically(target, b"data", rule="CLI-OUTPUT-WRITE")
            assert "refusing to replace" in err.value.diagnostics[0].message, name
            assert cli.main(["export", str(tmp_path / "g.snnc"), "-o", str(target)]) == 2, name
    finally:
        server.close()
    assert victim.read_text() == "keep me" and (tmp_path / "link").is_symlink()
    assert all(not (tmp_path / name).is_file() for name in specials if name != "link")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snnc-tmp-")]
    (tmp_path / "plain").write_text("a file")
    assert rules(
        snnc.compile, hostile.huge_graphs()["(control: a small graph)"], "sim", out_dir=tmp_path / "plain"
    ) == ["IO-WRITE"]


def test_stale_temporaries_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".snnc-tmp-{dead.pid}-{'0' * 16}"
    live = tmp_path / f".snnc-tmp-{os.getppid()}-{'1' * 16}"  # the process that started the tests runs
    other = tmp_path / ".snnc-tmp-notapid"
    for p in (stale, live, other):
        p.write_bytes(b"half of an output")
    write_atomically(tmp_path / "out.bin", b"new", rule="CLI-OUTPUT-WRITE")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "out.bin").read_bytes() == b"new"
    assert remove_stale_temporaries(tmp_path) == []


def test_sigterm_mid_write_leaves_no_temporary(tmp_path):
    """The command line turns SIGTERM into SystemExit, so the temporary file is removed."""
    save(hostile.huge_graphs()["(control: a small graph)"], tmp_path / "g.snnc")
    script = (
        "import os, signal, sys\n"
        "import snnc.atomic\n"
        "real = os.fsync\n"
        "def killed(fd):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    real(fd)\n"
        "snnc.atomic.os.fsync = killed\n"
        "from snnc import cli\n"
        "sys.exit(cli.main(['export', 'g.snnc', '-o', 'out.nir']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120
    )
    assert done.returncode == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.snnc"]


def test_node_names_with_mathtext_render_in_the_html_report(tmp_path):
    from snnc.ir import GraphBuilder, Linear, Neuron

    b = GraphBuilder("math")
    b.input("x", (4,))
    b.add(r"fc$\frac{1}{$", Linear(weight=np.ones((3, 4), np.float32)), "x")
    b.add("if$x^$", Neuron(threshold=1.0), r"fc$\frac{1}{$")
    b.output("out", "if$x^$")
    save(b.build(), tmp_path / "g.snnc")
    np.savez(tmp_path / "x.npz", x=np.ones((3, 2, 4), np.float32))
    out = tmp_path / "report.html"
    assert cli.main(["report", str(tmp_path / "g.snnc"), "--data", str(tmp_path / "x.npz"), "-o", str(out)]) == 0
    assert r"fc$\frac{1}{$" in out.read_text()
