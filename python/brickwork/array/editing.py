"""Adding and removing slices: ``insert``, ``delete``, ``append``; and the 1-d set and
difference routines ``union1d`` and ``ediff1d``, as Dask's.

``delete`` and ``insert`` ask NumPy where each output slice comes from (NumPy's own
rules for negative, repeated, boolean and slice positions, and its errors), applied to
positions ``0 .. n-1`` only; the data then moves in one lazy gather (``take``) along
the axis, the inserted values concatenated behind the array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array
from brickwork.array.counting import unique
from brickwork.array.indexing import take
from brickwork.array.joining import concatenate
from brickwork.array.shape import broadcast_to, moveaxis, ravel

__all__ = ["append", "delete", "ediff1d", "insert", "union1d"]


def _axis_of(x: Array, axis: int | None) -> tuple[Array, int]:
    if axis is None:
        return ravel(x), 0
    return x, normalize_axis_index(axis, x.ndim)


@implements(np.delete)
def delete(arr: Any, obj: Any, axis: int | None = None) -> Array:
    """``arr`` without the slices ``obj`` (an int, a slice, ints or a boolean mask) along
    ``axis`` (the flattened array if None), as ``numpy.delete``."""
    x, axis = _axis_of(as_array(arr), axis)
    if isinstance(obj, Array):
        obj = obj.compute()
    kept = np.delete(np.arange(x.shape[axis], dtype=np.intp), obj)
    return take(x, kept, axis=axis)


@implements(np.insert)
def insert(arr: Any, obj: Any, values: Any, axis: int | None = None) -> Array:
    """``arr`` with ``values`` inserted before the positions ``obj`` along ``axis`` (the
    flattened array if None), as ``numpy.insert``: ``values`` broadcast as NumPy
    broadcasts them and are cast to ``arr``'s dtype."""
    x, axis = _axis_of(as_array(arr), axis)
    n = x.shape[axis]
    if isinstance(obj, Array):
        obj = obj.compute()
    if isinstance(obj, slice):
        where = np.arange(*obj.indices(n), dtype=np.intp)
    else:
        where = np.asarray(obj)
        if where.dtype == bool:
            raise IndexError("boolean index did not match")
        if where.ndim > 1:
            raise ValueError("index array argument obj to insert must be one dimensional or scalar")
    v = values if isinstance(values, Array) else np.asarray(values)
    if where.size == 1:
        v = v.reshape((1,) * (x.ndim - v.ndim) + v.shape) if v.ndim < x.ndim else v
        if where.ndim == 0:
            v = moveaxis(as_array(v), 0, axis)
        count = v.shape[axis]
        target = x.shape[:axis] + (count,) + x.shape[axis + 1 :]
        where = int(where.reshape(()) if where.ndim else where)
    else:
        count = where.size
        target = x.shape[:axis] + (count,) + x.shape[axis + 1 :]
    slab = broadcast_to(as_array(v).astype(x.dtype), target)
    sources = np.insert(np.arange(n, dtype=np.intp), where, np.arange(n, n + count))
    return take(concatenate([x, slab], axis=axis), sources, axis=axis)


@implements(np.append)
def append(arr: Any, values: Any, axis: int | None = None) -> Array:
    """``values`` added at the end of ``arr`` along ``axis`` (both flattened if None), as
    ``numpy.append``."""
    x, v = as_array(arr), as_array(values)
    if axis is None:
        return concatenate([ravel(x), ravel(v)], axis=0)
    return concatenate([x, v], axis=axis)


@implements(np.union1d)
def union1d(ar1: Any, ar2: Any) -> Array:
    """The sorted unique values in either array, as ``numpy.union1d``."""
    return unique(concatenate([ravel(as_array(ar1)), ravel(as_array(ar2))]))


@implements(np.ediff1d)
def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Array:
    """Differences of consecutive elements of the flattened array, with ``to_begin`` and
    ``to_end`` around them, as ``numpy.ediff1d`` (the result keeps ``ary``'s dtype)."""
    a = ravel(as_array(ary))
    pieces = [(a[1:] - a[:-1]).astype(a.dtype)]
    for extra, at_end in ((to_begin, False), (to_end, True)):
        if extra is None:
            continue
        e = extra if isinstance(extra, Array) else np.asarray(extra)
        if not np.can_cast(e.dtype, a.dtype, casting="same_kind"):
            raise TypeError("dtype of `to_begin` or `to_end` must be compatible with input `ary`")
        piece = ravel(as_array(e)).astype(a.dtype)
        pieces = [*pieces, piece] if at_end else [piece, *pieces]
    return pieces[0] if len(pieces) == 1 else concatenate(pieces)
