"""Arrays left in their file and read batch by batch (snnc/npz.py: Arrays.stored, StoredArray):
every batch is the slice of the array numpy reads, from an .npy or an uncompressed .npz member,
in either byte order; what cannot be read so is declined, a malformed file refused."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snnc.npz import DataError, StoredArray, open_arrays


def stored_array(path, member=None):
    with open_arrays(path) as arrays:
        return arrays.stored(member or "x")


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 4), st.integers(1, 7), st.integers(1, 3)),
    dtype=st.sampled_from(["u1", "<i4", ">i4", "<f4", ">f8", "?"]),
    batch=st.integers(1, 8),
    archive=st.booleans(),
)
def test_batches_are_the_slices_numpy_reads(tmp_path_factory, shape, dtype, batch, archive):
    x = (np.arange(np.prod(shape)).reshape(shape) % 5).astype(dtype)
    folder = tmp_path_factory.mktemp("data")
    if archive:
        np.savez(folder / "d.npz", other=np.zeros(3), x=x)
        stored = stored_array(folder / "d.npz", "x")
    else:
        np.save(folder / "d.npy", x)
        stored = stored_array(folder / "d.npy")
    assert isinstance(stored, StoredArray) and stored.shape == shape and stored.ndim == 3
    for start in range(0, shape[1], batch):
        part = stored[:, start : start + batch]
        assert part.dtype.isnative and part.dtype == x.dtype.newbyteorder("=")
        assert np.array_equal(part, x[:, start : start + batch])


def test_what_cannot_be_read_by_batches_is_declined(tmp_path):
    x = np.ones((3, 4, 2), np.float32)
    np.savez_compressed(tmp_path / "c.npz", x=x)
    np.save(tmp_path / "f.npy", np.asfortranarray(x))
    np.save(tmp_path / "one.npy", np.ones(5))
    for path, member in (("c.npz", "x"), ("f.npy", None), ("one.npy", None)):
        assert stored_array(tmp_path / path, member) is None


def test_a_truncated_file_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 4, 2), np.float32))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "x.npy").write_bytes(data[:-8])
    with pytest.raises(DataError, match="declares"):
        stored_array(tmp_path / "x.npy")
    with zipfile.ZipFile(tmp_path / "z.npz", "w") as zf:
        zf.writestr("x.npy", data[:-8])
    with pytest.raises(DataError, match="declares"):
        stored_array(tmp_path / "z.npz", "x")


def test_only_batches_are_read(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 3, 2)))
    stored = stored_array(tmp_path / "x.npy")
    assert stored is not None
    with pytest.raises(TypeError, match="by batches"):
        stored[0]
    with pytest.raises(TypeError, match="by batches"):
        stored[:, ::2]
