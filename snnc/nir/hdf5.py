"""Reading a NIR file's HDF5 tree: nothing from outside the file, bounded in memory and time.

NIR files are HDF5 (nir/serialization.py: `hdf2dict` reads every dataset of the tree with
`dataset[()]`, `read` builds the nodes from that dict). HDF5 lets a dataset or a link point
outside the file: external storage (a dataset whose bytes live in any file, by absolute path:
`/etc/passwd`), external links (into another HDF5 file), virtual datasets (assembled from other
files), and soft links (which can also form cycles). Reading such a file would copy local files'
bytes into the graph, and `snnc export` would write them into its output. NIR's writer
(nir.write) creates none of these, so they are refused, as ONNX external data from anywhere but
the model's own data file is (snnc/frontend/onnx.py).

A dataset also declares its shape, and reading allocates it in full whatever the file holds
(unwritten chunks read as fill values, compressed chunks inflate), so the declared sizes are
summed against the memory limit (snnc/limits.py) first; only the filters h5py ships are accepted
(an unknown filter id makes HDF5 search its plugin path for a library to load).

Below h5py, the HDF5 C library trusts the file's own bookkeeping: a variable-length string whose
32-bit length was flipped makes it allocate 2 GiB; a global heap whose object headers were zeroed
makes it loop without end, out of reach of Python's signal handlers. So the tree is read in a
child process (`read_tree`), under an address-space cap of the declared sizes plus slack and a
time limit; a child that passes either, or crashes, is a damaged file (FE-NIR-READ), not a hung
or killed snnc. The child sends back the plain dict `hdf2dict` builds (arrays, numbers, strings).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from pathlib import Path
from typing import Any

from snnc.diagnostics import Diagnostic, SnncError, input_error
from snnc.limits import Limits, address_space_cap, current, format_bytes

READ_SLACK = 256 << 20  # what h5py and the tree's Python objects may take beyond the declared bytes
READ_SECONDS = 10  # the time limit of a read, plus one second per 10 MB of file (small files take 0.1 s)
KNOWN_FILTERS = frozenset({"gzip", "lzf", "szip", "shuffle", "fletcher32", "scaleoffset"})
MAX_OBJECTS = 100_000  # groups and datasets; NIR graphs have a few per node
_VLEN_BYTES = 256  # what a variable-length string element is charged (NIR writes short names)


def read_tree(path: Path) -> dict[str, Any]:
    """The `hdf2dict` tree of the NIR file's "node" group, read in a bounded child process."""
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(path, current(), sender), daemon=True)
    child.start()
    sender.close()
    seconds = READ_SECONDS + path.stat().st_size / 10e6
    try:
        if not receiver.poll(seconds):
            raise _damaged(path, f"HDF5 did not finish reading it within {seconds:.0f} s")
        kind, payload = receiver.recv()
    except EOFError:  # the child ended without an answer: HDF5 crashed, or passed the memory cap
        child.join(5)
        raise _damaged(path, f"HDF5 stopped while reading it (exit code {child.exitcode})") from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if kind == "refused":
        raise SnncError(payload)
    if kind == "error":
        raise _damaged(path, f"HDF5 cannot read it: {payload}")
    return payload


def _child(path: Path, limits: Limits, sender: Any) -> None:
    """Check the tree, then read it under the address-space cap, and send the result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        import h5py
        from nir.serialization import hdf2dict

        with address_space_cap(2 * path.stat().st_size + READ_SLACK):
            declared = check_tree(path, limits)
        with address_space_cap(declared + 2 * path.stat().st_size + READ_SLACK), h5py.File(path, "r") as f:
            if "node" not in f or not isinstance(f["node"], h5py.Group):
                raise input_error("FE-NIR-READ", f"{path} is an HDF5 file without NIR's 'node' group")
            answer: tuple[str, Any] = ("ok", hdf2dict(f["node"]))
    except SnncError as e:
        answer = ("refused", list(e.diagnostics))
    except BaseException as e:  # h5py's OSError, RuntimeError, KeyError, MemoryError on a damaged tree
        answer = ("error", f"{type(e).__name__}: {str(e)[:200]}")
    try:
        sender.send(answer)
    except Exception:  # an answer that cannot be sent (too large for the pipe's peer): say so briefly
        sender.send(("error", "its tree could not be passed on"))
    finally:
        sender.close()
        os._exit(0)  # a forked child must not run the parent's exit handlers


def check_tree(path: Path, limits: Limits) -> int:
    """Raise FE-NIR-READ for links and storage outside the file, unknown filters, and FE-NIR-TOO-LARGE
    where the datasets declare more than the memory limit; return the bytes they declare."""
    import h5py

    total, count = 0, 0
    with h5py.File(path, "r") as f:
        stack: list[tuple[str, Any]] = [("/", f)]
        while stack:
            where, group = stack.pop()
            for name in group:
                count += 1
                item = f"{where.rstrip('/')}/{name}"
                if count > MAX_OBJECTS:
                    raise _refused(path, f"more than {MAX_OBJECTS} objects", item)
                link = group.get(name, getlink=True)
                if isinstance(link, h5py.ExternalLink):
                    raise _refused(path, f"an external link to {link.filename!r}", item)
                if isinstance(link, h5py.SoftLink):
                    raise _refused(path, f"a soft link to {link.path!r}", item)
                obj = group.get(name)
                if isinstance(obj, h5py.Group):
                    stack.append((item, obj))
                elif isinstance(obj, h5py.Dataset):
                    total += _dataset_bytes(path, item, obj)
                    if total > limits.memory:
                        raise input_error(
                            "FE-NIR-TOO-LARGE",
                            f"{path}: its datasets declare {format_bytes(total)} (at {item}: shape {obj.shape}, "
                            f"{obj.dtype}), more than the memory limit of {format_bytes(limits.memory)}",
                            hint=limits.memory_hint(),
                            measured=total,
                            limit=limits.memory,
                        )
                else:
                    raise _refused(path, f"an object of kind {type(obj).__name__}", item)
    return total


def _dataset_bytes(path: Path, item: str, ds: Any) -> int:
    if ds.is_virtual:
        raise _refused(path, "a virtual dataset (assembled from other files)", item)
    if ds.external:
        files = ", ".join(repr(e[0]) for e in ds.external[:3])
        raise _refused(path, f"a dataset stored outside the file (external storage in {files})", item)
    unknown = set(ds._filters) - KNOWN_FILTERS
    if unknown:
        raise _refused(path, f"a dataset with the unknown HDF5 filter(s) {sorted(unknown)}", item)
    itemsize = _VLEN_BYTES if ds.dtype.kind == "O" else ds.dtype.itemsize
    return int(ds.size or 0) * itemsize


def _refused(path: Path, what: str, item: str) -> SnncError:
    return input_error(
        "FE-NIR-READ",
        f"{path} holds {what} at {item}; NIR files keep all their data inside the file, so snnc does not follow it",
        hint="export the model again with nir.write (or snnc export), which writes self-contained files",
    )


def _damaged(path: Path, why: str) -> SnncError:
    return SnncError(
        [
            Diagnostic(
                "FE-NIR-READ",
                f"{path} is not a readable NIR file ({why})",
                hint="export the model again with the library's NIR exporter and nir.write",
            )
        ]
    )
