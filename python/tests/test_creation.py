"""Creation functions compared with NumPy (values and dtypes) and Dask (chunks)."""

from __future__ import annotations

import dask.array
from dask.array.core import normalize_chunks
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da
from _support import DTYPES, assert_matches, chunk_specs, chunked, dtypes, shapes

dtype_args = st.none() | dtypes


@given(shape=shapes, dtype=dtype_args, data=st.data())
def test_zeros_ones_empty_match_numpy(shape, dtype, data):
    chunks = data.draw(chunk_specs(shape), label="chunks")
    assert_matches(da.zeros(shape, dtype=dtype, chunks=chunks), np.zeros(shape, dtype=dtype))
    assert_matches(da.ones(shape, dtype=dtype, chunks=chunks), np.ones(shape, dtype=dtype))
    empty = da.empty(shape, dtype=dtype, chunks=chunks)
    reference = np.empty(shape, dtype=dtype)
    assert empty.shape == reference.shape and empty.dtype == reference.dtype
    got = np.asarray(empty.compute())
    assert got.shape == reference.shape and got.dtype == reference.dtype


@pytest.mark.parametrize("shape", [5, (5,), (2, 3), (), (0, 4)])
def test_shape_may_be_an_int_or_a_tuple(shape):
    assert_matches(da.zeros(shape, chunks=2), np.zeros(shape))
    assert_matches(da.full(shape, 3, chunks=2), np.full(shape, 3))


@pytest.mark.parametrize(
    "value",
    [True, False, 0, 7, -3, 2**40, 2**63 - 1, 1.5, -0.0, float("nan"), float("inf")],
)
@pytest.mark.parametrize("dtype", [None, *DTYPES])
def test_full_matches_numpy(value, dtype):
    try:
        with np.errstate(all="ignore"):
            expected = np.full((3, 4), value, dtype=dtype)
    except (OverflowError, ValueError, TypeError) as exc:
        with pytest.raises(type(exc)):
            da.full((3, 4), value, dtype=dtype, chunks=(2, 3)).compute()
        return
    assert_matches(da.full((3, 4), value, dtype=dtype, chunks=(2, 3)), expected)


def test_full_with_numpy_scalar_takes_its_dtype():
    assert_matches(da.full(3, np.float32(1.5), chunks=2), np.full(3, np.float32(1.5)))
    assert_matches(da.full(3, np.int8(-2), chunks=2), np.full(3, np.int8(-2)))


@pytest.mark.parametrize(
    "args",
    [
        (5,),
        (0,),
        (-3,),
        (2, 9),
        (9, 2),
        (1, 20, 3),
        (20, 1, -3),
        (10, 0, -1),
        (0, 1, 0.1),
        (1, 2, 0.3),
        (2.5,),
        (-1.5, 2.25, 0.5),
        (5.0, -5.0, -1.25),
        (0, 10**6, 7),
        (True, 5),
    ],
)
@pytest.mark.parametrize("dtype", [None, "int32", "float32", "float64", "uint16"])
def test_arange_matches_numpy(args, dtype):
    if (
        dtype is not None
        and np.dtype(dtype).kind in "iu"
        and any(isinstance(a, float) for a in args)
    ):
        pytest.skip("NumPy's arange with float arguments and an integer dtype is ill-defined")
    if dtype == "uint16" and any(a < 0 for a in args[:2]):
        pytest.skip("negative values do not fit uint16")
    try:
        expected = np.arange(*args, dtype=dtype)
    except (OverflowError, ValueError) as exc:
        with pytest.raises(type(exc)):
            da.arange(*args, dtype=dtype, chunks=4).compute()
        return
    result = da.arange(*args, dtype=dtype, chunks=4)
    assert result.chunks == normalize_chunks(4, expected.shape)
    assert_matches(result, expected)


@given(
    start=st.integers(-50, 50),
    stop=st.integers(-50, 50),
    step=st.integers(-7, 7).filter(bool),
    chunks=st.integers(1, 10),
)
def test_arange_integer_arguments_match_numpy(start, stop, step, chunks):
    assert_matches(da.arange(start, stop, step, chunks=chunks), np.arange(start, stop, step))


@given(
    start=st.floats(-100, 100),
    stop=st.floats(-100, 100),
    step=st.floats(0.01, 10) | st.floats(-10, -0.01),
)
def test_arange_float_arguments_match_numpy_length_and_values(start, stop, step):
    expected = np.arange(start, stop, step)
    result = da.arange(start, stop, step, chunks=5)
    assert result.shape == expected.shape
    # NumPy fills start + i * ((start + step) - start): allow for that rounding.
    atol = 4 * len(expected) * np.finfo(np.float64).eps * (abs(start) + abs(stop))
    assert_matches(result, expected, rtol=1e-12, atol=atol)


def test_arange_zero_step_raises_value_error():
    with pytest.raises((ValueError, ZeroDivisionError)):
        da.arange(0, 10, 0)


@pytest.mark.parametrize("num", [0, 1, 2, 5, 50, 101])
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize(("start", "stop"), [(0, 1), (-10, 3), (5, -5), (2.5, 2.5), (1, 1e6)])
def test_linspace_matches_numpy(num, endpoint, start, stop):
    expected = np.linspace(start, stop, num, endpoint=endpoint)
    result = da.linspace(start, stop, num, endpoint=endpoint, chunks=7)
    assert_matches(result, expected, rtol=1e-12, atol=1e-12 * (abs(start) + abs(stop)))


@pytest.mark.parametrize("dtype", ["float32", "int32", "int64", "uint8"])
def test_linspace_with_dtype_matches_numpy(dtype):
    # -10, -6.75, -3.5, -0.25, 3: exact in binary; integer dtypes round toward -inf.
    start = 0 if dtype == "uint8" else -10
    expected = np.linspace(start, 3, 5, dtype=dtype)
    assert_matches(da.linspace(start, 3, 5, dtype=dtype, chunks=2), expected)


def test_linspace_default_chunks_cover_the_length():
    result = da.linspace(0, 1, 1000)
    assert sum(result.chunks[0]) == 1000


@given(data=chunked(), like_dtype=dtype_args)
def test_like_functions_match_numpy_and_keep_chunks(data, like_dtype):
    x, chunks = data
    bx = da.from_array(x, chunks=chunks)
    for name in ("zeros_like", "ones_like", "empty_like"):
        result = getattr(da, name)(bx, dtype=like_dtype)
        reference = getattr(np, name)(x, dtype=like_dtype)
        assert result.chunks == bx.chunks, name
        if name == "empty_like":
            assert result.shape == reference.shape and result.dtype == reference.dtype
        else:
            assert_matches(result, reference)
    for value in (3, 2.7, True):
        with np.errstate(all="ignore"):
            reference = np.full_like(x, value, dtype=like_dtype)
        result = da.full_like(bx, value, dtype=like_dtype)
        assert result.chunks == bx.chunks
        assert_matches(result, reference)


def test_like_functions_accept_numpy_arrays():
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert_matches(da.zeros_like(x), np.zeros_like(x))
    assert_matches(da.ones_like(x, dtype="float32"), np.ones_like(x, dtype="float32"))
    assert_matches(da.full_like(x, 9), np.full_like(x, 9))


@pytest.mark.parametrize(
    "value",
    [
        [1, 2, 3],
        [[1.0, 2.0], [3.0, 4.0]],
        [True, False],
        5,
        2.5,
        (),
        np.arange(10, dtype=np.uint32),
        np.float32(3.5),
    ],
)
def test_asarray_matches_numpy(value):
    assert_matches(da.asarray(value), np.asarray(value))


def test_asarray_of_a_brickwork_array_is_that_array():
    bx = da.from_array(np.arange(4), chunks=2)
    assert da.asarray(bx) is bx


def test_from_array_accepts_objects_with___array__():
    class Wrapper:
        def __init__(self, data):
            self.data = data
            self.shape = data.shape
            self.dtype = data.dtype
            self.ndim = data.ndim

        def __array__(self, dtype=None, copy=None):
            return self.data if dtype is None else self.data.astype(dtype)

        def __getitem__(self, index):
            return self.data[index]

    data = np.arange(12.0).reshape(3, 4)
    assert_matches(da.from_array(Wrapper(data), chunks=2), data)


@given(data=chunked())
def test_from_array_round_trips_every_dtype_layout_and_chunking(data):
    x, chunks = data
    assert_matches(da.from_array(x, chunks=chunks), x)
    # Non-contiguous and reversed views are read correctly too.
    if x.ndim:
        view = x[::-1]
        assert_matches(da.from_array(view, chunks=chunks), view)
        assert_matches(da.from_array(x.T, chunks=-1), x.T)


@given(data=chunked(shape=(6, 5)))
def test_from_array_of_strided_and_non_native_views(data):
    x, _ = data
    swapped = x.astype(x.dtype.newbyteorder())
    for view in (x[::2, 1::2], x[:, ::-2], np.asfortranarray(x), swapped, swapped[::-1]):
        native = view.astype(view.dtype.newbyteorder("="))
        assert_matches(da.from_array(view, chunks=(4, 3)), native)


def test_dask_and_brickwork_agree_on_creation_chunks():
    for fn in ("zeros", "ones"):
        ours = getattr(da, fn)((13, 7), chunks=(5, 3))
        theirs = getattr(dask.array, fn)((13, 7), chunks=(5, 3))
        assert ours.chunks == theirs.chunks
    assert da.arange(17, chunks=5).chunks == dask.array.arange(17, chunks=5).chunks
    assert da.linspace(0, 1, 17, chunks=5).chunks == dask.array.linspace(0, 1, 17, chunks=5).chunks
