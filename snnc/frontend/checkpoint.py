"""Reading a `torch.save` zip archive: its pickle and storages, every size checked before reading.

torch.save (torch/serialization.py `_save`) writes `<name>/data.pkl` (the pickle),
`<name>/data/<key>` (one record per storage: its elements' bytes, little-endian),
`<name>/byteorder` and a few version records. The pickle names a storage by a persistent id
`('storage', storage type, key, location, numel)` and builds each tensor as a view of one:
`_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`, a parameter as
`_rebuild_parameter(tensor, requires_grad, hooks)`.

A file states all of these numbers, so each is checked before memory is committed:
- a storage's record must exist and hold exactly numel × element size bytes, and the storages
  together must fit the memory limit (snnc/limits.py);
- a tensor view must lie inside its storage; a view whose strides make elements share memory
  (a stride of 0, or overlapping rows: a 1×8 storage "expanded" to 10⁹×8) would cost its full size
  the first time anything copies it, so its full size counts against the limit as well, and a
  parameter (which snnc copies and converts) must not be such a view at all;
- hooks and tensor metadata must be empty: torch.save writes them so ("Don't serialize hooks",
  torch/_utils.py `_rebuild_tensor_v2`), and a hook would be a callable chosen by the file.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snnc.frontend.unpickler import Malformed, Refused, StorageKind
from snnc.limits import format_bytes

MAX_DIMS = 64


@dataclass(frozen=True, eq=False)
class Storage:
    """A storage read from the archive: its bytes and the element type the pickle names it with."""

    untyped: torch.UntypedStorage
    dtype: torch.dtype


class Checkpoint:
    """One open archive; `persistent_load` and `calls` are what RestrictedUnpickler needs from it."""

    def __init__(self, path: Path, memory_limit: int) -> None:
        self.path, self.limit = path, memory_limit
        self.zip = zipfile.ZipFile(path)
        pickles = [n for n in self.zip.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise Malformed(f"the archive holds {len(pickles)} pickles (<name>/data.pkl); a checkpoint holds one")
        self.prefix = pickles[0][: -len("data.pkl")]
        self.storages: dict[str, Storage] = {}
        self.charged = 0  # bytes of storages read and of overlapping views' full sizes
        self.overlapping: list[torch.Tensor] = []  # views that share elements (kept alive: compared by id)
        self.calls = {
            torch._utils._rebuild_tensor_v2: self.rebuild_tensor_v2,
            torch._utils._rebuild_tensor_v3: self.rebuild_tensor_v3,
            torch._utils._rebuild_parameter: self.rebuild_parameter,
            torch._tensor._rebuild_from_type_v2: self.rebuild_from_type_v2,
        }
        # the names GLOBAL may use for them (torch.save writes the defining module's name)
        self.fixed = {f"{f.__module__}.{f.__qualname__}": f for f in self.calls}
        order = self._record("byteorder", required=False)
        if order not in (None, b"little"):
            raise Malformed(f"the checkpoint was saved with byte order {order!r}; snnc reads little-endian files")

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.zip.close()

    def pickle(self) -> bytes:
        data = self._record("data.pkl", required=True)
        assert data is not None
        return data

    def _record(self, name: str, *, required: bool, size: int | None = None) -> bytes | None:
        try:
            info = self.zip.getinfo(self.prefix + name)
        except KeyError:
            if required:
                raise Malformed(f"the archive has no record {self.prefix + name}") from None
            return None
        if size is not None and info.file_size != size:
            raise Malformed(f"record {info.filename} holds {info.file_size} bytes; the pickle declares {size}")
        self._charge(info.file_size, f"record {info.filename}")
        return self.zip.read(info)  # zipfile stops at the declared size and checks the CRC

    def _charge(self, nbytes: int, what: str) -> None:
        self.charged += nbytes
        if self.charged > self.limit:
            raise Refused(
                f"loading the model needs more than {format_bytes(self.charged)} ({what} reached it); "
                f"the memory limit is {format_bytes(self.limit)}",
                rule="FE-TOO-LARGE",
                measured=self.charged,
                limit=self.limit,
            )

    # --- persistent ids: storages ------------------------------------------------------------------

    def persistent_load(self, pid: Any) -> Storage:
        if not (isinstance(pid, tuple) and len(pid) == 5 and _text(pid[0]) == "storage"):
            raise Malformed(f"a persistent id that is not a storage: {str(pid)[:80]}")
        _, kind, key, _location, numel = pid  # the location is ignored: snnc loads onto the CPU
        if not (isinstance(kind, StorageKind) and isinstance(key, str) and type(numel) is int and numel >= 0):
            raise Malformed(f"a malformed storage id: {str(pid)[:80]}")
        if key in self.storages:
            if self.storages[key].dtype != kind.dtype:
                raise Malformed(f"storage {key} is named with two element types")
            return self.storages[key]
        if not key.isalnum():
            raise Malformed(f"storage key {key!r}")
        nbytes = numel * kind.dtype.itemsize
        data = self._record(f"data/{key}", required=True, size=nbytes)
        raw = torch.empty(nbytes, dtype=torch.uint8)
        raw.numpy()[:] = np.frombuffer(data, np.uint8)
        storage = Storage(raw.untyped_storage(), kind.dtype)
        self.storages[key] = storage
        return storage

    # --- REDUCE: tensors and parameters ------------------------------------------------------------

    def rebuild_tensor_v2(self, *args: Any) -> torch.Tensor:
        if len(args) not in (6, 7) or not isinstance(args[0], Storage):
            raise Malformed("_rebuild_tensor_v2 with wrong arguments")
        return self._view(args[0], args[0].dtype, *args[1:6], args[6] if len(args) == 7 else None)

    def rebuild_tensor_v3(self, *args: Any) -> torch.Tensor:
        if len(args) not in (7, 8) or not isinstance(args[0], Storage):
            raise Malformed("_rebuild_tensor_v3 with wrong arguments")
        if not isinstance(args[6], torch.dtype):
            raise Malformed("_rebuild_tensor_v3 without a dtype")
        return self._view(args[0], args[6], *args[1:6], args[7] if len(args) == 8 else None)

    def _view(self, storage: Storage, dtype: torch.dtype, *args: Any) -> torch.Tensor:
        offset, size, stride, grad, hooks, meta = args
        if not any(storage is s for s in self.storages.values()):
            raise Malformed("a tensor on a storage that is not one of the archive's")
        if not (_ints(size) and _ints(stride) and len(size) == len(stride) <= MAX_DIMS and _ints((offset,))):
            raise Malformed(f"a tensor with size {str(size)[:60]}, stride {str(stride)[:60]}, offset {offset!r}")
        _empty_extras(grad, hooks, meta)
        numel = math.prod(size)
        itemsize = dtype.itemsize
        end = (offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1) * itemsize if numel else 0
        if end > storage.untyped.nbytes():
            raise Malformed(f"a tensor view of {end} bytes lies beyond its {storage.untyped.nbytes()}-byte storage")
        tensor = torch.empty((0,), dtype=dtype).set_(storage.untyped, offset, tuple(size), tuple(stride))
        if _overlapping(size, stride):
            self._charge(numel * itemsize, f"a {list(size)} view with strides {list(stride)}")
            self.overlapping.append(tensor)
        if grad:
            tensor.requires_grad_(True)  # floating types only: torch raises otherwise (a Malformed)
        return tensor

    def rebuild_parameter(self, *args: Any) -> torch.nn.Parameter:
        if len(args) != 3 or type(args[0]) is not torch.Tensor:
            raise Malformed("_rebuild_parameter with wrong arguments")
        data, grad, hooks = args
        _empty_extras(grad, hooks, None)
        if any(data is t for t in self.overlapping):
            raise Refused(
                f"a parameter of shape {list(data.shape)} is a view with strides {list(data.stride())}: its elements "
                "share memory, which no trained layer's weights do, and copying it would take "
                f"{format_bytes(data.numel() * data.element_size())}",
                rule="FE-TENSOR-LAYOUT",
            )
        return torch.nn.Parameter(data, grad)

    def rebuild_from_type_v2(self, *args: Any) -> torch.Tensor:
        """A tensor with Python attributes or of a subclass: only plain tensors without attributes."""
        if len(args) != 4 or args[0] not in self.calls or args[1] is not torch.Tensor or not isinstance(args[2], tuple):
            raise Refused("a tensor subclass or a tensor rebuilt by another function", rule="FE-UNSAFE-PICKLE")
        if not _stateless(args[3]):
            raise Refused("a tensor carrying Python attributes", rule="FE-UNSAFE-PICKLE")
        return self.calls[args[0]](*args[2])


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return value if isinstance(value, str) else None


def _stateless(state: Any) -> bool:
    """No Python attributes: torch/_utils.py `_get_obj_state` gives None, {}, or (dict, slots)."""
    parts = state if isinstance(state, tuple) else (state,)
    return all(p is None or (type(p) is dict and not p) for p in parts)


def _ints(values: Any) -> bool:
    return isinstance(values, tuple) and all(type(v) is int and v >= 0 for v in values)


def _empty_extras(grad: Any, hooks: Any, meta: Any) -> None:
    if not isinstance(grad, bool):
        raise Malformed(f"requires_grad is a {type(grad).__name__}")
    if not (isinstance(hooks, (dict, OrderedDict)) and not hooks):
        raise Refused("a tensor with backward hooks (callables chosen by the file)", rule="FE-UNSAFE-PICKLE")
    if meta not in (None, {}):
        raise Malformed(f"tensor metadata {str(meta)[:60]}")


def _overlapping(size: tuple[int, ...], stride: tuple[int, ...]) -> bool:
    """Whether two indices of the view reach one element: with the dims of extent > 1 sorted by
    stride, each stride must exceed the farthest offset the smaller ones reach."""
    reach = 0
    for step, extent in sorted((s, n) for n, s in zip(size, stride) if n > 1):
        if step <= reach:
            return True
        reach += (extent - 1) * step
    return False


READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, ValueError, OverflowError)
"""What zipfile raises on a damaged archive (ValueError: e.g. a negative offset in a bad header)."""
