"""eye, tri, diag, diagonal, trace, the triangle indices, meshgrid, indices, fromfunction,
atleast_*d, broadcast_arrays, rot90, rollaxis, unify_chunks and the metadata helpers
against NumPy (and Dask where it has them), on odd, size-1 and empty chunkings."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, assert_matches, chunk_specs, dtypes
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

dask_array = pytest.importorskip("dask.array")

sides = st.integers(0, 6)


def _case(data, min_dims=0, max_dims=3, dtype=None):
    shape = data.draw(
        hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=0, max_side=6)
    )
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    return x, da.from_array(x, chunks=chunks)


@given(
    n=sides,
    m=st.none() | sides,
    k=st.integers(-7, 7),
    chunks=st.integers(1, 4),
    dtype=st.sampled_from(["float64", "int32", "bool"]),
)
def test_eye_and_tri_match_numpy_and_dask(n, m, k, chunks, dtype):
    assert_matches(da.eye(n, chunks=chunks, M=m, k=k, dtype=dtype), np.eye(n, m, k, dtype=dtype))
    assert_matches(da.tri(n, m, k, dtype=dtype, chunks=chunks), np.tri(n, m, k, dtype=dtype))
    if n and m != 0:  # Dask's eye divides by zero on empty shapes
        expected = dask_array.eye(n, chunks=chunks, M=m, k=k, dtype=dtype).compute()
        np.testing.assert_array_equal(da.eye(n, chunks=chunks, M=m, k=k, dtype=dtype), expected)


@given(data=st.data(), k=st.integers(-7, 7))
def test_diag_of_vector_and_matrix_matches_numpy(data, k):
    x, a = _case(data, 1, 2)
    assert_matches(da.diag(a, k), np.diag(x, k))


@given(data=st.data(), offset=st.integers(-7, 7))
def test_diagonal_and_trace_match_numpy(data, offset):
    x, a = _case(data, 2, 3)
    axes = data.draw(
        st.lists(
            st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2, unique_by=lambda v: v % x.ndim
        )
    )
    assert_matches(da.diagonal(a, offset, *axes), np.diagonal(x, offset, *axes))
    if x.dtype != bool:
        assert_matches(da.trace(a, offset, *axes), np.trace(x, offset, *axes))
    assert_matches(np.diagonal(a, offset, *axes), np.diagonal(x, offset, *axes))


def test_diag_rejects_three_dimensions_as_numpy():
    with pytest.raises(ValueError):
        da.diag(da.zeros((2, 2, 2)))


@given(n=sides, m=st.none() | sides, k=st.integers(-7, 7))
def test_triangle_indices_match_numpy(n, m, k):
    for got, want in zip(da.tril_indices(n, k, m), np.tril_indices(n, k, m)):
        assert_matches(got, want)
    for got, want in zip(da.triu_indices(n, k, m), np.triu_indices(n, k, m)):
        assert_matches(got, want)
    x = np.zeros((n, n if m is None else m))
    for got, want in zip(da.tril_indices_from(da.from_array(x), k), np.tril_indices_from(x, k)):
        assert_matches(got, want)
    for got, want in zip(da.triu_indices_from(x, k), np.triu_indices_from(x, k)):
        assert_matches(got, want)


@given(data=st.data(), indexing=st.sampled_from(["xy", "ij"]), sparse=st.booleans())
def test_meshgrid_matches_numpy(data, indexing, sparse):
    vectors = [data.draw(_vector()) for _ in range(data.draw(st.integers(1, 3)))]
    got = da.meshgrid(
        *(da.from_array(v, chunks=c) for v, c in vectors), indexing=indexing, sparse=sparse
    )
    want = np.meshgrid(*(v for v, _ in vectors), indexing=indexing, sparse=sparse)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_matches(g, w)


@st.composite
def _vector(draw):
    n = draw(sides)
    x = draw(arrays(draw(st.sampled_from(["float64", "int16"])), (n,)))
    return x, draw(chunk_specs((n,), allow_auto=False))


@given(dims=st.lists(sides, max_size=3), chunks=st.integers(1, 4))
def test_indices_matches_numpy_and_dask(dims, chunks):
    assert_matches(da.indices(dims, chunks=chunks), np.indices(dims))
    assert_matches(da.indices(dims, dtype="float32", chunks=chunks), np.indices(dims, "float32"))
    if dims and all(dims):  # Dask's indices fails on empty shapes
        expected = dask_array.indices(dims, chunks=chunks).compute()
        np.testing.assert_array_equal(da.indices(dims, chunks=chunks), expected)


@given(shape=st.lists(sides, min_size=1, max_size=3), chunks=st.integers(1, 4))
def test_fromfunction_calls_function_on_block_coordinates(shape, chunks):
    def func(*coords):
        return sum(c * 10**i for i, c in enumerate(coords))

    assert_matches(da.fromfunction(func, chunks=chunks, shape=shape), np.fromfunction(func, shape))
    got = da.fromfunction(func, chunks=chunks, shape=shape, dtype=int)
    assert_matches(got, np.fromfunction(func, shape, dtype=int))


@given(data=st.data())
def test_atleast_nd_and_broadcast_arrays_match_numpy(data):
    x, a = _case(data)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d"):
        assert_matches(getattr(da, name)(a), getattr(np, name)(x))
        both = getattr(da, name)(a, 1.5)
        for got, want in zip(both, getattr(np, name)(x, 1.5)):
            assert_matches(got, want)
    y = np.ones(x.shape[-1:] if x.ndim else (), dtype="int8")
    for got, want in zip(da.broadcast_arrays(a, y), np.broadcast_arrays(x, y)):
        assert_matches(got, want)


@given(data=st.data(), k=st.integers(-5, 5))
def test_rot90_and_rollaxis_match_numpy(data, k):
    x, a = _case(data, 2, 3)
    axes = data.draw(
        st.lists(
            st.integers(-x.ndim, x.ndim - 1), min_size=2, max_size=2, unique_by=lambda v: v % x.ndim
        )
    )
    assert_matches(da.rot90(a, k, axes), np.rot90(x, k, axes))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    start = data.draw(st.integers(-x.ndim, x.ndim))
    assert_matches(da.rollaxis(a, axis, start), np.rollaxis(x, axis, start))


@given(data=st.data())
def test_unify_chunks_gives_common_chunks_and_keeps_values(data):
    x, a = _case(data, 2, 2)
    y = x.T.copy()
    b = da.from_array(y, chunks=data.draw(chunk_specs(y.shape, allow_auto=False)))
    chunkss, (a2, b2) = da.unify_chunks(a, "ij", b, "ji")
    assert a2.chunks == (chunkss["i"], chunkss["j"]) or 1 in x.shape
    assert b2.chunks[::-1] == a2.chunks or 1 in x.shape
    assert_matches(a2, x)
    assert_matches(b2, y)


def test_metadata_helpers_answer_without_computing():
    a = da.zeros((3, 4), dtype="int16", chunks=2)
    assert da.shape(a) == (3, 4) and da.ndim(a) == 2
    assert da.result_type(a, np.float32) == np.result_type(np.int16, np.float32)
    assert da.shape([[1, 2]]) == (1, 2) and da.ndim(5) == 0
    assert isinstance(da.asanyarray(np.arange(3)), da.Array)
    assert da.asanyarray(a) is a


def test_constants_and_dtype_names_are_numpys():
    assert (da.pi, da.e, da.inf, da.euler_gamma) == (np.pi, np.e, np.inf, np.euler_gamma)
    assert np.isnan(da.nan) and da.newaxis is None
    assert da.zeros((2,), dtype=da.int16).dtype == np.int16
    assert da.float32 is np.float32 and da.bool is np.bool_
