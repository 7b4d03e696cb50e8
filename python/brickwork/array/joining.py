"""Joining arrays: ``concatenate``, ``stack``, ``vstack``, ``hstack``, ``dstack`` and
``block``. Each input keeps its chunks along the joined axis."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._args import axis_int
from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array

__all__ = ["block", "concatenate", "dstack", "hstack", "stack", "vstack"]


def _sequence(arrays: Any, name: str, action: str | None = None) -> list[Array]:
    """``arrays`` as a non-empty list of Arrays (the error for none says "need at least
    one array to ``action``", default ``name``)."""
    if isinstance(arrays, Array | np.ndarray) or not hasattr(arrays, "__iter__"):
        raise TypeError(f"{name} takes a sequence of arrays, got {type(arrays).__name__}")
    seq = [as_array(a) for a in arrays]
    if not seq:
        raise ValueError(f"need at least one array to {action or name}")
    return seq


@implements(np.concatenate)
def concatenate(seq: Any, axis: int | None = 0) -> Array:
    """Join arrays along an existing axis, as ``numpy.concatenate`` (``axis=None``
    flattens first, for 1-d inputs only here).

    Each input keeps its chunks along ``axis``; the other axes must match in length and
    their chunks are unified.

    Raises
    ------
    ValueError
        If the arrays differ in rank or in length off ``axis``.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.
    """
    arrays = _sequence(seq, "concatenate")
    if axis is None:  # the arrays flattened first, as NumPy and Dask
        arrays = [a if a.ndim == 1 else a.reshape(-1) for a in arrays]
        axis = 0
    exprs = [a._expr for a in arrays]
    return Array(_core.concatenate(exprs, axis_int(axis)), "concatenate")


@implements(np.stack)
def stack(seq: Any, axis: int = 0) -> Array:
    """Join arrays of one shape along a new axis, as ``numpy.stack``.

    Raises
    ------
    ValueError
        If the shapes differ.
    numpy.exceptions.AxisError
        If ``axis`` is out of range.
    """
    arrays = _sequence(seq, "stack")
    return Array(_core.stack([a._expr for a in arrays], axis_int(axis)), "stack")


@implements(np.vstack)
def vstack(seq: Any) -> Array:
    """Join arrays along the first axis (1-d arrays become rows), as ``numpy.vstack``."""
    arrays = [
        a if a.ndim >= 2 else a[None, :] if a.ndim == 1 else a[None, None]
        for a in _sequence(seq, "vstack")
    ]
    return concatenate(arrays, axis=0)


@implements(np.hstack)
def hstack(seq: Any) -> Array:
    """Join arrays along the second axis (the first for 1-d arrays), as ``numpy.hstack``."""
    arrays = _sequence(seq, "hstack")
    return concatenate(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def _atleast_3d(x: Array) -> Array:
    if x.ndim == 0:
        return x[None, None, None]
    if x.ndim == 1:
        return x[None, :, None]
    if x.ndim == 2:
        return x[:, :, None]
    return x


@implements(np.dstack)
def dstack(tup: Any) -> Array:
    """Join arrays along the third axis, as ``numpy.dstack`` (1-d arrays of length N
    become ``(1, N, 1)``, 2-d ``(M, N)`` become ``(M, N, 1)``).

    Parameters
    ----------
    tup : sequence of Arrays or array_likes

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        If the shapes off the third axis differ.
    """
    return concatenate([_atleast_3d(x) for x in _sequence(tup, "dstack", "concatenate")], axis=2)


def _block_depth(arrays: Any, index: tuple[int, ...] = ()) -> int:
    """The nesting depth of ``arrays``, checking NumPy's rules."""
    if isinstance(arrays, tuple):
        raise TypeError(
            f"{index} is a tuple. Only lists can be used to arrange blocks, and np.block "
            "does not allow implicit conversion from tuple to ndarray."
        )
    if not isinstance(arrays, list):
        return 0
    if not arrays:
        raise ValueError(f"List at arrays{list(index)} cannot be empty")
    depths = [_block_depth(item, (*index, i)) for i, item in enumerate(arrays)]
    if any(d != depths[0] for d in depths):
        raise ValueError(
            f"List depths are mismatched. First element at arrays{list(index)} has depth "
            f"{depths[0] + 1}, but another element has depth {min(depths) + 1}"
        )
    return depths[0] + 1


def _block_leaves(arrays: Any) -> list[Array]:
    if isinstance(arrays, list):
        return [leaf for item in arrays for leaf in _block_leaves(item)]
    return [as_array(arrays)]


def _assemble(arrays: Any, depth: int, ndim: int, level: int) -> Array:
    if not isinstance(arrays, list):
        x = as_array(arrays)
        return x[(None,) * (ndim - x.ndim)] if x.ndim < ndim else x
    parts = [_assemble(item, depth, ndim, level + 1) for item in arrays]
    return concatenate(parts, axis=ndim - depth + level)


@implements(np.block)
def block(arrays: Any) -> Array:
    """Assemble an array from nested lists of blocks, as ``numpy.block``.

    The innermost lists are concatenated along the last axis, the next ones along the
    second-to-last, and so on; blocks with fewer dimensions than the result gain
    leading axes of length one. Each block keeps its chunks.

    Parameters
    ----------
    arrays : nested list of Arrays, array_likes or scalars

    Returns
    -------
    Array

    Raises
    ------
    TypeError
        If tuples are used to arrange blocks.
    ValueError
        For empty lists, mismatched list depths or blocks whose shapes do not fit.
    """
    depth = _block_depth(arrays)
    ndim = max(depth, max(x.ndim for x in _block_leaves(arrays)))
    if depth == 0:
        x = as_array(arrays)
        return x[(None,) * (ndim - x.ndim)] if x.ndim < ndim else x
    return _assemble(arrays, depth, ndim, 0)
