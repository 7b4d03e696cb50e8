"""sort, argsort, median, percentile, quantile and isin against NumPy; Dask's approximate
1-d percentile against Dask's own and against NumPy within its error bound."""

from __future__ import annotations

import warnings

import dask.array
import numpy as np
import pytest
from _support import arrays, chunk_specs, explicit_chunks
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)
real = st.sampled_from(["int16", "uint8", "int64", "float32", "float64"])


def _case(data):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(data.draw(real, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    return x, da.from_array(x, chunks=chunks), axis


@given(data=st.data())
def test_sort_and_argsort_match_numpy(data):
    x, a, axis = _case(data)
    np.testing.assert_array_equal(
        da.sort(a, axis=axis).compute(), np.sort(x, axis=axis), strict=True
    )
    np.testing.assert_array_equal(
        da.argsort(a, axis=axis).compute(), np.argsort(x, axis=axis, kind="stable").astype(np.int64)
    )


@given(data=st.data(), q=st.floats(0, 1), keepdims=st.booleans())
def test_quantiles_match_numpy(data, q, keepdims):
    x, a, axis = _case(data)
    if x.dtype.kind == "f":
        # Moderate finite values: interpolating between infinities or near-overflow
        # values is order-dependent (inf - inf).
        x = np.where(np.isfinite(x), x, 0).clip(-1e6, 1e6).astype(x.dtype)
    a = da.from_array(x, chunks=a.chunks)
    for got, expected in [
        (
            da.quantile(a, q, axis=axis, keepdims=keepdims),
            np.quantile(x, q, axis=axis, keepdims=keepdims),
        ),
        (
            da.percentile(a, q * 100, axis=axis, internal_method="exact"),
            np.percentile(x, q * 100, axis=axis),
        ),
        (np.percentile(a, q * 100, axis=axis), np.percentile(x, q * 100, axis=axis)),
        (da.median(a, axis=axis), np.median(x, axis=axis)),
        (da.median(a), np.asarray(np.median(x))),
    ]:
        assert got.shape == np.shape(expected)
        # float32 interpolation rounds slightly differently on a block than on the whole.
        np.testing.assert_allclose(
            got.compute(), expected, rtol=1e-5 if x.dtype == np.float32 else 1e-9
        )


@given(data=st.data())
def test_isin_matches_numpy(data):
    x, a, _ = _case(data)
    test = x.ravel()[: data.draw(st.integers(0, x.size), label="n")]
    np.testing.assert_array_equal(da.isin(a, test).compute(), np.isin(x, test), strict=True)


@given(data=st.data(), keepdims=st.booleans())
def test_several_quantiles_at_once_match_numpy(data, keepdims):
    x, a, axis = _case(data)
    if x.dtype.kind == "f":
        x = np.where(np.isfinite(x), x, 0).astype(x.dtype)
    a = da.from_array(x, chunks=a.chunks)
    q = np.asarray(data.draw(st.lists(st.floats(0, 1), min_size=1, max_size=4), label="q"))
    q = q.reshape(2, -1) if data.draw(st.booleans(), label="2-d q") and q.size % 2 == 0 else q
    axis = data.draw(st.sampled_from([axis, None]), label="axis or None")
    rtol = 1e-5 if x.dtype == np.float32 else 1e-9
    for got, expected in [
        (
            da.quantile(a, q, axis=axis, keepdims=keepdims),
            np.quantile(x, q, axis, keepdims=keepdims),
        ),
        (np.percentile(a, 100 * q, axis=axis), np.percentile(x, 100 * q, axis=axis)),
    ]:
        assert got.shape == expected.shape and got.dtype == expected.dtype
        np.testing.assert_allclose(got.compute(), expected, rtol=rtol)


MERGE_METHODS = ["linear", "lower", "higher", "midpoint", "nearest"]


@st.composite
def _one_dimensional(draw, finite=False):
    """(x, explicit chunks with at least two, possibly empty, chunks)."""
    n = draw(st.integers(2, 60), label="n")
    dtype = draw(real, label="dtype")
    x = draw(arrays(dtype, (n,)), label="x")
    if x.dtype.kind == "f":
        x = np.where(np.isnan(x), 0, x).astype(dtype)  # NaN: tested on its own
        if finite:
            x = np.where(np.isfinite(x), x, 1).astype(dtype)
    chunks = draw(explicit_chunks(n, allow_empty_chunks=True).filter(lambda c: len(c) > 1))
    return x, chunks


_percents = st.floats(0, 100) | st.lists(st.floats(0, 100), min_size=1, max_size=5)


def _bounds(x, q):
    """The approximation's guarantee: between NumPy's percentiles ``q - g`` (lower) and
    ``q + g`` (higher), ``g`` the largest gap between consecutive ``[0, *q, 100]``."""
    qs = np.atleast_1d(q)
    gap = np.diff(np.concatenate(([0], np.sort(qs), [100]))).max()
    low = np.percentile(x, np.clip(qs - gap, 0, 100), method="lower")
    high = np.percentile(x, np.clip(qs + gap, 0, 100), method="higher")
    return low, high


def _dask_reads_index_minus_one(x, chunks, qs, method):
    """Where Dask's merge_percentiles takes index -1 (the largest value) for a
    percentile below the first cumulative count: it sorts by value only, so equal
    smallest values can come with a nonzero count first. Brickwork's merge reads
    index 0 there (the ``right`` of ``_merge_percentiles``)."""
    if method == "linear":
        return np.zeros(qs.size, bool)
    points = np.concatenate(([0], qs, [100]))
    bounds = np.cumsum((0, *chunks))
    vals, counts = [], []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        if hi > lo:
            with np.errstate(all="ignore"):
                vals.append(np.percentile(x[lo:hi], points, method=method))
            counts.append(np.diff(points, prepend=0) * (hi - lo))
    order = np.argsort(np.concatenate(vals))
    first = np.concatenate(counts)[order][0]
    return qs * x.size < first


@given(case=_one_dimensional(), q=_percents, method=st.sampled_from(MERGE_METHODS))
def test_approximate_percentile_matches_dask(case, q, method):
    x, chunks = case
    got = da.percentile(da.from_array(x, chunks=(chunks,)), q, method=method)
    with np.errstate(all="ignore"):  # infinities interpolate to NaN
        numpy = np.percentile(x, q, method=method)
    assert got.shape == numpy.shape and got.dtype == numpy.dtype  # Dask: float64 values
    assert "percentile_chunk" in got.explain()  # computed per chunk, not gathered
    # Dask's merge assumes sorted percentiles (it returns wrong values otherwise).
    qs = np.sort(np.ravel(q))
    dx = dask.array.from_array(x, chunks=(chunks,))
    with np.errstate(all="ignore"):
        ours = np.ravel(got.compute())[np.argsort(np.ravel(q), kind="stable")]
        theirs = np.ravel(dask.array.percentile(dx, qs, method=method).compute())
    rtol = 1e-6 if got.dtype == np.float32 else 1e-12
    same = (ours == theirs) | np.isclose(ours, theirs, rtol=rtol, atol=0, equal_nan=True)
    assert np.all(same | _dask_reads_index_minus_one(x, chunks, qs, method)), (ours, theirs)


@given(case=_one_dimensional(finite=True), q=_percents, method=st.sampled_from(MERGE_METHODS))
def test_approximate_percentile_is_within_its_bound_of_numpy(case, q, method):
    x, chunks = case
    got = da.percentile(da.from_array(x, chunks=(chunks,)), q, method=method).compute()
    low, high = _bounds(x, q)
    tol = 1e-6 * np.abs(x.astype(np.float64)).max()
    assert np.all((low - tol <= got) & (got <= high + tol)), (got, low, high)


def test_approximate_percentile_cases():
    x = np.arange(20.0)
    a = da.from_array(x, chunks=6)
    # Dask's example: approximate in several chunks, exact in one or when asked.
    np.testing.assert_allclose(da.percentile(a, [10, 50]).compute(), [5 / 3, 28 / 3])
    np.testing.assert_array_equal(
        da.percentile(a, [10, 50], internal_method="exact").compute(), np.percentile(x, [10, 50])
    )
    np.testing.assert_array_equal(np.percentile(a, [10, 50]).compute(), np.percentile(x, [10, 50]))
    one = da.from_array(x, chunks=-1)
    assert da.percentile(one, 37).compute() == np.percentile(x, 37)
    assert da.percentile(a, [[10, 20], [30, 40]], keepdims=True).shape == (2, 2, 1)
    assert da.percentile(a, 50, axis=0).shape == ()
    with_nan = x.copy()
    with_nan[7] = np.nan
    assert np.isnan(da.percentile(da.from_array(with_nan, chunks=6), [1, 99]).compute()).all()
    # More percentiles at once: a finer merge, closer to NumPy.
    data = np.random.default_rng(0).standard_normal(10_000)
    b = da.from_array(data, chunks=1000)
    coarse = da.percentile(b, 50).compute()
    fine = da.percentile(b, np.linspace(0, 100, 101)).compute()[50]
    assert abs(fine - np.median(data)) < abs(coarse - np.median(data)) < 0.1


def test_bad_quantiles_raise():
    a = da.ones((3, 3), chunks=2)
    with pytest.raises(ValueError, match="range"):
        da.quantile(a, 1.5, axis=0)
    with pytest.raises(ValueError, match="range"):
        da.quantile(a, [0.5, np.nan], axis=0)
    with pytest.raises(ValueError, match="range"):
        da.percentile(a, 120, axis=0)
    v = da.ones(10, chunks=3)
    with pytest.raises(ValueError, match="range"):
        da.percentile(v, [50, -1])
    with pytest.raises(ValueError, match="'weibull'"):
        da.percentile(v, 50, method="weibull")
    with pytest.raises(ValueError, match="internal_method"):
        da.percentile(v, 50, internal_method="fast")
    with pytest.raises(NotImplementedError, match="tdigest"):
        da.percentile(v, 50, internal_method="tdigest")
    with pytest.raises(np.exceptions.AxisError):
        da.percentile(v, 50, axis=1)


@given(data=st.data())
def test_nan_median_and_nan_arg_extremes_match_numpy(data):
    shape = data.draw(st.tuples(st.integers(1, 6), st.integers(1, 6)), label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    x[data.draw(hnp.arrays(bool, shape), label="nan mask")] = np.nan
    a = da.from_array(x, chunks=data.draw(chunk_specs(shape, allow_auto=False), label="chunks"))
    axis = data.draw(st.sampled_from([None, 0, 1, -1]), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN lanes
        np.testing.assert_allclose(
            np.nanmedian(a, axis=axis, keepdims=keepdims).compute(),
            np.nanmedian(x, axis=axis, keepdims=keepdims),
        )
    for func in (np.nanargmax, np.nanargmin):
        lazy = func(a, axis=axis, keepdims=keepdims)
        try:
            expected = func(x, axis=axis, keepdims=keepdims)
        except ValueError:
            with pytest.raises(ValueError, match="All-NaN"):
                lazy.compute()
            continue
        np.testing.assert_array_equal(lazy.compute(), expected)
