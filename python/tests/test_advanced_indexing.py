"""Advanced indexing (several / N-d index arrays, vindex), lazy masks with unknown chunk
sizes, and ``__setitem__``, compared with NumPy (and Dask for what NumPy lacks)."""

from __future__ import annotations

import math

import dask.array as dask_array
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da
from _support import assert_matches, assert_values, chunked

shapes_1 = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)


@st.composite
def advanced_index(draw, shape):
    """A NumPy index mixing int arrays (broadcastable), ints, slices, masks and None."""
    bshape = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["array", "array", "int", "slice", "mask"]))
        if kind == "array":
            sub = draw(hnp.broadcastable_shapes(bshape, min_dims=0, max_dims=len(bshape)))
            items.append(draw(hnp.arrays(np.int64, sub, elements=st.integers(-n, n - 1))))
        elif kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            items.append(draw(st.slices(n)))
        else:
            items.append(draw(hnp.arrays(bool, (n,))))
        if draw(st.integers(0, 9)) == 0:
            items.append(None)
    return tuple(items)


@given(data=st.data())
def test_numpy_advanced_indexing_matches_numpy(data):
    x, chunks = data.draw(chunked(shape=shapes_1), label="x, chunks")
    index = data.draw(advanced_index(x.shape), label="index")
    try:
        expected = x[index]
    except IndexError:
        with pytest.raises(IndexError):
            da.from_array(x, chunks=chunks)[index]
        return
    assert_matches(da.from_array(x, chunks=chunks)[index], expected)


@given(data=st.data())
def test_vindex_matches_numpy_pointwise(data):
    x, chunks = data.draw(chunked(shape=shapes_1), label="x, chunks")
    naxes = data.draw(st.integers(1, x.ndim), label="number of indexed axes")
    axes = sorted(data.draw(st.permutations(range(x.ndim)))[:naxes])
    bshape = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=4))
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = data.draw(hnp.arrays(np.int64, bshape, elements=st.integers(0, x.shape[a] - 1)))
    rest = [a for a in range(x.ndim) if a not in axes]
    expected = np.transpose(x, axes + rest)[tuple(index[a] for a in axes)]
    assert_matches(da.from_array(x, chunks=chunks).vindex[tuple(index)], expected)


def test_vindex_examples_and_errors():
    x = np.arange(56).reshape(7, 8)
    d = da.from_array(x, chunks=(3, 4))
    assert_matches(d.vindex[[0, 1, 6, 0], [0, 1, 0, 7]], np.array([0, 9, 48, 7]))
    assert_matches(d.vindex[[[0], [6]], 2:5], x[[[0], [6]], 2:5])
    assert_matches(d.vindex[3, [1, 7]], x[3, [1, 7]])
    assert d.vindex[:, :] is d
    with pytest.raises(IndexError, match="None"):
        d.vindex[None, [1]]
    with pytest.raises(IndexError, match="non-slice"):
        d.vindex[1:3]
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 8"):
        d.vindex[[0], [8]]
    with pytest.raises(IndexError, match="broadcast"):
        d.vindex[[0, 1], [1, 2, 3]]


def test_advanced_index_errors_are_numpys():
    d = da.from_array(np.arange(12).reshape(3, 4), chunks=2)
    with pytest.raises(IndexError, match="out of bounds"):
        d[[0, 3], [1, 1]]
    with pytest.raises(IndexError, match="broadcast"):
        d[[0, 1], [1, 2, 3]]
    with pytest.raises(IndexError, match="integer"):
        d[[0.5], [1]]
    with pytest.raises(IndexError, match="too many indices"):
        d[[0], [1], [2]]


# --------------------------------------------------------------------------- lazy masks


@given(data=st.data())
def test_lazy_mask_of_the_arrays_shape_matches_numpy(data):
    x, chunks = data.draw(chunked(dtype="float64", shape=shapes_1), label="x, chunks")
    threshold = data.draw(st.floats(-2, 2), label="threshold")
    d = da.from_array(x, chunks=chunks)
    y = d[d > threshold]
    assert y.ndim == 1 and math.isnan(y.shape[0])
    assert all(math.isnan(c) for c in y.chunks[0])
    expected = x[x > threshold]
    np.testing.assert_array_equal(y.compute(), expected)
    y.compute_chunk_sizes()
    assert y.shape == expected.shape and sum(y.chunks[0]) == expected.size


@given(data=st.data())
def test_lazy_mask_along_an_axis_matches_numpy_and_dask_chunks(data):
    x, chunks = data.draw(chunked(shape=shapes_1), label="x, chunks")
    axis = data.draw(st.integers(0, x.ndim - 1), label="axis")
    mask = data.draw(hnp.arrays(bool, (x.shape[axis],)), label="mask")
    d = da.from_array(x, chunks=chunks)
    index = (slice(None),) * axis + (da.from_array(mask, chunks=chunks if x.ndim == 1 else 2),)
    y = d[index]
    assert math.isnan(y.shape[axis]) and y.numblocks == d.numblocks
    expected = x[(slice(None),) * axis + (mask,)]
    reference = dask_array.from_array(x, chunks=d.chunks)[
        (slice(None),) * axis + (dask_array.from_array(mask, chunks=(d.chunks[axis],)),)
    ].compute_chunk_sizes()
    assert y.compute_chunk_sizes() is y
    assert y.chunks == reference.chunks
    assert_matches(y, expected)


def test_lazy_positions_keep_the_shape_and_take_lazily():
    x = np.arange(40).reshape(8, 5)
    d = da.from_array(x, chunks=3)
    positions = da.from_array(np.array([7, 0, -1, 3]), chunks=2)
    y = d[1:, positions[:3] % 5]
    assert y.shape == (7, 3) and y.chunks == ((2, 3, 2), (2, 1))
    assert_matches(y, x[1:, np.array([7, 0, -1]) % 5])
    assert_matches(d[positions], x[[7, 0, -1, 3]])


def test_operations_on_unknown_chunks_count_first():
    x = np.linspace(-1, 1, 50)
    d = da.from_array(x, chunks=7)
    y = d[d > 0]
    assert "nan" in repr(y)
    with pytest.raises(ValueError, match="unknown chunk size"):
        len(y)
    assert_values((y * 2).sum().compute(), (x[x > 0] * 2).sum())
    assert y.shape == (x[x > 0].size,)
    assert len(y) == 25


def test_lazy_index_errors():
    d = da.ones((4, 5), chunks=2)
    with pytest.raises(IndexError, match="did not match"):
        d[da.ones((4, 4), chunks=2) > 0]
    with pytest.raises(IndexError, match="along axis 1"):
        d[:, da.ones(4, chunks=2) > 0]
    with pytest.raises(IndexError, match="integer"):
        d[da.ones(4, chunks=2)]
    with pytest.raises(NotImplementedError, match="basic indices"):
        d[da.ones(4, chunks=2) > 0, [1, 2]]


# --------------------------------------------------------------------------- setitem


@st.composite
def assignment_index(draw, shape):
    items = []
    for n in shape:
        kind = draw(st.sampled_from(["slice", "slice", "int", "array", "mask"]))
        if kind == "slice":
            items.append(draw(st.slices(n)))
        elif kind == "int":
            items.append(draw(st.integers(-n, n - 1)))
        elif kind == "array":
            size = draw(st.integers(0, 3))
            items.append(list(draw(st.lists(st.integers(-n, n - 1), min_size=size, max_size=size))))
        else:
            items.append(draw(hnp.arrays(bool, (n,))))
    return tuple(items)


@given(data=st.data())
def test_setitem_matches_numpy(data):
    x, chunks = data.draw(chunked(dtype="float64", shape=shapes_1), label="x, chunks")
    index = data.draw(assignment_index(x.shape), label="index")
    # Several index arrays apply pointwise (broadcast together), as NumPy does.
    try:
        target_shape = np.broadcast_to(np.empty(()), x.shape)[index].shape
    except IndexError:
        with pytest.raises(IndexError):
            da.from_array(x, chunks=chunks)[index] = 1.0
        return
    value = data.draw(
        hnp.arrays(
            np.float64, hnp.broadcastable_shapes(target_shape, max_dims=len(target_shape), min_side=0)
        )
        | st.floats(-5, 5),
        label="value",
    )
    d = da.from_array(x, chunks=chunks)
    before = d + 0
    expected = x.copy()
    try:
        expected[index] = value
    except (ValueError, IndexError, TypeError) as exc:
        with pytest.raises(type(exc)):
            d[index] = value
        return
    d[index] = value
    assert_matches(d, expected)
    assert_matches(before, x)


@given(data=st.data())
def test_setitem_with_a_mask_matches_numpy(data):
    x, chunks = data.draw(chunked(dtype="int32", shape=shapes_1), label="x, chunks")
    lazy = data.draw(st.booleans(), label="lazy mask")
    expected = x.copy()
    expected[x > 0] = -7
    d = da.from_array(x, chunks=chunks)
    d[(d > 0) if lazy else (x > 0)] = -7.9  # cast to int32 as NumPy: -7
    assert_matches(d, expected)


def test_setitem_value_array_and_errors():
    x = np.zeros((4, 6))
    d = da.from_array(x, chunks=(3, 4))
    d[1:3, ::2] = da.from_array(np.arange(6.0).reshape(2, 3), chunks=1)
    x[1:3, ::2] = np.arange(6.0).reshape(2, 3)
    assert_matches(d, x)
    d[:, [5, 5]] = np.array([1.0, 2.0])
    x[:, [5, 5]] = np.array([1.0, 2.0])
    assert_matches(d, x)
    d[np.zeros(4, bool)] = np.zeros((0, 6))  # an empty region: nothing changes
    d[1:1] = 5
    assert_matches(d, x)
    with pytest.raises(ValueError, match="could not broadcast"):
        d[0:2] = np.ones(4)
    with pytest.raises(IndexError, match="out of bounds"):
        d[4] = 1
    with pytest.raises(IndexError, match="did not match"):
        d[np.ones((4, 5), bool)] = 1


@pytest.mark.parametrize(
    "index",
    [0, (1, slice(None, 2)), (slice(None), [3, 0]), (-1, -1), (slice(None, None, -1),), ...],
)
def test_blocks_match_dask(index):
    x = np.arange(90).reshape(9, 10)
    got = da.from_array(x, chunks=(4, 3)).blocks[index]
    expected = dask_array.from_array(x, chunks=(4, 3)).blocks[index]
    assert got.chunks == expected.chunks
    assert_matches(got, expected.compute())


def test_blocks_errors():
    d = da.ones((4, 4), chunks=2)
    with pytest.raises(IndexError, match="axis 0"):
        d.blocks[2]
    with pytest.raises(IndexError, match="None"):
        d.blocks[None]


def test_other_array_likes_index_like_numpy_arrays_and_bad_masks_are_named():
    import pandas as pd

    x = np.arange(24).reshape(4, 6)
    d = da.from_array(x, chunks=2)
    assert_matches(d[pd.Index([3, 0])], x[[3, 0]])
    assert_matches(d[:, pd.Series([True, False] * 3)], x[:, np.array([True, False] * 3)])
    with pytest.raises(IndexError, match="boolean mask of the array's shape, got dtype int64"):
        d[da.ones((4, 6), chunks=2, dtype=int)] = 1
