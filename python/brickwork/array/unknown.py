"""Arrays whose chunk sizes depend on data, as Dask's NaN chunks: ``x[x > 0]``.

Indexing with a brickwork array (a lazy boolean mask, or lazy integer positions) cannot
know the result's chunk lengths before the index is computed. Such an array knows its
dtype, number of dimensions and number of blocks; the unknown lengths are NaN, as in
Dask. ``compute_chunk_sizes()`` counts them in one pass that keeps a single count per
block (bounded memory), and any operation that needs them does the same first; the
array then becomes an ordinary one. ``compute()`` therefore reads the index's inputs
twice: once to count, once to select.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array
from brickwork.array.indexing import take
from brickwork.array.shape import ravel, rechunk

__all__ = ["Pending", "lazy_index"]

Chunks = tuple[tuple[float, ...], ...]


class Pending:
    """The build of an array whose chunk lengths are not known yet.

    Parameters
    ----------
    chunks : tuple of tuples
        Chunk lengths, NaN where unknown.
    dtype : numpy.dtype
    build : callable
        Makes the ordinary Array; given the counted lengths of the unknown axis (or
        None when every length is known).
    counts : Array, optional
        A lazy 1-d int64 array with one count per block of the unknown axis.
    """

    def __init__(
        self,
        chunks: Chunks,
        dtype: np.dtype,
        build: Callable[[tuple[int, ...] | None], Array],
        counts: Array | None = None,
    ) -> None:
        self.chunks = chunks
        self.dtype = dtype
        self._build = build
        self._counts = counts

    @property
    def shape(self) -> tuple[float, ...]:
        """Length of each axis; NaN where unknown (as Dask)."""
        return tuple(float(sum(c)) if any(map(math.isnan, c)) else int(sum(c)) for c in self.chunks)

    def resolve(self) -> Array:
        """Count the unknown chunk lengths (one pass) and build the ordinary Array."""
        if self._counts is None:
            return self._build(None)
        counts = np.asarray(self._counts.compute())
        return self._build(tuple(int(c) for c in counts))


def _count_block(mask: np.ndarray) -> np.ndarray:
    return np.array([np.count_nonzero(mask)], dtype=np.int64)


def _counts(mask: Array) -> Array:
    """One int64 count of True values per block of a 1-d mask."""
    return map_blocks(_count_block, mask, chunks=((1,) * mask.numblocks[0],), dtype=np.int64)


def _compress(block: np.ndarray, mask: np.ndarray, axis: int) -> np.ndarray:
    return np.compress(mask.reshape(-1), block, axis=axis)


def _nan_chunks(chunks: tuple[tuple[int, ...], ...], axis: int) -> Chunks:
    return tuple((math.nan,) * len(c) if a == axis else c for a, c in enumerate(chunks))


def _full_mask(x: Array, mask: Array) -> Array:
    """``x[mask]`` for a lazy mask of x's shape: the selected elements in C order."""
    if mask.shape != x.shape:
        raise IndexError(
            f"boolean index did not match indexed array; shape of array is {x.shape} but "
            f"shape of boolean index is {mask.shape}"
        )
    flat = ravel(x)
    flat_mask = rechunk(ravel(mask), flat.chunks)

    def build(counts: tuple[int, ...] | None) -> Array:
        return map_blocks(
            _compress, flat, flat_mask, axis=0, chunks=(counts,), dtype=x.dtype, name="getitem"
        )

    return Array._unknown(Pending(_nan_chunks(flat.chunks, 0), x.dtype, build, _counts(flat_mask)))


def _axis_mask(x: Array, mask: Array, axis: int) -> Array:
    """``x[..., mask, ...]`` for a lazy 1-d mask along ``axis``."""
    size = x.shape[axis]
    if mask.shape != (size,):
        raise IndexError(
            f"boolean index did not match indexed array along axis {axis}; size of axis is "
            f"{size} but size of corresponding boolean axis is {mask.shape[0]}"
        )
    # Empty chunks merged away (a free view): slicing `spread` below drops them, and the
    # blocks of x and of the spread mask must match one to one.
    solid = tuple(tuple(c for c in sizes if c) or sizes for sizes in x.chunks)
    if solid != x.chunks:
        x = rechunk(x, solid)
    mask = rechunk(mask, (x.chunks[axis],))
    spread = mask[(slice(None),) + (None,) * (x.ndim - axis - 1)]

    def build(counts: tuple[int, ...] | None) -> Array:
        chunks = tuple(counts if a == axis else c for a, c in enumerate(x.chunks))
        return map_blocks(
            _compress, x, spread, axis=axis, chunks=chunks, dtype=x.dtype, name="getitem"
        )

    return Array._unknown(Pending(_nan_chunks(x.chunks, axis), x.dtype, build, _counts(mask)))


def _axis_positions(x: Array, positions: Array, axis: int) -> Array:
    """``x[..., positions, ...]`` for lazy 1-d integer positions along ``axis``: the shape
    is known, the positions are computed when the array is first needed."""
    if positions.ndim != 1:
        raise NotImplementedError(
            "indexing with a multi-dimensional brickwork array of integers is not supported; "
            "compute it first (np.asarray(index))"
        )
    chunks = tuple(positions.chunks[0] if a == axis else c for a, c in enumerate(x.chunks))

    def build(_: tuple[int, ...] | None) -> Array:
        return rechunk(take(x, np.asarray(positions.compute()), axis=axis), chunks)

    return Array._unknown(Pending(chunks, x.dtype, build))


def lazy_index(x: Array, items: tuple[Any, ...]) -> Array:
    """``x[items]`` where exactly one item is a brickwork array (a lazy index).

    A boolean array of x's shape selects elements in C order (a 1-d result); a 1-d
    boolean array selects along its axis; a 1-d integer array takes positions along its
    axis. The other items must be basic (ints, slices, None, Ellipsis).

    Raises
    ------
    IndexError
        A mask whose shape does not match, or an array of another dtype.
    NotImplementedError
        Several array items, or other shapes of lazy index.
    """
    lazy = [i for i, it in enumerate(items) if isinstance(it, Array)]
    if len(lazy) != 1 or any(
        not isinstance(it, Array) and isinstance(it, list | tuple | np.ndarray) for it in items
    ):
        raise NotImplementedError(
            "indexing with a brickwork array is supported alone or with basic indices "
            "(ints, slices, None, Ellipsis); compute the other index arrays first"
        )
    p = lazy[0]
    index = items[p]
    if index.dtype.kind not in "biu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    if index.dtype.kind == "b" and index.ndim == x.ndim and len(items) == 1:
        return _full_mask(x, index)
    if index.dtype.kind == "b" and index.ndim != 1:
        raise NotImplementedError(
            "a lazy boolean index must be 1-d or have the array's shape, got "
            f"{index.ndim}-d for a {x.ndim}-d array"
        )
    basic = items[:p] + (slice(None),) + items[p + 1 :]
    before = items[:p]
    expand = x.ndim - sum(1 for it in items if it is not None and it is not Ellipsis)
    axis = sum(
        0 if isinstance(it, int | np.integer) else expand if it is Ellipsis else 1 for it in before
    )
    y = x[basic]
    if index.dtype.kind == "b":
        return _axis_mask(y, index, axis)
    if index.ndim == 0:
        # A 0-d integer array indexes like an int: take that one position, drop the axis.
        taken = _axis_positions(y, index.reshape((1,)), axis)
        return taken[(slice(None),) * axis + (0,)]
    return _axis_positions(y, index, axis)
