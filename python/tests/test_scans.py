"""cumsum, cumprod, nancumsum, nancumprod (sequential and Blelloch) compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import (
    FLOAT_DTYPES,
    SPECIAL_FLOATS,
    arrays,
    chunk_specs,
    dtypes,
    explicit_chunks,
)
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da
from brickwork import _core

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


# ---------------------------------------------------------------------------------
# method="blelloch": Dask's parallel prefix scan of the blocks

SCANS = ["cumsum", "cumprod", "nancumsum", "nancumprod"]


def _product_floats(dtype):
    """Floats whose products of up to 216 factors neither overflow nor underflow in
    float32, so that every order of multiplication gives the same specials."""
    width = np.dtype(dtype).itemsize * 8
    magnitude = st.floats(0.75, 1.375, width=width)
    return st.one_of(magnitude, magnitude.map(lambda v: -v), st.sampled_from(SPECIAL_FLOATS))


def _assert_scan_close(name, got, expected, x, axis):
    """Integers exactly; floats within the rounding error of any summation (or
    multiplication) order: n * eps times the scan of the magnitudes."""
    if expected.dtype.kind in "iu":
        np.testing.assert_array_equal(got, expected, strict=True)
        return
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(expected))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    finite = np.isfinite(expected)
    n = x.size if axis is None else x.shape[axis]
    eps = np.finfo(expected.dtype).eps
    magnitudes = np.abs(np.where(np.isfinite(x), x, 0).astype(np.float64))
    if "prod" in name:
        bound = 4 * n * eps * np.abs(expected[finite].astype(np.float64))
    else:
        bound = 4 * n * eps * np.cumsum(magnitudes, axis=axis)[finite]
    error = np.abs(got[finite].astype(np.float64) - expected[finite])
    assert np.all(error <= bound), (error.max(), got, expected)


@given(data=st.data(), name=st.sampled_from(SCANS))
def test_blelloch_scan_matches_numpy(data, name):
    shape = data.draw(shapes, label="shape")
    dtype = data.draw(dtypes, label="dtype")
    floats = _product_floats(dtype) if "prod" in name and dtype in FLOAT_DTYPES else None
    x = data.draw(arrays(dtype, shape, floats), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1), label="axis")
    # Out-of-range float to integer casts are undefined, and integer products in floats
    # may overflow in one order and not in another.
    outs = [None, "float32", "float64"]
    if x.dtype.kind != "f":
        outs += ["int8", "uint32", "int64"]
        if "prod" in name:
            outs = [None, "int8", "uint32", "int64"]
    out = data.draw(st.sampled_from(outs), label="out")
    with np.errstate(all="ignore"):
        expected = getattr(np, name)(x, axis=axis, dtype=out)
    got = getattr(da, name)(
        da.from_array(x, chunks=chunks), axis=axis, dtype=out, method="blelloch"
    )
    assert got.shape == expected.shape and got.dtype == expected.dtype
    with np.errstate(all="ignore"):
        result = got.compute()
    _assert_scan_close(name, result, expected, x, axis)


@given(data=st.data(), name=st.sampled_from(SCANS))
def test_blelloch_scan_with_irregular_and_empty_chunks(data, name):
    n = data.draw(st.integers(0, 40), label="n")
    x = data.draw(arrays("int64", (3, n), st.integers(-(2**62), 2**62)), label="x")
    sizes = data.draw(explicit_chunks(n, allow_empty_chunks=True), label="sizes")
    a = da.from_array(x, chunks=((1, 2), sizes))
    np.testing.assert_array_equal(
        getattr(da, name)(a, axis=1, method="blelloch").compute(),
        getattr(np, name)(x, axis=1),  # integer overflow wraps alike in any order
        strict=True,
    )


@pytest.mark.parametrize("blocks", [2, 3, 5, 8, 64, 65, 200])
def test_blelloch_levels_are_logarithmic_in_the_blocks(blocks):
    x = np.arange(blocks * 3, dtype=np.int64).reshape(3, blocks) % 7 - 3
    a = da.from_array(x, chunks=(2, 1))
    result = da.cumsum(a, axis=1, method="blelloch")
    np.testing.assert_array_equal(result.compute(), np.cumsum(x, axis=1), strict=True)
    plan = _core.plan([result._expr])
    kinds = [stage["kind"] for stage in plan["stages"]]
    # At most one gather per up-sweep and per down-sweep level over the blocks - 1
    # totals (evenly spaced ones are strided views: the take-as-view rewrite), and each
    # block scanned by a stage of its own, whose tasks do not wait for each other.
    totals = blocks - 1
    assert kinds.count("take") <= 2 * (totals.bit_length() - 1)
    scans = [stage for stage in plan["stages"] if stage["kind"] == "scan"]
    assert len(scans) == blocks and all(s["grid"]["numblocks"] == (2, 1) for s in scans)
    # So the longest chain of tasks is the longest path of stages (stages come after
    # those they read): two per level, logarithmic, where the sequential scan's is a
    # chain of all the blocks.
    depth = [1] * len(kinds)
    for a, b, _ in sorted(plan["edges"], key=lambda e: e[1]):
        depth[b] = max(depth[b], depth[a] + 1)
    assert max(depth) <= 4 * totals.bit_length() + 6


def test_blelloch_method_on_arrays_and_single_block():
    x = np.arange(1, 13, dtype=np.int16).reshape(3, 4)
    a = da.from_array(x, chunks=(1, 3))
    np.testing.assert_array_equal(
        a.cumsum(axis=1, dtype=np.int8, method="blelloch").compute(),
        np.cumsum(x, axis=1, dtype=np.int8),
        strict=True,
    )
    np.testing.assert_array_equal(
        a.cumprod(axis=0, method="blelloch").compute(), np.cumprod(x, axis=0), strict=True
    )
    whole = da.from_array(x, chunks=-1)
    assert whole.cumsum(axis=0, method="blelloch").explain().count("cumsum along") == 1


def test_blelloch_errors():
    a = da.ones((2, 3), chunks=1)
    with pytest.raises(ValueError, match="'parallel'"):
        a.cumsum(axis=1, method="parallel")
    with pytest.raises(np.exceptions.AxisError):
        da.cumprod(a, axis=2, method="blelloch")
    with pytest.raises(TypeError, match="bool"):
        da.cumsum(a, axis=1, dtype=bool, method="blelloch")


@pytest.mark.parametrize("method", ["sequential", "blelloch"])
def test_a_bool_accumulator_is_refused_when_built(method):
    x = da.from_array(np.array([True, False, True]), chunks=1)
    with pytest.raises(TypeError, match="dtype bool is not supported"):
        da.cumsum(x, dtype=bool, method=method)
