"""select, piecewise, choose, compress, extract, nonzero / flatnonzero / argwhere,
ravel_multi_index / unravel_index, insert / delete / append, union1d, ediff1d, coarsen
and push against NumPy (and Dask), on odd, size-1 and empty chunkings."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import arrays, assert_matches, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

dask_array = pytest.importorskip("dask.array")


def _case(data, min_dims=0, max_dims=3, dtype=None, min_side=0):
    shape = data.draw(
        hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=6),
        label="shape",
    )
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    return x, da.from_array(x, chunks=chunks)


def _values(arr):
    """Compute an array that may have unknown chunk sizes (as Dask's, NaN until counted)."""
    return np.asarray(arr.compute())


@given(data=st.data())
def test_select_matches_numpy(data):
    x, a = _case(data, dtype="int32")
    conds = [x > 3, x % 2 == 0]
    choices = [x, (x * 2).astype("float32")]
    got = da.select([a > 3, a % 2 == 0], [a, (a * 2).astype("float32")], default=-1)
    assert_matches(got, np.select(conds, choices, default=-1))
    with pytest.raises(TypeError):
        da.select([a], [a])


@given(data=st.data())
def test_piecewise_and_choose_match_numpy(data):
    x, a = _case(data, dtype="float64")
    funcs = [lambda v: -v, lambda v: v * 10, 7.0]
    assert_matches(da.piecewise(a, [a < 0, a > 5], funcs), np.piecewise(x, [x < 0, x > 5], funcs))
    idx = (np.abs(np.nan_to_num(x)) % 3).astype("int64")
    b = da.from_array(idx, chunks=a.chunks)
    choices = [x, -x, np.zeros(x.shape[-1:] if x.ndim else ())]
    assert_matches(da.choose(b, choices), np.choose(idx, choices))


def test_choose_out_of_range_raises_at_compute_as_numpy():
    with pytest.raises(ValueError):
        da.choose(da.from_array(np.array([0, 3])), [np.zeros(2), np.ones(2)]).compute()


@given(data=st.data())
def test_compress_and_extract_match_numpy(data):
    x, a = _case(data, min_dims=1)
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1), label="axis")
    length = x.size if axis is None else x.shape[axis]
    cond = data.draw(hnp.arrays(bool, data.draw(st.integers(0, length))), label="cond")
    assert_matches(da.compress(cond, a, axis), np.compress(cond, x, axis))
    lazy = da.compress(da.from_array(cond, chunks=2 if len(cond) else -1), a, axis)
    np.testing.assert_array_equal(_values(lazy), np.compress(cond, x, axis), strict=True)
    mask = np.asarray(x).astype(bool)
    np.testing.assert_array_equal(_values(da.extract(mask, a)), np.extract(mask, x), strict=True)
    got = da.extract(da.from_array(mask, chunks=a.chunks), a)
    np.testing.assert_array_equal(_values(got), np.extract(mask, x), strict=True)


@given(data=st.data())
def test_nonzero_flatnonzero_and_argwhere_match_numpy_with_unknown_sizes(data):
    x, a = _case(data)
    got = da.argwhere(a)
    assert got.ndim == 2 and (x.size == 0 or math.isnan(got.shape[0]) or got.shape[0] == 0)
    np.testing.assert_array_equal(_values(got), np.argwhere(x))
    np.testing.assert_array_equal(_values(da.flatnonzero(a)), np.flatnonzero(x))
    if x.ndim:
        for g, w in zip(da.nonzero(a), np.nonzero(x), strict=True):
            np.testing.assert_array_equal(_values(g), w)
    if x.ndim and x.size:
        d = dask_array.from_array(x, chunks=a.chunks)
        np.testing.assert_array_equal(_values(got), dask_array.argwhere(d).compute())


@given(data=st.data(), order=st.sampled_from("CF"))
def test_ravel_and_unravel_index_match_numpy(data, order):
    dims = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3), label="dims"))
    n = data.draw(st.integers(0, 8))
    flat = data.draw(hnp.arrays("int64", n, elements=st.integers(0, math.prod(dims) - 1)))
    chunks = data.draw(chunk_specs((n,), allow_auto=False))
    coords = da.unravel_index(da.from_array(flat, chunks=chunks), dims, order=order)
    want = np.unravel_index(flat, dims, order=order)
    for g, w in zip(coords, want, strict=True):
        assert_matches(g, w)
    back = da.ravel_multi_index(coords, dims, order=order)
    assert_matches(back, np.ravel_multi_index(want, dims, order=order))


def test_ravel_multi_index_out_of_range_raises_as_numpy():
    with pytest.raises(ValueError):
        da.ravel_multi_index((da.from_array(np.array([0, 5])), np.array([0, 0])), (2, 2)).compute()


@given(data=st.data())
def test_delete_insert_and_append_match_numpy(data):
    x, a = _case(data, min_dims=1)
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1), label="axis")
    n = x.size if axis is None else x.shape[axis]
    positions = st.integers(-n, n - 1) if n else st.nothing()
    obj = data.draw(
        st.one_of(
            st.slices(max(n, 1)),
            st.lists(positions, max_size=3) if n else st.just([]),
            positions if n else st.just(slice(0, 0)),
        ),
        label="obj",
    )
    assert_matches(da.delete(a, obj, axis), np.delete(x, obj, axis))
    where = data.draw(st.integers(-n, n) | st.lists(st.integers(-n, n), min_size=1, max_size=3))
    value = data.draw(st.sampled_from([0, 1]))
    assert_matches(da.insert(a, where, value, axis), np.insert(x, where, value, axis))
    assert_matches(da.append(a, x, axis), np.append(x, x, axis))


def test_insert_broadcasts_values_as_numpy():
    x = np.arange(12).reshape(3, 4)
    a = da.from_array(x, chunks=(2, 3))
    for obj, values, axis in [
        (1, [7, 8, 9], 1),
        ([1], [[7, 8, 9]], 1),
        ([0, 2], [[5], [6], [7]], 1),
        (-1, [1, 2, 3, 4], 0),
        (2, [1.5], 1),
        (slice(0, 3), 0, 0),
    ]:
        assert_matches(da.insert(a, obj, values, axis), np.insert(x, obj, values, axis))


@given(data=st.data())
def test_union1d_and_ediff1d_match_numpy(data):
    x, a = _case(data, dtype="int16")
    y = np.array([3, -1, 3], dtype="int16")
    assert_matches(da.union1d(a, y), np.union1d(x, y))
    assert_matches(da.ediff1d(a), np.ediff1d(x))
    assert_matches(da.ediff1d(a, to_end=[9], to_begin=np.int8(-4)), np.ediff1d(x, [9], np.int8(-4)))


@given(data=st.data(), trim=st.booleans())
def test_coarsen_matches_numpy_windows_and_dask(data, trim):
    x, a = _case(data, min_dims=1, max_dims=2, dtype="float64")
    axes = {i: data.draw(st.integers(1, 3)) for i in range(x.ndim)}
    if not trim and any(n % f for n, f in zip(x.shape, axes.values())):
        with pytest.raises(ValueError):
            da.coarsen(np.sum, a, axes)
        return
    cut = x[tuple(slice(0, n - n % f) for n, f in zip(x.shape, axes.values()))]
    shape = []
    for n, f in zip(cut.shape, axes.values()):
        shape += [n // f, f]
    want = cut.reshape(shape).mean(axis=tuple(range(1, 2 * x.ndim, 2)))
    assert_matches(da.coarsen(np.mean, a, axes, trim_excess=trim), want)
    if cut.size:
        d = dask_array.from_array(cut, chunks=tuple(axes.values()))
        np.testing.assert_allclose(
            da.coarsen(np.mean, a, axes, trim_excess=trim).compute(),
            dask_array.coarsen(np.mean, d, axes).compute(),
        )


def _push_reference(x, n, axis):
    """Forward fill one step at a time, as bottleneck.push."""
    out = np.moveaxis(x.copy(), axis, -1)
    for index in np.ndindex(out.shape[:-1]):
        last, gap = np.nan, 0
        for i, v in enumerate(out[index]):
            if np.isnan(v):
                gap += 1
                if n is None or gap <= n:
                    out[index][i] = last
            else:
                last, gap = v, 0
    return np.moveaxis(out, -1, axis)


@given(data=st.data(), n=st.none() | st.integers(0, 4))
def test_push_forward_fills_as_bottleneck(data, n):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=7))
    values = st.sampled_from([np.nan, np.nan, 1.0, -2.5, np.inf])
    x = data.draw(hnp.arrays("float64", shape, elements=values))
    a = da.from_array(x, chunks=data.draw(chunk_specs(shape, allow_auto=False)))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    assert_matches(da.push(a, n, axis), _push_reference(x, n, axis))
    ints = da.from_array(np.arange(4))
    assert da.push(ints, n, 0) is ints
