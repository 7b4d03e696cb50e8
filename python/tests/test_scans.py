"""cumsum, cumprod, nancumsum, nancumprod compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

shapes = st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple)


@given(data=st.data(), name=st.sampled_from(["cumsum", "cumprod", "nancumsum", "nancumprod"]))
def test_scan_matches_numpy(data, name):
    shape = data.draw(shapes, label="shape")
    dtype = data.draw(dtypes, label="dtype")
    x = data.draw(arrays(dtype, shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1), label="axis")
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x, axis=axis)
    got = getattr(da, name)(da.from_array(x, chunks=chunks), axis=axis)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    with np.errstate(all="ignore"):
        result = got.compute()
    if expected.dtype.kind == "f":
        # Same order of operations as NumPy along the axis; products may overflow alike.
        np.testing.assert_allclose(result, expected, rtol=1e-6 if dtype == "float32" else 1e-12)
    else:
        np.testing.assert_array_equal(result, expected, strict=True)


def test_scan_with_dtype_and_downstream_use():
    x = np.arange(1, 13, dtype=np.int16).reshape(3, 4)
    a = da.from_array(x, chunks=(1, 3))
    np.testing.assert_array_equal(
        a.cumsum(axis=1, dtype=np.int8).compute(), np.cumsum(x, axis=1, dtype=np.int8)
    )
    np.testing.assert_array_equal(
        (a.cumsum(axis=0) - a).sum(axis=0).compute(), (np.cumsum(x, 0) - x).sum(0)
    )


def test_scan_errors():
    a = da.ones((2, 3), chunks=1)
    with pytest.raises(np.exceptions.AxisError):
        a.cumsum(axis=2)
    with pytest.raises(TypeError):
        a.cumsum(axis=1.5)
