"""Reading `.npz` and `.npy` data files without trusting what they declare.

A `.npz` is a zip archive of `.npy` members, each a small header (dtype, shape, order) and the
array's bytes (numpy/lib/format.py). `np.load` allocates the array its header declares before
reading a byte, so a 1 KB archive declaring 172 GiB exhausts memory, and it raises zlib, zip and
parse errors of every kind on damaged files. This reader opens members lazily, like np.load, and
before reading one checks that:
- its dtype is numbers (bool, integers, floats, complex), or a structured array of numeric fields
  (event recordings in tonic's layout); never objects: no pickles;
- the header's size agrees with the bytes the member holds;
- the arrays read so far fit the memory limit (snnc/limits.py).
A member's dtype and shape can be looked at without reading it (`Arrays.header`).
Every failure is a `DataError` with a message for people; callers turn it into their rule.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from snnc.limits import current, format_bytes

_NUMBER_KINDS = "biufc"
_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)
_NPY_MAGIC = b"\x93NUMPY"


class DataError(Exception):
    """The file is not a readable archive of plain arrays; `too_large` marks the memory limit."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class Arrays:
    """The arrays of an open `.npz` archive (by member name without `.npy`, as `np.load(...).files`)
    or of a single `.npy` file (one array, key "x"), read on demand."""

    def __init__(
        self, zf: zipfile.ZipFile | None, npy: IO[bytes] | None = None, npy_size: int = 0, *, records: bool = False
    ) -> None:
        self.zip, self.npy, self.npy_size, self.records = zf, npy, npy_size, records
        self.single = zf is None
        names = [] if zf is None else [name for name in zf.namelist() if name.endswith(".npy")]
        self.members = {"x": "x.npy"} if zf is None else {name[:-4]: name for name in names}
        self.files = list(self.members)
        self.read_bytes = 0

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """The shape and dtype the member declares, checked; nothing of the array is read."""
        with self._checked(key) as (_, _, shape, dtype, _):
            return shape, dtype

    def __getitem__(self, key: str) -> np.ndarray:
        with self._checked(key) as (fp, name, shape, dtype, fortran):
            nbytes = math.prod(shape) * dtype.itemsize
            self.read_bytes += nbytes
            limit = current().memory
            if self.read_bytes > limit:
                raise DataError(
                    f"array {name!r} declares {list(shape)} {dtype}: the arrays read reach "
                    f"{format_bytes(self.read_bytes)}, more than the memory limit of {format_bytes(limit)}",
                    too_large=True,
                )
            array = np.empty(shape, dtype, order="F" if fortran else "C")
            if fp.readinto(memoryview(array.ravel(order="K").view(np.uint8))) != nbytes:
                raise DataError(f"array {name!r} ends before its {format_bytes(nbytes)}")
        return array if dtype.isnative else array.astype(dtype.newbyteorder("="))

    @contextmanager
    def _checked(self, key: str) -> Iterator[tuple[IO[bytes], str, tuple[int, ...], np.dtype[Any], bool]]:
        """The member's stream positioned after its header, which is checked against the stored size."""
        if key not in self.members:
            raise DataError(f"it has no array {key!r}")
        name = self.members[key]
        try:
            with ExitStack() as stack:
                if self.zip is None:
                    assert self.npy is not None
                    fp, size = self.npy, self.npy_size
                    fp.seek(0)
                else:
                    info = self.zip.getinfo(name)
                    fp, size = stack.enter_context(self.zip.open(info)), info.file_size
                version = np.lib.format.read_magic(fp)
                if version not in _HEADERS:  # 3.0 only adds UTF-8 field names
                    raise DataError(f"array {name!r} uses .npy format {version}; snnc reads 1.0 and 2.0")
                shape, fortran, dtype = _HEADERS[version](fp)
                if not _numeric(dtype, self.records):
                    kinds = "numbers or structured arrays of numbers" if self.records else "plain numeric arrays"
                    raise DataError(f"array {name!r} has dtype {dtype}; snnc reads {kinds}")
                nbytes, stored = math.prod(shape) * dtype.itemsize, size - fp.tell()
                if stored != nbytes:
                    raise DataError(
                        f"array {name!r} declares {list(shape)} {dtype} ({format_bytes(nbytes)}), "
                        f"but the file holds {format_bytes(max(stored, 0))}"
                    )
                yield fp, name, shape, dtype, fortran
        except DataError:
            raise
        except Exception as e:  # zip, zlib and numpy's header parser (tokenize, ast) fail in many ways
            raise DataError(f"array {name!r} is damaged ({_brief(e)})") from None


def _numeric(dtype: np.dtype[Any], records: bool) -> bool:
    """Numbers, or (`records`) a record of number fields (no objects, nested or sub-array fields)."""
    if dtype.fields is None or not records:
        return dtype.kind in _NUMBER_KINDS and dtype.fields is None and dtype.subdtype is None
    return all(field.kind in _NUMBER_KINDS and field.fields is None and field.subdtype is None
               for field, *_ in dtype.fields.values())  # fmt: skip


def _brief(e: Exception) -> str:
    """The error for a message: zipfile quotes whole binary headers in some of its errors."""
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 200 else text[:197] + "..."


@contextmanager
def open_arrays(path: str | Path, *, records: bool = False) -> Iterator[Arrays]:
    """The arrays of the `.npz` archive or `.npy` file at `path`; DataError if it is neither.
    `records`: structured arrays of numeric fields are read too (event recordings)."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            single = f.read(6) == _NPY_MAGIC
        zf = None if single else zipfile.ZipFile(path) if zipfile.is_zipfile(path) else None
    except _ERRORS as e:
        raise DataError(f"it is a damaged zip archive ({_brief(e)})") from None
    if single:
        with path.open("rb") as f:
            yield Arrays(None, f, path.stat().st_size, records=records)
    elif zf is None:
        raise DataError("it is not an .npz archive (a zip of .npy arrays) nor an .npy array")
    else:
        with zf:
            yield Arrays(zf, records=records)


@contextmanager
def open_npz(path: str | Path) -> Iterator[Arrays]:
    """The `.npz` archive of plain numeric arrays at `path`, whose arrays have names; DataError for
    anything else."""
    with open_arrays(path) as arrays:
        if arrays.single:
            raise DataError("it holds a single .npy array, not an archive of named arrays")
        yield arrays
