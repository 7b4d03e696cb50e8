"""Vector and matrix norms: ``norm``, as ``numpy.linalg.norm``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.linalg._svd import svd

__all__ = ["norm"]


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
