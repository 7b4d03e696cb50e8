"""Solvers: ``solve``, ``inv``, ``cholesky``, ``lu`` and ``solve_triangular`` gather the
matrix into one chunk and call NumPy there (the matrix must fit in memory; Dask runs a
blocked LU instead); ``lstsq`` solves least squares through TSQR."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array
from brickwork.array.creation import zeros
from brickwork.array.linalg._common import as_float, check_2d, check_square, float_dtype, whole
from brickwork.array.linalg._qr import tsqr

__all__ = ["cholesky", "inv", "lstsq", "lu", "solve", "solve_triangular"]


def _rhs(a: Array, b: Array, what: str) -> tuple[Array, bool]:
    """``b`` as a 2-d right-hand side with ``a``'s rows, and whether it was 1-d."""
    if b.ndim == 0 or b.ndim > 2:
        raise NotImplementedError(f"{what}: b must be 1- or 2-dimensional")
    if b.shape[0] != a.shape[0]:
        raise ValueError(
            f"{what}: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (m,m),(m,n)->(m,n) (size {b.shape[0]} is different from {a.shape[0]})"
        )
    return (b[:, None], True) if b.ndim == 1 else (b, False)


@implements(np.linalg.solve)
def solve(a: Any, b: Any, sym_pos: Any = None, assume_a: str = "gen") -> Array:
    """The solution ``x`` of ``a @ x = b``, as ``numpy.linalg.solve`` (and
    ``dask.array.linalg.solve``).

    ``a`` and ``b`` are gathered into one chunk and solved by NumPy (LU with partial
    pivoting; Cholesky for ``assume_a="pos"``), so ``a`` must fit in memory. The result
    has ``b``'s chunks.

    Parameters
    ----------
    a : Array or array_like
        ``(M, M)``.
    b : Array or array_like
        ``(M,)`` or ``(M, K)``.
    sym_pos : bool, optional
        Deprecated spelling of ``assume_a="pos"``.
    assume_a : {"gen", "pos"}
        ``"pos"``: ``a`` is symmetric positive definite.

    Returns
    -------
    Array
        Shaped like ``b``; float32 if both are float32, else float64.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not 2-d and square (at build time), or singular (not positive
        definite for ``"pos"``) at compute time.
    ValueError
        If ``b``'s length differs from ``a``'s, or for an unknown ``assume_a``.
    """
    if sym_pos:
        assume_a = "pos"
    if assume_a not in ("gen", "pos"):
        raise ValueError(
            f"assume_a = {assume_a!r} is not a recognized matrix structure, valid "
            "structures are 'pos' and 'gen'."
        )
    x, y = as_array(a), as_array(b)
    check_square(x, "solve")
    y2, vector = _rhs(x, y, "solve")
    dtype = float_dtype(x.dtype, y.dtype)
    n, k = y2.shape

    def gen(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        return np.linalg.solve(ab, bb)

    def pos(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        low = np.linalg.cholesky(ab)
        return np.linalg.solve(low.T, np.linalg.solve(low, bb))

    func = gen if assume_a == "gen" else pos
    out = whole(func, [as_float(x, dtype), as_float(y2, dtype)], (n, k), dtype, "solve")
    out = out[:, 0] if vector else out
    return out.rechunk(y.chunks)


@implements(np.linalg.inv)
def inv(a: Any) -> Array:
    """The inverse of a square matrix, as ``numpy.linalg.inv``, computed by NumPy on the
    matrix gathered into one chunk (it must fit in memory); the result has ``a``'s
    chunks.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not 2-d and square (at build time) or is singular (at compute
        time).
    """
    x = as_array(a)
    check_square(x, "inv")
    dtype = float_dtype(x.dtype)
    return whole(np.linalg.inv, [as_float(x, dtype)], x.shape, dtype, "inv").rechunk(x.chunks)


def cholesky(a: Any, lower: bool = False) -> Array:
    """The Cholesky factor of a symmetric positive-definite matrix, as
    ``dask.array.linalg.cholesky``: **upper** triangular ``u`` with ``a = u.T @ u`` by
    default (``numpy.linalg.cholesky`` returns the lower factor: pass ``lower=True``;
    ``np.linalg.cholesky(x)`` on a brickwork array returns the lower one, as NumPy).

    Computed by NumPy on the matrix gathered into one chunk (it must fit in memory);
    the result has ``a``'s chunks. Only the lower triangle of ``a`` is read.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not 2-d and square (at build time) or not positive definite (at
        compute time).
    """
    x = as_array(a)
    check_square(x, "cholesky")
    dtype = float_dtype(x.dtype)

    def factor(b: np.ndarray) -> np.ndarray:
        low = np.linalg.cholesky(b)
        return low if lower else low.T

    out = whole(factor, [as_float(x, dtype)], x.shape, dtype, "cholesky")
    return out.rechunk(x.chunks)


def _numpy_cholesky(a: Any, upper: bool = False) -> Array:
    return cholesky(a, lower=not upper)


implements(np.linalg.cholesky, adapt=False)(_numpy_cholesky)


def _lu_factor(a: np.ndarray) -> np.ndarray:
    """``[p | l | u]`` side by side with ``a = p @ l @ u`` (partial pivoting, as
    ``scipy.linalg.lu``)."""
    n = a.shape[0]
    u = a.astype(a.dtype, copy=True)
    low = np.eye(n, dtype=a.dtype)
    perm = np.arange(n)
    for k in range(n - 1):
        piv = k + int(np.argmax(np.abs(u[k:, k])))
        if piv != k:
            u[[k, piv]] = u[[piv, k]]
            perm[[k, piv]] = perm[[piv, k]]
            low[[k, piv], :k] = low[[piv, k], :k]
        if u[k, k] != 0:
            f = u[k + 1 :, k] / u[k, k]
            low[k + 1 :, k] = f
            u[k + 1 :, k:] -= np.outer(f, u[k, k:])
        u[k + 1 :, k] = 0
    p = np.zeros((n, n), dtype=a.dtype)
    p[perm, np.arange(n)] = 1
    return np.concatenate([p, low, u], axis=1)


def lu(a: Any) -> tuple[Array, Array, Array]:
    """The LU decomposition with partial pivoting, ``a = p @ l @ u``, as
    ``dask.array.linalg.lu`` (``scipy.linalg.lu``'s convention): ``p`` a permutation
    matrix, ``l`` unit lower triangular, ``u`` upper triangular.

    Computed on the matrix gathered into one chunk (it must fit in memory) by a NumPy
    loop over the columns (``n`` vectorised rank-one updates); the factors have ``a``'s
    chunks.

    Raises
    ------
    ValueError
        If ``a`` is not 2-d and square.
    """
    x = as_array(a)
    if x.ndim != 2:
        raise ValueError("Dimension must be 2 to perform lu decomposition")
    if x.shape[0] != x.shape[1]:
        raise ValueError("Input must be a square matrix to perform lu decomposition")
    n = x.shape[0]
    dtype = float_dtype(x.dtype)
    packed = whole(_lu_factor, [as_float(x, dtype)], (n, 3 * n), dtype, "lu")
    return tuple(packed[:, i * n : (i + 1) * n].rechunk(x.chunks) for i in range(3))  # type: ignore[return-value]


def solve_triangular(a: Any, b: Any, lower: bool = False) -> Array:
    """The solution of ``a @ x = b`` for triangular ``a``, as
    ``dask.array.linalg.solve_triangular``: only the upper (or with ``lower=True``
    the lower) triangle of ``a`` is read. Solved by NumPy on ``a`` and ``b`` gathered
    into one chunk; the result has ``b``'s chunks.

    Raises
    ------
    ValueError
        If ``a`` is not 2-d and square, or ``b``'s length differs.
    """
    x, y = as_array(a), as_array(b)
    if x.ndim != 2:
        raise ValueError("a must be 2 dimensional")
    if x.shape[0] != x.shape[1]:
        raise ValueError("a must be a square matrix")
    if y.ndim not in (1, 2):
        raise ValueError("b must be 1 or 2 dimensional")
    if x.shape[1] != y.shape[0]:
        raise ValueError("a.shape[1] and b.shape[0] must be equal")
    y2, vector = _rhs(x, y, "solve_triangular")
    dtype = float_dtype(x.dtype, y.dtype)

    def tri(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        t = np.tril(ab) if lower else np.triu(ab)
        return np.linalg.solve(t, bb)

    out = whole(tri, [as_float(x, dtype), as_float(y2, dtype)], y2.shape, dtype, "solve")
    return (out[:, 0] if vector else out).rechunk(y.chunks)


@implements(np.linalg.lstsq)
def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Array, Array, Array, Array]:
    """The least-squares solution of ``a @ x = b``, as ``numpy.linalg.lstsq`` (and
    ``dask.array.linalg.lstsq``).

    For ``M >= N`` ``a`` is factored by TSQR (rechunked, for free, into one chunk along
    its columns), and NumPy's ``lstsq`` solves the small system ``r @ x = q.T @ b``
    with ``a``'s cutoff, so rank-deficient ``a`` gets NumPy's minimum-norm solution.
    For ``M < N`` ``a`` and ``b`` are gathered into one chunk for NumPy.

    Parameters
    ----------
    a : Array or array_like
        ``(M, N)``.
    b : Array or array_like
        ``(M,)`` or ``(M, K)``.
    rcond : float, optional
        Singular values at most ``rcond`` times the largest count as zero; default
        ``eps * max(M, N)`` (NumPy's).

    Returns
    -------
    x : Array
        ``(N,)`` or ``(N, K)``.
    residuals : Array
        The squared 2-norm of ``b - a @ x`` per column: ``(1,)`` for 1-d ``b``,
        ``(K,)`` otherwise, and ``(0,)`` when ``M <= N`` (as NumPy). Unlike NumPy (which
        returns an empty array then) it is also computed when ``a`` is rank deficient:
        a lazy array's shape cannot depend on its values.
    rank : Array
        0-d int64.
    s : Array
        ``(min(M, N),)``, the singular values of ``a``.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``a`` is not 2-d, or ``b``'s length differs (``"Incompatible dimensions"``).
    """
    x, y = as_array(a), as_array(b)
    check_2d(x, "lstsq")
    if y.ndim not in (1, 2):
        raise np.linalg.LinAlgError(f"{y.ndim}-dimensional array given for b")
    if y.shape[0] != x.shape[0]:
        raise np.linalg.LinAlgError("Incompatible dimensions")
    m, n = x.shape
    dtype = float_dtype(x.dtype, y.dtype)
    y2 = y[:, None] if y.ndim == 1 else y
    k = y2.shape[1]
    cut = float(np.finfo(dtype).eps * max(m, n)) if rcond is None else float(rcond)
    xf, yf = as_float(x, dtype), as_float(y2, dtype)
    p = min(m, n)

    def small(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        sol, _, rank, s = np.linalg.lstsq(ab, bb, rcond=cut)
        out = np.zeros((n, k + 2), dtype=ab.dtype)
        out[:, :k] = sol
        out[:p, k] = s
        out[:, k + 1] = rank
        return out

    if m == 0 or n == 0:
        packed = zeros((n, k + 2), dtype=dtype, chunks=-1)
    elif m >= n:
        q, r = tsqr(xf.rechunk({1: -1}))
        packed = whole(small, [r, q.T @ yf], (n, k + 2), dtype, "lstsq")
    else:
        packed = whole(small, [xf, yf], (n, k + 2), dtype, "lstsq")
    sol = packed[:, :k]
    s = packed[:p, k]
    rank = packed[0, k + 1].astype(np.int64) if n else zeros((), dtype=np.int64)
    if m > n:
        resid = yf - xf @ sol
        residuals = (resid * resid).sum(axis=0)
    else:
        residuals = zeros((0,), dtype=dtype, chunks=-1)
    if y.ndim == 1:
        sol = sol[:, 0]
    return sol, residuals, rank, s
