"""Reading `.npz` data files without trusting what they declare.

A `.npz` is a zip archive of `.npy` members, each a small header (dtype, shape, order) and the
array's bytes (numpy/lib/format.py). `np.load` allocates the array its header declares before
reading a byte, so a 1 KB archive declaring 172 GiB exhausts memory, and it raises zlib, zip and
parse errors of every kind on damaged files. This reader opens members lazily, like np.load, and
before reading one checks that:
- its dtype is plain numbers (bool, integers, floats, complex; never objects: no pickles);
- the header's size agrees with the member's size in the archive directory;
- the arrays read so far fit the memory limit (snnc/limits.py).
Every failure is a `DataError` with a message for people; callers turn it into their rule.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from snnc.limits import current, format_bytes

_ARRAY_KINDS = "biufc"
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


class DataError(Exception):
    """The file is not a readable archive of plain arrays; `too_large` marks the memory limit."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Archive:
    """The `.npy` members of an open archive, read on demand (`files` as `np.load(...).files`)."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zip = zf
        self.members = {name[:-4]: name for name in zf.namelist() if name.endswith(".npy")}
        self.files = list(self.members)
        self.read_bytes = 0

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self._read(self.zip.getinfo(self.members[key]))
        except DataError:
            raise
        except KeyError:
            raise DataError(f"it has no array {key!r}") from None
        except Exception as e:  # zip, zlib and numpy's header parser (tokenize, ast) fail in many ways
            raise DataError(f"array {key!r} is damaged ({_brief(e)})") from None

    def _read(self, info: zipfile.ZipInfo) -> np.ndarray:
        with self.zip.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version not in _HEADERS:  # 3.0 only adds UTF-8 field names, i.e. structured dtypes
                raise DataError(f"array {info.filename!r} uses .npy format {version}; snnc reads 1.0 and 2.0")
            shape, fortran, dtype = _HEADERS[version](fp)
            if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
                raise DataError(f"array {info.filename!r} has dtype {dtype}; snnc reads plain numeric arrays")
            nbytes = math.prod(shape) * dtype.itemsize
            stored = info.file_size - fp.tell()
            if stored != nbytes:
                raise DataError(
                    f"array {info.filename!r} declares {list(shape)} {dtype} ({format_bytes(nbytes)}), "
                    f"but the archive member holds {format_bytes(max(stored, 0))}"
                )
            self.read_bytes += nbytes
            limit = current().memory
            if self.read_bytes > limit:
                raise DataError(
                    f"array {info.filename!r} declares {list(shape)} {dtype}: the arrays read reach "
                    f"{format_bytes(self.read_bytes)}, more than the memory limit of {format_bytes(limit)}",
                    too_large=True,
                )
            array = np.empty(shape, dtype, order="F" if fortran else "C")
            if fp.readinto(memoryview(array.ravel(order="K").view(np.uint8))) != nbytes:
                raise DataError(f"array {info.filename!r} ends before its {format_bytes(nbytes)}")
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))


def _brief(e: Exception) -> str:
    """The error for a message: zipfile quotes whole binary headers in some of its errors."""
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 200 else text[:197] + "..."


@contextmanager
def open_npz(path: str | Path) -> Iterator[Archive]:
    """The archive at `path`; DataError if it is not a zip of `.npy` arrays."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
    except _ERRORS as e:
        raise DataError(f"it is a damaged zip archive ({_brief(e)})") from None
    if zf is None:
        with path.open("rb") as f:
            single = f.read(6) == b"\x93NUMPY"
        raise DataError(
            "it holds a single .npy array, not an archive of named arrays"
            if single
            else "it is not an .npz archive (a zip of .npy arrays)"
        )
    with zf:
        yield Archive(zf)
