"""The ``linalg`` extension of the Array API (``xp.linalg``), and the linear algebra
functions of the main namespace (``matmul``, ``matrix_transpose``, ``tensordot``,
``vecdot``).

Products, ``trace``, ``vector_norm``, ``outer`` and ``vecdot`` are composed lazily from
``brickwork.array``'s operations (the engine's GEMM, fused elementwise products and
tree reductions). The per-matrix functions (``cholesky``, ``det``, ``eigh``, ``inv``,
``qr``, ``solve``, ``svd``, …) run ``numpy.linalg`` on each block of a stack of
matrices through ``apply_gufunc``: the last two axes are gathered into one chunk (a free
view), so each task holds whole matrices, while the stack axes keep their chunks and run
in parallel. Their results are NumPy's. Integer input computes in float64, as NumPy.
"""

from __future__ import annotations

import math
import operator
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

import brickwork.array as da
from brickwork.array.core import Array, as_array
from brickwork.array.gufuncs import apply_gufunc
from brickwork.array.linalg import matmul
from brickwork.array.linalg._contractions import tensordot

__all__ = [
    "EighResult",
    "QRResult",
    "SVDResult",
    "SlogdetResult",
    "cholesky",
    "cross",
    "det",
    "diagonal",
    "eigh",
    "eigvalsh",
    "inv",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "outer",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "tensordot",
    "trace",
    "vecdot",
    "vector_norm",
]


class EighResult(NamedTuple):
    """The result of ``eigh``."""

    eigenvalues: Array
    eigenvectors: Array


class QRResult(NamedTuple):
    """The result of ``qr``."""

    Q: Array
    R: Array


class SlogdetResult(NamedTuple):
    """The result of ``slogdet``."""

    sign: Array
    logabsdet: Array


class SVDResult(NamedTuple):
    """The result of ``svd``."""

    U: Array
    S: Array
    Vh: Array


def _matrices(x: Any, what: str, square: bool = False) -> Array:
    """``x`` as an Array of (stacks of) matrices, in float64 unless it is float."""
    arr = _check_matrices(as_array(x), what, square)
    return arr if arr.dtype.kind == "f" else arr.astype(np.float64)


def _check_matrices(arr: Array, what: str, square: bool) -> Array:
    """Return ``arr`` if it is a (stack of) matrices, square ones with ``square``.

    Raises
    ------
    numpy.linalg.LinAlgError
        (a ValueError) for fewer than two dimensions or, with ``square``, matrices that
        are not square.
    """
    if arr.ndim < 2:
        raise np.linalg.LinAlgError(
            f"{what}: {arr.ndim}-dimensional array given; it must be at least two-dimensional"
        )
    if square and arr.shape[-1] != arr.shape[-2]:
        raise np.linalg.LinAlgError(
            f"{what}: the last two dimensions must be square, got shape {arr.shape}"
        )
    return arr


def _per_matrix(func: Any, signature: str, *args: Any, dtypes: Any, **kwargs: Any) -> Any:
    """``apply_gufunc`` of a ``numpy.linalg`` function, gathering the core axes (their
    labels are distinct: squareness is checked by ``_matrices``)."""
    return apply_gufunc(func, signature, *args, output_dtypes=dtypes, allow_rechunk=True, **kwargs)


# --------------------------------------------------------------------------- products


def matrix_transpose(x: Any, /) -> Array:
    """Each matrix of ``x`` transposed (the last two axes swapped; a view).

    Raises
    ------
    ValueError
        For fewer than two dimensions.
    """
    arr = as_array(x)
    if arr.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions, got {arr.ndim}")
    return da.swapaxes(arr, -1, -2)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Array:
    """The dot product of the vectors along ``axis`` of the broadcast ``x1`` and ``x2``
    (``sum(x1 * x2, axis)`` in the promoted dtype; "any both true" for bools).

    Raises
    ------
    ValueError
        If the two axes differ in length (the contracted axis does not broadcast).
    numpy.exceptions.AxisError
        If ``axis`` is out of range.
    """
    a, b = as_array(x1), as_array(x2)
    ndim = max(a.ndim, b.ndim)
    ax = normalize_axis_index(operator.index(axis), ndim)
    shape_a = (1,) * (ndim - a.ndim) + a.shape
    shape_b = (1,) * (ndim - b.ndim) + b.shape
    if shape_a[ax] != shape_b[ax]:
        raise ValueError(
            f"x1 and x2 must have the same length along axis {axis}: {shape_a[ax]} != {shape_b[ax]}"
        )
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype == np.bool_:
        return (a & b).any(axis=ax - ndim)
    return (a.astype(dtype) * b.astype(dtype)).sum(axis=ax - ndim, dtype=dtype)


def outer(x1: Any, x2: Any, /) -> Array:
    """The outer product of two 1-d arrays, of shape ``(len(x1), len(x2))``.

    Raises
    ------
    ValueError
        If an input is not 1-d.
    """
    a, b = as_array(x1), as_array(x2)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"outer takes 1-d arrays, got shapes {a.shape} and {b.shape}")
    return da.outer(a, b)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Array:
    """The sum of the ``offset``-th diagonal of each matrix (the last two axes), in
    ``sum``'s dtype (int64 / uint64 for smaller integers) unless ``dtype`` is given.

    Lazy and without gathering: the elements off the diagonal are masked to zero and
    the matrices summed by a tree reduction.

    Raises
    ------
    ValueError
        For fewer than two dimensions.
    """
    arr = as_array(x)
    if arr.ndim < 2:
        raise ValueError(f"trace needs at least 2 dimensions, got {arr.ndim}")
    k = operator.index(offset)
    i = da.arange(arr.shape[-2], chunks=(arr.chunks[-2],))[:, None]
    j = da.arange(arr.shape[-1], chunks=(arr.chunks[-1],))[None, :]
    zero = np.zeros((), arr.dtype)
    on_diagonal = da.where((j - i) == k, arr, da.asarray(zero))
    return on_diagonal.sum(axis=(-2, -1), dtype=dtype)


def vector_norm(
    x: Any,
    /,
    *,
    axis: Any = None,
    keepdims: bool = False,
    ord: Any = 2,  # noqa: A002 - the standard's name
) -> Array:
    """The vector ``ord``-norm over ``axis`` (all axes for None; an int or a tuple), as
    ``numpy.linalg.vector_norm``: ``inf`` / ``-inf`` take the largest / smallest
    absolute value, ``0`` counts the nonzero elements, other orders are
    ``sum(abs(x)**ord)**(1/ord)``. Lazy (tree reductions); integers in float64.

    Raises
    ------
    ValueError
        For a non-numeric ``ord``.
    """
    arr = as_array(x)
    if isinstance(ord, bool) or not isinstance(ord, int | float):
        raise ValueError(f"Invalid norm order {ord!r} for vectors")
    arr = arr if arr.dtype.kind == "f" else arr.astype(np.float64)
    size = abs(arr)
    if ord == math.inf:
        return size.max(axis=axis, keepdims=keepdims)
    if ord == -math.inf:
        return size.min(axis=axis, keepdims=keepdims)
    if ord == 0:
        return (arr != 0).sum(axis=axis, keepdims=keepdims, dtype=arr.dtype)
    if ord == 1:
        return size.sum(axis=axis, keepdims=keepdims)
    if ord == 2:
        return da.sqrt((arr * arr).sum(axis=axis, keepdims=keepdims))
    return (size**ord).sum(axis=axis, keepdims=keepdims) ** (1.0 / ord)


# --------------------------------------------------------------------------- per matrix


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.cross(a, b)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Array:
    """The cross product of the 3-vectors along ``axis`` of ``x1`` and ``x2`` (the other
    axes broadcast), as ``numpy.linalg.cross``.

    Raises
    ------
    ValueError
        If the axis does not have length 3 in both.
    """
    a, b = as_array(x1), as_array(x2)
    ax_a = normalize_axis_index(operator.index(axis), a.ndim)
    ax_b = normalize_axis_index(operator.index(axis), b.ndim)
    if a.shape[ax_a] != 3 or b.shape[ax_b] != 3:
        raise ValueError(
            f"cross needs vectors of length 3 along axis {axis}, got shapes {a.shape} and {b.shape}"
        )
    ndim = max(a.ndim, b.ndim)
    out_axis = normalize_axis_index(operator.index(axis), ndim)
    dtype = np.result_type(a.dtype, b.dtype)
    return _per_matrix(
        _cross, "(i),(i)->(i)", a, b, dtypes=dtype, axes=[(ax_a,), (ax_b,), (out_axis,)]
    )


def cholesky(x: Any, /, *, upper: bool = False) -> Array:
    """The Cholesky factor of each symmetric positive-definite matrix: lower
    triangular, or upper with ``upper=True``. A matrix that is not positive definite
    raises ``numpy.linalg.LinAlgError`` at compute time."""
    arr = _matrices(x, "cholesky", square=True)
    return _per_matrix(np.linalg.cholesky, "(m,n)->(m,n)", arr, dtypes=arr.dtype, upper=bool(upper))


def det(x: Any, /) -> Array:
    """The determinant of each square matrix."""
    arr = _matrices(x, "det", square=True)
    return _per_matrix(np.linalg.det, "(m,n)->()", arr, dtypes=arr.dtype)


def _diagonal(b: np.ndarray, offset: int) -> np.ndarray:
    return np.diagonal(b, offset, -2, -1)


def diagonal(x: Any, /, *, offset: int = 0) -> Array:
    """The ``offset``-th diagonal of each matrix (the last two axes), as a new last
    axis.

    Raises
    ------
    ValueError
        For fewer than two dimensions.
    """
    arr = as_array(x)
    if arr.ndim < 2:
        raise ValueError(f"diagonal needs at least 2 dimensions, got {arr.ndim}")
    k = operator.index(offset)
    rows, cols = arr.shape[-2:]
    length = max(0, min(rows, cols - k) if k >= 0 else min(rows + k, cols))
    return _per_matrix(
        _diagonal, "(m,n)->(k)", arr, dtypes=arr.dtype, output_sizes={"k": length}, offset=k
    )


def eigh(x: Any, /) -> EighResult:
    """The eigenvalues (ascending) and eigenvectors (columns) of each symmetric
    matrix (its lower triangle is used)."""
    arr = _matrices(x, "eigh", square=True)
    values, vectors = _per_matrix(
        np.linalg.eigh, "(m,n)->(m),(m,n)", arr, dtypes=(arr.dtype, arr.dtype)
    )
    return EighResult(values, vectors)


def eigvalsh(x: Any, /) -> Array:
    """The eigenvalues (ascending) of each symmetric matrix."""
    arr = _matrices(x, "eigvalsh", square=True)
    return _per_matrix(np.linalg.eigvalsh, "(m,n)->(m)", arr, dtypes=arr.dtype)


def inv(x: Any, /) -> Array:
    """The inverse of each square matrix; a singular one raises
    ``numpy.linalg.LinAlgError`` at compute time."""
    arr = _matrices(x, "inv", square=True)
    return _per_matrix(np.linalg.inv, "(m,n)->(m,n)", arr, dtypes=arr.dtype)


_MATRIX_ORDERS = ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _matrix_norm(b: np.ndarray, order: Any) -> np.ndarray:
    return np.linalg.matrix_norm(b, ord=order)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Array:  # noqa: A002
    """The ``ord``-norm of each matrix (``"fro"``, ``"nuc"``, 1, -1, 2, -2, ``inf``,
    ``-inf``), as ``numpy.linalg.matrix_norm``.

    Raises
    ------
    ValueError
        For another ``ord``.
    """
    if isinstance(ord, bool) or ord not in _MATRIX_ORDERS:
        raise ValueError(f"Invalid norm order {ord!r} for matrices")
    arr = _matrices(x, "matrix_norm")
    out = _per_matrix(_matrix_norm, "(m,n)->()", arr, dtypes=arr.dtype, order=ord)
    return out[..., None, None] if keepdims else out


def _matrix_power(b: np.ndarray, n: int) -> np.ndarray:
    return np.linalg.matrix_power(b, n)


def matrix_power(x: Any, n: int, /) -> Array:
    """Each square matrix raised to the integer power ``n`` (the inverse's ``-n``-th
    power for negative ``n``; identities for 0). Integer matrices stay integer for
    ``n >= 0``, as in NumPy."""
    power = operator.index(n)
    arr = _check_matrices(as_array(x), "matrix_power", square=True)
    if arr.dtype.kind != "f" and power < 0:
        arr = arr.astype(np.float64)
    return _per_matrix(_matrix_power, "(m,n)->(m,n)", arr, dtypes=arr.dtype, n=power)


def _with_rtol(func: Any, signature: str, arr: Array, rtol: Any, dtype: Any) -> Array:
    """``func(matrices, rtol=...)``; an array ``rtol`` broadcasts against the stack."""
    if rtol is None or np.ndim(rtol) == 0 and not isinstance(rtol, Array):
        return _per_matrix(func, signature, arr, dtypes=dtype, rtol=rtol)
    core, out = signature.split("->")
    return _per_matrix(func, f"{core},()->{out}", arr, as_array(rtol), dtypes=dtype)


def _rank(b: np.ndarray, rtol: Any = None) -> np.ndarray:
    return np.asarray(np.linalg.matrix_rank(b, rtol=rtol), dtype=np.int64)


def matrix_rank(x: Any, /, *, rtol: Any = None) -> Array:
    """The rank (int64) of each matrix: its number of singular values above
    ``rtol * largest`` (default ``max(M, N) * eps``), as ``numpy.linalg.matrix_rank``."""
    arr = _matrices(x, "matrix_rank")
    return _with_rtol(_rank, "(m,n)->()", arr, rtol, np.int64)


def _pinv(b: np.ndarray, rtol: Any = None) -> np.ndarray:
    return np.linalg.pinv(b, rtol=rtol)


def pinv(x: Any, /, *, rtol: Any = None) -> Array:
    """The Moore-Penrose pseudo-inverse of each matrix (singular values below
    ``rtol * largest`` treated as zero), as ``numpy.linalg.pinv``."""
    arr = _matrices(x, "pinv")
    return _with_rtol(_pinv, "(m,n)->(n,m)", arr, rtol, arr.dtype)


def _qr(b: np.ndarray, mode: str) -> Any:
    return tuple(np.linalg.qr(b, mode=mode))


def qr(x: Any, /, *, mode: str = "reduced") -> QRResult:
    """The QR decomposition of each matrix: ``Q`` with orthonormal columns and upper
    triangular ``R``; ``"reduced"`` gives ``(M, K)`` and ``(K, N)`` with
    ``K = min(M, N)``, ``"complete"`` ``(M, M)`` and ``(M, N)``.

    Raises
    ------
    ValueError
        For another ``mode``.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"mode must be 'reduced' or 'complete', got {mode!r}")
    arr = _matrices(x, "qr")
    m, n = arr.shape[-2:]
    signature = "(m,n)->(m,k),(k,n)" if mode == "reduced" else "(m,n)->(m,j),(m,n)"
    q, r = _per_matrix(
        _qr,
        signature,
        arr,
        dtypes=(arr.dtype, arr.dtype),
        output_sizes={"k": min(m, n), "j": m},
        mode=mode,
    )
    return QRResult(q, r)


def _slogdet(b: np.ndarray) -> Any:
    return tuple(np.linalg.slogdet(b))


def slogdet(x: Any, /) -> SlogdetResult:
    """The sign and the natural log of the absolute value of each determinant (sign 0
    and log ``-inf`` for singular matrices)."""
    arr = _matrices(x, "slogdet", square=True)
    sign, logabsdet = _per_matrix(_slogdet, "(m,n)->(),()", arr, dtypes=(arr.dtype, arr.dtype))
    return SlogdetResult(sign, logabsdet)


def solve(x1: Any, x2: Any, /) -> Array:
    """The solution ``X`` of ``x1 @ X = x2`` for each square matrix of ``x1``; a 1-d
    ``x2`` is one right-hand side vector, otherwise ``x2`` is a (stack of) ``(M, K)``
    matrices whose stack axes broadcast with ``x1``'s.

    Raises
    ------
    ValueError
        If the lengths do not match.
    """
    a = _matrices(x1, "solve", square=True)
    b = as_array(x2)
    dtype = np.result_type(a.dtype, b.dtype)
    vector = b.ndim == 1
    if b.ndim == 0 or b.shape[0 if vector else -2] != a.shape[-1]:
        raise ValueError(f"solve: x2 of shape {b.shape} does not match x1 of shape {a.shape}")
    signature = "(m,n),(m)->(m)" if vector else "(m,n),(m,k)->(m,k)"
    return _per_matrix(np.linalg.solve, signature, a.astype(dtype), b.astype(dtype), dtypes=dtype)


def _svd(b: np.ndarray, full_matrices: bool) -> Any:
    return tuple(np.linalg.svd(b, full_matrices=full_matrices))


def svd(x: Any, /, *, full_matrices: bool = True) -> SVDResult:
    """The singular value decomposition ``U @ diag(S) @ Vh`` of each matrix, singular
    values descending; ``full_matrices`` gives square ``U`` and ``Vh``."""
    arr = _matrices(x, "svd")
    m, n = arr.shape[-2:]
    signature = "(m,n)->(m,i),(k),(j,n)" if full_matrices else "(m,n)->(m,k),(k),(k,n)"
    u, s, vh = _per_matrix(
        _svd,
        signature,
        arr,
        dtypes=(arr.dtype,) * 3,
        output_sizes={"k": min(m, n), "i": m, "j": n},
        full_matrices=bool(full_matrices),
    )
    return SVDResult(u, s, vh)


def svdvals(x: Any, /) -> Array:
    """The singular values of each matrix, descending."""
    arr = _matrices(x, "svdvals")
    m, n = arr.shape[-2:]
    return _per_matrix(
        np.linalg.svdvals, "(m,n)->(k)", arr, dtypes=arr.dtype, output_sizes={"k": min(m, n)}
    )
