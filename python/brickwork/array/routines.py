"""Axis and shape routines: transpose, broadcasting, squeezing, and NumPy's metadata queries."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
from numpy.typing import DTypeLike

from brickwork import _core
from brickwork.array._args import shape_tuple
from brickwork.array._dispatch import implements
from brickwork.array.core import Array, to_expr

__all__ = [
    "broadcast_to",
    "expand_dims",
    "moveaxis",
    "squeeze",
    "swapaxes",
    "transpose",
]


def _array(a: Any) -> Array:
    return a if isinstance(a, Array) else Array(to_expr(a), "array")


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Array:
    """Permute the axes (reverse them when ``axes`` is None), as ``numpy.transpose``."""
    return _array(a).transpose(axes)


@implements(np.broadcast_to)
def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """Broadcast ``x`` to ``shape`` with NumPy's rules (lazy, no memory used).

    Raises
    ------
    ValueError
        If ``x`` cannot be broadcast to ``shape``.
    NotImplementedError
        If ``chunks`` is given (rechunking is not supported yet).
    """
    if chunks is not None:
        raise NotImplementedError("broadcast_to(chunks=...) is not supported yet")
    arr = _array(x)
    dims = shape_tuple(shape)
    if dims == arr.shape:
        return arr
    return Array(_core.broadcast_to(arr._expr, dims), "broadcast_to")


@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Array:
    """Remove axes of length one (all of them, or those in ``axis``).

    Raises
    ------
    numpy.exceptions.AxisError
        If an axis is out of range.
    ValueError
        If a selected axis does not have length one.
    """
    arr = _array(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(arr.shape) if n == 1)
    else:
        axes = normalize_axis_tuple(axis, arr.ndim)
        if any(arr.shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    if not axes:
        return arr
    return arr[tuple(0 if i in axes else slice(None) for i in range(arr.ndim))]


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Array:
    """Insert axes of length one at the positions ``axis`` of the result."""
    arr = _array(a)
    out_ndim = arr.ndim + (len(axis) if isinstance(axis, tuple | list) else 1)
    axes = normalize_axis_tuple(axis, out_ndim)
    return arr[tuple(None if i in axes else slice(None) for i in range(out_ndim))]


@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    """Interchange two axes."""
    arr = _array(a)
    perm = list(range(arr.ndim))
    i, j = normalize_axis_index(axis1, arr.ndim), normalize_axis_index(axis2, arr.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return arr.transpose(tuple(perm))


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    """Move axes to new positions; the other axes keep their order."""
    arr = _array(a)
    src = normalize_axis_tuple(source, arr.ndim, "source")
    dst = normalize_axis_tuple(destination, arr.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(arr.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return arr.transpose(tuple(order))


# NumPy's metadata queries answer from the expression without computing.


@implements(np.shape)
def _shape(a: Array) -> tuple[int, ...]:
    return a.shape


@implements(np.ndim)
def _ndim(a: Array) -> int:
    return a.ndim


@implements(np.size)
def _size(a: Array, axis: int | None = None) -> int:
    return a.size if axis is None else a.shape[axis]


@implements(np.astype)
def _astype(x: Array, dtype: DTypeLike, copy: bool = True) -> Array:
    return x.astype(dtype)


def _result_type(*arrays_and_dtypes: Any) -> np.dtype:
    return np.result_type(*(x.dtype if isinstance(x, Array) else x for x in arrays_and_dtypes))


implements(np.result_type, adapt=False)(_result_type)
