"""Routines that build a larger array from one: ``pad``, ``tile`` and ``repeat``
(joining several is ``joining``).

All are lazy compositions of slicing, gathers (``take``), ``concatenate``,
``map_blocks`` and filled arrays; the input's chunks are kept and new parts get
chunks of their own.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import array_method, implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import full
from brickwork.array.indexing import along, take
from brickwork.array.joining import concatenate
from brickwork.array.shape import rechunk

__all__ = ["pad", "repeat", "tile"]

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap", "empty")
_NUMPY_ONLY_MODES = ("linear_ramp", "maximum", "mean", "median", "minimum")


def _pairs(value: Any, ndim: int, name: str, integral: bool) -> np.ndarray:
    """``value`` broadcast to NumPy's ``((before, after),) * ndim`` layout."""
    arr = np.asarray(value)
    if integral:
        if arr.dtype.kind not in "iu":
            raise TypeError(f"`{name}` must be of integral type.")
        arr = arr.astype(np.int64)
    try:
        pairs = np.broadcast_to(arr, (ndim, 2)) if arr.ndim < 3 else None
    except ValueError:
        pairs = None
    if pairs is None:
        raise ValueError(
            f"operands could not be broadcast together: {name} of shape {arr.shape} "
            f"and the requested shape ({ndim}, 2)"
        )
    if integral and (pairs < 0).any():
        raise ValueError("index can't contain negative values")
    return pairs


def _source_index(i: np.ndarray, n: int, mode: str) -> np.ndarray:
    """The index into an axis of length ``n`` that padded position ``i`` copies
    (``i`` counts from the first original element; it may be negative or >= n)."""
    if mode == "edge":
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return i % n
    if mode == "reflect":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        j = i % period
        return np.where(j >= n, period - j, j)
    # symmetric
    period = 2 * n
    j = i % period
    return np.where(j >= n, period - 1 - j, j)


def _piece_chunks(x: Array, axis: int, length: int) -> tuple[Any, ...]:
    """Chunks for a padding piece of ``length`` along ``axis``: ``x``'s chunks on the
    other axes, pieces no larger than ``x``'s largest chunk along ``axis``."""
    step = max(max(x.chunks[axis], default=0), 1)
    sizes = [step] * (length // step) + ([length % step] if length % step else [])
    return tuple(tuple(sizes) if i == axis else c for i, c in enumerate(x.chunks))


def _pad_piece(x: Array, axis: int, start: int, width: int, mode: str, value: Any) -> Array:
    """The padding of ``width`` positions from ``start`` (relative to the first original
    element) along ``axis``."""
    shape = tuple(width if i == axis else s for i, s in enumerate(x.shape))
    chunks = _piece_chunks(x, axis, width)
    if mode in ("constant", "empty"):
        return full(shape, value, dtype=x.dtype, chunks=chunks)
    index = _source_index(np.arange(start, start + width), x.shape[axis], mode)
    return rechunk(take(x, index, axis=axis), chunks)


def _pad_axis(
    x: Array, axis: int, before: int, after: int, mode: str, values: tuple[Any, Any]
) -> Array:
    parts = [x]
    if before:
        parts.insert(0, _pad_piece(x, axis, -before, before, mode, values[0]))
    if after:
        parts.append(_pad_piece(x, axis, x.shape[axis], after, mode, values[1]))
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=axis)


@implements(np.pad, adapt=False)
def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Array:
    """Pad an array, as ``numpy.pad`` for the modes ``"constant"``, ``"edge"``,
    ``"reflect"``, ``"symmetric"``, ``"wrap"`` and ``"empty"`` (padded with zeros).

    Axes are padded one after the other, as NumPy does, so in ``"constant"`` mode the
    corners take the values of the last axis. Every padded region is a gather of the
    elements it copies (or a filled array), concatenated with ``array``: the input's
    chunks are kept and each side's padding gets chunks no larger than the input's
    largest chunk along that axis (Dask's padding chunks differ).

    Parameters
    ----------
    array : Array or array_like
    pad_width : int, (before, after) or ((before, after), ...) per axis
        Non-negative integers.
    mode : str, default "constant"
    constant_values : scalar, (before, after) or ((before, after), ...), default 0
        For ``"constant"``: the values, cast to ``array``'s dtype as NumPy casts them.
    reflect_type : {"even"}
        Only NumPy's default is supported.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        For a negative width, an unknown mode, or padding an empty axis with a mode
        other than "constant" / "empty".
    TypeError
        For a non-integral ``pad_width`` or an argument the mode does not take.
    NotImplementedError
        For NumPy's statistic modes, callables and ``reflect_type="odd"``.
    """
    x = as_array(array)
    widths = _pairs(pad_width, x.ndim, "pad_width", integral=True)
    if callable(mode):
        raise NotImplementedError("pad with a callable mode is not supported")
    if mode in _NUMPY_ONLY_MODES:
        raise NotImplementedError(f"pad(mode={mode!r}) is not supported yet")
    if mode not in _PAD_MODES:
        raise ValueError(f"mode '{mode}' is not supported")
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"}}
    allowed["symmetric"] = allowed["reflect"]
    unsupported = set(kwargs) - allowed.get(mode, set())
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    if kwargs.get("reflect_type", "even") != "even":
        if kwargs["reflect_type"] != "odd":
            raise ValueError(
                f"reflect_type must be 'even' or 'odd', got {kwargs['reflect_type']!r}"
            )
        raise NotImplementedError("pad(reflect_type='odd') is not supported yet")
    if mode == "constant":
        values = _constant_pairs(kwargs.get("constant_values", 0), x.ndim, x.dtype)
    else:
        values = [(0, 0)] * x.ndim
    for axis in range(x.ndim):
        before, after = (int(w) for w in widths[axis])
        if x.shape[axis] == 0 and (before or after) and mode not in ("constant", "empty"):
            raise ValueError(
                f"can't extend empty axis {axis} using modes other than 'constant' or 'empty'"
            )
        x = _pad_axis(x, axis, before, after, mode, values[axis])
    return x


def _constant_pairs(values: Any, ndim: int, dtype: np.dtype) -> list[tuple[Any, Any]]:
    """The (before, after) constants of every axis, cast to ``dtype`` exactly as
    ``numpy.pad`` assigns them.

    NumPy keeps one or two values as NumPy scalars (cast unsafely: -1 becomes 255 in
    uint8) but turns a full per-axis table into Python numbers (an int out of range
    raises OverflowError), and it assigns every pair, even for zero widths.
    """
    arr = np.array(values)
    if arr.ndim < 3 and arr.size == 1:
        flat = arr.ravel()
        pairs: Any = ((flat[0], flat[0]),) * ndim
    elif arr.ndim < 3 and arr.size == 2 and arr.shape != (2, 1):
        flat = arr.ravel()
        pairs = ((flat[0], flat[1]),) * ndim
    else:
        pairs = _pairs(arr, ndim, "constant_values", integral=False).tolist()
    cell = np.empty((), dtype=dtype)

    def cast(value: Any) -> Any:
        with np.errstate(all="ignore"):
            cell[()] = value
        return cell.item()

    return [(cast(before), cast(after)) for before, after in pairs]


def _reps(reps: Any) -> tuple[int, ...]:
    items = (reps,) if np.ndim(reps) == 0 else tuple(np.asarray(reps).ravel().tolist())
    try:
        out = tuple(operator.index(r) for r in items)
    except TypeError:
        raise TypeError("reps must be integers") from None
    if any(r < 0 for r in out):
        raise ValueError("negative dimensions are not allowed")
    return out


@implements(np.tile)
def tile(A: Any, reps: Any) -> Array:  # noqa: N803 - NumPy's name
    """Repeat ``A`` ``reps[i]`` times along each axis, as ``numpy.tile``.

    As in NumPy, ``A`` gains leading axes of length one when ``reps`` is longer than
    ``A.ndim``, and ``reps`` gains leading ones when it is shorter. The copies are
    concatenated, so each keeps ``A``'s chunks (as in Dask).

    Parameters
    ----------
    A : Array or array_like
    reps : int or sequence of ints
        Non-negative repetitions per axis.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        For a negative repetition.
    """
    x = as_array(A)
    r = _reps(reps)
    if len(r) > x.ndim:
        x = x[(None,) * (len(r) - x.ndim)]
    r = (1,) * (x.ndim - len(r)) + r
    for axis, count in enumerate(r):
        if count == 0:
            x = x[along(x.ndim, axis, slice(0, 0))]
        elif count > 1:
            x = concatenate([x] * count, axis=axis)
    return x


@array_method()
@implements(np.repeat)
def repeat(a: Any, repeats: Any, axis: int | None = None) -> Array:
    """Repeat each element ``repeats`` times along ``axis`` (of the flattened array for
    None), as ``numpy.repeat`` with an integer ``repeats``.

    Each input chunk along ``axis`` is cut into ``repeats - 1`` nearly equal slabs
    (a free rechunk) and every slab is repeated by NumPy on its own, so the result's
    chunks stay about as large as the input's and equal Dask's. Unlike Dask,
    ``axis=None`` works for any number of dimensions (the flattened array, as NumPy).

    Parameters
    ----------
    a : Array or array_like
    repeats : int
        Non-negative. Arrays of repeats are not supported (as in Dask).
    axis : int, optional

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        For negative ``repeats``.
    numpy.exceptions.AxisError
        For a bad axis.
    NotImplementedError
        For an array of repeats.
    """
    x = as_array(a)
    if np.ndim(repeats) != 0:
        if np.size(repeats) != 1:
            raise NotImplementedError("only an integer repeats is supported (as in Dask)")
        repeats = np.asarray(repeats).ravel()[0]
    try:
        count = operator.index(repeats)
    except TypeError:
        raise TypeError("Cannot cast array data from dtype('float64') to dtype('int64')") from None
    if count < 0:
        raise ValueError("negative dimensions are not allowed")
    if axis is None:
        x, ax = x.ravel(), 0
    else:
        ax = normalize_axis_index(operator.index(axis), x.ndim)
    if count == 0:
        return x[along(x.ndim, ax, slice(0, 0))]
    if count == 1 or x.shape[ax] == 0:
        return x
    slabs = _repeat_slabs(x.chunks[ax], count)
    source = rechunk(x, {i: (slabs if i == ax else c) for i, c in enumerate(x.chunks)})
    chunks = tuple(
        tuple(c * count for c in sizes) if i == ax else sizes
        for i, sizes in enumerate(source.chunks)
    )
    return map_blocks(
        lambda b: np.repeat(b, count, axis=ax), source, dtype=x.dtype, chunks=chunks, name="repeat"
    )


def _repeat_slabs(sizes: tuple[int, ...], count: int) -> tuple[int, ...]:
    """Dask's cut of every chunk into ``count - 1`` nearly equal slabs (empty ones
    dropped), so that repeated chunks stay about as large as the input's."""
    slabs: list[int] = []
    start = 0
    for size in sizes:
        cuts = np.linspace(start, start + size, count).round(0)
        slabs.extend(int(b - a) for a, b in zip(cuts[:-1], cuts[1:]) if b != a)
        start += size
    return tuple(slabs)
