"""store, to_npy and from_npy against NumPy's own .npy files."""

from __future__ import annotations

import numpy as np
import pytest

import brickwork
import brickwork.array as da


def test_from_npy_memory_maps_and_matches_numpy(tmp_path):
    x = np.random.default_rng(3).random((50, 40)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    a = da.from_npy(tmp_path / "x.npy", chunks=(16, 16))
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_allclose(a.mean(axis=1).compute(), x.mean(axis=1), rtol=1e-6)


def test_to_npy_writes_a_file_numpy_reads(tmp_path):
    x = np.arange(600, dtype=np.int32).reshape(20, 30)
    a = da.from_array(x, chunks=(7, 8))
    da.to_npy(a * 3 - 1, tmp_path / "y.npy")
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), x * 3 - 1, strict=True)


def test_to_npy_removes_the_file_when_the_computation_fails(tmp_path):
    a = da.ones((4, 4), chunks=2).map_blocks(lambda b: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        da.to_npy(a, tmp_path / "bad.npy")
    assert not (tmp_path / "bad.npy").exists()


def test_store_writes_several_outputs_in_one_pass():
    x = np.random.default_rng(4).random((64, 48))
    a = da.from_array(x, chunks=16)
    sums, peak = np.empty(48), np.empty((), dtype=np.float64)
    da.store([a.sum(axis=0), a.max()], [sums, peak])
    np.testing.assert_allclose(sums, x.sum(axis=0))
    assert peak == x.max()


def test_store_checks_its_targets():
    a = da.ones((3, 3), chunks=2)
    with pytest.raises(ValueError, match="shape"):
        da.store(a, np.empty((3, 4)))
    with pytest.raises(ValueError, match="dtype"):
        da.store(a, np.empty((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        da.store(a, np.empty((3, 6))[:, ::2])
    with pytest.raises(ValueError, match="2 sources but 1 targets"):
        da.store([a, a], [np.empty((3, 3))])
    assert brickwork.compute(a)[0].sum() == 9
