"""Decompositions, solvers and norms: the ``brickwork.array.linalg`` namespace (as
``dask.array.linalg``).

QR and SVD of arrays cut along one axis only are chunk-aware (TSQR: a QR per block, a
QR of the stacked R factors, and the Q factors multiplied back block by block), and
``svd_compressed`` is the randomized SVD of Halko et al. on top of them. Square solvers
(``solve``, ``inv``, ``cholesky``, ``lu``, ``solve_triangular``) gather the matrix into
one chunk and call NumPy there: the matrix must fit in memory (Dask runs a blocked LU
instead). Every function is lazy: it builds an expression and computes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import zeros
from brickwork.array.joining import concatenate

__all__ = [
    "cholesky",
    "compression_level",
    "compression_matrix",
    "inv",
    "lstsq",
    "lu",
    "norm",
    "qr",
    "sfqr",
    "solve",
    "solve_triangular",
    "svd",
    "svd_compressed",
    "tsqr",
]


def _float_dtype(*dtypes: Any) -> np.dtype:
    """NumPy's linalg computation dtype: float32 if every input is float32, else
    float64 (integers and bools are computed in float64)."""
    if all(np.dtype(d) == np.float32 for d in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _as_float(a: Array, dtype: np.dtype | None = None) -> Array:
    dtype = _float_dtype(a.dtype) if dtype is None else dtype
    return a if a.dtype == dtype else a.astype(dtype)


def _offsets(sizes: Sequence[int]) -> list[int]:
    out = [0]
    for s in sizes:
        out.append(out[-1] + s)
    return out


def _whole(
    func: Callable[..., np.ndarray],
    arrays: Sequence[Array],
    out_shape: tuple[int, int],
    dtype: np.dtype,
    name: str,
) -> Array:
    """``func(*blocks)`` on 2-d arrays with the same number of rows, each gathered whole
    (side by side in one chunk), as a one-chunk Array of ``out_shape``."""
    widths = [a.shape[1] for a in arrays]
    packed = arrays[0] if len(arrays) == 1 else concatenate(list(arrays), axis=1)
    packed = packed.rechunk(-1)
    cuts = _offsets(widths)[1:-1]

    def block(b: np.ndarray) -> np.ndarray:
        pieces = np.split(b, cuts, axis=1) if cuts else [b]
        return np.ascontiguousarray(func(*pieces), dtype=dtype)

    block.__name__ = name
    return map_blocks(block, packed, chunks=((out_shape[0],), (out_shape[1],)), dtype=dtype)


def _check_2d(a: Array, what: str) -> None:
    if a.ndim < 2:
        raise np.linalg.LinAlgError(
            f"{a.ndim}-dimensional array given. Array must be at least two-dimensional"
        )
    if a.ndim > 2:
        raise NotImplementedError(f"{what} of stacks of matrices (ndim > 2) is not supported")


def _check_square(a: Array, what: str) -> None:
    _check_2d(a, what)
    if a.shape[0] != a.shape[1]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")


# ---------------------------------------------------------------------------------
# QR


def _qr_block(b: np.ndarray) -> np.ndarray:
    """The reduced QR of one block, stacked: rows ``[:m]`` hold Q (zero-padded to the
    block's width), rows ``[m:]`` hold R."""
    m, n = b.shape
    q, r = np.linalg.qr(b)
    out = np.zeros((m + r.shape[0], n), dtype=b.dtype)
    out[:m, : q.shape[1]] = q
    out[m:] = r
    return out


def _tsqr(a: Array) -> tuple[Array, Array]:
    """TSQR of a float array with one chunk along its columns (Benson, Gleich and
    Demmel): Q with ``a``'s row chunks and ``min(m, n)`` columns, and R in one chunk.

    Every stage is a ``map_blocks`` with as many blocks as ``a`` has (output chunks may
    differ from the input's), so no stage concatenates per-block pieces:

    1. ``b``: block i is ``[Q1_i; R_i]`` (``m_i + k_i`` rows, ``k_i = min(m_i, n)``);
    2. the stacked R factors: block i of ``b`` cut to its last ``k_i`` rows;
    3. ``q2, r = tsqr(stacked R)``: one QR, or recursively TSQR again;
    4. ``q2`` spread into ``b``'s chunks (block i holds ``Q2_i`` in its last ``k_i`` rows);
    5. ``Q_i = Q1_i @ Q2_i`` from matching blocks of ``b`` and of the spread ``q2``.
    """
    m, n = a.shape
    rows = a.chunks[0]
    dtype = a.dtype
    ks = tuple(min(r, n) for r in rows)
    stacked = tuple(r + k for r, k in zip(rows, ks))
    b = map_blocks(_qr_block, a, chunks=(stacked, (n,)), dtype=dtype, name="qr")
    if len(rows) == 1:
        return b[:m, : ks[0]], b[m:, :]

    def r_factor(blk: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        return blk[rows[block_id[0]] :]

    r_stack = map_blocks(r_factor, b, chunks=(ks, (n,)), dtype=dtype, name="qr")
    total = sum(ks)
    height = max(max(rows), 2 * n)
    # Recursion keeps the single QR of the stacked R factors no taller than a block.
    if total > height and len(rows) > 2:
        q2, r_final = _tsqr(r_stack.rechunk((height, n)))
    else:
        q2, r_final = _tsqr(r_stack.rechunk((total, n)))
    p = q2.shape[1]

    def spread(q2blk: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        i = block_id[0]
        out = np.zeros((stacked[i], n), dtype=dtype)
        out[rows[i] :, :p] = q2blk
        return out

    q2_spread = map_blocks(spread, q2.rechunk((ks, p)), chunks=(stacked, (n,)), dtype=dtype)

    def multiply_back(blk: np.ndarray, q2blk: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        r, k = rows[block_id[0]], ks[block_id[0]]
        return blk[:r, :k] @ q2blk[r:, :p]

    q = map_blocks(multiply_back, b, q2_spread, chunks=(rows, (p,)), dtype=dtype, name="qr")
    return q, r_final


def _empty_qr(m: int, n: int, dtype: np.dtype) -> tuple[Array, Array]:
    p = min(m, n)
    return zeros((m, p), dtype=dtype, chunks=-1), zeros((p, n), dtype=dtype, chunks=-1)


def _svd_of_r(q: Array, r: Array) -> tuple[Array, Array, Array]:
    """The SVD of ``q @ r`` from the SVD of the small factor ``r`` (one chunk)."""
    p, n = r.shape
    dtype = r.dtype

    def small_svd(rb: np.ndarray) -> np.ndarray:
        u, s, vh = np.linalg.svd(rb, full_matrices=False)
        out = np.zeros((2 * p + 1, n), dtype=rb.dtype)
        out[:p, :p] = u
        out[p, :p] = s
        out[p + 1 :] = vh
        return out

    packed = _whole(small_svd, [r], (2 * p + 1, n), dtype, "svd")
    return q @ packed[:p, :p], packed[p, :p], packed[p + 1 :, :]


def tsqr(data: Any, compute_svd: bool = False, _max_vchunk_size: Any = None) -> tuple[Array, ...]:
    """Direct tall-and-skinny QR (Benson, Gleich and Demmel, 2013), as
    ``dask.array.linalg.tsqr``.

    Each block of rows is factored with ``numpy.linalg.qr``; the R factors are stacked
    and factored again (recursively, so that no single QR is taller than the tallest
    block or ``2 * n`` rows), and each block's Q is multiplied by its rows of the
    second Q. Blocks shorter than ``n`` (chunks of one row included) contribute R
    factors of their own height.

    Parameters
    ----------
    data : Array
        2-d, with one chunk along the columns.
    compute_svd : bool
        Return ``(u, s, vh)`` (the SVD, from the SVD of R) instead of ``(q, r)``.

    Returns
    -------
    q, r : Array
        ``q`` of shape ``(m, min(m, n))`` with ``data``'s row chunks, orthonormal
        columns; ``r`` of shape ``(min(m, n), n)``, upper triangular, one chunk. The
        signs of R's diagonal may differ from NumPy's.
    u, s, vh : Array
        With ``compute_svd=True``: the reduced SVD.

    Raises
    ------
    ValueError
        If ``data`` is not 2-d or has more than one chunk along its columns.
    """
    a = as_array(data)
    if a.ndim != 2 or a.numblocks[1] != 1:
        raise ValueError(
            "Input must have the following properties:\n"
            "  1. Have two dimensions\n"
            "  2. Have only one column of blocks\n\n"
            "Note: This function (tsqr) supports QR decomposition in the case of\n"
            "tall-and-skinny matrices (single column chunk/block; see qr)\n"
            f"Current shape: {a.shape},\nCurrent chunksize: {a.chunksize}"
        )
    a = _as_float(a)
    m, n = a.shape
    q, r = _empty_qr(m, n, a.dtype) if m == 0 or n == 0 else _tsqr(a)
    if compute_svd:
        return _svd_of_r(q, r)
    return q, r


def sfqr(data: Any, name: str | None = None) -> tuple[Array, Array]:
    """Short-and-fat QR, as ``dask.array.linalg.sfqr``, for arrays with one chunk along
    the rows.

    The first ``min(m, n)`` columns are factored in one chunk (``Q R1 = A1``); the
    rest of R is ``Q.T @ A2``, chunked like ``data``'s columns. (Dask also requires the
    first column chunk to be at least as wide as the rows are many; here any column
    chunking works, as the first columns are read across chunk boundaries.)

    Returns
    -------
    q : Array
        ``(m, min(m, n))``, one chunk.
    r : Array
        ``(min(m, n), n)``, upper triangular.

    Raises
    ------
    ValueError
        If ``data`` is not 2-d or has more than one chunk along its rows.
    """
    a = as_array(data)
    if a.ndim != 2 or a.numblocks[0] != 1:
        raise ValueError(
            "Input must have the following properties:\n"
            "  1. Have two dimensions\n"
            "  2. Have only one row of blocks\n\n"
            "Note: This function (sfqr) supports QR decomposition in the case\n"
            "of short-and-fat matrices (single row chunk/block; see qr)"
        )
    a = _as_float(a)
    m, n = a.shape
    if m == 0 or n == 0:
        return _empty_qr(m, n, a.dtype)
    p = min(m, n)
    first = a[:, :p].rechunk(-1)
    b = map_blocks(_qr_block, first, chunks=((m + p,), (p,)), dtype=a.dtype, name="qr")
    q, r1 = b[:m, :], b[m:, :]
    if n == p:
        return q, r1
    return q, concatenate([r1, q.T @ a[:, p:]], axis=1)


@implements(np.linalg.qr)
def qr(a: Any) -> tuple[Array, Array]:
    """The reduced QR factorization ``a = q @ r``, as ``dask.array.linalg.qr``.

    Arrays cut along the rows only (one column chunk, several row chunks) use TSQR
    (``tsqr``); arrays with one row chunk use ``sfqr`` (a single chunk is one NumPy
    QR). The factorization is unique up to the signs of R's diagonal (and of Q's
    columns), which may differ from NumPy's.

    Parameters
    ----------
    a : Array or array_like
        2-d; integer and bool input is factored in float64, float32 in float32.

    Returns
    -------
    q : Array
        ``(m, min(m, n))``, orthonormal columns.
    r : Array
        ``(min(m, n), n)``, upper triangular.

    Raises
    ------
    NotImplementedError
        If ``a`` is cut along both axes (as Dask; rechunk one axis into one chunk).
    numpy.linalg.LinAlgError
        For fewer than two dimensions (a ValueError).
    """
    x = as_array(a)
    _check_2d(x, "qr")
    if x.numblocks[1] == 1 and x.numblocks[0] > 1:
        return tsqr(x)
    if x.numblocks[0] == 1:
        return sfqr(x)
    raise NotImplementedError(
        "qr currently supports only tall-and-skinny (single column chunk/block; see tsqr)\n"
        "and short-and-fat (single row chunk/block; see sfqr) matrices\n\n"
        "Consider use of the rechunk method. For example,\n\n"
        "x.rechunk({0: -1, 1: 'auto'}) or x.rechunk({0: 'auto', 1: -1})\n\n"
        "which rechunk one shorter axis to a single chunk, while allowing\n"
        "the other axis to automatically grow/shrink appropriately."
    )


# ---------------------------------------------------------------------------------
# SVD


def _svd_flip(u: Array, v: Array) -> tuple[Array, Array]:
    """Dask's ``svd_flip``: each singular pair signed so that the row of ``v`` sums to a
    non-negative value."""
    from brickwork.array.ufuncs import where

    signs = where(v.sum(axis=1) >= 0, 1, -1).astype(v.dtype)
    return u * signs[None, :], v * signs[:, None]


def svd(a: Any, coerce_signs: bool = True, full_matrices: bool = False) -> tuple[Array, ...]:
    """The reduced singular value decomposition ``a = u @ diag(s) @ v``, as
    ``dask.array.linalg.svd``.

    Arrays cut along the rows only use TSQR and the SVD of the small R factor;
    arrays cut along the columns only factor the transpose; a single chunk is one
    NumPy QR and SVD.

    Parameters
    ----------
    a : Array or array_like
        2-d, ``(M, N)``.
    coerce_signs : bool
        Sign each singular pair so that the row of ``v`` has a non-negative sum (Dask's
        ``svd_flip``), for results that do not depend on the chunking.
    full_matrices : bool
        Only False is supported.

    Returns
    -------
    u : Array
        ``(M, K)`` with ``K = min(M, N)``, orthonormal columns.
    s : Array
        ``(K,)``, decreasing.
    v : Array
        ``(K, N)``, orthonormal rows (NumPy's ``vh``).

    Raises
    ------
    NotImplementedError
        For ``full_matrices=True``, or an array cut along both axes (see
        ``svd_compressed``).
    ValueError
        If ``a`` is not 2-d.
    """
    if full_matrices:
        raise NotImplementedError(
            "full_matrices=True is not implemented for brickwork arrays. Use "
            "full_matrices=False to compute the reduced SVD."
        )
    x = as_array(a)
    if x.ndim != 2:
        raise ValueError(f"Array must be 2D.\nInput shape: {x.shape}\nInput ndim: {x.ndim}\n")
    nb = x.numblocks
    if nb[0] > 1 and nb[1] > 1:
        raise NotImplementedError(
            "Array must be chunked in one dimension only. This function (svd) only "
            "supports tall-and-skinny or short-and-fat matrices (see "
            "svd_compressed for SVD on fully chunked arrays).\n"
            f"Input shape: {x.shape}\nInput numblocks: {nb}\n"
        )
    x = _as_float(x)
    m, n = x.shape
    tall = nb[0] > nb[1] or (nb == (1, 1) and m >= n)
    if tall:
        u, s, v = tsqr(x, compute_svd=True)
    else:
        vt, s, ut = tsqr(x.T, compute_svd=True)
        u, v = ut.T, vt.T
    if coerce_signs and min(m, n) > 0:
        u, v = _svd_flip(u, v)
    return u, s, v


def compression_level(n: int, q: int, n_oversamples: int = 10, min_subspace_size: int = 20) -> int:
    """The size of the subspace ``svd_compressed`` samples: ``q + n_oversamples``, at
    least ``min_subspace_size`` and at most ``n`` (as Dask)."""
    return min(max(min_subspace_size, q + n_oversamples), n)


def _rng(seed: Any) -> Any:
    from brickwork.array import random

    return seed if isinstance(seed, random.Generator) else random.default_rng(seed)


def compression_matrix(
    data: Any,
    q: int,
    iterator: str = "power",
    n_power_iter: int = 0,
    n_oversamples: int = 10,
    seed: Any = None,
    compute: bool = False,
) -> Array:
    """An orthonormal basis (as rows) of the dominant column space of ``data``, by
    random sampling (Halko, Martinsson and Tropp, 2011), as Dask's.

    ``data @ omega`` for a standard normal ``omega`` of ``compression_level(min(m, n),
    q, n_oversamples)`` columns, refined by ``n_power_iter`` power iterations
    (``iterator="power"``: ``data @ (data.T @ h)``; ``"QR"``: re-orthonormalised with
    TSQR at each step), then orthonormalised with TSQR. ``seed`` is an int, a
    ``SeedSequence`` or a ``brickwork.array.random.Generator``; ``compute=True``
    computes each pass's result before the next (less recomputation of ``data``).

    Returns
    -------
    Array
        ``(comp, m)`` with orthonormal rows.
    """
    if iterator not in ("power", "QR"):
        raise ValueError(f"Iterator '{iterator}' not valid, must one one of ['power', 'QR']")
    x = as_array(data)
    m, n = x.shape
    comp = compression_level(min(m, n), q, n_oversamples=n_oversamples)
    dtype = np.dtype(np.float32) if x.dtype == np.float32 else np.dtype(np.float64)
    omega = _rng(seed).standard_normal(size=(n, comp), chunks=(x.chunks[1], (comp,)))
    omega = omega.astype(dtype)

    def step(h: Array) -> Array:
        return h.persist() if compute else h

    h = step(x @ omega)
    if iterator == "power":
        for _ in range(n_power_iter):
            h = step(x @ step(x.T @ h))
        basis = tsqr(h)[0]
    else:
        basis = tsqr(h)[0]
        for _ in range(n_power_iter):
            basis = tsqr(step(x.T @ basis))[0]
            basis = tsqr(step(x @ basis))[0]
    return basis.T


def svd_compressed(
    a: Any,
    k: int,
    iterator: str = "power",
    n_power_iter: int = 0,
    n_oversamples: int = 10,
    seed: Any = None,
    compute: bool = False,
    coerce_signs: bool = True,
) -> tuple[Array, Array, Array]:
    """A randomized rank-``k`` thin SVD (Halko, Martinsson and Tropp, 2011), as
    ``dask.array.linalg.svd_compressed``; ``a`` may be chunked along both axes.

    ``a`` is projected on the basis from ``compression_matrix`` (arguments as there),
    the small projection is factored exactly (TSQR and NumPy's SVD), and the factors
    are mapped back. The singular values are approximations from below; exact when
    ``a`` has rank at most the compression level; ``n_power_iter`` of 1 to 4 sharpens
    them when the spectrum decays slowly. The random matrix comes from
    ``brickwork.array.random`` (the same seed gives the same result on any chunking of
    the random matrix's columns, but different values from Dask's).

    Returns
    -------
    u : Array
        ``(m, k)``, orthonormal columns.
    s : Array
        ``(k,)``, decreasing.
    v : Array
        ``(k, n)``, orthonormal rows.
    """
    x = _as_float(as_array(a))
    comp = compression_matrix(
        x,
        k,
        iterator=iterator,
        n_power_iter=n_power_iter,
        n_oversamples=n_oversamples,
        seed=seed,
        compute=compute,
    )
    if compute:
        comp = comp.persist()
    a_compressed = comp @ x
    v, s, u = tsqr(a_compressed.T.rechunk({1: -1}), compute_svd=True)
    u = comp.T @ u.T
    v = v.T
    u, s, v = u[:, :k], s[:k], v[:k, :]
    if coerce_signs:
        u, v = _svd_flip(u, v)
    return u, s, v


# ---------------------------------------------------------------------------------
# norms


def _singular_values(x: Array) -> Array:
    """The singular values of a 2-d array (rechunked, for free, into one chunk along
    its shorter axis when it is cut along both)."""
    m, n = x.shape
    if x.numblocks[0] > 1 and x.numblocks[1] > 1:
        x = x.rechunk({1: -1} if m >= n else {0: -1})
    return svd(x, coerce_signs=False)[1]


@implements(np.linalg.norm)
def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Array:  # noqa: A002
    """A vector or matrix norm, as ``numpy.linalg.norm``.

    Vector norms (``axis`` an int, or None for 1-d input): None / 2 (Euclidean),
    ``inf``, ``-inf``, 0 (the count of non-zeros), 1, and any other number ``p``
    (``sum(abs(x)**p)**(1/p)``). Matrix norms (``axis`` a pair, or None for 2-d input):
    None / ``'fro'``, ``'nuc'``, ``inf``, ``-inf``, 1, -1, 2 and -2. All are tree
    reductions, except 2, -2 and ``'nuc'``, which take the singular values from
    ``svd`` (TSQR) for 2-d arrays (rechunked along the shorter axis when cut along
    both) and from NumPy's norm on the two axes gathered into one chunk for stacks
    of matrices. With ``ord=None`` and ``axis=None`` any array is flattened.

    Returns
    -------
    Array
        Float (float32 for float32 input, float64 for integer and bool input).

    Raises
    ------
    ValueError
        For an invalid ``ord``, more than two axes, or duplicate axes (NumPy's
        messages).
    numpy.exceptions.AxisError
        If an axis is out of range.
    """
    arr = as_array(x)
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    nd = arr.ndim
    if axis is None:
        if ord is None:
            return np.sqrt((arr * arr).sum(keepdims=keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axes: tuple[int, ...] = tuple(range(nd))
    elif isinstance(axis, tuple | list):
        axes = tuple(int(a) for a in axis)
    else:
        try:
            axes = (int(axis),)
        except Exception as exc:
            raise TypeError("'axis' must be None, an integer or a tuple of integers") from exc
    if len(axes) == 1:
        return _vector_norm(arr, ord, normalize_axis_index(axes[0], nd), keepdims)
    if len(axes) == 2:
        row, col = (normalize_axis_index(a, nd) for a in axes)
        if row == col:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm(arr, ord, row, col, keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _vector_norm(x: Array, ord: Any, axis: int, keepdims: bool) -> Array:  # noqa: A002
    ax = (axis,)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    if ord is None or ord == 2:
        return np.sqrt((x * x).sum(axis=ax, keepdims=keepdims))
    if ord == np.inf:
        return abs(x).max(axis=ax, keepdims=keepdims)
    if ord == -np.inf:
        return abs(x).min(axis=ax, keepdims=keepdims)
    if ord == 0:
        return (x != 0).astype(x.dtype).sum(axis=ax, keepdims=keepdims)
    if ord == 1:
        return abs(x).sum(axis=ax, keepdims=keepdims)
    try:
        p = float(ord)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Invalid norm order '{ord}' for vectors") from exc
    return (abs(x) ** p).sum(axis=ax, keepdims=keepdims) ** (1.0 / p)


def _matrix_norm(x: Array, ord: Any, row: int, col: int, keepdims: bool) -> Array:  # noqa: A002
    if ord in (2, -2, "nuc"):
        if x.ndim == 2:
            s = _singular_values(x if row < col else x.T)
            r = s.max() if ord == 2 else s.min() if ord == -2 else s.sum()
            return r[None, None] if keepdims else r
        return _gathered_matrix_norm(x, ord, row, col, keepdims)
    a = abs(x)
    if ord in (None, "fro"):
        r = np.sqrt((x * x).sum(axis=(row, col), keepdims=True))
    elif ord == 1:
        r = a.sum(axis=row, keepdims=True).max(axis=col, keepdims=True)
    elif ord == -1:
        r = a.sum(axis=row, keepdims=True).min(axis=col, keepdims=True)
    elif ord == np.inf:
        r = a.sum(axis=col, keepdims=True).max(axis=row, keepdims=True)
    elif ord == -np.inf:
        r = a.sum(axis=col, keepdims=True).min(axis=row, keepdims=True)
    else:
        raise ValueError("Invalid norm order for matrices.")
    return r if keepdims else r.squeeze(axis=(row, col))


def _gathered_matrix_norm(x: Array, ord: Any, row: int, col: int, keepdims: bool) -> Array:  # noqa: A002
    """NumPy's norm per block, with the two matrix axes gathered into one chunk."""
    x = x.rechunk({row: -1, col: -1})
    chunks = tuple((1,) if i in (row, col) else c for i, c in enumerate(x.chunks))

    def block(b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(b, ord=ord, axis=(row, col), keepdims=True)

    r = map_blocks(block, x, chunks=chunks, dtype=x.dtype, name="norm")
    return r if keepdims else r.squeeze(axis=(row, col))


# ---------------------------------------------------------------------------------
# square solvers (gathered into one chunk)


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
    _check_square(x, "solve")
    y2, vector = _rhs(x, y, "solve")
    dtype = _float_dtype(x.dtype, y.dtype)
    n, k = y2.shape

    def gen(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        return np.linalg.solve(ab, bb)

    def pos(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        low = np.linalg.cholesky(ab)
        return np.linalg.solve(low.T, np.linalg.solve(low, bb))

    func = gen if assume_a == "gen" else pos
    out = _whole(func, [_as_float(x, dtype), _as_float(y2, dtype)], (n, k), dtype, "solve")
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
    _check_square(x, "inv")
    dtype = _float_dtype(x.dtype)
    return _whole(np.linalg.inv, [_as_float(x, dtype)], x.shape, dtype, "inv").rechunk(x.chunks)


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
    _check_square(x, "cholesky")
    dtype = _float_dtype(x.dtype)

    def factor(b: np.ndarray) -> np.ndarray:
        low = np.linalg.cholesky(b)
        return low if lower else low.T

    out = _whole(factor, [_as_float(x, dtype)], x.shape, dtype, "cholesky")
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
    dtype = _float_dtype(x.dtype)
    packed = _whole(_lu_factor, [_as_float(x, dtype)], (n, 3 * n), dtype, "lu")
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
    dtype = _float_dtype(x.dtype, y.dtype)

    def tri(ab: np.ndarray, bb: np.ndarray) -> np.ndarray:
        t = np.tril(ab) if lower else np.triu(ab)
        return np.linalg.solve(t, bb)

    out = _whole(tri, [_as_float(x, dtype), _as_float(y2, dtype)], y2.shape, dtype, "solve")
    return (out[:, 0] if vector else out).rechunk(y.chunks)


# ---------------------------------------------------------------------------------
# least squares


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
    _check_2d(x, "lstsq")
    if y.ndim not in (1, 2):
        raise np.linalg.LinAlgError(f"{y.ndim}-dimensional array given for b")
    if y.shape[0] != x.shape[0]:
        raise np.linalg.LinAlgError("Incompatible dimensions")
    m, n = x.shape
    dtype = _float_dtype(x.dtype, y.dtype)
    y2 = y[:, None] if y.ndim == 1 else y
    k = y2.shape[1]
    cut = float(np.finfo(dtype).eps * max(m, n)) if rcond is None else float(rcond)
    xf, yf = _as_float(x, dtype), _as_float(y2, dtype)
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
        packed = _whole(small, [r, q.T @ yf], (n, k + 2), dtype, "lstsq")
    else:
        packed = _whole(small, [xf, yf], (n, k + 2), dtype, "lstsq")
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


# ---------------------------------------------------------------------------------
# NumPy dispatch for svd: reduced SVDs stay lazy, full ones are computed by NumPy.


def _numpy_svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Any:
    """``numpy.linalg.svd`` of a brickwork array: lazy for the reduced SVD of a 2-d array
    (also the full one when square, or without ``u`` and ``v``), NumPy's eager result
    otherwise (as for NumPy functions brickwork does not implement)."""
    x = as_array(a)
    full = compute_uv and full_matrices and x.ndim == 2 and x.shape[0] != x.shape[1]
    if full or x.ndim != 2 or hermitian:
        return np.linalg.svd(
            np.asarray(x), full_matrices=full_matrices, compute_uv=compute_uv, hermitian=hermitian
        )
    if x.numblocks[0] > 1 and x.numblocks[1] > 1:
        x = x.rechunk({1: -1} if x.shape[0] >= x.shape[1] else {0: -1})
    u, s, v = svd(x, coerce_signs=False)
    return (u, s, v) if compute_uv else s


implements(np.linalg.svd, adapt=False)(_numpy_svd)
