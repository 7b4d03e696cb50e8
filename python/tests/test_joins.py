"""rechunk, concatenate, stack, vstack and hstack compared with NumPy and Dask."""

from __future__ import annotations

import dask.array as dsk
import numpy as np
import pytest
from _support import DTYPES, arrays, check_like_numpy, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st
from numpy.exceptions import AxisError

import brickwork.array as da

small_shapes = st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple)


@given(data=st.data())
def test_rechunk_keeps_values_and_takes_dasks_chunks(data):
    shape = data.draw(small_shapes, label="shape")
    x = data.draw(arrays(data.draw(dtypes, label="dtype"), shape), label="x")
    before = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    after = data.draw(chunk_specs(shape, allow_auto=False), label="new chunks")
    arr = da.from_array(x, chunks=before).rechunk(after)
    assert arr.chunks == dsk.from_array(x, chunks=before).rechunk(after).chunks
    np.testing.assert_array_equal(arr.compute(), x, strict=True)


@given(data=st.data())
def test_rechunk_of_a_reduction_result_reads_across_its_blocks(data):
    shape = data.draw(st.tuples(st.integers(1, 9), st.integers(1, 9)), label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    new = data.draw(st.integers(1, 9), label="new chunks")
    mean = da.from_array(x, chunks=chunks).mean(axis=0)
    out = (mean.rechunk(new) * 2).compute()
    # Summation order differs from NumPy's; allow rounding relative to the terms.
    atol = 1e-13 * float(np.nanmax(np.abs(x).sum(axis=0), initial=0.0))
    np.testing.assert_allclose(out, x.mean(axis=0) * 2, rtol=1e-12, atol=atol)


@given(data=st.data())
def test_concatenate_matches_numpy(data):
    ndim = data.draw(st.integers(1, 3), label="ndim")
    base = data.draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim), label="shape")
    axis = data.draw(st.integers(-ndim, ndim - 1), label="axis")
    count = data.draw(st.integers(1, 3), label="count")
    xs = []
    for i in range(count):
        shape = list(base)
        shape[axis] = data.draw(st.integers(0, 5), label=f"length {i}")
        dtype = data.draw(dtypes, label=f"dtype {i}")
        xs.append(data.draw(arrays(dtype, tuple(shape)), label=f"x{i}"))
    specs = [data.draw(chunk_specs(x.shape, allow_auto=False), label="chunks") for x in xs]

    def build():
        return da.concatenate([da.from_array(x, chunks=c) for x, c in zip(xs, specs)], axis=axis)

    check_like_numpy(lambda: np.concatenate(xs, axis=axis), build)


@given(data=st.data())
def test_stack_matches_numpy(data):
    shape = data.draw(small_shapes, label="shape")
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    xs = [data.draw(arrays(dtype, shape), label=f"x{i}") for i in range(3)]
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")

    def build():
        return da.stack([da.from_array(x, chunks=chunks) for x in xs], axis=axis)

    check_like_numpy(lambda: np.stack(xs, axis=axis), build)


def test_vstack_and_hstack_match_numpy():
    x = np.arange(12.0).reshape(3, 4)
    y = np.arange(8.0).reshape(2, 4)
    a, b = da.from_array(x, chunks=2), da.from_array(y, chunks=3)
    np.testing.assert_array_equal(da.vstack([a, b]).compute(), np.vstack([x, y]))
    np.testing.assert_array_equal(da.hstack([a, a]).compute(), np.hstack([x, x]))
    v = np.arange(5)
    np.testing.assert_array_equal(
        da.vstack([da.from_array(v, chunks=2)] * 2).compute(), np.vstack([v, v])
    )


def test_concatenation_of_reductions_and_its_use_downstream():
    x = np.random.default_rng(0).random((40, 30))
    a = da.from_array(x, chunks=(7, 11))
    both = da.concatenate([a.sum(axis=0), a.max(axis=0)])
    np.testing.assert_allclose(
        (both - both.mean()).compute(),
        np.concatenate([x.sum(0), x.max(0)]) - np.concatenate([x.sum(0), x.max(0)]).mean(),
    )


def test_np_concatenate_stays_lazy():
    a = da.from_array(np.ones((2, 3)), chunks=1)
    out = np.concatenate([a, a], axis=1)
    assert isinstance(out, da.Array)
    assert out.shape == (2, 6)


def test_join_errors_are_raised_when_built():
    a = da.ones((2, 3), chunks=1)
    with pytest.raises(ValueError, match="dimension 1"):
        da.concatenate([a, da.ones((2, 4), chunks=1)], axis=0)
    with pytest.raises(AxisError):
        da.concatenate([a, a], axis=2)
    with pytest.raises(ValueError, match="same shape"):
        da.stack([a, da.ones((3, 3), chunks=1)])
    with pytest.raises(ValueError, match="at least one"):
        da.concatenate([])
    with pytest.raises(ValueError, match="add up to"):
        a.rechunk(((1, 1, 1), (3,)))


def _float_parts(data, ndim, axis, count):
    """``count`` float64 arrays that concatenate along ``axis``, each with its own
    (irregular, size-1 or empty) chunks."""
    base = data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim), label="shape")
    xs, parts = [], []
    for i in range(count):
        shape = list(base)
        shape[axis] = data.draw(st.integers(0, 5), label=f"length {i}")
        x = data.draw(arrays("float64", tuple(shape)), label=f"x{i}")
        chunks = data.draw(chunk_specs(x.shape, allow_auto=False), label=f"chunks {i}")
        xs.append(x)
        parts.append(da.from_array(x, chunks=chunks))
    return xs, parts


@given(data=st.data())
def test_reading_a_concatenation_in_place_matches_numpy(data):
    # Elementwise work, reductions (also of the transpose: row 4 of issue 11's slow paths),
    # block functions and rechunked reads of a concatenation, whose blocks are read from
    # its parts without copying it.
    ndim = data.draw(st.integers(1, 3), label="ndim")
    axis = data.draw(st.integers(0, ndim - 1), label="axis")
    xs, parts = _float_parts(data, ndim, axis, data.draw(st.integers(2, 3), label="count"))
    whole = np.concatenate(xs, axis=axis)
    c = da.concatenate(parts, axis=axis)
    np.testing.assert_allclose((c * 2 + 1).compute(), whole * 2 + 1)
    red = data.draw(st.integers(0, ndim - 1), label="reduced axis")
    np.testing.assert_allclose(c.sum(axis=red).compute(), whole.sum(axis=red), atol=1e-9)
    if whole.size:
        np.testing.assert_allclose(c.T.max(axis=0).compute(), whole.T.max(axis=0))
    np.testing.assert_allclose(c.map_blocks(lambda b: b - 1).compute(), whole - 1)
    new = data.draw(chunk_specs(whole.shape, allow_auto=False), label="rechunk")
    got = c.rechunk(new).sum(axis=red).compute()
    np.testing.assert_allclose(got, whole.sum(axis=red), atol=1e-9)
    if ndim == 2:
        v = np.arange(whole.shape[0], dtype=float)
        got = (c.T @ da.from_array(v, chunks=max(1, whole.shape[0] // 3))).compute()
        np.testing.assert_allclose(got, whole.T @ v, atol=1e-9)
        w = data.draw(arrays("float64", (whole.shape[1], 2)), label="w")
        np.testing.assert_allclose((c @ w).compute(), whole @ w, atol=1e-9)


def test_a_concatenation_read_by_aligned_blocks_is_not_copied():
    x, y = np.random.default_rng(0).random((2, 40, 30))
    c = da.concatenate([da.from_array(x, chunks=10), da.from_array(y, chunks=(7, 10))])
    v = da.ones(80, chunks=10)
    for expr in [c.T @ v, (c * 2).sum(axis=0), c.map_blocks(np.negative)]:
        # No stage writes an intermediate array: every block reads its part in place.
        assert "intermediate" not in expr.explain(), expr.explain()
    np.testing.assert_allclose((c.T @ v).compute(), np.concatenate([x, y]).sum(axis=0))
    # Blocks that straddle two parts (a rechunk across the seam) read a copy instead.
    straddle = c.rechunk(25).sum(axis=1)
    assert "intermediate" in straddle.explain()
    np.testing.assert_allclose(straddle.compute(), np.concatenate([x, y]).sum(axis=1))
