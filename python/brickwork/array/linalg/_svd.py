"""Singular value decompositions: ``svd`` on TSQR, and ``svd_compressed``, the randomized
SVD of Halko et al. on top of it; ``numpy.linalg.svd`` of a brickwork array."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array
from brickwork.array.random import Generator, default_rng
from brickwork.array.ufuncs import where
from brickwork.array.linalg._common import as_float
from brickwork.array.linalg._qr import tsqr

__all__ = ["compression_level", "compression_matrix", "svd", "svd_compressed"]


def _svd_flip(u: Array, v: Array) -> tuple[Array, Array]:
    """Dask's ``svd_flip``: each singular pair signed so that the row of ``v`` sums to a
    non-negative value."""
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
    x = as_float(x)
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
    return seed if isinstance(seed, Generator) else default_rng(seed)


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
    x = as_float(as_array(a))
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
