"""Cumulative sums and products: ``cumsum``, ``cumprod``, ``nancumsum``, ``nancumprod``;
and their inverse, the differences ``diff``.

Two methods, as in Dask. ``"sequential"`` is one engine scan stage: blocks along the axis
run one after another, each continuing from the last slice of the block before it.
``"blelloch"`` is a work-efficient parallel prefix scan of the blocks (Dask's
``prefixscan_blelloch``): the total of every block but the last (a reduction per block),
an up-sweep and a down-sweep over those totals that give each block the total of the
blocks before it in ``2 * log2(blocks)`` levels (a gather and an elementwise stage
each), and a scan of every block on its own, started from that offset. Every step is a
lazy engine operation; the longest chain of tasks grows with ``log2(blocks)`` instead
of ``blocks``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork import _core
from brickwork.array._dispatch import array_method, implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange, full
from brickwork.array.indexing import along, take
from brickwork.array.joining import concatenate
from brickwork.array.ufuncs import isnan, where

__all__ = [
    "cumprod",
    "cumsum",
    "diff",
    "nancumprod",
    "nancumsum",
    "push",
]

_METHODS = ("sequential", "blelloch")
# The block reduction and the identity of each scan: -0.0 + x is x for every float x
# (0.0 + -0.0 is 0.0), and it casts to 0 / False for other dtypes.
_TOTAL = {"cumsum": "sum", "cumprod": "prod"}
_IDENTITY = {"cumsum": -0.0, "cumprod": 1}


def _dtype_name(dtype: Any) -> str | None:
    return None if dtype is None else np.dtype(dtype).name


def _axis(axis: Any) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"axis must be an integer or None, got {type(axis).__name__}")
    return int(axis)


def _scan(op: str, a: Any, axis: Any, dtype: Any, method: str) -> Array:
    if method not in _METHODS:
        raise ValueError(
            f'Invalid method for {op}. Expected "sequential" or "blelloch". Got: {method!r}'
        )
    x = as_array(a)
    # The sequential scan validates the axis and dtype and gives the result's dtype.
    sequential = Array(_core.cumulative(op, x._expr, _axis(axis), _dtype_name(dtype)), op)
    if sequential.dtype == bool:
        raise TypeError(f"{op} with dtype bool is not supported: cast to an integer first")
    if method == "sequential":
        return sequential
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = int(axis) % x.ndim
    # Empty blocks along the axis add nothing to the scan: merge them away (a view).
    nonempty = tuple(c for c in x.chunks[axis] if c)
    if len(nonempty) < 2:
        # One block: the same scan.
        return sequential
    x = x.rechunk({axis: nonempty})
    result = _blelloch(op, x.astype(sequential.dtype), axis)
    # Slices and concatenations drop empty chunks; Dask keeps the input's chunks.
    return result if result.chunks == sequential.chunks else result.rechunk(sequential.chunks)


def _along(axis: int, index: Any) -> tuple[Any, ...]:
    return (slice(None),) * axis + (index,)


def _binop(op: str, a: Array, b: Array) -> Array:
    return a + b if op == "cumsum" else a * b


def _blelloch(op: str, x: Array, axis: int) -> Array:
    """Dask's Blelloch scan of ``x`` (already of the result dtype) along ``axis``."""
    column = (None,) * axis + (slice(None),) + (None,) * (x.ndim - axis - 1)
    bounds = np.cumsum((0, *x.chunks[axis]))
    blocks = [x[_along(axis, slice(lo, hi))] for lo, hi in zip(bounds[:-1], bounds[1:])]
    totals = [getattr(b, _TOTAL[op])(axis=axis, keepdims=True, dtype=x.dtype) for b in blocks[:-1]]
    offsets = _inclusive_scan(op, concatenate(totals, axis=axis), axis, column)
    # The offset of each block: the identity for the first, then the prefixes.
    shape = tuple(1 if a == axis else n for a, n in enumerate(x.shape))
    chunks = tuple((1,) if a == axis else c for a, c in enumerate(x.chunks))
    identity = full(shape, _IDENTITY[op], dtype=x.dtype, chunks=chunks)
    offsets = concatenate([identity, offsets], axis=axis)
    scans = []
    for i, block in enumerate(blocks):
        first = arange(block.shape[axis])[column] == 0
        start = where(first, _binop(op, offsets[_along(axis, slice(i, i + 1))], block), block)
        scans.append(Array(_core.cumulative(op, start._expr, axis, x.dtype.name), op))
    return concatenate(scans, axis=axis)


def _inclusive_scan(op: str, values: Array, axis: int, column: tuple[Any, ...]) -> Array:
    """The inclusive scan of ``values`` (one element per block along ``axis``) by an
    up-sweep of pairwise combinations and a down-sweep, each level one gather and one
    elementwise stage (the gathers materialize the levels)."""
    levels = [values]
    while levels[-1].shape[axis] > 1:  # up-sweep: level k + 1 combines pairs of level k
        level = levels[-1]
        half = level.shape[axis] // 2
        pairs = take(level, [*range(0, 2 * half, 2), *range(1, 2 * half, 2)], axis=axis)
        left, right = pairs[_along(axis, slice(0, half))], pairs[_along(axis, slice(half, None))]
        levels.append(_binop(op, left, right))
    scan = levels.pop()
    for level in reversed(levels):  # down-sweep: the scan of level k from level k + 1's
        n = level.shape[axis]
        # Element j of level k: the scan of level k + 1 at (j - 1) // 2, combined with
        # element j of level k when j is even (element 0 is its own prefix).
        before = take(scan, [max((j - 1) // 2, 0) for j in range(n)], axis=axis)
        j = arange(n)[column]
        scan = where(j % 2 == 1, before, where(j == 0, level, _binop(op, before, level)))
    return scan


@array_method()
@implements(np.cumsum)
def cumsum(
    a: Any, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
) -> Array:
    """Cumulative sum along ``axis`` (the flattened array for None), as ``numpy.cumsum``.

    Parameters
    ----------
    a : array_like
    axis : int, optional
    dtype : dtype, optional
        The accumulator and result dtype; integers default to int64 / uint64.
    method : {"sequential", "blelloch"}
        As in Dask: ``"sequential"`` scans the blocks along the axis one after another;
        ``"blelloch"`` is a parallel prefix scan of the blocks (two reads of the input,
        a chain of dependent tasks growing with ``log2(blocks)`` instead of
        ``blocks``). Floats may round differently from NumPy's sequential order with
        ``"blelloch"``. Default "sequential".

    Raises
    ------
    ValueError
        An unknown ``method``.
    numpy.exceptions.AxisError
        A bad axis.
    """
    return _scan("cumsum", a, axis, dtype, method)


@array_method()
@implements(np.cumprod)
def cumprod(
    a: Any, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
) -> Array:
    """Cumulative product along ``axis`` (the flattened array for None), as
    ``numpy.cumprod`` (arguments as ``cumsum``)."""
    return _scan("cumprod", a, axis, dtype, method)


def _nan_as(a: Any, value: int) -> Array:
    x = as_array(a)
    return where(isnan(x), value, x) if x.dtype.kind == "f" else x


@implements(np.nancumsum)
def nancumsum(
    a: Any, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
) -> Array:
    """Cumulative sum treating NaN as zero, as ``numpy.nancumsum`` (arguments as
    ``cumsum``)."""
    return cumsum(_nan_as(a, 0), axis=axis, dtype=dtype, method=method)


@implements(np.nancumprod)
def nancumprod(
    a: Any, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
) -> Array:
    """Cumulative product treating NaN as one, as ``numpy.nancumprod`` (arguments as
    ``cumsum``)."""
    return cumprod(_nan_as(a, 1), axis=axis, dtype=dtype, method=method)


@implements(np.diff)
def diff(a: Any, n: int = 1, axis: int = -1) -> Array:
    """The ``n``-th discrete difference along ``axis``, as ``numpy.diff``."""
    x = as_array(a)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if x.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = normalize_axis_index(axis, x.ndim)
    for _ in range(n):
        later = x[along(x.ndim, ax, slice(1, None))]
        earlier = x[along(x.ndim, ax, slice(None, -1))]
        x = (later != earlier) if x.dtype == bool else later - earlier
    return x


def _push_block(block: np.ndarray, n: int | None, axis: int) -> np.ndarray:
    """Forward fill of NaN along ``axis`` (at most ``n`` steps from the last value)."""
    if block.dtype.kind != "f" or block.size == 0:
        return block
    shape = [1] * block.ndim
    shape[axis] = block.shape[axis]
    steps = np.arange(block.shape[axis]).reshape(shape)
    last = np.maximum.accumulate(np.where(np.isnan(block), 0, steps), axis=axis)
    filled = np.take_along_axis(block, last, axis=axis)
    if n is not None:
        filled = np.where(steps - last > n, block, filled)
    return filled


def push(array: Any, n: int | None, axis: int) -> Array:
    """Fill NaN with the last value before them along ``axis``, at most ``n`` steps
    forward (no limit if None), as ``dask.array.push`` (bottleneck's ``push``).

    The axis is gathered into one chunk (a free rechunk) and NumPy fills each block;
    arrays of other dtypes than float have no NaN and come back unchanged.
    """
    x = as_array(array)
    axis = normalize_axis_index(axis, x.ndim)
    if n is not None and n < 0:
        raise ValueError(f"n must be None or a non-negative integer, got {n}")
    if x.dtype.kind != "f":
        return x
    whole = x.rechunk({axis: -1})
    return map_blocks(_push_block, whole, n=n, axis=axis, dtype=x.dtype, name="push")
