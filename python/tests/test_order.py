"""sort, argsort, median, percentile, quantile and isin against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs
from hypothesis import given
from hypothesis import strategies as st

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
        (da.percentile(a, q * 100, axis=axis), np.percentile(x, q * 100, axis=axis)),
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


def test_bad_quantiles_raise():
    a = da.ones((3, 3), chunks=2)
    with pytest.raises(ValueError, match="range"):
        da.quantile(a, 1.5, axis=0)
    with pytest.raises(ValueError, match="range"):
        da.percentile(a, 120, axis=0)
