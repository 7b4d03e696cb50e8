"""brickwork.array.linalg: QR (TSQR / sfqr), SVD, svd_compressed, norm and the solvers
against NumPy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _support import array_type, check_like_numpy, chunk_specs, explicit_chunks
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da
from brickwork.array import linalg

TOL = {"float32": 2e-5, "float64": 1e-12}


def _tol(dtype):
    return TOL["float32"] if np.dtype(dtype) == np.float32 else TOL["float64"]


@st.composite
def row_chunks(draw, m):
    """Chunks along the rows: size 1, a drawn size, or irregular explicit sizes."""
    return draw(st.one_of(st.just(1), st.integers(1, max(m, 1)), explicit_chunks(m)))


def _matrix(data, shape, dtype, label="a"):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed"))
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-20, 20, shape).astype(dtype)
    return (rng.standard_normal(shape) * 10).astype(dtype)


def _check_qr(a, q, r, rows_chunks=None):
    """q @ r == a, q orthonormal, r upper triangular, |diag r| as NumPy's."""
    qn, rn = np.linalg.qr(a)
    assert isinstance(q, array_type()) and isinstance(r, array_type())
    assert q.shape == qn.shape and r.shape == rn.shape
    assert q.dtype == qn.dtype and r.dtype == rn.dtype
    if rows_chunks is not None:
        assert q.chunks[0] == rows_chunks
    qv, rv = da.compute(q, r)
    tol = _tol(qn.dtype)
    scale = max(1.0, float(np.abs(a).max(initial=0)))
    np.testing.assert_allclose(qv @ rv, a, atol=50 * tol * scale * max(a.shape, default=1))
    np.testing.assert_allclose(qv.T @ qv, np.eye(qv.shape[1]), atol=50 * tol)
    np.testing.assert_array_equal(np.tril(rv, -1), 0)
    np.testing.assert_allclose(
        np.abs(np.diag(rv)), np.abs(np.diag(rn)), rtol=100 * tol, atol=100 * tol * scale
    )


# ---------------------------------------------------------------------------------
# QR


@given(
    data=st.data(),
    m=st.integers(1, 40),
    n=st.integers(1, 6),
    dtype=st.sampled_from(["float64", "float32", "int32"]),
)
def test_tsqr_matches_numpy_over_row_chunkings(data, m, n, dtype):
    a = _matrix(data, (m, n), dtype)
    x = da.from_array(a, chunks=(data.draw(row_chunks(m), label="rows"), -1))
    q, r = linalg.qr(x) if x.numblocks[0] > 1 else linalg.tsqr(x)
    _check_qr(a, q, r, x.chunks[0])


def test_tsqr_recursion_with_many_blocks():
    # 300 blocks of 2 rows stack 600 R rows: TSQR recurses on the stacked factors.
    rng = np.random.default_rng(0)
    for m, n, rows in [(600, 3, 2), (601, 5, (1,) * 300 + (301,)), (5000, 4, 7)]:
        a = rng.standard_normal((m, n))
        x = da.from_array(a, chunks=(rows, n))
        q, r = linalg.qr(x)
        _check_qr(a, q, r, x.chunks[0])


@given(data=st.data(), m=st.integers(1, 8), n=st.integers(1, 20))
def test_sfqr_matches_numpy_over_column_chunkings(data, m, n):
    a = _matrix(data, (m, n), "float64")
    cols = data.draw(st.one_of(st.just(1), st.integers(1, n), explicit_chunks(n)), label="cols")
    x = da.from_array(a, chunks=(-1, cols))
    _check_qr(a, *linalg.qr(x))
    _check_qr(a, *np.linalg.qr(x))


def test_qr_empty_and_errors():
    for shape in [(0, 3), (4, 0)]:
        q, r = linalg.qr(da.zeros(shape, chunks=-1))
        qn, rn = np.linalg.qr(np.zeros(shape))
        assert q.compute().shape == qn.shape and r.compute().shape == rn.shape
    with pytest.raises(NotImplementedError, match="tall-and-skinny"):
        linalg.qr(da.ones((10, 10), chunks=5))
    with pytest.raises(ValueError, match="one column of blocks"):
        linalg.tsqr(da.ones((10, 10), chunks=5))
    with pytest.raises(ValueError, match="one row of blocks"):
        linalg.sfqr(da.ones((10, 10), chunks=5))
    with pytest.raises(np.linalg.LinAlgError):
        linalg.qr(da.ones(5, chunks=2))
    # A rank-deficient matrix still gets an orthonormal Q with q @ r == a.
    a = np.outer(np.arange(1.0, 13.0), [1.0, 2.0, 3.0])
    q, r = linalg.qr(da.from_array(a, chunks=(5, 3)))
    np.testing.assert_allclose((q @ r).compute(), a, atol=1e-12)
    np.testing.assert_allclose((q.T @ q).compute(), np.eye(3), atol=1e-12)


# ---------------------------------------------------------------------------------
# SVD


@given(
    data=st.data(),
    m=st.integers(1, 30),
    n=st.integers(1, 6),
    transpose=st.booleans(),
    dtype=st.sampled_from(["float64", "float32"]),
)
def test_svd_matches_numpy(data, m, n, transpose, dtype):
    a = _matrix(data, (m, n), dtype)
    chunks = (data.draw(row_chunks(m), label="rows"), -1)
    if transpose:
        a, chunks = a.T, chunks[::-1]
    x = da.from_array(a, chunks=chunks)
    u, s, v = linalg.svd(x)
    un, sn, vn = np.linalg.svd(a, full_matrices=False)
    assert (u.shape, s.shape, v.shape) == (un.shape, sn.shape, vn.shape)
    assert u.dtype == s.dtype == v.dtype == sn.dtype
    uv, sv, vv = da.compute(u, s, v)
    tol = _tol(dtype)
    scale = float(sn[0])
    np.testing.assert_allclose(sv, sn, rtol=100 * tol, atol=100 * tol * scale)
    np.testing.assert_allclose((uv * sv) @ vv, a, atol=100 * tol * scale)
    k = len(sn)
    np.testing.assert_allclose(uv.T @ uv, np.eye(k), atol=100 * tol)
    np.testing.assert_allclose(vv @ vv.T, np.eye(k), atol=100 * tol)
    # Dask's sign convention: every row of v sums to a non-negative value.
    assert (vv.sum(axis=1) >= -100 * tol).all()


def test_svd_errors_and_numpy_dispatch():
    with pytest.raises(NotImplementedError, match="chunked in one dimension"):
        linalg.svd(da.ones((10, 10), chunks=5))
    with pytest.raises(NotImplementedError, match="full_matrices"):
        linalg.svd(da.ones((10, 3), chunks=(5, 3)), full_matrices=True)
    with pytest.raises(ValueError, match="2D"):
        linalg.svd(da.ones((2, 3, 4), chunks=2))
    a = np.random.default_rng(1).standard_normal((20, 4))
    x = da.from_array(a, chunks=(3, 4))
    u, s, v = np.linalg.svd(x, full_matrices=False)
    assert isinstance(s, array_type())
    np.testing.assert_allclose(s.compute(), np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    s_only = np.linalg.svd(da.from_array(a, chunks=3), compute_uv=False)
    assert isinstance(s_only, array_type())
    np.testing.assert_allclose(s_only.compute(), np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    # The full SVD of a non-square array is NumPy's, computed eagerly.
    full = np.linalg.svd(x)
    assert full[0].shape == (20, 20)


def test_svd_compressed_low_rank_and_power_iterations():
    rng = np.random.default_rng(2)
    m, n, rank = 300, 80, 5
    a = rng.standard_normal((m, rank)) @ rng.standard_normal((rank, n))
    x = da.from_array(a, chunks=(70, 30))
    sn = np.linalg.svd(a, compute_uv=False)
    u, s, v = linalg.svd_compressed(x, rank, seed=4)
    assert (u.shape, s.shape, v.shape) == ((m, rank), (rank,), (rank, n))
    uv, sv, vv = da.compute(u, s, v)
    np.testing.assert_allclose(sv, sn[:rank], rtol=1e-10)
    np.testing.assert_allclose((uv * sv) @ vv, a, atol=1e-9 * sn[0])
    np.testing.assert_allclose(uv.T @ uv, np.eye(rank), atol=1e-10)
    # The same seed gives the same factors.
    np.testing.assert_array_equal(linalg.svd_compressed(x, rank, seed=4)[1].compute(), sv)
    # A slowly decaying spectrum: power iterations bring the values close.
    b = rng.standard_normal((m, n)) * (0.9 ** np.arange(n))
    sb = np.linalg.svd(b, compute_uv=False)
    y = da.from_array(b.astype("float32"), chunks=(50, 40))
    for iterator in ("power", "QR"):
        _, s2, _ = linalg.svd_compressed(y, 5, n_power_iter=3, iterator=iterator, seed=1)
        assert s2.dtype == np.float32
        np.testing.assert_allclose(s2.compute(), sb[:5], rtol=2e-2)
    with pytest.raises(ValueError, match="Iterator"):
        linalg.svd_compressed(x, 3, iterator="bad")
    assert linalg.compression_level(100, 10) == 20


# ---------------------------------------------------------------------------------
# norm

ORDS = [None, "fro", "nuc", np.inf, -np.inf, 0, 1, -1, 2, -2, 3, 0.5, "bad"]


@given(
    data=st.data(),
    shape=st.sampled_from([(5,), (1,), (4, 6), (6, 4), (1, 3), (2, 3, 4)]),
    ord=st.sampled_from(ORDS),
    keepdims=st.booleans(),
    dtype=st.sampled_from(["float64", "float32", "int32", "bool"]),
)
def test_norm_matches_numpy(data, shape, ord, keepdims, dtype):  # noqa: A002
    a = _matrix(data, shape, dtype) if dtype != "bool" else _matrix(data, shape, "int8") > 0
    axes = [None, *range(-len(shape), len(shape))]
    axes += list(itertools.permutations(range(len(shape)), 2)) + [(0, 0)]
    axis = data.draw(st.sampled_from(axes), label="axis")
    x = da.from_array(a, chunks=data.draw(chunk_specs(shape, allow_auto=False), label="chunks"))
    rtol = 1e-4 if dtype == "float32" else 1e-10

    def expected():
        with np.errstate(all="ignore"):  # negative orders of zeros divide by zero
            return np.linalg.norm(a, ord=ord, axis=axis, keepdims=keepdims)

    check_like_numpy(
        expected,
        lambda: linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims),
        rtol=rtol,
    )


def test_norm_dispatch_and_flattening():
    a = np.arange(24.0).reshape(2, 3, 4) - 10
    x = da.from_array(a, chunks=2)
    got = np.linalg.norm(x)
    assert isinstance(got, array_type())
    np.testing.assert_allclose(got.compute(), np.linalg.norm(a))
    np.testing.assert_allclose(
        linalg.norm(x, keepdims=True).compute(), np.linalg.norm(a, keepdims=True)
    )
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        linalg.norm(x, ord=1)
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        linalg.norm(x, axis=(0, 1, 2))


# ---------------------------------------------------------------------------------
# solvers


def _well_conditioned(rng, n, dtype="float64"):
    # Strictly diagonally dominant, even after rounding to integers: never singular.
    return (rng.uniform(-1, 1, (n, n)) + 2 * n * np.eye(n)).astype(dtype)


@given(
    data=st.data(),
    n=st.integers(1, 8),
    k=st.sampled_from([None, 1, 3]),
    dtype=st.sampled_from(["float64", "float32", "int64"]),
)
def test_solve_inv_cholesky_match_numpy(data, n, k, dtype):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    a = _well_conditioned(rng, n, dtype if dtype != "int64" else "float64")
    if dtype == "int64":
        a = np.round(a).astype("int64")
    b = rng.standard_normal((n,) if k is None else (n, k)).astype(dtype)
    x = da.from_array(a, chunks=data.draw(chunk_specs(a.shape, allow_auto=False), label="a"))
    y = da.from_array(b, chunks=data.draw(chunk_specs(b.shape, allow_auto=False), label="b"))
    tol = 100 * _tol(np.linalg.solve(a, b).dtype)
    got = linalg.solve(x, y)
    assert got.chunks == y.chunks
    check_like_numpy(lambda: np.linalg.solve(a, b), lambda: got, rtol=tol, atol=tol)
    check_like_numpy(lambda: np.linalg.solve(a, b), lambda: np.linalg.solve(x, y), rtol=tol)
    check_like_numpy(lambda: np.linalg.inv(a), lambda: linalg.inv(x), rtol=tol, atol=tol)
    spd = a @ a.T
    s = da.from_array(spd, chunks=x.chunks)
    lower = np.linalg.cholesky(spd)
    check_like_numpy(lambda: lower.T, lambda: linalg.cholesky(s), rtol=tol, atol=tol)
    check_like_numpy(lambda: lower, lambda: linalg.cholesky(s, lower=True), rtol=tol, atol=tol)
    check_like_numpy(lambda: lower, lambda: np.linalg.cholesky(s), rtol=tol, atol=tol)
    check_like_numpy(
        lambda: np.linalg.solve(spd, b),
        lambda: linalg.solve(s, y, assume_a="pos"),
        rtol=tol,
        atol=tol,
    )
    p, low, up = da.compute(*linalg.lu(x))
    np.testing.assert_allclose(p @ low @ up, a, rtol=tol, atol=tol * n * n)
    np.testing.assert_array_equal(np.triu(low, 1), 0)
    np.testing.assert_array_equal(np.diag(low), 1)
    np.testing.assert_array_equal(np.tril(up, -1), 0)
    np.testing.assert_array_equal(np.sort(p, axis=0)[-1], 1)
    check_like_numpy(
        lambda: np.linalg.solve(np.triu(a), b),
        lambda: linalg.solve_triangular(x, y),
        rtol=tol,
        atol=tol,
    )
    check_like_numpy(
        lambda: np.linalg.solve(np.tril(a), b),
        lambda: linalg.solve_triangular(x, y, lower=True),
        rtol=tol,
        atol=tol,
    )


def test_solver_errors():
    sq = da.ones((3, 3), chunks=2)
    with pytest.raises(np.linalg.LinAlgError):
        linalg.solve(da.ones((3, 4), chunks=2), da.ones(3, chunks=2))
    with pytest.raises(ValueError, match="mismatch"):
        linalg.solve(sq, da.ones(4, chunks=2))
    with pytest.raises(ValueError, match="assume_a"):
        linalg.solve(sq, da.ones(3, chunks=2), assume_a="sym")
    with pytest.raises(np.linalg.LinAlgError):
        linalg.inv(da.ones(3, chunks=2))
    with pytest.raises(np.linalg.LinAlgError):
        linalg.cholesky(da.ones((2, 3), chunks=2))
    with pytest.raises(ValueError, match="square"):
        linalg.lu(da.ones((2, 3), chunks=2))
    # Singular and indefinite matrices fail at compute time, with NumPy's error.
    with pytest.raises(np.linalg.LinAlgError):
        linalg.inv(sq).compute()
    with pytest.raises(np.linalg.LinAlgError):
        linalg.cholesky(-sq).compute()


# ---------------------------------------------------------------------------------
# least squares


@given(
    data=st.data(),
    m=st.integers(1, 30),
    n=st.integers(1, 5),
    k=st.sampled_from([None, 1, 2]),
    deficient=st.booleans(),
)
def test_lstsq_matches_numpy(data, m, n, k, deficient):
    a = _matrix(data, (m, n), "float64")
    if deficient and n > 1:
        a[:, -1] = a[:, 0] * 2  # rank deficient: NumPy's minimum-norm solution
    b = _matrix(data, (m,) if k is None else (m, k), "float64", "b")
    x = da.from_array(a, chunks=(data.draw(row_chunks(m), label="rows"), -1))
    y = da.from_array(b, chunks=data.draw(chunk_specs(b.shape, allow_auto=False), label="b"))
    sol, res, rank, s = linalg.lstsq(x, y)
    sol_n, res_n, rank_n, s_n = np.linalg.lstsq(a, b)
    assert sol.shape == sol_n.shape and s.shape == s_n.shape and rank.shape == ()
    sv, rv, rankv, svals = da.compute(sol, res, rank, s)
    scale = float(s_n[0]) if s_n.size else 1.0
    np.testing.assert_allclose(sv, sol_n, rtol=1e-8, atol=1e-8 * max(1.0, np.abs(sol_n).max()))
    np.testing.assert_allclose(svals, s_n, rtol=1e-10, atol=1e-10 * scale)
    assert int(rankv) == int(rank_n)
    if res_n.size:  # NumPy gives residuals for full-rank tall systems only
        np.testing.assert_allclose(rv, res_n, rtol=1e-8, atol=1e-8 * float(np.sum(b * b)))
    elif m <= n:
        assert rv.shape == (0,)


def test_lstsq_short_fat_dispatch_and_errors():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((3, 6)), rng.standard_normal(3)
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=2)
    sol, res, rank, s = np.linalg.lstsq(x, y)
    expected = np.linalg.lstsq(a, b)
    np.testing.assert_allclose(sol.compute(), expected[0], rtol=1e-10)
    assert res.compute().shape == (0,) and int(rank.compute()) == 3
    with pytest.raises(np.linalg.LinAlgError, match="Incompatible"):
        linalg.lstsq(x, da.ones(4, chunks=2))


def test_decompositions_build_lazily():
    calls = []

    def source(block):
        calls.append(1)
        return block

    x = da.ones((12, 3), chunks=(4, 3)).map_blocks(source, dtype="float64")
    sq = da.ones((3, 3), chunks=2).map_blocks(source, dtype="float64")
    built = [
        *linalg.qr(x),
        *linalg.svd(x),
        *linalg.svd_compressed(x, 2, seed=0),
        linalg.norm(x, 2),
        linalg.solve(sq, sq[0]),
        linalg.inv(sq),
        linalg.cholesky(sq),
        *linalg.lstsq(x, x[:, 0]),
        *linalg.lu(sq),
    ]
    assert calls == []
    assert all(isinstance(e, array_type()) for e in built)
