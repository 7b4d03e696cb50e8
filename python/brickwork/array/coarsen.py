"""``coarsen``: reduce non-overlapping windows of ``factor`` elements along axes, as
``dask.array.coarsen``.

Each chunk along a coarsened axis is made a multiple of its factor (a rechunk that
moves only the boundaries that are not; Dask instead requires them to be multiples
already), then every block is reshaped to (..., n / factor, factor, ...) and reduced by
the user's function over the window axes, as Dask's ``chunk.coarsen``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.shape import rechunk

__all__ = ["coarsen"]


def _coarsen_block(
    block: np.ndarray, reduction: Callable[..., Any], factors: tuple[int, ...], kwargs: Any
) -> np.ndarray:
    shape = []
    for n, f in zip(block.shape, factors):
        shape += [n // f, f]
    windows = tuple(range(1, 2 * block.ndim, 2))
    return np.asarray(reduction(block.reshape(shape), axis=windows, **kwargs))


def _multiples(sizes: tuple[int, ...], factor: int) -> tuple[int, ...]:
    """Chunk sizes near ``sizes``, each a multiple of ``factor`` (same total)."""
    if all(s % factor == 0 for s in sizes):
        return sizes
    out, edge, total = [], 0, sum(sizes)
    for s in sizes:
        stop = min(total, round((edge + s) / factor) * factor)
        if stop > sum(out):
            out.append(stop - sum(out))
        edge += s
    if sum(out) < total:
        out.append(total - sum(out))
    return tuple(out)


def coarsen(
    reduction: Callable[..., Any],
    x: Any,
    axes: dict[int, int],
    trim_excess: bool = False,
    **kwargs: Any,
) -> Array:
    """Reduce windows of ``axes[axis]`` consecutive elements along each axis with
    ``reduction`` (a NumPy reduction taking ``axis=``, such as ``np.sum`` or
    ``np.mean``), as ``dask.array.coarsen``; ``kwargs`` are passed to it.

    Raises
    ------
    ValueError
        If a factor does not divide its axis' length and ``trim_excess`` is False.
    """
    a = as_array(x)
    factors = [1] * a.ndim
    for axis, factor in axes.items():
        factors[normalize_axis_index(axis, a.ndim)] = int(factor)
    if any(f < 1 for f in factors):
        raise ValueError(f"coarsening factors must be positive, got {axes}")
    if trim_excess:
        a = a[tuple(slice(0, n - n % f) for n, f in zip(a.shape, factors))]
    elif any(n % f for n, f in zip(a.shape, factors)):
        raise ValueError(f"Coarsening factors {axes} do not align with array shape {a.shape}.")
    chunks = tuple(_multiples(c, f) for c, f in zip(a.chunks, factors))
    if chunks != a.chunks:
        a = rechunk(a, chunks)
    sample = np.zeros((1,) * (2 * a.ndim), dtype=a.dtype)
    dtype = np.asarray(reduction(sample, axis=tuple(range(1, 2 * a.ndim, 2)), **kwargs)).dtype
    out_chunks = tuple(tuple(s // f for s in c) for c, f in zip(a.chunks, factors))
    return map_blocks(
        _coarsen_block,
        a,
        reduction=reduction,
        factors=tuple(factors),
        kwargs=kwargs,
        chunks=out_chunks,
        dtype=dtype,
        name="coarsen",
    )
