"""Choosing elements: ``select``, ``piecewise``, ``choose``, ``compress``, ``extract``,
the positions of nonzero elements (``nonzero``, ``flatnonzero``, ``argwhere``) and
flat / multi-dimensional index conversion, as Dask's.

``select`` is a chain of lazy ``where``; ``piecewise`` and ``choose`` run NumPy's
function on each block. Selections by a lazy condition have unknown (NaN) chunk sizes,
as in Dask (see ``unknown``); a NumPy condition is one gather with known sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import array_method, implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange, from_array
from brickwork.array.grids import indices
from brickwork.array.indexing import take
from brickwork.array.joining import stack
from brickwork.array.shape import broadcast_arrays, broadcast_to, ravel, rechunk
from brickwork.array.ufuncs import where

__all__ = [
    "argwhere",
    "choose",
    "compress",
    "extract",
    "flatnonzero",
    "nonzero",
    "piecewise",
    "ravel_multi_index",
    "select",
    "unravel_index",
]


def _blocked(values: Sequence[Any]) -> list[Any]:
    """Array-likes of one or more dimensions as Arrays, so map_blocks cuts them."""
    return [as_array(v) if isinstance(v, Array) or np.ndim(v) > 0 else v for v in values]


@implements(np.select)
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Array:
    """``choicelist[i]`` where ``condlist[i]`` is the first true condition, ``default``
    where none is, as ``numpy.select`` (a chain of lazy ``where``)."""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    conds = [as_array(c) for c in condlist]
    for i, c in enumerate(conds):
        if c.dtype != bool:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    choices = [as_array(c) for c in choicelist]
    dtype = np.result_type(*(c.dtype for c in choices), np.asarray(default).dtype)
    result = as_array(np.asarray(default, dtype=dtype))
    for cond, choice in zip(conds[::-1], choices[::-1]):
        result = where(cond, choice.astype(dtype), result)
    shape = np.broadcast_shapes(*(a.shape for a in (*conds, *choices)))
    return result if result.shape == shape else broadcast_to(result, shape)


def _piecewise_block(
    x: np.ndarray, *conds: np.ndarray, funclist: Any, func_args: Any, func_kw: Any
) -> np.ndarray:
    return np.piecewise(x, list(conds), funclist, *func_args, **func_kw)


@implements(np.piecewise, adapt=False)
def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Array:
    """``funclist[i]`` applied where ``condlist[i]`` is true, as ``numpy.piecewise``:
    NumPy's function on each block with that block's conditions."""
    a = as_array(x)
    if isinstance(condlist, Array | np.ndarray) or not isinstance(condlist, list | tuple):
        condlist = [condlist]
    conds = []
    for c in condlist:
        c = as_array(c)
        if c.shape != a.shape:
            c = broadcast_to(c, a.shape) if c.ndim <= a.ndim else c
        conds.append(c)
    return map_blocks(
        _piecewise_block,
        a,
        *conds,
        funclist=funclist,
        func_args=args,
        func_kw=kw,
        dtype=a.dtype,
        name="piecewise",
    )


def _choose_block(a: np.ndarray, *choices: np.ndarray) -> np.ndarray:
    return np.choose(a, choices)


@array_method()
@implements(np.choose)
def choose(a: Any, choices: Sequence[Any]) -> Array:
    """``choices[a]`` elementwise, as ``numpy.choose`` (NumPy's on each block; an index
    out of range raises ValueError at compute time, as NumPy's ``mode="raise"``)."""
    operands = _blocked([a, *choices])
    empties = [np.empty((0,), o.dtype) if isinstance(o, Array) else o for o in operands]
    dtype = np.choose(empties[0].astype(np.intp), empties[1:]).dtype
    return map_blocks(_choose_block, *operands, dtype=dtype, name="choose")


@implements(np.compress)
def compress(condition: Any, a: Any, axis: int | None = None) -> Array:
    """The slices along ``axis`` where ``condition`` is true, as ``numpy.compress``.

    A NumPy / list condition is one gather with known sizes; an Array condition gives
    unknown (NaN) chunk sizes, as Dask. A condition shorter than the axis selects only
    among the first ``len(condition)`` slices.
    """
    x = as_array(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = normalize_axis_index(axis, x.ndim)
    if isinstance(condition, Array):
        cond = condition.astype(bool)
        if cond.ndim != 1:
            raise ValueError("Condition must be one dimensional")
        if cond.shape[0] > x.shape[axis]:
            raise IndexError(
                f"index {cond.shape[0] - 1} is out of bounds for axis {axis} with size "
                f"{x.shape[axis]}"
            )
        head = (slice(None),) * axis
        return x[(*head, slice(0, cond.shape[0]))][(*head, cond)]
    cond = np.asarray(condition).astype(bool)
    if cond.ndim != 1:
        raise ValueError("Condition must be one dimensional")
    positions = np.flatnonzero(cond)
    if len(cond) > x.shape[axis] and positions.size and positions[-1] >= x.shape[axis]:
        raise IndexError(
            f"index {positions[-1]} is out of bounds for axis {axis} with size {x.shape[axis]}"
        )
    return take(x, positions, axis=axis)


@implements(np.extract)
def extract(condition: Any, arr: Any) -> Array:
    """The elements of ``arr`` where ``condition`` is true, flattened, as
    ``numpy.extract``."""
    cond = as_array(condition) if isinstance(condition, Array) else np.asarray(condition)
    return compress(ravel(cond) if isinstance(cond, Array) else cond.ravel(), ravel(as_array(arr)))


@implements(np.flatnonzero)
def flatnonzero(a: Any) -> Array:
    """Positions of the nonzero elements of the flattened array (unknown chunk sizes, as
    Dask)."""
    flat = ravel(as_array(a))
    return arange(flat.shape[0], chunks=(flat.chunks[0],))[flat != 0]


@implements(np.argwhere)
def argwhere(a: Any) -> Array:
    """The coordinates of the nonzero elements, one row each (unknown row count, as
    Dask)."""
    x = as_array(a)
    flat = ravel(x)
    if x.ndim == 0:
        return from_array(np.empty((1, 0), np.intp))[flat != 0]
    grid = indices(x.shape, chunks=x.chunks)
    coords = stack([ravel(grid[i]) for i in range(x.ndim)], axis=1)
    return rechunk(coords, {1: -1})[flat != 0]


@array_method()
@implements(np.nonzero)
def nonzero(a: Any) -> tuple[Array, ...]:
    """One array of coordinates per axis, of the nonzero elements (unknown sizes, as
    Dask)."""
    x = as_array(a)
    if x.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use np.atleast_1d.")
    flat = ravel(x) != 0
    grid = indices(x.shape, chunks=x.chunks)
    return tuple(ravel(grid[i])[flat] for i in range(x.ndim))


def _ravel_block(block: np.ndarray, dims: Any, mode: Any, order: str) -> np.ndarray:
    return np.ravel_multi_index(tuple(block), dims, mode=mode, order=order)


@implements(np.ravel_multi_index)
def ravel_multi_index(multi_index: Any, dims: Any, mode: Any = "raise", order: str = "C") -> Array:
    """Flat indices from a tuple of coordinate arrays, as ``numpy.ravel_multi_index``
    (NumPy's on each block; coordinates out of range raise ValueError at compute time
    with ``mode="raise"``)."""
    if isinstance(multi_index, Array):
        coords = multi_index
    else:
        coords = stack(broadcast_arrays(*(as_array(i) for i in multi_index)), axis=0)
    if coords.shape[0] != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    coords = rechunk(coords, {0: -1})
    return map_blocks(
        _ravel_block,
        coords,
        dims=tuple(dims),
        mode=mode,
        order=order,
        drop_axis=0,
        dtype=np.intp,
        name="ravel_multi_index",
    )


def _unravel_coord(block: np.ndarray, shape: Any, order: str, axis: int) -> np.ndarray:
    return np.unravel_index(block, shape, order=order)[axis]


@implements(np.unravel_index)
def unravel_index(indices: Any, shape: Any, order: str = "C") -> tuple[Array, ...]:
    """Coordinate arrays from flat indices, as ``numpy.unravel_index`` (NumPy's on each
    block; an index out of range raises ValueError at compute time)."""
    flat = as_array(indices)
    shape = tuple(shape) if np.ndim(shape) else (int(shape),)
    if flat.dtype.kind not in "iu":
        raise TypeError("only int indices permitted")
    return tuple(
        map_blocks(
            _unravel_coord,
            flat,
            shape=shape,
            order=order,
            axis=i,
            dtype=np.intp,
            name="unravel_index",
        )
        for i in range(len(shape))
    )
