"""pad, tile, repeat, dstack and block against NumPy (and Dask's chunks for tile and
repeat)."""

from __future__ import annotations

import dask.array as dask_array
import numpy as np
import pytest
from _support import arrays, assert_matches, chunk_specs, dtypes, numpy_error_class, shapes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _case(data, shape_strategy=shapes, dtype=None):
    shape = data.draw(shape_strategy, label="shape")
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=True), label="chunks")
    return x, da.from_array(x, chunks=chunks)


def _pad_width(data, ndim):
    width = st.integers(0, 9)
    return data.draw(
        st.one_of(
            width,
            st.tuples(width, width),
            st.tuples(*(st.tuples(width, width) for _ in range(ndim))),
            st.tuples(*(st.tuples(width) for _ in range(ndim))) if ndim else width,
        ),
        label="pad_width",
    )


@given(data=st.data(), mode=st.sampled_from(MODES))
def test_pad_matches_numpy(data, mode):
    x, a = _case(data)
    pad_width = _pad_width(data, x.ndim)
    kwargs = {}
    if mode == "constant" and data.draw(st.booleans(), label="with values"):
        value = st.one_of(st.integers(-300, 300), st.floats(-5, 5))
        kwargs["constant_values"] = data.draw(
            st.one_of(
                value,
                st.tuples(value, value),
                st.tuples(*(st.tuples(value, value) for _ in range(x.ndim))),
            ),
            label="constant_values",
        )
    try:
        expected = np.pad(x, pad_width, mode=mode, **kwargs)
    except (ValueError, TypeError, OverflowError) as exc:
        with pytest.raises(numpy_error_class(exc)):
            da.pad(a, pad_width, mode=mode, **kwargs)
        return
    got = da.pad(a, pad_width, mode=mode, **kwargs)
    assert_matches(got, expected)
    # The input's chunks are kept in the middle of every padded axis.
    widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    for axis in range(x.ndim):
        before = int(widths[axis][0])
        cuts = np.cumsum((0, *got.chunks[axis]))
        inner = np.cumsum((before, *a.chunks[axis]))
        assert set(inner.tolist()) <= set(cuts.tolist()), (got.chunks, a.chunks)
    # NumPy dispatches to brickwork too.
    assert_matches(np.pad(a, pad_width, mode=mode, **kwargs), expected)


def test_pad_reflections_longer_than_the_axis():
    x = np.arange(1, 5, dtype=np.int32)
    a = da.from_array(x, chunks=3)
    for mode in ("reflect", "symmetric", "wrap", "edge"):
        for width in [(0, 11), (13, 0), (9, 10), 1]:
            assert_matches(da.pad(a, width, mode=mode), np.pad(x, width, mode=mode))
    assert_matches(da.pad(a[:1], 5, mode="reflect"), np.pad(x[:1], 5, mode="reflect"))
    y = np.arange(12.0).reshape(3, 4)
    b = da.from_array(y, chunks=(2, 3))
    values = ((1.5, 2.5), (3.5, 4.5))
    assert_matches(da.pad(b, 2, constant_values=values), np.pad(y, 2, constant_values=values))
    # "empty" leaves the padding undefined in NumPy; brickwork fills it with zeros.
    assert_matches(da.pad(b, 2, mode="empty"), np.pad(y, 2))


def test_pad_bad_arguments_raise_like_numpy():
    a = da.ones((3, 4), chunks=2)
    x = np.ones((3, 4))
    for kwargs, error in [
        (dict(pad_width=-1), ValueError),
        (dict(pad_width=1.5), TypeError),
        (dict(pad_width=((1, 2, 3),)), ValueError),
        (dict(pad_width=((1, 2), (1, 2), (1, 2))), ValueError),
        (dict(pad_width=1, mode="nope"), ValueError),
        (dict(pad_width=1, mode="edge", constant_values=3), ValueError),
    ]:
        with pytest.raises(error):
            np.pad(x, **kwargs)
        with pytest.raises(error):
            da.pad(a, **kwargs)
    with pytest.raises(ValueError):
        da.pad(da.ones((0, 3), chunks=1), 1, mode="edge")
    with pytest.raises(NotImplementedError):
        da.pad(a, 1, mode="mean")
    with pytest.raises(NotImplementedError):
        da.pad(a, 1, mode="reflect", reflect_type="odd")


@given(data=st.data())
def test_tile_matches_numpy_and_dask_chunks(data):
    x, a = _case(data)
    reps = data.draw(
        st.one_of(
            st.integers(0, 3), st.lists(st.integers(0, 3), min_size=0, max_size=4).map(tuple)
        ),
        label="reps",
    )
    expected = np.tile(x, reps)
    got = da.tile(a, reps)
    assert_matches(got, expected)
    assert_matches(np.tile(a, reps), expected)
    if x.ndim and x.size and isinstance(reps, int) and reps > 0:
        assert got.chunks == dask_array.tile(dask_array.from_array(x, chunks=a.chunks), reps).chunks


@given(data=st.data(), repeats=st.integers(0, 4))
def test_repeat_matches_numpy_and_dask_chunks(data, repeats):
    x, a = _case(data)
    axis = data.draw(
        st.none() | st.integers(-x.ndim, x.ndim - 1) if x.ndim else st.none(), label="axis"
    )
    expected = np.repeat(x, repeats, axis=axis)
    got = da.repeat(a, repeats, axis=axis)
    assert_matches(got, expected)
    assert_matches(a.repeat(repeats, axis=axis), expected)
    if axis is not None and x.size and repeats:
        theirs = dask_array.repeat(dask_array.from_array(x, chunks=a.chunks), repeats, axis=axis)
        assert got.chunks == theirs.chunks


def test_tile_and_repeat_bad_arguments():
    a = da.ones((2, 3), chunks=2)
    with pytest.raises(ValueError):
        np.tile(np.ones((2, 3)), -1)
    with pytest.raises(ValueError):
        da.tile(a, -1)
    with pytest.raises(ValueError):
        da.repeat(a, -1)
    with pytest.raises(np.exceptions.AxisError):
        da.repeat(a, 2, axis=2)
    with pytest.raises(NotImplementedError):
        da.repeat(a, [1, 2, 3], axis=1)


@given(data=st.data(), count=st.integers(1, 3))
def test_dstack_matches_numpy(data, count):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), label="shape")
    xs, arrs = [], []
    for i in range(count):
        dtype = data.draw(dtypes, label=f"dtype{i}")
        third = data.draw(st.integers(1, 3), label=f"depth{i}") if len(shape) == 3 else None
        this_shape = shape[:2] + (third,) if third is not None else shape
        x = data.draw(arrays(dtype, this_shape), label=f"x{i}")
        xs.append(x)
        arrs.append(da.from_array(x, chunks=data.draw(chunk_specs(this_shape), label=f"chunks{i}")))
    assert_matches(da.dstack(arrs), np.dstack(xs))
    assert_matches(np.dstack(arrs), np.dstack(xs))


@given(data=st.data())
def test_block_matches_numpy(data):
    rows = data.draw(st.integers(1, 3), label="rows")
    cols = data.draw(st.integers(1, 3), label="cols")
    heights = data.draw(st.lists(st.integers(0, 4), min_size=rows, max_size=rows), label="h")
    widths = data.draw(st.lists(st.integers(0, 4), min_size=cols, max_size=cols), label="w")
    depth = data.draw(st.sampled_from([(), (2,)]), label="leading")
    dtype = data.draw(dtypes, label="dtype")
    nps, bws = [], []
    for h in heights:
        row_np, row_bw = [], []
        for w in widths:
            x = data.draw(arrays(dtype, (*depth, h, w)), label="block")
            row_np.append(x)
            row_bw.append(da.from_array(x, chunks=data.draw(chunk_specs(x.shape), label="chunks")))
        nps.append(row_np)
        bws.append(row_bw)
    # Two levels of lists join the last two axes.
    assert_matches(da.block(bws), np.block(nps))
    # One level: a 1-d row of blocks; mixing NumPy arrays and brickwork Arrays.
    assert_matches(da.block([bws[0][0], nps[0][-1]]), np.block([nps[0][0], nps[0][-1]]))


def test_block_promotes_and_checks_like_numpy():
    a = da.from_array(np.arange(3), chunks=2)
    assert_matches(da.block([a, 7, a]), np.block([np.arange(3), 7, np.arange(3)]))
    assert_matches(da.block([[a], [a]]), np.block([[np.arange(3)], [np.arange(3)]]))
    assert_matches(da.block(a), np.block(np.arange(3)))
    eye = np.eye(2)
    assert_matches(
        da.block([[da.from_array(eye, chunks=1), np.zeros((2, 3))], [np.ones((1, 5))]]),
        np.block([[eye, np.zeros((2, 3))], [np.ones((1, 5))]]),
    )
    for bad, error in [
        ([], ValueError),
        ([[a], a], ValueError),
        ([[], [a]], ValueError),
        ((a, a), TypeError),
        ([[a, a], [a]], ValueError),
    ]:
        numpy_bad = np.arange(3) if bad is a else bad
        with pytest.raises(error):
            np.block(_to_numpy(numpy_bad))
        with pytest.raises(error):
            da.block(bad)


def _to_numpy(obj):
    if isinstance(obj, list):
        return [_to_numpy(o) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_to_numpy(o) for o in obj)
    return np.asarray(obj)
