"""Checking a NIR file's HDF5 tree before NIR reads it: no outside data, no unbounded sizes.

NIR files are HDF5 (nir/serialization.py reads every dataset of the tree with `dataset[()]`).
HDF5 lets a dataset or a link point outside the file: external storage (a dataset whose bytes
live in any file, by absolute path: `/etc/passwd`), external links (into another HDF5 file),
virtual datasets (assembled from other files), and soft links (which can also form cycles).
Reading such a file would copy local files' bytes into the graph, and `snnc export` would write
them into its output. NIR's writer (nir.write) creates none of these, so they are refused, as the
ONNX reader refuses external tensor data (snnc/frontend/onnx.py).

A dataset also declares its shape: reading allocates it in full, whatever the file holds
(chunks left unwritten read as fill values, compressed chunks inflate), so the declared sizes
are summed against the memory limit (snnc/limits.py) first, and only the filters h5py ships are
accepted (an unknown filter id makes HDF5 search its plugin path for a library to load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from snnc.diagnostics import input_error
from snnc.limits import current, format_bytes

KNOWN_FILTERS = frozenset({"gzip", "lzf", "szip", "shuffle", "fletcher32", "scaleoffset"})
MAX_OBJECTS = 100_000  # groups and datasets; NIR graphs have a few per node
_VLEN_BYTES = 256  # what a variable-length string element is charged (NIR writes short names)


def check_tree(path: Path) -> None:
    """Raise FE-NIR-READ for links and storage outside the file, unknown filters, and FE-NIR-TOO-LARGE
    where the datasets declare more than the memory limit."""
    import h5py

    limit = current().memory
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
                    if total > limit:
                        raise input_error(
                            "FE-NIR-TOO-LARGE",
                            f"{path}: its datasets declare {format_bytes(total)} (at {item}: shape {obj.shape}, "
                            f"{obj.dtype}), more than the memory limit of {format_bytes(limit)}",
                            hint=current().memory_hint(),
                            measured=total,
                            limit=limit,
                        )
                else:
                    raise _refused(path, f"an object of kind {type(obj).__name__}", item)


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


def _refused(path: Path, what: str, item: str) -> Exception:
    return input_error(
        "FE-NIR-READ",
        f"{path} holds {what} at {item}; NIR files keep all their data inside the file, so snnc does not follow it",
        hint="export the model again with nir.write (or snnc export), which writes self-contained files",
    )
