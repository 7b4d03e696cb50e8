"""Building and reading matrices: ``eye``, ``tri``, ``diag``, ``diagonal``, ``trace`` and
the triangle indices, with Dask's signatures and NumPy's results.

``eye`` and ``tri`` compare two lazy ranges (nothing is stored); ``diag`` of a vector
puts it on a diagonal the same way; ``diagonal`` is one gather of the diagonal's points
(``x[..., rows, cols]``); the ``tril_indices`` family is computed by NumPy at once (its
result depends only on the sizes) and cut into chunks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index
from numpy.typing import DTypeLike

from brickwork.array._dispatch import array_method, implements
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange, from_array, zeros
from brickwork.array.joining import concatenate
from brickwork.array.reductions import sum as _sum
from brickwork.array.shape import moveaxis
from brickwork.array.ufuncs import where

__all__ = [
    "diag",
    "diagonal",
    "eye",
    "trace",
    "tri",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
]


def _offsets(n: int, m: int, dtype: DTypeLike, chunks: Any) -> tuple[Array, Array]:
    """Row and column numbers (shapes (n, 1) and (1, m)) on the chunks of an (n, m) array."""
    grid = zeros((n, m), dtype=dtype, chunks=chunks).chunks
    rows = arange(n, chunks=(grid[0],))[:, None]
    cols = arange(m, chunks=(grid[1],))[None, :]
    return rows, cols


def eye(
    N: int,  # noqa: N803 - Dask's name
    chunks: Any = "auto",
    M: int | None = None,  # noqa: N803 - Dask's name
    k: int = 0,
    dtype: DTypeLike = float,
) -> Array:
    """Ones on the ``k``-th diagonal of an ``N`` by ``M`` array, zeros elsewhere, as
    ``dask.array.eye``."""
    m = N if M is None else M
    rows, cols = _offsets(N, m, dtype, chunks)
    return (cols - rows == k).astype(dtype)


def tri(
    N: int,  # noqa: N803 - Dask's name
    M: int | None = None,  # noqa: N803 - Dask's name
    k: int = 0,
    dtype: DTypeLike = float,
    chunks: Any = "auto",
) -> Array:
    """Ones at and below the ``k``-th diagonal, zeros above, as ``dask.array.tri``."""
    m = N if M is None else M
    rows, cols = _offsets(N, m, dtype, chunks)
    return (cols - rows <= k).astype(dtype)


@implements(np.diag)
def diag(v: Any, k: int = 0) -> Array:
    """A matrix with the vector ``v`` on its ``k``-th diagonal, or the ``k``-th diagonal
    of a matrix ``v``, as ``numpy.diag``."""
    x = as_array(v)
    if x.ndim == 2:
        return diagonal(x, k)
    if x.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    k = int(k)
    n = x.shape[0] + abs(k)
    if k:
        x = concatenate([x, zeros((abs(k),), dtype=x.dtype)])
    rows = arange(n, chunks=(x.chunks[0],))[:, None]
    cols = arange(n, chunks=(x.chunks[0],))[None, :]
    values = x[:, None] if k >= 0 else x[None, :]
    return where(cols - rows == k, values, 0).astype(x.dtype)


@implements(np.diagonal)
def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """The diagonal at ``offset`` of the planes of ``axis1`` and ``axis2``, as the last
    axis, as ``numpy.diagonal``."""
    x = as_array(a)
    if x.ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = normalize_axis_index(axis1, x.ndim), normalize_axis_index(axis2, x.ndim)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    x = moveaxis(x, (ax1, ax2), (-2, -1))
    rows, cols = x.shape[-2], x.shape[-1]
    offset = int(offset)
    first_row, first_col = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - first_row, cols - first_col))
    steps = np.arange(length, dtype=np.intp)
    if length == 0:
        return x[..., :0, :0].reshape(x.shape[:-2] + (0,))
    return x[..., steps + first_row, steps + first_col]


@array_method()
@implements(np.trace)
def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: DTypeLike | None = None
) -> Array:
    """The sum along the diagonal at ``offset``, as ``numpy.trace``."""
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _indices(pair: tuple[np.ndarray, np.ndarray], chunks: Any) -> tuple[Array, Array]:
    return tuple(from_array(np.ascontiguousarray(i), chunks=chunks) for i in pair)


def tril_indices(n: int, k: int = 0, m: int | None = None, chunks: Any = "auto") -> Any:
    """The (row, column) indices of the lower triangle, as ``numpy.tril_indices``."""
    return _indices(np.tril_indices(n, k, m), chunks)


def triu_indices(n: int, k: int = 0, m: int | None = None, chunks: Any = "auto") -> Any:
    """The (row, column) indices of the upper triangle, as ``numpy.triu_indices``."""
    return _indices(np.triu_indices(n, k, m), chunks)


def _check_2d(arr: Any) -> tuple[int, int]:
    if np.ndim(arr) != 2:
        raise ValueError("input array must be 2-d")
    return tuple(int(n) for n in np.shape(arr))


def tril_indices_from(arr: Any, k: int = 0) -> Any:
    """The lower-triangle indices of a 2-d array, as ``numpy.tril_indices_from``."""
    n, m = _check_2d(arr)
    return tril_indices(n, k, m)


def triu_indices_from(arr: Any, k: int = 0) -> Any:
    """The upper-triangle indices of a 2-d array, as ``numpy.triu_indices_from``."""
    n, m = _check_2d(arr)
    return triu_indices(n, k, m)
