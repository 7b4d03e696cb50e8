"""Basic indexing, transpose and broadcast_to compared with NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da
from _support import arrays, assert_matches, chunk_specs, chunked, dtypes, shapes


@given(data=st.data())
def test_basic_indexing_matches_numpy(data):
    x, chunks = data.draw(chunked(), label="x, chunks")
    index = data.draw(
        hnp.basic_indices(x.shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True),
        label="index",
    )
    assert_matches(da.from_array(x, chunks=chunks)[index], x[index])


@given(data=st.data())
def test_indexing_an_expression_matches_numpy(data):
    x, chunks = data.draw(chunked(dtype="float64"), label="x, chunks")
    first = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True), label="first")
    y = (x * 2 + 1)[first]
    second = data.draw(hnp.basic_indices(y.shape, allow_newaxis=True), label="second")
    bx = da.from_array(x, chunks=chunks)
    assert_matches((bx * 2 + 1)[first][second], y[second])


@pytest.mark.parametrize(
    "index",
    [
        0,
        -1,
        (slice(None), 3),
        (slice(2, 8, 3), slice(None, None, -2)),
        (Ellipsis, 1),
        (None, 1, Ellipsis, None),
        (slice(-3, None), slice(10, 2, -3)),
        (slice(100, 200),),
        (slice(-100, 100, 7),),
        (),
        Ellipsis,
    ],
)
def test_documented_index_forms_match_numpy(index):
    x = np.arange(7 * 9).reshape(7, 9)
    assert_matches(da.from_array(x, chunks=(3, 4))[index], x[index])


@pytest.mark.parametrize(
    ("shape", "index"),
    [((5,), 5), ((5,), -6), ((5, 3), (0, 3)), ((5, 3), (Ellipsis, -4)), ((0,), 0)],
)
def test_out_of_range_integer_raises_index_error(shape, index):
    x = da.from_array(np.zeros(shape), chunks=2)
    bad = index[-1] if isinstance(index, tuple) else index
    with pytest.raises(IndexError, match=str(bad)):
        x[index]


def test_too_many_indices_raises_index_error():
    x = da.from_array(np.zeros((3, 4)), chunks=2)
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[..., 0, ...]


def test_indexing_a_0d_array():
    x = np.array(3.5)
    bx = da.from_array(x)
    assert_matches(bx[()], x[()])
    assert_matches(bx[...], x[...])
    assert_matches(bx[None], x[None])
    with pytest.raises(IndexError):
        bx[0]


# --------------------------------------------------------------------------- transpose


@given(data=st.data())
def test_transpose_matches_numpy(data):
    x, chunks = data.draw(chunked(), label="x, chunks")
    perm = data.draw(st.permutations(range(x.ndim)), label="perm")
    signs = data.draw(st.lists(st.booleans(), min_size=x.ndim, max_size=x.ndim))
    axes = tuple(a - x.ndim if neg else a for a, neg in zip(perm, signs))
    bx = da.from_array(x, chunks=chunks)
    assert_matches(bx.T, x.T)
    assert_matches(bx.transpose(), x.transpose())
    assert_matches(bx.transpose(axes), x.transpose(axes))
    assert_matches(da.transpose(bx, axes), np.transpose(x, axes))
    if x.ndim:
        assert_matches(bx.transpose(*axes), x.transpose(*axes))
    # Chunks move with their axes.
    assert bx.transpose(axes).chunks == tuple(bx.chunks[a] for a in axes)


def test_transpose_with_bad_axes_raises():
    bx = da.from_array(np.zeros((2, 3, 4)), chunks=2)
    with pytest.raises(np.exceptions.AxisError, match="3"):
        bx.transpose((0, 1, 3))
    with pytest.raises(ValueError):
        bx.transpose((0, 0, 1))
    with pytest.raises(ValueError):
        bx.transpose((0, 1))


# ------------------------------------------------------------------------ broadcast_to


@st.composite
def broadcast_targets(draw, shape):
    extra = draw(st.lists(st.integers(0, 4), max_size=2))
    target = [draw(st.integers(0, 4)) if n == 1 else n for n in shape]
    return tuple(extra) + tuple(target)


@given(data=st.data())
def test_broadcast_to_matches_numpy(data):
    dtype = data.draw(dtypes)
    shape = data.draw(shapes)
    x = data.draw(arrays(dtype, shape))
    chunks = data.draw(chunk_specs(x.shape))
    target = data.draw(broadcast_targets(x.shape), label="target")
    assert_matches(
        da.broadcast_to(da.from_array(x, chunks=chunks), target), np.broadcast_to(x, target)
    )


def test_broadcast_to_incompatible_shape_raises_value_error():
    bx = da.from_array(np.zeros((3, 4)), chunks=2)
    with pytest.raises(ValueError, match=r"\(3, ?[45]\)"):
        da.broadcast_to(bx, (3, 5))
    with pytest.raises(ValueError):
        da.broadcast_to(bx, (4,))
