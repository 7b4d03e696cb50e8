"""Reductions compared with NumPy over random shapes, dtypes, chunkings and arguments:
axis None / int / negative / tuple, keepdims, dtype=, ddof and split_every.

Tolerances: integer and bool results, min/max and arg-reductions must be exact (integer
overflow wraps as in NumPy). Float sums and means may differ from NumPy's by the rounding
of a different summation order (bounded by n * eps * max|x|); variances by the rounding of
a numerically stable algorithm (bounded relative to the largest squared deviation, so an
unstable E[x**2] - E[x]**2 fails).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import brickwork.array as da
from _support import (
    FLOAT_DTYPES,
    arrays,
    assert_matches,
    check_like_numpy,
    chunk_specs,
    dtypes,
    float_elements,
    numpy_ref,
    shapes,
)

SUMS = ("sum", "nansum", "mean", "nanmean")
PRODS = ("prod", "nanprod")
EXTREMES = ("min", "max", "nanmin", "nanmax")
LOGICAL = ("any", "all")
ARGS = ("argmin", "argmax")
MOMENTS = ("var", "std", "nanvar", "nanstd")
REDUCTIONS = SUMS + PRODS + EXTREMES + LOGICAL + ARGS + MOMENTS
# Reductions dask.array (and so brickwork) also offers as Array methods.
METHODS = {"sum", "prod", "mean", "min", "max", "std", "var", "any", "all", "argmin", "argmax"}


@st.composite
def axes(draw, ndim, single=False):
    """axis=None, an int (possibly negative), or a tuple of distinct axes."""
    options = [st.none()]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
        if not single:
            options.append(
                st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).flatmap(
                    lambda axs: st.tuples(*(st.sampled_from([a, a - ndim]) for a in axs))
                )
            )
    return draw(st.one_of(options))


def _dtype_options(name, x_dtype):
    if name in SUMS[:2] + PRODS:
        if x_dtype.kind == "f":
            return [None, "float32", "float64"]
        return [None, "int64", "uint64", "float32", "float64"]
    if name in ("mean", "nanmean") + MOMENTS:
        return [None, "float32", "float64"]
    return [None]


def _reduced_count(shape, axis):
    if axis is None:
        return math.prod(shape)
    axis = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axis)


def _finite_abs_max(x):
    x = np.asarray(x, dtype=np.float64)
    return float(np.max(np.abs(x), initial=0.0, where=np.isfinite(x)))


def _tolerance(name, x, axis, result_dtype, ddof):
    """(rtol, atol) for comparing a float reduction with NumPy's."""
    result_dtype = np.dtype(result_dtype)
    if result_dtype.kind != "f":
        return 0.0, 0.0
    eps = float(np.finfo(result_dtype).eps)
    n = max(_reduced_count(x.shape, axis), 1)
    big = _finite_abs_max(x)
    if name in SUMS:
        return 4 * eps, 4 * n * eps * big
    if name in PRODS:
        return 4 * n * eps, 0.0
    if name in MOMENTS:
        x64 = np.where(np.isfinite(x), x.astype(np.float64), np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mean = np.nanmean(x64, axis=axis, keepdims=True)
            dev2 = (x64 - mean) ** 2
        spread = float(np.max(dev2, initial=0.0, where=np.isfinite(dev2)))
        var_atol = 16 * n * eps * spread + 100 * n * (eps * big) ** 2
        var_atol += 10 * float(np.finfo(result_dtype).tiny)
        if name.endswith("std"):
            return 4 * eps, math.sqrt(var_atol)
        return 4 * eps, var_atol
    return 0.0, 0.0


def _elements_for(name, dtype):
    dtype = np.dtype(dtype)
    if dtype.kind == "f" and name in PRODS:
        # Products of values near 1 neither overflow nor underflow in any order.
        return float_elements(dtype, 0.75, 1.25)
    return None


@pytest.mark.parametrize("name", REDUCTIONS)
@given(data=st.data())
def test_reduction_matches_numpy(name, data):
    dtype = data.draw(dtypes, label="dtype")
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(dtype, shape, _elements_for(name, dtype)), label="x")
    chunks = data.draw(chunk_specs(x.shape), label="chunks")
    axis = data.draw(axes(x.ndim, single=name in ARGS), label="axis")
    kwargs = {"axis": axis, "keepdims": data.draw(st.booleans(), label="keepdims")}
    red_dtype = data.draw(st.sampled_from(_dtype_options(name, x.dtype)), label="dtype=")
    if red_dtype is not None:
        kwargs["dtype"] = red_dtype
    ddof = 0
    if name in MOMENTS:
        ddof = data.draw(st.integers(0, 2), label="ddof")
        n = _reduced_count(x.shape, axis)
        # var/std with n - ddof <= 0 divide by zero: inf or nan depending on the last bit
        # of the numerator. nanvar/nanstd define that case (nan) for floats only (NumPy
        # hands integer input to var/std).
        assume((name.startswith("nan") and x.dtype.kind == "f") or n == 0 or ddof < n)
        kwargs["ddof"] = ddof
    split_every = data.draw(st.sampled_from([None, 2, 3]), label="split_every")
    use_method = name in METHODS and data.draw(st.booleans(), label="method form")

    def build():
        bx = da.from_array(x, chunks=chunks)
        bkwargs = dict(kwargs)
        if split_every is not None:
            bkwargs["split_every"] = split_every
        if use_method:
            return getattr(bx, name)(**bkwargs)
        return getattr(da, name)(bx, **bkwargs)

    def reference():
        if name in MOMENTS and red_dtype is not None and np.dtype(red_dtype) == np.float32:
            # NumPy squares in float32 and overflows to inf near float32's top, where
            # brickwork (accumulating in float64) still fits: compare with the float64
            # result rounded to float32.
            wide = {**kwargs, "dtype": np.float64}
            return numpy_ref(getattr(np, name), x.astype(np.float64), **wide).astype(np.float32)
        xr = x
        if name in ("nanvar", "nanstd") and x.dtype.kind == "f" and red_dtype is not None:
            # NumPy's nanvar keeps the deviations in the input dtype even when dtype= asks
            # for a wider one; brickwork computes them in float64, so compare with NumPy on
            # the widened input.
            xr = x.astype(np.promote_types(x.dtype, red_dtype))
        return numpy_ref(getattr(np, name), xr, **kwargs)

    try:
        expected_dtype = reference().dtype
    except (TypeError, ValueError):
        expected_dtype = np.dtype("float64")
    if name in MOMENTS and expected_dtype == np.float32:
        # NumPy sums squared deviations in float32 and overflows to inf near the top of
        # its range, where an engine that accumulates more widely does not.
        float32_max = float(np.finfo(np.float32).max)
        assume(_finite_abs_max(x) ** 2 * max(x.size, 1) < float32_max / 16)
    rtol, atol = _tolerance(name, x, axis, expected_dtype, ddof)
    check_like_numpy(reference, build, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", sorted(METHODS))
def test_reduction_method_and_function_agree_with_numpy(name):
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 7.5
    bx = da.from_array(x, chunks=(1, 2, 3))
    for axis in (None, 0, -1) if name in ARGS else (None, 1, (0, 2), -1):
        expected = numpy_ref(getattr(np, name), x, axis=axis)
        assert_matches(getattr(bx, name)(axis=axis), expected)
        assert_matches(getattr(da, name)(bx, axis=axis), expected)


@pytest.mark.parametrize("name", ["min", "max", "argmin", "argmax"])
def test_reduction_without_identity_over_empty_axis_raises_value_error(name):
    x = da.from_array(np.zeros((0, 3)), chunks=2)
    with pytest.raises(ValueError):
        getattr(da, name)(x, axis=0).compute()


def test_argmin_argmax_pick_the_first_occurrence_and_nan_first():
    x = np.array([3.0, 1.0, 7.0, 1.0, 7.0, np.nan, 0.0, np.nan, 7.0])
    for chunks in (1, 2, 4, -1):
        bx = da.from_array(x, chunks=chunks)
        assert_matches(da.argmin(bx), np.argmin(x))
        assert_matches(da.argmax(bx), np.argmax(x))
        assert_matches(da.argmin(bx[:5]), np.argmin(x[:5]))
        assert_matches(da.argmax(bx[:5]), np.argmax(x[:5]))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_reductions_of_all_nan_slices_match_numpy(dtype):
    x = np.array([[np.nan, np.nan], [1.0, np.nan]], dtype=dtype)
    bx = da.from_array(x, chunks=1)
    for name in ("nansum", "nanprod", "nanmean", "nanmin", "nanmax", "nanvar", "nanstd"):
        expected = numpy_ref(getattr(np, name), x, axis=1)
        assert_matches(getattr(da, name)(bx, axis=1), expected)


def test_integer_sum_and_prod_wrap_like_numpy():
    x = np.full(1000, 2**62, dtype=np.int64)
    bx = da.from_array(x, chunks=7)
    assert_matches(bx.sum(), np.sum(x))
    y = np.arange(1, 40, dtype=np.int32)
    assert_matches(da.from_array(y, chunks=5).prod(), np.prod(y))
    z = np.full(300, 200, dtype=np.uint8)
    assert_matches(da.from_array(z, chunks=16).sum(dtype="uint8"), np.sum(z, dtype="uint8"))


def test_mean_of_empty_is_nan_like_numpy():
    x = np.zeros((0, 4))
    bx = da.from_array(x, chunks=2)
    assert_matches(bx.mean(), numpy_ref(np.mean, x))
    assert_matches(bx.mean(axis=0), numpy_ref(np.mean, x, axis=0))
    assert_matches(bx.sum(axis=0), np.sum(x, axis=0))


def test_duplicate_axis_raises_value_error():
    bx = da.from_array(np.ones((3, 4)), chunks=2)
    with pytest.raises(ValueError):
        bx.sum(axis=(0, 0))
    with pytest.raises(ValueError):
        bx.sum(axis=(1, -1))


@pytest.mark.parametrize("split_every", [2, 3, 4, 16, 1000])
def test_split_every_gives_numpys_result_on_many_chunks(split_every):
    x = np.arange(10_000, dtype=np.int64).reshape(100, 100)
    bx = da.from_array(x, chunks=(3, 7))
    for axis in (None, 0, 1):
        assert_matches(bx.sum(axis=axis, split_every=split_every), np.sum(x, axis=axis))
        assert_matches(bx.max(axis=axis, split_every=split_every), np.max(x, axis=axis))
        assert_matches(da.argmin(bx, axis=axis, split_every=split_every), np.argmin(x, axis=axis))
