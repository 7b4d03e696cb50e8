"""Coordinate grids: ``meshgrid``, ``indices`` and ``fromfunction``, as Dask's.

Each coordinate array is a lazy range broadcast (a view) to the grid's shape, so a grid
costs nothing until computed; ``fromfunction`` calls the function once per block with
that block's coordinates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange, from_array, zeros
from brickwork.array.joining import stack
from brickwork.array.shape import broadcast_to, ravel

__all__ = ["fromfunction", "indices", "meshgrid"]


@implements(np.meshgrid, adapt=False)
def meshgrid(
    *xi: Any, sparse: bool = False, indexing: str = "xy", copy: bool = True
) -> list[Array]:
    """Coordinate arrays from coordinate vectors, as ``numpy.meshgrid`` (``indexing``
    "xy" or "ij"; ``sparse`` keeps length-one axes)."""
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    vectors = [ravel(as_array(x)) for x in xi]
    ndim = len(vectors)
    if indexing == "xy" and ndim > 1:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(v.shape[0] for v in vectors)
    grids = []
    for i, v in enumerate(vectors):
        g = v.reshape(tuple(-1 if j == i else 1 for j in range(ndim)))
        if not sparse:
            chunks = tuple(v.chunks[0] if j == i else u.chunks[0] for j, u in enumerate(vectors))
            g = broadcast_to(g, shape, chunks=chunks)
        grids.append(g)
    if indexing == "xy" and ndim > 1:
        grids[0], grids[1] = grids[1], grids[0]
    return grids


def _grid_chunks(shape: tuple[int, ...], dtype: DTypeLike, chunks: Any) -> Any:
    return zeros(shape, dtype=dtype, chunks=chunks).chunks


def indices(dimensions: Any, dtype: DTypeLike = int, chunks: Any = "auto") -> Array:
    """The index of each position along each axis, stacked first: shape
    ``(len(dimensions), *dimensions)``, as ``dask.array.indices``."""
    shape = tuple(int(d) for d in dimensions)
    if not shape:
        return from_array(np.empty((0,), dtype=dtype))
    grid = _grid_chunks(shape, dtype, chunks)
    ranges = [arange(n, chunks=(c,), dtype=dtype) for n, c in zip(shape, grid)]
    return stack(meshgrid(*ranges, indexing="ij"), axis=0)


def fromfunction(
    func: Callable[..., Any],
    chunks: Any = "auto",
    shape: Any = None,
    dtype: DTypeLike | None = None,
    **kwargs: Any,
) -> Array:
    """``func`` of the coordinate arrays (one per axis, of ``dtype``, default float),
    called once per block with that block's coordinates, as ``dask.array.fromfunction``;
    ``kwargs`` are passed to ``func``."""
    if shape is None:
        raise TypeError("fromfunction() needs a shape")
    shape = tuple(int(n) for n in shape)
    dtype = np.dtype(float if dtype is None else dtype)
    grid = _grid_chunks(shape, dtype, chunks)
    ranges = [arange(n, chunks=(c,), dtype=dtype) for n, c in zip(shape, grid)]
    coordinates = meshgrid(*ranges, indexing="ij")
    return map_blocks(func, *coordinates, name="fromfunction", **kwargs)
