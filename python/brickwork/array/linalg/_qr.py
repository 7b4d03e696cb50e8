"""QR of a tall-and-skinny matrix: ``tsqr`` (TSQR: a QR per block, a QR of the stacked
R factors, and the Q factors multiplied back block by block), ``sfqr`` (short-and-fat)
and ``qr``, which picks one by the chunks."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import zeros
from brickwork.array.joining import concatenate
from brickwork.array.linalg._common import as_float, check_2d, whole

__all__ = ["qr", "sfqr", "tsqr"]


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

    packed = whole(small_svd, [r], (2 * p + 1, n), dtype, "svd")
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
    a = as_float(a)
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
    a = as_float(a)
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
    check_2d(x, "qr")
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
