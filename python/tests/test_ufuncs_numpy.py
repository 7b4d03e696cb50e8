"""fmod, float_power, logaddexp(2), nextafter, spacing, ldexp, frexp, modf, divmod, i0,
sinc, fix, isneginf / isposinf, isnull / notnull and the complex-number functions on
real dtypes, against NumPy (and Dask), on odd, size-1 and empty chunkings with special
values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _support import assert_matches, chunk_specs
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

dask_array = pytest.importorskip("dask.array")

SPECIAL = st.sampled_from([0.0, -0.0, math.nan, math.inf, -math.inf, 1.5, -2.5, 1e-310])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


def _float_case(data, dtype=None):
    dtype = dtype or data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    shape = data.draw(shapes, label="shape")
    values = st.one_of(SPECIAL, st.floats(-50, 50, width=32))
    x = data.draw(hnp.arrays(dtype, shape, elements=values), label="x")
    return x, da.from_array(x, chunks=data.draw(chunk_specs(shape, allow_auto=False)))


def _int_case(data):
    dtype = data.draw(st.sampled_from(["int8", "int32", "int64", "uint16"]), label="dtype")
    shape = data.draw(shapes, label="shape")
    x = data.draw(hnp.arrays(dtype, shape, elements=st.integers(0, 20)), label="x")
    return x, da.from_array(x, chunks=data.draw(chunk_specs(shape, allow_auto=False)))


def _widen(x):
    """brickwork has no float16: NumPy's float16 results are compared in float32."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(data=st.data())
def test_binary_float_functions_match_numpy(data):
    x, a = _float_case(data)
    y, b = _float_case(data, dtype=str(x.dtype))
    if x.shape != y.shape:
        y = b = x.dtype.type(3.0)  # a NumPy scalar beside the array
    for name in ("fmod", "float_power", "logaddexp", "logaddexp2", "nextafter"):
        got = getattr(da, name)(a, b)
        assert_matches(got, getattr(np, name)(x, y))
        assert_matches(getattr(np, name)(a, b), getattr(np, name)(x, y))
    k = np.int32(3)
    assert_matches(da.ldexp(a, k), np.ldexp(x, k))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(data=st.data())
def test_unary_float_functions_match_numpy(data):
    x, a = _float_case(data)
    for name in ("spacing", "i0", "sinc", "fix"):
        assert_matches(getattr(da, name)(a), getattr(np, name)(x))
    for got, want in zip(da.frexp(a), np.frexp(x)):
        assert_matches(got, want)
    for got, want in zip(da.modf(a), np.modf(x)):
        assert_matches(got, want)
    for got, want in zip(da.divmod(a, 2.5), np.divmod(x, 2.5)):
        assert_matches(got, want)
    assert_matches(da.isneginf(a), np.isneginf(x))
    assert_matches(da.isposinf(a), np.isposinf(x))
    assert_matches(da.isnull(a), np.isnan(x))
    assert_matches(da.notnull(a), ~np.isnan(x))
    assert_matches(da.angle(a), np.angle(x))
    assert_matches(da.angle(a, deg=True), np.angle(x, deg=True), rtol=1e-6)
    assert_matches(da.real(a), np.real(x))
    assert_matches(da.imag(a), np.imag(x))
    assert_matches(da.conj(a), np.conj(x))
    assert_matches(np.conj(a), np.conj(x))
    assert_matches(da.iscomplex(a), np.iscomplex(x))
    assert_matches(da.isreal(a), np.isreal(x))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@given(data=st.data())
def test_functions_of_integers_match_numpy(data):
    x, a = _int_case(data)
    # spacing is a property of the float type: NumPy's float16 answer is not comparable.
    for name in ("i0", "sinc", "fix"):
        assert_matches(getattr(da, name)(a), _widen(getattr(np, name)(_widen(x))))
    for got, want in zip(da.divmod(a, 3), np.divmod(x, 3)):
        assert_matches(got, want)
    assert_matches(da.fmod(a, 3), np.fmod(x, 3))
    assert_matches(da.isneginf(a), np.isneginf(x))
    assert_matches(da.isnull(a), np.zeros(x.shape, bool))
    assert_matches(da.angle(a), _widen(np.angle(x)))


def test_special_values_match_dask():
    x = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 2.5, -7.25])
    a, d = da.from_array(x, chunks=3), dask_array.from_array(x, chunks=3)
    with np.errstate(all="ignore"):
        for name in ("fmod", "logaddexp", "nextafter"):
            np.testing.assert_array_equal(
                getattr(da, name)(a, 1.5), getattr(dask_array, name)(d, 1.5)
            )
        for name in ("spacing", "sinc", "fix", "isneginf", "isposinf", "angle"):
            np.testing.assert_array_equal(getattr(da, name)(a), getattr(dask_array, name)(d))


def test_complex_input_is_refused_naming_complex_support():
    for name in ("real", "imag", "conj", "angle", "iscomplex", "isreal"):
        with pytest.raises(TypeError, match="complex"):
            getattr(da, name)(np.array([1 + 2j]))


def test_calls_without_arrays_are_numpys():
    assert da.fmod(7.0, 3.0) == np.fmod(7.0, 3.0)
    assert da.frexp(8.0) == np.frexp(8.0)
    assert da.divmod(7, 2) == (3, 1)
