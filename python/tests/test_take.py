"""Integer-array and boolean-mask indexing along one axis, and take, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

shapes = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)


@given(data=st.data())
def test_integer_and_boolean_array_indices_match_numpy(data):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    axis = data.draw(st.integers(0, len(shape) - 1), label="axis")
    n = shape[axis]
    if data.draw(st.booleans(), label="boolean mask"):
        entry = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask"))
    else:
        entry = data.draw(st.lists(st.integers(-n, n - 1), max_size=8), label="indices")
    before = [
        data.draw(st.sampled_from([slice(None), slice(1, None), slice(None, None, -1)]))
        for _ in range(axis)
    ]
    index = (*before, entry)
    a = da.from_array(x, chunks=chunks)
    expected = x[index]
    got = a[index]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@given(data=st.data())
def test_take_matches_numpy(data):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1), label="axis")
    n = x.size if axis is None else shape[axis]
    idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=8), label="indices")
    got = da.take(da.from_array(x, chunks=chunks), idx, axis=axis)
    np.testing.assert_array_equal(got.compute(), np.take(x, idx, axis=axis), strict=True)


def test_indexing_a_reduction_result_and_errors():
    x = np.arange(24.0).reshape(4, 6)
    a = da.from_array(x, chunks=(3, 4))
    np.testing.assert_array_equal(a.sum(axis=0)[[5, 0, 5]].compute(), x.sum(0)[[5, 0, 5]])
    with pytest.raises(IndexError, match="out of bounds"):
        a[[4]]
    with pytest.raises(IndexError, match="boolean index did not match"):
        a[np.array([True, False])]
    with pytest.raises(IndexError, match="integer"):
        a[np.array([1.5])]
    np.testing.assert_array_equal(a[[0, 1], [0, 1]].compute(), x[[0, 1], [0, 1]])
    np.testing.assert_array_equal(a[a > 3].compute(), x[x > 3])
