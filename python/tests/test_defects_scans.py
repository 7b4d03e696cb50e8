"""Empty chunks (issue 10, D5): scans, and every other operation, given chunkings with
empty chunks at the start, in the middle and at the end, and chunks of one element,
compared with NumPy.

Empty chunks arise whenever arrays of different chunkings meet (Dask keeps them), so an
operation must treat a block of length 0 like any other: the sequential scan used to
read the carry of a block preceded only by empty blocks from before the array's start
(``PanicError: view [-1, -1] outside a buffer``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork
import brickwork.array as da

dask_array = pytest.importorskip("dask.array")

SCANS = ["cumsum", "cumprod", "nancumsum", "nancumprod"]


@st.composite
def gappy_chunks(draw, n):
    """Chunk sizes adding up to ``n``: cuts that often give chunks of one element, and
    empty chunks inserted at the start, in the middle and at the end."""
    if n == 0:
        sizes = [0]
    else:
        if n == 1 or draw(st.booleans()):
            cuts = set(range(1, n))  # chunks of one element
        else:
            cuts = draw(st.sets(st.integers(1, n - 1), max_size=n - 1))
        bounds = [0, *sorted(cuts), n]
        sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    places = draw(
        st.lists(
            st.sampled_from(["start", "middle", "end"]) | st.integers(0, len(sizes)),
            max_size=3,
        )
    )
    for place in places:
        at = {"start": 0, "middle": len(sizes) // 2, "end": len(sizes)}.get(place, place)
        sizes.insert(min(int(at), len(sizes)), 0)
    return tuple(sizes)


@st.composite
def gappy_arrays(draw, dtype, max_dims=3, elements=None):
    """(numpy array, chunks with empty chunks on every axis)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=max_dims, min_side=0, max_side=6))
    if elements is None:
        elements = (
            st.integers(-3, 3)
            if np.dtype(dtype).kind in "iu"
            else st.floats(-2, 2, width=32) | st.just(np.nan)
        )
    x = draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))
    chunks = tuple(draw(gappy_chunks(n)) for n in shape)
    return x, chunks


def _assert_close(got, expected):
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


# --------------------------------------------------------------------------- the repro


@pytest.mark.parametrize("name", SCANS)
@pytest.mark.parametrize("method", ["sequential", "blelloch"])
def test_a_scan_whose_first_chunk_is_empty(name, method):
    x = np.array([1.0, 2.0])
    a = da.from_array(x, chunks=((0, 2),))
    got = getattr(da, name)(a, axis=0, method=method)
    assert got.chunks == a.chunks  # Dask keeps the input's chunks
    np.testing.assert_array_equal(got.compute(), getattr(np, name)(x))


@pytest.mark.parametrize(
    "chunks", [((0, 0, 2, 3),), ((0, 2, 0, 3, 0),), ((5, 0),), ((0, 1, 1, 1, 1, 1),)]
)
def test_scans_over_empty_chunks_keep_the_chunks(chunks):
    x = np.arange(1.0, 6.0)
    a = da.from_array(x, chunks=chunks)
    for name in SCANS:
        got = getattr(da, name)(a, axis=0)
        assert got.chunks == chunks
        np.testing.assert_array_equal(got.compute(), getattr(np, name)(x))
    # Used downstream, and the scan of a result read by another stage.
    np.testing.assert_array_equal(
        (da.cumsum(a) * 2 + a.cumprod()).compute(), np.cumsum(x) * 2 + np.cumprod(x)
    )


# --------------------------------------------------------------------------- scans


@given(
    data=st.data(),
    name=st.sampled_from(SCANS),
    method=st.sampled_from(["sequential", "blelloch"]),
    dtype=st.sampled_from(["int32", "int64", "uint8", "float32", "float64"]),
)
def test_scans_over_gappy_chunkings_match_numpy(data, name, method, dtype):
    if dtype == "uint8":
        elements = st.integers(0, 3)
    else:
        elements = None
    x, chunks = data.draw(gappy_arrays(dtype, elements=elements), label="x, chunks")
    if "nan" in name and x.dtype.kind != "f":
        name = name[3:]  # nan* of integers is the plain scan
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1), label="axis")
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x, axis=axis)
    got = getattr(da, name)(da.from_array(x, chunks=chunks), axis=axis, method=method)
    if axis is not None:
        assert got.chunks == tuple(tuple(c) for c in chunks)
    with np.errstate(all="ignore"):
        _assert_close(got.compute(), expected)


# --------------------------------------------------------------------------- the class


REDUCTIONS = [
    "sum",
    "prod",
    "mean",
    "std",
    "var",
    "min",
    "max",
    "argmin",
    "argmax",
    "any",
    "all",
    "nansum",
    "nanprod",
    "nanmean",
    "nanstd",
    "nanvar",
    "nanmin",
    "nanmax",
    "nanargmin",
    "nanargmax",
    "ptp",
    "count_nonzero",
    "median",
    "nanmedian",
]


@given(data=st.data(), name=st.sampled_from(REDUCTIONS))
def test_reductions_over_gappy_chunkings_match_numpy(data, name):
    dtype = data.draw(st.sampled_from(["int64", "float64"]), label="dtype")
    elements = st.integers(-3, 3) if dtype == "int64" else st.floats(-2, 2)
    x, chunks = data.draw(gappy_arrays(dtype, elements=elements), label="x, chunks")
    axis = data.draw(st.none() | st.integers(0, x.ndim - 1), label="axis")
    a = da.from_array(x, chunks=chunks)
    try:
        with np.errstate(all="ignore"):
            expected = np.asarray(getattr(np, name)(x, axis=axis))
    except ValueError:  # an empty reduction NumPy refuses (min of nothing, argmin, ...)
        return
    with np.errstate(all="ignore"):
        got = np.asarray(getattr(da, name)(a, axis=axis).compute())
    if name in ("median", "nanmedian", "mean", "nanmean") and expected.dtype != got.dtype:
        got = got.astype(expected.dtype)
    _assert_close(got, expected)


def _pairs(x):
    """Sort, order statistics and gathers along axis 0 of ``x``."""
    k = min(2, x.shape[0])
    return [
        ("sort", lambda a: da.sort(a, axis=0), lambda: np.sort(x, axis=0)),
        ("argsort", lambda a: da.argsort(a, axis=0), lambda: np.argsort(x, axis=0, kind="stable")),
        ("topk", lambda a: da.topk(a, k, axis=0), lambda: -np.sort(-x, axis=0)[:k]),
        ("bottomk", lambda a: da.topk(a, -k, axis=0), lambda: np.sort(x, axis=0)[:k]),
        (
            "quantile",
            lambda a: da.quantile(a, [0.25, 0.5], axis=0),
            lambda: np.quantile(x, [0.25, 0.5], axis=0),
        ),
        ("quantile scalar", lambda a: da.quantile(a, 0.5, axis=0), lambda: np.quantile(x, 0.5, 0)),
        (
            "percentile",
            lambda a: da.percentile(a, [10, 90], axis=0, internal_method="exact"),
            lambda: np.percentile(x, [10, 90], axis=0),
        ),
        (
            "take",
            lambda a: da.take(a, [x.shape[0] - 1, 0, 0], axis=0),
            lambda: np.take(x, [x.shape[0] - 1, 0, 0], axis=0),
        ),
        ("flip", lambda a: da.flip(a, axis=0), lambda: np.flip(x, axis=0)),
        ("roll", lambda a: da.roll(a, 3, axis=0), lambda: np.roll(x, 3, axis=0)),
        ("diff", lambda a: da.diff(a, axis=0), lambda: np.diff(x, axis=0)),
        ("repeat", lambda a: da.repeat(a, 2, axis=0), lambda: np.repeat(x, 2, axis=0)),
        ("concatenate", lambda a: da.concatenate([a, a + 1]), lambda: np.concatenate([x, x + 1])),
        ("stack", lambda a: da.stack([a, a], axis=1), lambda: np.stack([x, x], axis=1)),
        ("rechunk", lambda a: a.rechunk(2), lambda: x),
        ("rechunk gappy", lambda a: a.rechunk({0: (0, x.shape[0], 0)}), lambda: x),
        ("reshape", lambda a: a.reshape(-1), lambda: x.reshape(-1)),
        ("transpose", lambda a: a.T + 0, lambda: x.T),
        ("pad", lambda a: da.pad(a, 2, mode="constant"), lambda: np.pad(x, 2, mode="constant")),
        ("tile", lambda a: da.tile(a, 2), lambda: np.tile(x, 2)),
        ("where", lambda a: da.where(a > 0, a, -a), lambda: np.where(x > 0, x, -x)),
        ("digitize", lambda a: da.digitize(a, [-1.0, 0.5]), lambda: np.digitize(x, [-1.0, 0.5])),
        (
            "searchsorted",
            lambda a: da.searchsorted(np.array([-1.0, 0.5]), a),
            lambda: np.searchsorted(np.array([-1.0, 0.5]), x),
        ),
        ("isin", lambda a: da.isin(a, [0.0, 1.0]), lambda: np.isin(x, [0.0, 1.0])),
        (
            "histogram",
            lambda a: da.histogram(a, bins=3, range=(-2, 2))[0],
            lambda: np.histogram(x, bins=3, range=(-2, 2))[0],
        ),
        (
            "histogram weights",
            lambda a: da.histogram(a, bins=[-2, 0, 2], weights=a + 3)[0],
            lambda: np.histogram(x, bins=[-2, 0, 2], weights=x + 3)[0],
        ),
        ("overlap", lambda a: a.map_overlap(lambda b: b * 2, depth=1), lambda: x * 2),
        (
            "overlap reflect",
            lambda a: a.map_overlap(lambda b: b + 0, depth=1, boundary="reflect"),
            lambda: x,
        ),
        ("map_blocks", lambda a: a.map_blocks(lambda b: b - 1), lambda: x - 1),
        ("tril", lambda a: da.tril(a), lambda: np.tril(x)),
    ]


@given(data=st.data(), case=st.integers(0, len(_pairs(np.zeros((1, 1)))) - 1))
def test_operations_over_gappy_chunkings_match_numpy(data, case):
    x, chunks = data.draw(gappy_arrays("float64", elements=st.floats(-2, 2)), label="x")
    name, lazy, eager = _pairs(x)[case]
    if x.ndim < 2 and name in ("tril", "transpose"):
        return
    if x.shape[0] == 0 and name in ("quantile", "quantile scalar", "percentile", "take"):
        return  # NumPy raises IndexError for an empty axis
    if 0 in x.shape and name.startswith("overlap"):
        return  # a depth larger than the array: ValueError, as in Dask
    a = da.from_array(x, chunks=chunks)
    with np.errstate(all="ignore"):
        _assert_close(np.asarray(lazy(a).compute()), np.asarray(eager()))


@given(data=st.data())
def test_products_and_gathers_over_gappy_chunkings_match_numpy(data):
    n, m, k = data.draw(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 5)))
    x = np.arange(n * m, dtype=np.float64).reshape(n, m) % 5 - 2
    y = np.arange(m * k, dtype=np.float64).reshape(m, k) % 3 - 1
    a = da.from_array(x, chunks=(data.draw(gappy_chunks(n)), data.draw(gappy_chunks(m))))
    b = da.from_array(y, chunks=(data.draw(gappy_chunks(m)), data.draw(gappy_chunks(k))))
    _assert_close((a @ b).compute(), x @ y)
    _assert_close(da.tensordot(a, b, axes=1).compute(), np.tensordot(x, y, axes=1))
    _assert_close(da.einsum("ij,jk->ik", a, b).compute(), np.einsum("ij,jk->ik", x, y))
    _assert_close((a + a.T.T).sum(axis=1).compute(), (2 * x).sum(axis=1))
    mean, std = brickwork.compute(a.mean(axis=0), a.std(axis=0))
    with np.errstate(all="ignore"):
        _assert_close(mean, x.mean(axis=0))
        _assert_close(std, x.std(axis=0))
    if n:
        rows = [n - 1, 0, n // 2]
        _assert_close(a[rows].compute(), x[rows])
        if m:
            _assert_close(a.vindex[rows, [m - 1, 0, 0]].compute(), x[rows, [m - 1, 0, 0]])


@given(data=st.data())
def test_counting_over_gappy_chunkings_matches_numpy(data):
    n = data.draw(st.integers(1, 12), label="n")
    x = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 6)), label="x")
    chunks = (data.draw(gappy_chunks(n), label="chunks"),)
    a = da.from_array(x, chunks=chunks)
    np.testing.assert_array_equal(da.bincount(a).compute(), np.bincount(x))
    np.testing.assert_array_equal(
        da.bincount(a, minlength=9).compute(), np.bincount(x, minlength=9)
    )
    w = x * 0.5
    np.testing.assert_allclose(
        da.bincount(a, weights=da.from_array(w, chunks=3)).compute(), np.bincount(x, weights=w)
    )
    np.testing.assert_array_equal(da.histogram(a, bins=4)[0].compute(), np.histogram(x, bins=4)[0])
    np.testing.assert_array_equal(da.unique(a).compute(), np.unique(x))
    hay = np.array([0, 2, 4])
    np.testing.assert_array_equal(
        da.searchsorted(da.from_array(hay, chunks=((0, 2, 1),)), a).compute(),
        np.searchsorted(hay, x),
    )
    np.testing.assert_array_equal(
        da.searchsorted(a.rechunk(-1) * 0 + np.sort(x), da.from_array(hay, chunks=((1, 0, 2),))),
        np.searchsorted(np.sort(x), hay),
    )
    # Percentiles of a 1-d array in several chunks: Dask's merge of per-chunk
    # percentiles, where an empty chunk weighs nothing.
    qs = [0.0, 30.0, 50.0, 100.0]
    np.testing.assert_allclose(
        da.percentile(a.astype(float), qs).compute(),
        dask_array.percentile(dask_array.from_array(x.astype(float), chunks=chunks), qs).compute(),
    )


def test_masking_rows_of_an_array_with_empty_chunks():
    """``x[mask]`` with a lazy mask along one axis (unknown.py's ``_axis_mask``)."""
    x = np.arange(20.0).reshape(5, 4)
    a = da.from_array(x, chunks=((2, 0, 3), (0, 2, 2)))
    rows = x[:, 0] > 5
    np.testing.assert_array_equal(a[a[:, 0] > 5].compute(), x[rows])
