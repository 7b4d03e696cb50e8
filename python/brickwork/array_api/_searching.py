"""Searching, sorting and set functions of the Array API.

``sort`` and ``argsort`` gather the sorted axis into one chunk (a free view) and sort
each block with NumPy's stable sort. ``nonzero`` and the ``unique_*`` functions have
data-dependent output lengths, which brickwork's chunks cannot leave unknown: they
compute their input when called (in parallel, as ``x.compute()``) and return Arrays
backed by NumPy's results, as ``brickwork.array.unique`` does.
"""

from __future__ import annotations

import operator
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

import brickwork.array as da
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.counting import count_nonzero
from brickwork.array.indexing import take
from brickwork.array.reductions import argmax, argmin
from brickwork.array.ufuncs import where

__all__ = [
    "UniqueAllResult",
    "UniqueCountsResult",
    "UniqueInverseResult",
    "argmax",
    "argmin",
    "argsort",
    "count_nonzero",
    "nonzero",
    "searchsorted",
    "sort",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "where",
]


# --------------------------------------------------------------------------- sorting


def _sort_block(b: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.sort(b, axis=axis, kind="stable")
    # Sorting the reversed lane stably and reversing again keeps equal values in order.
    return np.flip(np.sort(np.flip(b, axis), axis=axis, kind="stable"), axis)


def _argsort_block(b: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(b, axis=axis, kind="stable")
    last = b.shape[axis] - 1
    return last - np.flip(np.argsort(np.flip(b, axis), axis=axis, kind="stable"), axis)


def _along_axis(func: Any, x: Any, axis: int, descending: bool, dtype: Any, name: str) -> Array:
    arr = as_array(x)
    if arr.ndim == 0:
        raise np.exceptions.AxisError(f"{name} needs an array of at least one dimension")
    ax = normalize_axis_index(operator.index(axis), arr.ndim)
    whole = arr.rechunk({ax: -1})
    return map_blocks(
        func,
        whole,
        axis=ax,
        descending=bool(descending),
        dtype=arr.dtype if dtype is None else dtype,
        name=name,
    )


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Array:
    """``x`` sorted along ``axis``, ascending or ``descending``; NaNs sort last
    (first when descending), as in NumPy. The sort is always stable."""
    return _along_axis(_sort_block, x, axis, descending, None, "sort")


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Array:
    """The int64 indices that sort ``x`` along ``axis`` (see ``sort``); equal values
    keep their order (the sort is always stable)."""
    return _along_axis(_argsort_block, x, axis, descending, np.int64, "argsort")


# --------------------------------------------------------------------------- searching


def nonzero(x: Any, /) -> tuple[Array, ...]:
    """The int64 indices of the nonzero elements, one array per axis, in C order.

    Not lazy: the number of nonzero elements depends on the data, so ``x`` is computed
    when ``nonzero`` is called.

    Raises
    ------
    ValueError
        For a 0-d ``x``.
    """
    arr = as_array(x)
    if arr.ndim == 0:
        raise ValueError("nonzero needs an array of at least one dimension; got a 0-d array")
    return tuple(da.from_array(i.astype(np.int64)) for i in np.nonzero(np.asarray(arr)))


def searchsorted(x1: Any, x2: Any, /, *, side: str = "left", sorter: Any = None) -> Array:
    """Indices (int64) where the elements of ``x2`` would be inserted into the 1-d
    ``x1`` to keep it sorted; see ``brickwork.array.searchsorted``.

    With ``sorter`` (the indices that sort ``x1``), ``x1`` is first gathered in that
    order by ``take``; a brickwork Array ``sorter`` is computed when called.

    Raises
    ------
    ValueError
        If ``x1`` is not 1-d or ``side`` is invalid.
    """
    haystack = as_array(x1)
    if sorter is not None:
        order = np.asarray(sorter)
        if order.shape != haystack.shape:
            raise ValueError(f"sorter must have x1's shape {haystack.shape}, got {order.shape}")
        haystack = take(haystack, order, axis=0)
    return da.searchsorted(haystack, x2, side=side)


# --------------------------------------------------------------------------- sets


class UniqueAllResult(NamedTuple):
    """The result of ``unique_all``."""

    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCountsResult(NamedTuple):
    """The result of ``unique_counts``."""

    values: Array
    counts: Array


class UniqueInverseResult(NamedTuple):
    """The result of ``unique_inverse``."""

    values: Array
    inverse_indices: Array


def _computed(x: Any) -> tuple[np.ndarray, Array]:
    arr = as_array(x)
    return np.asarray(arr), arr


def _lazy(values: np.ndarray, like: Array | None = None) -> Array:
    """A NumPy result as an Array; with ``like``'s chunks when it has its shape."""
    same = like is not None and values.shape == like.shape
    return da.from_array(values, chunks=like.chunks if same else "auto")


def unique_all(x: Any, /) -> UniqueAllResult:
    """The sorted unique values of ``x`` (flattened; each NaN is distinct), the flat
    index of the first occurrence of each, the index of its value for every element
    of ``x`` (with ``x``'s shape) and the counts, as ``numpy.unique_all``.

    Not lazy: ``x`` is computed when called (the length depends on the data).
    """
    values, arr = _computed(x)
    res = np.unique_all(values)
    return UniqueAllResult(
        _lazy(res.values),
        _lazy(res.indices.astype(np.int64)),
        _lazy(res.inverse_indices.astype(np.int64), arr),
        _lazy(res.counts.astype(np.int64)),
    )


def unique_counts(x: Any, /) -> UniqueCountsResult:
    """The sorted unique values of ``x`` and their counts (see ``unique_all``)."""
    values, _ = _computed(x)
    res = np.unique_counts(values)
    return UniqueCountsResult(_lazy(res.values), _lazy(res.counts.astype(np.int64)))


def unique_inverse(x: Any, /) -> UniqueInverseResult:
    """The sorted unique values of ``x`` and the index of its value for every element
    of ``x`` (see ``unique_all``)."""
    values, arr = _computed(x)
    res = np.unique_inverse(values)
    return UniqueInverseResult(_lazy(res.values), _lazy(res.inverse_indices.astype(np.int64), arr))


def unique_values(x: Any, /) -> Array:
    """The sorted unique values of ``x`` (see ``unique_all``)."""
    values, _ = _computed(x)
    return _lazy(np.unique_values(values))
