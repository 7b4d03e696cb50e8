"""The indexing family's ground: normalisation of basic indices (ints, slices, None,
Ellipsis) and of one index array along an axis, for ``Array.__getitem__``
(``advanced.py`` handles the rest), and ``take``, the gather along one axis."""

from __future__ import annotations

import operator
from types import EllipsisType
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork import _core
from brickwork.array._args import axis_int
from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array

__all__ = ["IndexEntry", "along", "normalize_index", "split_array_index", "take"]

IndexEntry = int | slice | None

_INVALID = (
    "only integers, slices (`:`), ellipsis (`...`), numpy.newaxis (`None`) and integer "
    "or boolean arrays are valid indices"
)


def _slice(s: slice) -> slice:
    parts = []
    for part in (s.start, s.stop, s.step):
        if part is None:
            parts.append(None)
            continue
        try:
            parts.append(operator.index(part))
        except TypeError:
            raise TypeError(
                "slice indices must be integers or None or have an __index__ method"
            ) from None
    if parts[2] == 0:
        raise ValueError("slice step cannot be zero")
    return slice(*parts)


def _entry(item: Any) -> IndexEntry | EllipsisType:
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, slice):
        return _slice(item)
    if isinstance(item, bool | np.bool_):
        raise NotImplementedError(
            "boolean indexing is not supported yet; index with ints and slices"
        )
    if isinstance(item, int | np.integer):
        return int(item)
    if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iu":
        return int(item)
    raise IndexError(_INVALID)


def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple[IndexEntry, ...]:
    """Expand an index into one entry per axis of ``shape`` plus the ``None`` new axes.

    Ellipsis is expanded and missing trailing axes are padded with ``slice(None)``;
    negative ints are made non-negative.

    Raises
    ------
    IndexError
        Too many indices, more than one Ellipsis, an int out of range, or an entry
        of an invalid type (float, str, …), with NumPy's messages.
    NotImplementedError
        A bool scalar as an index.
    """
    items = index if isinstance(index, tuple) else (index,)
    entries = [_entry(item) for item in items]
    if sum(e is Ellipsis for e in entries) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(isinstance(e, int | slice) for e in entries)
    ndim = len(shape)
    if consumed > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
        )
    fill = [slice(None)] * (ndim - consumed)
    if Ellipsis in entries:
        at = entries.index(Ellipsis)
        entries[at : at + 1] = fill
    else:
        entries.extend(fill)
    result: list[IndexEntry] = []
    axis = 0
    for entry in entries:
        if isinstance(entry, int):
            size = shape[axis]
            if not -size <= entry < size:
                raise IndexError(f"index {entry} is out of bounds for axis {axis} with size {size}")
            entry = entry + size if entry < 0 else entry
        if entry is not None:
            axis += 1
        result.append(entry)
    return tuple(result)


def _is_array_index(item: Any) -> bool:
    if isinstance(item, list | tuple):
        return True
    return isinstance(item, np.ndarray) and item.ndim >= 1


def split_array_index(index: Any, shape: tuple[int, ...]) -> tuple[Any, int, np.ndarray]:
    """For an index with exactly one 1-d integer or boolean array (a list or a NumPy
    array) and no int entries: the basic index with ``slice(None)`` in its place, the
    axis of the basic result it indexes, and the integer positions to take.

    Raises
    ------
    IndexError
        A boolean mask whose length differs from its axis, or a non-integer array.
    """
    items = index if isinstance(index, tuple) else (index,)
    positions = [i for i, it in enumerate(items) if _is_array_index(it)]
    p = positions[0]
    arr = np.asarray(items[p])
    consumed = (
        sum(1 for it in items if it is not None and it is not Ellipsis and not _is_array_index(it))
        + 1
    )
    before = items[:p]
    expand = len(shape) - consumed
    out_axis = sum(
        0 if isinstance(it, int | np.integer) else expand if it is Ellipsis else 1 for it in before
    )
    in_axis = sum(0 if it is None else expand if it is Ellipsis else 1 for it in before)
    if arr.dtype == bool:
        size = shape[in_axis] if in_axis < len(shape) else 0
        if len(arr) != size and len(arr):  # an empty mask takes nothing, as NumPy
            raise IndexError(
                f"boolean index did not match indexed array along axis {in_axis}; size of "
                f"axis is {size} but size of corresponding boolean axis is {len(arr)}"
            )
        positions_taken = np.flatnonzero(arr)
    elif arr.size == 0 or arr.dtype.kind in "iu":
        positions_taken = arr.astype(np.int64)
    else:
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    basic = (*before, slice(None), *items[p + 1 :])
    return basic, out_axis, positions_taken


def along(ndim: int, axis: int, index: Any) -> tuple[Any, ...]:
    """The key that applies ``index`` along ``axis`` of an ``ndim``-d array (``:`` elsewhere)."""
    return tuple(index if i == axis else slice(None) for i in range(ndim))


@implements(np.take)
def take(a: Any, indices: Any, axis: int | None = None) -> Array:
    """The elements at integer ``indices`` along ``axis`` (of the flattened array for
    None), as ``numpy.take``: a gather that reads only the slices it needs.

    Raises
    ------
    IndexError
        An index out of range.
    numpy.exceptions.AxisError
        A bad axis.
    """
    arr = as_array(a)
    if axis is None:
        arr, axis = arr.reshape(-1), 0
    idx = np.asarray(indices)
    if idx.ndim > 1:
        raise NotImplementedError("take with multi-dimensional indices is not supported yet")
    if idx.size and idx.dtype.kind not in "iu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    out = Array(_core.take(arr._expr, [int(i) for i in idx.ravel()], axis_int(axis)), "take")
    return out[(slice(None),) * _axis_int_norm(axis, arr.ndim) + (0,)] if idx.ndim == 0 else out


def _axis_int_norm(axis: Any, ndim: int) -> int:
    return normalize_axis_index(axis_int(axis), ndim)
