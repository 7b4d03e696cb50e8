"""unique, bincount, histogram, digitize, searchsorted, array_equal, outer, vdot, topk and
argtopk against NumPy (and Dask's chunks / semantics for bincount and topk)."""

from __future__ import annotations

import dask.array as dask_array
import numpy as np
import pytest
from _support import (
    FLOAT_DTYPES,
    arrays,
    assert_matches,
    chunk_specs,
    dtypes,
    explicit_chunks,
    shapes,
)
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

# Values with many repeats so that unique / bincount / ties are exercised.
small_ints = st.integers(0, 6)


def _case(data, dtype=None, shape=None, elements_=None):
    shape = data.draw(shapes, label="shape") if shape is None else shape
    dtype = data.draw(dtypes, label="dtype") if dtype is None else dtype
    x = data.draw(arrays(dtype, shape, elements_), label="x")
    chunks = data.draw(chunk_specs(shape), label="chunks")
    return x, da.from_array(x, chunks=chunks)


def _vector(data, dtype, n_max=20, elements_=None, label="x"):
    n = data.draw(st.integers(0, n_max), label=f"len {label}")
    x = data.draw(arrays(dtype, (n,), elements_), label=label)
    chunks = data.draw(
        st.one_of(st.integers(1, 6), explicit_chunks(n).map(lambda c: (c,))),
        label=f"chunks {label}",
    )
    return x, da.from_array(x, chunks=chunks)


# --------------------------------------------------------------------------- unique


@given(data=st.data(), flags=st.tuples(st.booleans(), st.booleans(), st.booleans()))
def test_unique_matches_numpy(data, flags):
    x, a = _case(data)
    index, inverse, counts = flags
    expected = np.unique(x, return_index=index, return_inverse=inverse, return_counts=counts)
    got = da.unique(a, return_index=index, return_inverse=inverse, return_counts=counts)
    if not isinstance(expected, tuple):
        expected, got = (expected,), (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_matches(g, e)
    assert_matches(np.unique(a) if not any(flags) else da.unique(a), np.unique(x))


# --------------------------------------------------------------------------- bincount


@given(data=st.data(), weighted=st.booleans(), minlength=st.sampled_from([0, 3, 12]))
def test_bincount_matches_numpy(data, weighted, minlength):
    dtype = data.draw(st.sampled_from(["bool", "int8", "int32", "int64", "uint8", "uint32"]))
    x, a = _vector(data, dtype, elements_=st.integers(0, 11) if dtype != "bool" else None)
    weights = None
    if weighted:
        weights = data.draw(arrays("float64", x.shape, st.floats(-10, 10)), label="weights")
    expected = np.bincount(x, weights=weights, minlength=minlength)
    got = da.bincount(a, weights=weights, minlength=minlength)
    if x.size and minlength and x.max() >= minlength:
        # As in Dask, a positive minlength fixes the length: larger values fail at compute.
        with pytest.raises(ValueError):
            got.compute()
        return
    assert_matches(got, expected, rtol=1e-12, atol=1e-12)
    if minlength:
        theirs = dask_array.bincount(dask_array.from_array(x, chunks=a.chunks), minlength=minlength)
        assert got.chunks == theirs.chunks
    assert_matches(np.bincount(a, minlength=minlength) if not weighted else got, expected)


def test_bincount_errors_like_numpy():
    a = da.from_array(np.array([1, 2, 3]), chunks=2)
    for bad, error in [
        (np.ones((2, 2), int), ValueError),
        (np.array([1.5, 2.0]), TypeError),
        (np.array([-1, 2]), ValueError),
    ]:
        with pytest.raises(error):
            np.bincount(bad)
        with pytest.raises(error):
            da.bincount(da.from_array(bad, chunks=1)).compute()
    with pytest.raises(ValueError):
        da.bincount(a, minlength=-1)
    with pytest.raises(ValueError):
        da.bincount(a, weights=np.ones(4))
    assert_matches(da.bincount(a[:0]), np.bincount(np.zeros(0, int)))


# --------------------------------------------------------------------------- histogram


@given(
    data=st.data(),
    bins=st.one_of(st.integers(1, 7), st.lists(st.floats(-50, 50), min_size=2, max_size=6)),
    ranged=st.booleans(),
    weighted=st.booleans(),
    density=st.booleans(),
)
def test_histogram_matches_numpy(data, bins, ranged, weighted, density):
    dtype = data.draw(st.sampled_from(["int8", "int64", "uint16", "float32", "float64"]))
    elements_ = st.integers(-40, 40) if dtype[0] == "i" else st.integers(0, 40)
    if dtype.startswith("float"):
        elements_ = st.floats(-40, 40, width=np.dtype(dtype).itemsize * 8)
    x, a = _case(data, dtype=dtype, elements_=elements_)
    if isinstance(bins, list):
        bins = np.sort(np.asarray(bins))
    rng = (-20.5, 30.0) if ranged else None
    weights = None
    if weighted:
        wdtype = data.draw(st.sampled_from(["int32", "float64"]), label="weights dtype")
        weights = data.draw(arrays(wdtype, x.shape, st.integers(0, 9)), label="weights")
    try:
        with np.errstate(all="ignore"):
            counts, edges = np.histogram(x, bins, range=rng, weights=weights, density=density)
    except ValueError:
        with pytest.raises(ValueError):
            da.histogram(a, bins, range=rng, weights=weights, density=density)[0].compute()
        return
    got, got_edges = da.histogram(a, bins, range=rng, weights=weights, density=density)
    np.testing.assert_array_equal(got_edges, edges, strict=True)
    with np.errstate(all="ignore"):
        assert_matches(got, counts, rtol=1e-12)


def test_histogram_is_lazy_with_a_range_and_follows_dask():
    x = np.random.default_rng(0).normal(size=(40, 30))
    a = da.from_array(x, chunks=(7, 11))
    counts, edges = da.histogram(a, bins=9, range=(-3, 3))
    dcounts, dedges = dask_array.histogram(
        dask_array.from_array(x, chunks=(7, 11)), bins=9, range=(-3, 3)
    )
    np.testing.assert_array_equal(counts.compute(), dcounts.compute())
    np.testing.assert_allclose(edges, dedges)
    assert counts.chunks == dcounts.chunks
    assert isinstance(edges, np.ndarray)
    with pytest.raises(ValueError):
        np.histogram(x, bins=3, range=(2, 1))
    with pytest.raises(ValueError):
        da.histogram(a, bins=3, range=(2, 1))
    with pytest.raises(ValueError):
        da.histogram(a, bins=[3, 2, 1])
    with pytest.raises(ValueError):
        da.histogram(a, bins=3, weights=np.ones(5))
    with pytest.raises(ValueError):
        da.histogram(da.from_array(np.array([1.0, np.nan]), chunks=1), bins=3)


# --------------------------------------------------------------------------- digitize


@given(data=st.data(), right=st.booleans(), decreasing=st.booleans())
def test_digitize_matches_numpy(data, right, decreasing):
    dtype = data.draw(st.sampled_from(["int16", "uint8", "float32", "float64"]))
    x, a = _case(data, dtype=dtype)
    bins = np.sort(data.draw(arrays("float64", (data.draw(st.integers(0, 5)),)), label="bins"))
    bins = bins[~np.isnan(bins)]
    if decreasing:
        bins = bins[::-1]
    expected = np.digitize(x, bins, right=right)
    assert_matches(da.digitize(a, bins, right=right), expected)
    assert_matches(np.digitize(a, bins, right=right), expected)
    assert da.digitize(a, bins).chunks == a.chunks


def test_digitize_errors_like_numpy():
    a = da.ones(3, chunks=2)
    for bins in ([3, 1, 2], np.ones((2, 2))):
        with pytest.raises(ValueError):
            np.digitize(np.ones(3), bins)
        with pytest.raises(ValueError):
            da.digitize(a, bins)


# --------------------------------------------------------------------------- searchsorted


@given(data=st.data(), side=st.sampled_from(["left", "right"]), lazy=st.booleans())
def test_searchsorted_matches_numpy(data, side, lazy):
    adtype = data.draw(st.sampled_from(["int8", "int64", "uint32", "float32", "float64"]))
    vdtype = data.draw(st.sampled_from(["int16", "int64", "uint8", "float64"]))
    haystack, ha = _vector(data, adtype, elements_=st.integers(0, 30), label="a")
    haystack = np.sort(haystack)
    ha = da.from_array(haystack, chunks=ha.chunks)
    v, va = _case(data, dtype=vdtype, elements_=st.integers(0, 35))
    expected = np.searchsorted(haystack, v, side=side)
    got = da.searchsorted(ha if lazy else haystack, va, side=side)
    assert_matches(got, expected)
    assert got.chunks == va.chunks
    assert_matches(np.searchsorted(haystack, va, side=side), expected)


def test_searchsorted_with_nan_and_errors():
    haystack = np.array([1.0, 2.0, np.nan])
    v = np.array([np.nan, 0.5, 2.0, np.inf])
    for a in (haystack, da.from_array(haystack, chunks=2)):
        assert_matches(da.searchsorted(a, da.from_array(v, chunks=3)), np.searchsorted(haystack, v))
    with pytest.raises(ValueError):
        da.searchsorted(np.ones((2, 2)), da.ones(3))
    with pytest.raises(ValueError):
        da.searchsorted(da.ones((2, 2)), da.ones(3))
    with pytest.raises(ValueError):
        da.searchsorted(haystack, da.ones(3), side="middle")
    with pytest.raises(NotImplementedError):
        da.searchsorted(haystack, da.ones(3), sorter=np.arange(3))


# --------------------------------------------------------------------------- array_equal


@given(data=st.data(), equal_nan=st.booleans(), change=st.booleans())
def test_array_equal_matches_numpy(data, equal_nan, change):
    x, a = _case(data)
    y = x.copy()
    if change and y.size:
        i = data.draw(st.integers(0, y.size - 1), label="where")
        flat = y.reshape(-1)
        if y.dtype == bool:
            flat[i] = not flat[i]
        elif y.dtype.kind in "iu":
            flat[i] ^= 1
        else:
            flat[i] = flat[i] + 1 if np.isfinite(flat[i]) else 0.0
    chunks = data.draw(chunk_specs(y.shape), label="chunks y")
    b = da.from_array(y, chunks=chunks)
    expected = np.array_equal(x, y, equal_nan=equal_nan)
    got = da.array_equal(a, b, equal_nan=equal_nan)
    assert got.shape == () and got.dtype == bool
    assert bool(got) == expected
    assert bool(np.array_equal(a, y, equal_nan=equal_nan)) == expected
    assert not bool(da.array_equal(a, da.ones(x.shape + (1,), chunks=1)))


def test_array_equal_examples():
    x = np.array([1.0, np.nan, 3.0])
    a = da.from_array(x, chunks=2)
    assert not bool(da.array_equal(a, x))
    assert bool(da.array_equal(a, x, equal_nan=True))
    assert not bool(da.array_equal(a, x[:2]))
    assert bool(da.array_equal(da.arange(4, chunks=3), np.arange(4.0)))
    assert not bool(da.array_equal(da.arange(4, chunks=3), np.arange(1, 5)))


# --------------------------------------------------------------------------- outer, vdot


@given(data=st.data())
def test_outer_and_vdot_match_numpy(data):
    x, a = _case(data)
    y, b = _case(data, shape=data.draw(shapes, label="shape y"))
    with np.errstate(all="ignore"):
        expected = np.outer(x, y)
    assert_matches(da.outer(a, b), expected)
    assert_matches(np.outer(a, b), expected)
    same = data.draw(arrays(data.draw(dtypes, label="dtype z"), x.shape), label="z")
    c = da.from_array(same, chunks=data.draw(chunk_specs(same.shape), label="chunks z"))
    with np.errstate(all="ignore"):
        want = np.vdot(x, same)
    rtol = 1e-4 if want.dtype == np.float32 else 1e-9
    got = da.vdot(a, c)
    assert got.shape == () and got.dtype == want.dtype
    if want.dtype.kind == "f":
        finite = np.isfinite(x).all() and np.isfinite(same).all()
        if finite:
            scale = np.abs(x.astype(float).ravel() * same.astype(float).ravel()).sum()
            np.testing.assert_allclose(got.compute(), want, rtol=rtol, atol=rtol * scale)
    else:
        np.testing.assert_array_equal(got.compute(), want, strict=True)


def test_vdot_errors_and_dask_chunks():
    with pytest.raises(ValueError):
        np.vdot(np.ones(3), np.ones(4))
    with pytest.raises(ValueError):
        da.vdot(da.ones(3, chunks=2), da.ones(4, chunks=2))
    x = np.arange(12.0).reshape(3, 4)
    a = da.from_array(x, chunks=2)
    b = da.from_array(np.arange(5), chunks=3)
    theirs = dask_array.outer(
        dask_array.from_array(x, chunks=2), dask_array.from_array(np.arange(5), chunks=3)
    )
    assert (
        da.outer(a[0], b).chunks
        == dask_array.outer(
            dask_array.from_array(x, chunks=2)[0], dask_array.from_array(np.arange(5), chunks=3)
        ).chunks
    )
    assert da.outer(a, b).shape == theirs.shape


# --------------------------------------------------------------------------- topk


def _topk_reference(x, k, axis):
    s = np.sort(x, axis=axis)
    n = x.shape[axis]
    index = [slice(None)] * x.ndim
    if k > 0:
        index[axis] = slice(n - 1, n - 1 - k if n - 1 - k >= 0 else None, -1)
    else:
        index[axis] = slice(0, -k)
    return s[tuple(index)]


@given(data=st.data())
def test_topk_and_argtopk_match_dask_semantics(data):
    shape = data.draw(st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple), label="shape")
    dtype = data.draw(dtypes, label="dtype")
    x, a = _case(data, dtype=dtype, shape=shape)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    n = x.shape[axis]
    k = data.draw(st.integers(-n, n), label="k")
    expected = _topk_reference(x, k, axis)
    got = da.topk(a, k, axis=axis)
    assert_matches(got, expected)
    assert_matches(a.topk(k, axis=axis), expected)
    assert got.chunks[axis] == (abs(k),)
    idx = da.argtopk(a, k, axis=axis)
    assert idx.dtype == np.int64 and idx.shape == expected.shape
    positions = idx.compute()
    picked = np.take_along_axis(x, positions, axis=axis)
    np.testing.assert_array_equal(picked, expected)
    # Distinct positions along the axis.
    sorted_pos = np.sort(positions, axis=axis)
    assert (np.diff(sorted_pos, axis=axis) > 0).all()
    np.testing.assert_array_equal(a.argtopk(k, axis=axis).compute(), positions)
    if k and dtype in FLOAT_DTYPES + ("int64",) and np.isfinite(x).all():
        theirs = dask_array.topk(dask_array.from_array(x, chunks=a.chunks), k, axis=axis)
        np.testing.assert_array_equal(got.compute(), theirs.compute())


def test_topk_errors():
    a = da.from_array(np.arange(10), chunks=3)
    with pytest.raises(ValueError):
        da.topk(a, 11)
    with pytest.raises(np.exceptions.AxisError):
        da.topk(a, 2, axis=1)
    with pytest.raises(np.exceptions.AxisError):
        da.topk(da.from_array(np.float64(1.0)), 1)
    assert_matches(da.topk(a, 3), np.array([9, 8, 7]))
    assert_matches(da.topk(a, -3), np.array([0, 1, 2]))
    assert_matches(da.argtopk(a, -2), np.array([0, 1]))


def test_lazy_routines_compute_nothing_when_built():
    calls = []

    def source(b):
        calls.append(b.shape)
        return b

    x = np.arange(24).reshape(4, 6)
    a = da.from_array(x, chunks=(3, 4)).map_blocks(source, dtype=x.dtype)
    v = da.from_array(x.ravel(), chunks=5).map_blocks(source, dtype=int)
    built = [
        da.bincount(v, minlength=30),
        da.histogram(a, bins=4, range=(0, 24))[0],
        da.histogram(a, bins=[0, 5, 30])[0],
        da.digitize(a, [3, 9]),
        da.searchsorted(np.arange(0, 30, 3), a),
        da.searchsorted(v, a),
        da.array_equal(a, a),
        da.outer(v, v),
        da.vdot(a, a),
        da.topk(a, 2),
        da.argtopk(a, -2, axis=0),
        da.pad(a, 2, mode="reflect"),
        da.tile(a, (2, 2)),
        da.repeat(a, 3, axis=1),
        da.dstack([a, a]),
        da.block([[a, a], [a, a]]),
        da.random.default_rng(0).normal(a, 1.0),
        da.random.default_rng(0).permutation(a),
    ]
    assert calls == []
    results = da.compute(*built)
    assert calls
    np.testing.assert_array_equal(results[0], np.bincount(x.ravel(), minlength=30))
    np.testing.assert_array_equal(results[12], np.tile(x, (2, 2)))


@given(
    data=st.data(),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    values=st.sampled_from(["narrow", "wide", "float"]),
)
def test_unique_merged_from_pieces_matches_numpy(data, flags, values):
    # Each row of chunks is uniqued on its own (narrow integer ranges are counted, others
    # sorted) and the pieces merged: first indices, counts, inverse and NaNs as NumPy's.
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple))
    if values == "narrow":
        x = data.draw(arrays("int16", shape, st.integers(-3, 4)), label="x")
    elif values == "wide":
        x = data.draw(arrays("int64", shape, st.sampled_from([-(2**62), 0, 5, 2**62])))
    else:
        x = data.draw(arrays("float64", shape, st.sampled_from([0.0, -0.0, 1.5, np.nan])))
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    index, inverse, counts = flags
    expected = np.unique(x, return_index=index, return_inverse=inverse, return_counts=counts)
    got = da.unique(
        da.from_array(x, chunks=chunks),
        return_index=index,
        return_inverse=inverse,
        return_counts=counts,
    )
    if not isinstance(expected, tuple):
        expected, got = (expected,), (got,)
    for g, e in zip(got, expected):
        g = np.asarray(g)
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_array_equal(g, e)
