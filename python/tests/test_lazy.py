"""Laziness, computing several outputs, persist, the NumPy protocols and zero-copy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

import brickwork
import brickwork.array as da
from _support import array_type, assert_matches


class CountingSource:
    """An array-like that counts how often its data is read."""

    def __init__(self, data):
        self.data = data
        self.shape = data.shape
        self.dtype = data.dtype
        self.ndim = data.ndim
        self.reads = 0

    def __array__(self, dtype=None, copy=None):
        self.reads += 1
        return self.data if dtype is None else self.data.astype(dtype)

    def __getitem__(self, index):
        self.reads += 1
        return self.data[index]


def test_building_expressions_reads_no_data():
    data = np.arange(60.0).reshape(6, 10)
    source = CountingSource(data)
    x = da.from_array(source, chunks=(4, 3))
    reads_after_from_array = source.reads
    expr = ((x * 2 + 1)[1:, ::2].T - da.sqrt(x.sum(axis=0))[::2, None]).mean(axis=0)
    expr = da.where(expr > 3, expr, 0).astype("float32")
    assert source.reads == reads_after_from_array
    expected = ((data * 2 + 1)[1:, ::2].T - np.sqrt(data.sum(axis=0))[::2, None]).mean(axis=0)
    expected = np.where(expected > 3, expected, 0).astype("float32")
    assert_matches(expr, expected)


def test_expression_on_a_million_chunk_array_is_built_without_touching_data():
    z = da.zeros((10**9, 1000), chunks=1000)
    assert z.numblocks == (10**6, 1)
    assert z.nbytes == 8 * 10**12
    expr = (z * 2 + 1).mean(axis=1)
    assert expr.shape == (10**9,)
    assert expr.dtype == np.float64
    assert expr.numblocks == (10**6,)
    assert expr.npartitions == 10**6
    assert expr.chunks[0][:3] == (1000, 1000, 1000)


def test_computing_a_slice_of_a_huge_expression_only_computes_what_it_needs():
    # Run in a subprocess: without culling this would try to compute 8 TB.
    code = textwrap.dedent(
        """
        import numpy as np
        import brickwork.array as da
        expr = (da.zeros((10**9, 1000), chunks=1000) * 2 + 1).mean(axis=1)
        result = expr[:5].compute()
        assert np.array_equal(result, np.ones(5)), result
        print("OK")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"


def test_brickwork_compute_returns_every_output():
    data = np.arange(24.0).reshape(4, 6)
    x = da.from_array(data, chunks=(3, 4))
    shared = x * 2 + 1
    a, b = brickwork.compute(shared.sum(), shared.mean(axis=0))
    np.testing.assert_allclose(a, (data * 2 + 1).sum())
    np.testing.assert_allclose(b, (data * 2 + 1).mean(axis=0))
    (only,) = brickwork.compute(shared[0])
    np.testing.assert_array_equal(only, (data * 2 + 1)[0])
    assert isinstance(b, np.ndarray) and b.dtype == np.float64


def test_persist_computes_now_and_returns_an_array():
    data = np.arange(10, dtype=np.int64)
    x = da.from_array(data, chunks=3)
    persisted = (x + 1).persist()
    assert isinstance(persisted, array_type())
    assert persisted.shape == (10,) and persisted.dtype == np.int64
    assert persisted.chunks == ((3, 3, 3, 1),)
    data[:] = -100  # persisted results no longer depend on the source
    assert_matches(persisted, np.arange(10) + 1)
    assert_matches(persisted * 2, (np.arange(10) + 1) * 2)


def test_numpy_asarray_computes():
    data = np.arange(12, dtype=np.int32).reshape(3, 4)
    x = da.from_array(data, chunks=2) * 3
    for result in (np.asarray(x), np.array(x), x.__array__()):
        assert isinstance(result, np.ndarray)
        np.testing.assert_array_equal(result, data * 3, strict=True)
    as_float = np.asarray(x, dtype=np.float32)
    np.testing.assert_array_equal(as_float, (data * 3).astype(np.float32), strict=True)


def test_compute_of_0d_result_is_a_numpy_value():
    result = da.from_array(np.arange(5), chunks=2).sum().compute()
    assert isinstance(result, (np.ndarray, np.generic))
    assert np.asarray(result).shape == ()
    assert int(result) == 10


# --------------------------------------------------------------------------- zero-copy


def test_from_array_reads_the_source_in_place():
    # Decision documented in docs/ARCHITECTURE.md: from_array does not copy; the array is
    # read when the computation runs, so a mutation before compute is visible.
    data = np.arange(10.0)
    x = da.from_array(data, chunks=3)
    expr = x + 1
    data[0] = 100.0
    data[9] = -5.0
    assert x.compute()[0] == 100.0
    np.testing.assert_array_equal(expr.compute(), data + 1)


def test_from_array_reads_strided_views_in_place():
    base = np.arange(40.0).reshape(5, 8)
    view = base[:, ::2].T
    x = da.from_array(view, chunks=2)
    base[1, 2] = -1.0
    np.testing.assert_array_equal(x.compute(), base[:, ::2].T)


def _root_array(arr):
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def test_results_own_their_memory():
    data = np.arange(1000.0).reshape(10, 100)
    x = da.from_array(data, chunks=(3, 30))
    for expr in (x + 1, x.sum(axis=0), x.T * 2, x[2:5, ::3] - 1, x.mean(keepdims=True)):
        result = expr.compute()
        assert isinstance(result, np.ndarray)
        assert not np.shares_memory(result, data)
        assert result.flags.writeable
        # A result is not a view that keeps a larger (hidden) buffer alive.
        assert _root_array(result).nbytes == result.nbytes, type(result.base)
