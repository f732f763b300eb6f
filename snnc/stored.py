"""An input array [T, B, *shape] left in its file and read one batch of samples at a time.

`snnc report` and `snnc validate` simulate data sets of thousands of samples (10 000 N-MNIST
recordings at T = 100 are 2.3 GB as bytes, 9 GB as float32) in batches. Reading the whole array
first would make memory grow with the data set; a `StoredArray` reads `x[:, a:b]` when a batch
asks for it. Time-major data makes that cheap: in a C-ordered [T, B, *shape] array, samples a … b
of one step are one contiguous run of bytes, so a batch is T reads.

Only uncompressed data can be read so: an .npy file, or an .npz member stored without
compression (`np.savez`; `np.savez_compressed` members are read whole by the caller). The header
is checked as snnc/commands/data.py checks every file: plain numbers only, the declared size equal
to what the file holds.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
_LOCAL_HEADER = 30  # bytes of a zip local file header before its name and extra field (APPNOTE 4.3.7)


@dataclass(frozen=True)
class StoredArray:
    """A C-ordered array of plain numbers at byte `offset` of `path`; `x[:, a:b]` reads samples a … b."""

    path: Path
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize

    def __getitem__(self, key: Any) -> np.ndarray:
        """`x[:, a:b]`, the batch of samples a … b − 1 of every step, read from the file."""
        whole, part = key if isinstance(key, tuple) and len(key) == 2 else (None, None)
        if whole != slice(None) or not isinstance(part, slice) or part.step not in (None, 1):
            raise TypeError(f"a stored array is read by batches, x[:, a:b]; not x[{key!r}]")
        start, stop, _ = part.indices(self.shape[1])
        steps, samples, rest = self.shape[0], max(stop - start, 0), self.shape[2:]
        sample = math.prod(rest) * self.dtype.itemsize
        out = np.empty((steps, samples, *rest), self.dtype)
        with self.path.open("rb") as fp:
            for t in range(steps):
                fp.seek(self.offset + (t * self.shape[1] + start) * sample)
                if fp.readinto(memoryview(out[t].reshape(-1).view(np.uint8))) != samples * sample:
                    raise OSError(f"{self.path} ends early")
        return out if self.dtype.isnative else out.astype(self.dtype.newbyteorder("="))


def stored_array(path: Path, member: str | None = None) -> StoredArray | None:
    """The array of the .npy file `path`, or of the .npz member `member` ("x" for x.npy), left in the
    file; None where it cannot be read by batches (compressed, Fortran-ordered, fewer than two
    axes, or not plain numbers). Raises ValueError for a malformed file."""
    start, size = 0, path.stat().st_size
    if member is not None:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(f"{member}.npy")
            if info.compress_type != zipfile.ZIP_STORED:
                return None
            with path.open("rb") as fp:
                fp.seek(info.header_offset)
                local = fp.read(_LOCAL_HEADER)
            if len(local) != _LOCAL_HEADER or local[:4] != b"PK\x03\x04":
                raise ValueError(f"{member}.npy has no valid zip entry")
            name_len, extra_len = int.from_bytes(local[26:28], "little"), int.from_bytes(local[28:30], "little")
            start, size = info.header_offset + _LOCAL_HEADER + name_len + extra_len, info.file_size
    with path.open("rb") as fp:
        fp.seek(start)
        version = np.lib.format.read_magic(fp)
        if version not in _HEADERS:
            raise ValueError(f"{path.name} uses .npy format {version}; snnc reads 1.0 and 2.0")
        shape, fortran, dtype = _HEADERS[version](fp)
        header = fp.tell() - start
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        return None
    if math.prod(shape) * dtype.itemsize != size - header:
        raise ValueError(f"{path.name} declares {list(shape)} {dtype} but holds {size - header} bytes of data")
    if fortran or len(shape) < 2:
        return None
    return StoredArray(path, start + header, tuple(shape), dtype)
