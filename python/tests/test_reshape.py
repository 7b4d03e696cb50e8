"""reshape and ravel compared with NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import arrays, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da


def _factorizations(n, max_len=3):
    """Shapes whose product is n (with an optional -1)."""
    divisors = [d for d in range(1, n + 1) if n % d == 0] if n > 0 else [0, 1, 2]
    return st.lists(st.sampled_from(divisors), min_size=0, max_size=max_len - 1).map(
        lambda ds: _complete(n, ds)
    )


def _complete(n, ds):
    if n == 0:
        return (*ds, 0)
    prod = math.prod(ds)
    if prod == 0 or n % prod:
        return (n,)
    return (*ds, n // prod)


@given(data=st.data())
def test_reshape_matches_numpy(data):
    shape = data.draw(st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple), label="shape")
    x = data.draw(arrays(data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    new = data.draw(_factorizations(x.size), label="new shape")
    if new and data.draw(st.booleans(), label="use -1") and x.size > 0:
        i = data.draw(st.integers(0, len(new) - 1), label="where -1")
        new = (*new[:i], -1, *new[i + 1 :])
    # Through an elementwise step and a transpose too, so the input is not a plain source.
    through = data.draw(st.sampled_from(["source", "elementwise", "transpose"]), label="input")
    arr = da.from_array(x, chunks=chunks)
    ref = x
    if through == "elementwise":
        arr, ref = arr + arr, x + x
    elif through == "transpose":
        arr, ref = arr.T, x.T
    with np.errstate(all="ignore"):
        expected = ref.reshape(new)
    got = arr.reshape(new)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


def test_reshape_of_a_reduction_and_slices_of_the_result():
    x = np.random.default_rng(1).random((12, 10))
    a = da.from_array(x, chunks=(5, 3))
    got = a.sum(axis=0).reshape(2, 5)[1, 1:4]
    np.testing.assert_allclose(got.compute(), x.sum(0).reshape(2, 5)[1, 1:4])
    np.testing.assert_array_equal(a.ravel().compute(), x.ravel())
    np.testing.assert_array_equal(np.reshape(a, (5, 24)).compute(), x.reshape(5, 24))


def test_reshape_errors_match_numpy():
    a = da.ones((4, 6), chunks=2)
    with pytest.raises(ValueError, match="cannot reshape array of size 24 into shape"):
        a.reshape(5, 5)
    with pytest.raises(ValueError, match="one unknown dimension"):
        a.reshape(-1, -1)
    with pytest.raises(NotImplementedError):
        a.reshape(6, 4, order="F")
