"""Manipulation and indexing functions of the Array API (``concat``,
``permute_dims``, ``unstack``, ``repeat``, ``take_along_axis``, …), mostly
``brickwork.array``'s own under the standard's names and signatures.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

import brickwork.array as da
from brickwork.array.core import Array, as_array
from brickwork.array.gufuncs import apply_gufunc
from brickwork.array.indexing import take
from brickwork.array.joining import stack
from brickwork.array.shape import broadcast_to, flip, moveaxis, roll
from brickwork.array.tiling import tile

__all__ = [
    "broadcast_arrays",
    "broadcast_to",
    "concat",
    "expand_dims",
    "flip",
    "moveaxis",
    "permute_dims",
    "repeat",
    "reshape",
    "roll",
    "squeeze",
    "stack",
    "take",
    "take_along_axis",
    "tile",
    "unstack",
]


def broadcast_arrays(*arrays: Any) -> list[Array]:
    """The arrays broadcast to their common shape (lazy views, no memory).

    Raises
    ------
    ValueError
        If the shapes do not broadcast together.
    """
    xs = [as_array(a) for a in arrays]
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    return [broadcast_to(x, shape) for x in xs]


def concat(arrays: Any, /, *, axis: int | None = 0) -> Array:
    """Join arrays along an existing ``axis``, or flattened for ``axis=None``; dtypes
    promote as in NumPy.

    Raises
    ------
    ValueError
        If the arrays differ in rank or in length off ``axis``.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.
    """
    if not isinstance(arrays, list | tuple):
        raise TypeError(f"concat takes a list or tuple of arrays, got {type(arrays).__name__}")
    xs = [as_array(a) for a in arrays]
    if axis is None:
        return da.concatenate([x if x.ndim == 1 else x.reshape(-1) for x in xs], axis=0)
    return da.concatenate(xs, axis=axis)


def expand_dims(x: Any, /, axis: int = 0) -> Array:
    """Insert an axis of length one at position ``axis`` of the result (a tuple of
    positions is accepted too).

    Raises
    ------
    numpy.exceptions.AxisError
        (an IndexError) if ``axis`` is out of range.
    """
    return da.expand_dims(x, axis)


def permute_dims(x: Any, /, axes: Any) -> Array:
    """Permute the axes of ``x``: axis ``i`` of the result is axis ``axes[i]`` of ``x``.

    Raises
    ------
    ValueError
        If ``axes`` is not a permutation of the axes of ``x``.
    """
    arr = as_array(x)
    perm = normalize_axis_tuple(tuple(axes), arr.ndim, "axes")
    if len(perm) != arr.ndim:
        raise ValueError(f"axes {tuple(axes)} is not a permutation of the {arr.ndim} axes")
    return arr.transpose(perm)


def repeat(x: Any, repeats: Any, /, *, axis: int | None = None) -> Array:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array for
    None); ``repeats`` is an int or a 1-d integer array of one count per element.

    An int keeps the result lazy (``brickwork.array.repeat``). An array of counts fixes
    the result's length, so a brickwork Array of counts is computed when ``repeat`` is
    called; the result is then a lazy gather (``take``) of ``x``.

    Raises
    ------
    ValueError
        For negative counts, or counts that do not broadcast to the axis length.
    TypeError
        For counts that are not integers.
    """
    arr = as_array(x)
    if isinstance(repeats, int | np.integer) and not isinstance(repeats, bool | np.bool_):
        return da.repeat(arr, operator.index(repeats), axis=axis)
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iu":
        raise TypeError(f"repeats must be an integer or an integer array, got {counts.dtype}")
    if axis is None:
        arr, ax = arr.reshape(-1), 0
    else:
        ax = normalize_axis_index(operator.index(axis), arr.ndim)
    n = arr.shape[ax]
    if counts.ndim > 1:
        raise ValueError(f"repeats must be 0-d or 1-d, got shape {counts.shape}")
    counts = np.broadcast_to(counts, (n,))
    if (counts < 0).any():
        raise ValueError("repeats may not contain negative values")
    return take(arr, np.repeat(np.arange(n), counts), axis=ax)


def reshape(x: Any, /, shape: Any, *, copy: bool | None = None) -> Array:
    """The same elements in C order with a new ``shape`` (one entry may be -1); a new
    Array unless the shape is unchanged and ``copy`` is not True. Arrays share no
    memory that ``x[...] = v`` could change, so ``copy=False`` never fails. See
    ``brickwork.array.reshape``.

    Raises
    ------
    ValueError
        If the sizes differ.
    """
    out = da.reshape(x, shape)
    return out.copy() if copy and out is x else out


def squeeze(x: Any, /, axis: Any) -> Array:
    """Remove the axes ``axis`` (an int or a tuple), each of length one.

    Raises
    ------
    ValueError
        If a selected axis does not have length one.
    """
    return da.squeeze(x, axis)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Array, ...]:
    """The slices of ``x`` along ``axis``, as a tuple of lazy views.

    Raises
    ------
    numpy.exceptions.AxisError
        If ``axis`` is out of range (also for a 0-d ``x``).
    """
    arr = as_array(x)
    ax = normalize_axis_index(operator.index(axis), arr.ndim)
    return tuple(arr[(slice(None),) * ax + (i,)] for i in range(arr.shape[ax]))


def _take_last(a: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, indices, axis=-1)


def take_along_axis(x: Any, indices: Any, /, *, axis: int = -1) -> Array:
    """The elements of ``x`` at ``indices`` along ``axis`` (negative indices count from
    the end), as ``numpy.take_along_axis``; the other axes broadcast.

    Lazy: each task holds whole lanes along ``axis`` of ``x`` and of ``indices``.

    Raises
    ------
    ValueError
        If ``x`` and ``indices`` differ in rank, or their other axes do not broadcast.
    IndexError
        For non-integer ``indices``.
    """
    arr, idx = as_array(x), as_array(indices)
    if arr.ndim != idx.ndim:
        raise ValueError(
            f"indices (ndim {idx.ndim}) and x (ndim {arr.ndim}) must have the same rank"
        )
    if idx.dtype.kind not in "iu":
        raise IndexError(f"indices must be an integer array, got dtype {idx.dtype}")
    ax = normalize_axis_index(operator.index(axis), arr.ndim)
    return apply_gufunc(
        _take_last,
        "(n),(m)->(m)",
        arr,
        idx,
        axes=[(ax,), (ax,), (ax,)],
        output_dtypes=arr.dtype,
        allow_rechunk=True,
    )
