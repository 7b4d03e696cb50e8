"""flip, roll, diff, tril / triu, ptp, count_nonzero, average, isclose / allclose against
NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

shapes = st.lists(st.integers(1, 6), min_size=2, max_size=3).map(tuple)


def _case(data, dtype=None):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    return x, da.from_array(x, chunks=chunks)


def _same(got, expected):
    assert got.shape == expected.shape and got.dtype == expected.dtype
    result = got.compute()
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(result, expected, rtol=1e-6, equal_nan=True)
    else:
        np.testing.assert_array_equal(result, expected, strict=True)


@given(data=st.data())
def test_flip_roll_and_diff_match_numpy(data):
    x, a = _case(data)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    shift = data.draw(st.integers(-9, 9), label="shift")
    n = data.draw(st.integers(0, 2), label="n")
    _same(da.flip(a, axis), np.flip(x, axis))
    _same(da.flip(a), np.flip(x))
    _same(da.roll(a, shift, axis), np.roll(x, shift, axis))
    _same(da.roll(a, shift), np.roll(x, shift))
    with np.errstate(all="ignore"):
        expected = np.diff(x, n=n, axis=axis)
    _same(da.diff(a, n=n, axis=axis), expected)


@given(data=st.data(), k=st.integers(-3, 3))
def test_tril_and_triu_match_numpy(data, k):
    x, a = _case(data)
    _same(da.tril(a, k), np.tril(x, k))
    _same(da.triu(a, k), np.triu(x, k))


@given(data=st.data())
def test_ptp_count_nonzero_and_average_match_numpy(data):
    x, a = _case(data, dtype="float64")
    axis = data.draw(st.none() | st.integers(0, x.ndim - 1), label="axis")
    _same(da.ptp(a, axis=axis), np.ptp(x, axis=axis))
    _same(da.count_nonzero(a, axis=axis), np.asarray(np.count_nonzero(x, axis=axis), np.int64))
    _same(da.average(a, axis=axis), np.asarray(np.average(x, axis=axis)))
    if axis is not None:
        w = np.arange(1.0, x.shape[axis] + 1)
        _same(da.average(a, axis=axis, weights=w), np.average(x, axis=axis, weights=w))


@given(data=st.data())
def test_isclose_and_allclose_match_numpy(data):
    x, a = _case(data, dtype="float64")
    y = x + data.draw(st.sampled_from([0.0, 1e-9, 1e-3]), label="offset")
    equal_nan = data.draw(st.booleans(), label="equal_nan")
    b = da.from_array(y, chunks=a.chunks)
    _same(da.isclose(a, b, equal_nan=equal_nan), np.isclose(x, y, equal_nan=equal_nan))
    assert bool(da.allclose(a, b).compute()) == np.allclose(x, y)


def test_bad_arguments_raise_like_numpy():
    a = da.ones((3, 3), chunks=2)
    with pytest.raises(ValueError):
        da.diff(a, n=-1)
    with pytest.raises(ValueError):
        da.tril(da.ones(3, chunks=2))
    with pytest.raises(np.exceptions.AxisError):
        da.flip(a, 2)
