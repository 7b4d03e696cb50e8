"""Shared strategies and assertions for the brickwork test suite.

Every check compares brickwork with NumPy (or Dask / the standard library), never with
brickwork's own output.

Documented deviation: brickwork has no float16. Where NumPy computes in float16 (float
ufuncs of bool / int8 / uint8, such as ``np.sqrt(int8_array)``), brickwork computes in
float32; the expected value is then NumPy's result on the inputs cast to float32.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

DTYPES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
)
INT_DTYPES = tuple(d for d in DTYPES if np.dtype(d).kind in "iu")
FLOAT_DTYPES = ("float32", "float64")
SPECIAL_FLOATS = (0.0, -0.0, math.nan, math.inf, -math.inf)

dtypes = st.sampled_from(DTYPES)

# Small shapes: 0-d arrays and empty axes included (hypothesis shrinks toward them).
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


def array_type():
    """The brickwork array class (whatever it is called)."""
    return type(da.zeros((1,), chunks=1))


# ---------------------------------------------------------------------------------
# element and array strategies


def float_elements(dtype, low=1e-3, high=1e3):
    """Floats with |x| in [low, high], signed zeros, NaN and infinities.

    The magnitude range keeps accumulated rounding comparable between summation
    orders while still exercising NaN / inf propagation.
    """
    width = np.dtype(dtype).itemsize * 8
    low = float(np.asarray(low, dtype=dtype))
    high = float(np.asarray(high, dtype=dtype))
    positive = st.floats(min_value=low, max_value=high, width=width)
    return st.one_of(
        positive,
        positive.map(lambda v: -v),
        st.sampled_from(SPECIAL_FLOATS),
    )


def elements(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return st.booleans()
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return st.integers(int(info.min), int(info.max))
    return float_elements(dt)


def arrays(dtype, shape, elements_=None):
    return hnp.arrays(
        np.dtype(dtype), shape, elements=elements(dtype) if elements_ is None else elements_
    )


@st.composite
def axis_chunks(draw, n, allow_auto=True):
    """A chunk spec for one axis of length n (int, -1, None, explicit sizes, "auto")."""
    options = [st.just(-1), st.just(None), st.just(1), st.integers(1, max(n, 1) + 1)]
    options.append(explicit_chunks(n))
    if allow_auto:
        options.append(st.just("auto"))
    return draw(st.one_of(options))


@st.composite
def explicit_chunks(draw, n, allow_empty_chunks=False):
    """An explicit, possibly irregular tuple of chunk sizes adding up to n."""
    if n == 0:
        return (0,)
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=n - 1)) if n > 1 else set()
    bounds = [0, *sorted(cuts), n]
    sizes = [b - a for a, b in zip(bounds, bounds[1:])]
    if allow_empty_chunks:
        where = draw(st.lists(st.integers(0, len(sizes)), max_size=2))
        for i in sorted(where, reverse=True):
            sizes.insert(i, 0)
    return tuple(sizes)


@st.composite
def chunk_specs(draw, shape, allow_auto=True):
    """A chunk spec for a whole array: mostly per-axis tuples, sometimes one value."""
    whole = [st.just(-1), st.just(1), st.integers(1, 8)]
    if allow_auto:
        whole.append(st.just("auto"))
    per_axis = st.tuples(*(axis_chunks(n, allow_auto=allow_auto) for n in shape))
    return draw(st.one_of(per_axis, per_axis, per_axis, *whole))


@st.composite
def chunked(draw, dtype=None, shape=None, elements_=None):
    """(numpy array, chunk spec) for a random dtype, shape and chunking."""
    dtype = draw(dtypes) if dtype is None else dtype
    shape = draw(shapes) if shape is None else shape
    x = draw(arrays(dtype, shape, elements_))
    chunks = draw(chunk_specs(x.shape))
    return x, chunks


def python_scalar_for(dtype):
    """A Python bool / int / float scalar that NumPy 2 accepts next to an array of dtype.

    Python ints are drawn inside the dtype's range (outside it NumPy 2 raises
    OverflowError, tested separately).
    """
    dt = np.dtype(dtype)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        low, high = int(info.min), int(info.max)
    else:
        low, high = -(2**63), 2**63 - 1
    return st.one_of(
        st.booleans(),
        st.integers(low, high),
        st.integers(max(low, -10), min(high, 10)),
        float_elements("float64"),
    )


# ---------------------------------------------------------------------------------
# numpy reference and comparison


def expected_dtype(dtype):
    """NumPy's result dtype as brickwork promises it (float16 becomes float32)."""
    dtype = np.dtype(dtype)
    return np.dtype("float32") if dtype == np.float16 else dtype


def _widen_small(value):
    if isinstance(value, np.ndarray) and value.dtype.kind in "biu" and value.dtype.itemsize == 1:
        return value.astype(np.float32)
    return value


def numpy_ref(func, *args, **kwargs):
    """func(*args) in NumPy with warnings silenced, as an ndarray.

    When NumPy answers in float16 the call is repeated on float32 inputs (brickwork has
    no float16 and computes those results in float32).
    """
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = np.asarray(func(*args, **kwargs))
        if result.dtype == np.float16:
            args = tuple(_widen_small(a) for a in args)
            result = np.asarray(func(*args, **kwargs))
            assert result.dtype == np.float32, result.dtype
    return result


def numpy_error_class(exc):
    """The exception class brickwork must raise where NumPy raised exc."""
    for cls in (OverflowError, TypeError, IndexError, ValueError):
        if isinstance(exc, cls):
            return cls
    raise exc


def default_rtol(dtype):
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        return 1e-5
    if dtype == np.float64:
        return 1e-12
    return 0.0


def compute_to_numpy(arr):
    result = arr.compute()
    assert isinstance(result, (np.ndarray, np.generic)), type(result)
    return np.asarray(result)


def assert_chunks_consistent(arr):
    """Structural invariants of the chunk attributes (no values involved)."""
    chunks = arr.chunks
    assert len(chunks) == arr.ndim
    assert tuple(sum(c) for c in chunks) == tuple(arr.shape), (chunks, arr.shape)
    assert tuple(arr.numblocks) == tuple(len(c) for c in chunks)


def assert_matches(arr, expected, rtol=None, atol=0.0):
    """arr (lazy) has NumPy's shape and dtype, and computes to NumPy's values."""
    expected = np.asarray(expected)
    want_dtype = expected_dtype(expected.dtype)
    assert isinstance(arr, array_type()), f"expected a brickwork array, got {type(arr)}"
    assert tuple(arr.shape) == expected.shape, (arr.shape, expected.shape)
    assert np.dtype(arr.dtype) == want_dtype, (arr.dtype, want_dtype)
    assert_chunks_consistent(arr)
    got = compute_to_numpy(arr)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == want_dtype, (got.dtype, want_dtype)
    assert_values(got, expected.astype(want_dtype), rtol=rtol, atol=atol)
    return got


def assert_values(got, expected, rtol=None, atol=0.0):
    if expected.dtype.kind in "biu":
        np.testing.assert_array_equal(got, expected, strict=True)
    else:
        rtol = default_rtol(expected.dtype) if rtol is None else rtol
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def check_like_numpy(np_call, bw_call, rtol=None, atol=0.0):
    """Run np_call(); if NumPy raises, bw_call (built and computed) must raise the same
    kind of exception; otherwise its result must match NumPy's."""
    try:
        expected = np_call()
    except (TypeError, ValueError, OverflowError, IndexError) as exc:
        cls = numpy_error_class(exc)
        with pytest.raises(cls):
            result = bw_call()
            result.compute()
        return None
    return assert_matches(bw_call(), expected, rtol=rtol, atol=atol)
