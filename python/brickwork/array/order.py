"""Order statistics along an axis: sort, argsort, median, percentile, quantile, topk,
argtopk, and isin.

Each gathers the axis into one chunk first — a rechunk, which in brickwork is a free view
— and then runs NumPy's own function per block through ``map_blocks``, so the results
are NumPy's exactly. Memory per task is one block with the whole axis. ``topk`` and
``argtopk`` (Dask's) first keep the top ``k`` of every block, then gather those.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, to_expr

__all__ = ["argsort", "argtopk", "isin", "median", "percentile", "quantile", "sort", "topk"]


def _array(a: Any) -> Array:
    return a if isinstance(a, Array) else Array(to_expr(a), "array")


def _whole_axis(x: Array, axis: int) -> Array:
    return x.rechunk({axis: -1})


@implements(np.sort)
def sort(a: Any, axis: int = -1) -> Array:
    """Sort along ``axis``, as ``numpy.sort``."""
    x = _array(a)
    ax = normalize_axis_index(axis, x.ndim)
    return map_blocks(lambda b: np.sort(b, axis=ax), _whole_axis(x, ax), dtype=x.dtype, name="sort")


@implements(np.argsort)
def argsort(a: Any, axis: int = -1) -> Array:
    """Indices that sort along ``axis`` (stable), as ``numpy.argsort``."""
    x = _array(a)
    ax = normalize_axis_index(axis, x.ndim)
    return map_blocks(
        lambda b: np.argsort(b, axis=ax, kind="stable"),
        _whole_axis(x, ax),
        dtype=np.int64,
        name="argsort",
    )


def _reduce_along(x: Array, ax: int, func: Any, dtype: Any, name: str, keepdims: bool) -> Array:
    whole = _whole_axis(x, ax)
    chunks = tuple((1,) if i == ax else c for i, c in enumerate(whole.chunks))
    out = map_blocks(func, whole, dtype=dtype, chunks=chunks, name=name)
    return out if keepdims else out[(slice(None),) * ax + (0,)]


@implements(np.quantile)
def quantile(
    a: Any, q: float, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """The ``q``-th quantile (a float in [0, 1]) along ``axis`` (the flattened array for
    None), as ``numpy.quantile``."""
    x = _array(a)
    if np.ndim(q) != 0:
        raise NotImplementedError("quantile with several q at once is not supported yet")
    if not 0.0 <= float(q) <= 1.0:
        raise ValueError("Quantiles must be in the range [0, 1]")
    if axis is None:
        out = quantile(x.ravel(), q, axis=0, method=method)
        return out.reshape((1,) * x.ndim) if keepdims else out
    ax = normalize_axis_index(axis, x.ndim)
    dtype = np.quantile(np.zeros(1, x.dtype), q).dtype
    return _reduce_along(
        x,
        ax,
        lambda b: np.quantile(b, q, axis=ax, keepdims=True, method=method),
        dtype,
        "quantile",
        keepdims,
    )


@implements(np.percentile)
def percentile(
    a: Any, q: float, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """The ``q``-th percentile (in [0, 100]) along ``axis``, as ``numpy.percentile``."""
    if np.ndim(q) == 0 and not 0.0 <= float(q) <= 100.0:
        raise ValueError("Percentiles must be in the range [0, 100]")
    return quantile(
        a, q if np.ndim(q) else float(q) / 100.0, axis=axis, keepdims=keepdims, method=method
    )


@implements(np.median)
def median(a: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """The median along ``axis``, as ``numpy.median`` (integers in float64, so the mean
    of the two middle values cannot overflow)."""
    x = _array(a)
    if x.dtype.kind in "biu":
        x = x.astype(np.float64)
    return quantile(x, 0.5, axis=axis, keepdims=keepdims)


@implements(np.isin)
def isin(element: Any, test_elements: Any, invert: bool = False) -> Array:
    """Whether each element is in ``test_elements`` (a NumPy array or sequence), as
    ``numpy.isin``."""
    x = _array(element)
    values = np.asarray(test_elements)
    return map_blocks(lambda b: np.isin(b, values, invert=invert), x, dtype=bool, name="isin")


def _topk_positions(b: np.ndarray, k: int, ax: int) -> np.ndarray:
    """Positions along ``ax`` of the ``|k|`` largest (k > 0) or smallest (k < 0) values of
    each lane, ordered descending (k > 0) or ascending (k < 0); NaN counts as largest."""
    n = b.shape[ax]
    m = min(abs(k), n)
    if m == 0:
        return np.zeros(b.shape[:ax] + (0,) + b.shape[ax + 1 :], dtype=np.int64)
    if m < n:
        kth = n - m if k > 0 else m - 1
        part = np.argpartition(b, kth, axis=ax)
        keep = slice(n - m, None) if k > 0 else slice(0, m)
        pos = part[(slice(None),) * ax + (keep,)]
    else:
        shape = [1] * b.ndim
        shape[ax] = n
        pos = np.broadcast_to(np.arange(n).reshape(shape), b.shape)
    order = np.argsort(np.take_along_axis(b, pos, axis=ax), axis=ax, kind="stable")
    if k > 0:
        order = np.flip(order, axis=ax)
    return np.take_along_axis(pos, order, axis=ax).astype(np.int64)


def _topk_parts(x: Array, k: int, ax: int) -> tuple[Array, Array]:
    """Per block along ``ax``: the top ``|k|`` values and their global positions."""
    offsets = np.cumsum((0, *x.chunks[ax]))
    chunks = tuple(
        tuple(min(abs(k), c) for c in sizes) if i == ax else sizes
        for i, sizes in enumerate(x.chunks)
    )

    def positions(b: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        return _topk_positions(b, k, ax) + offsets[block_id[ax]]

    def values(b: np.ndarray) -> np.ndarray:
        return np.take_along_axis(b, _topk_positions(b, k, ax), axis=ax)

    vals = map_blocks(values, x, dtype=x.dtype, chunks=chunks, name="topk")
    idx = map_blocks(positions, x, dtype=np.int64, chunks=chunks, name="argtopk")
    return vals, idx


def _topk_args(a: Any, k: Any, axis: Any) -> tuple[Array, int, int]:
    x = _array(a)
    if x.ndim == 0:
        raise np.exceptions.AxisError("topk needs an array of at least one dimension")
    k = operator.index(k)
    ax = normalize_axis_index(operator.index(axis), x.ndim)
    if abs(k) > x.shape[ax]:
        raise ValueError(f"|k| = {abs(k)} is larger than the axis length {x.shape[ax]}")
    return x, k, ax


def topk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The ``k`` largest values along ``axis`` sorted descending (``k > 0``), or the
    ``-k`` smallest sorted ascending (``k < 0``), as ``dask.array.topk``.

    Each block keeps its own top ``|k|`` (NumPy's ``partition``), then the candidates of
    all blocks along ``axis`` are gathered into one chunk and reduced again, so no task
    holds more than ``|k|`` values per block of the axis. NaN counts as the largest
    value, as in NumPy's sort.

    Parameters
    ----------
    a : Array or array_like
    k : int
        Number of values; the sign picks largest (> 0) or smallest (< 0).
    axis : int, default -1
    split_every : None
        Accepted for compatibility with Dask; ignored.

    Returns
    -------
    Array
        ``a``'s dtype, with ``|k|`` elements along ``axis`` in one chunk.

    Raises
    ------
    ValueError
        If ``|k|`` exceeds the axis length.
    numpy.exceptions.AxisError
        For a bad axis or a 0-d array.
    """
    x, k, ax = _topk_args(a, k, axis)
    vals, _ = _topk_parts(x, k, ax)
    whole = _whole_axis(vals, ax)
    chunks = tuple((abs(k),) if i == ax else c for i, c in enumerate(whole.chunks))
    return map_blocks(
        lambda b: np.take_along_axis(b, _topk_positions(b, k, ax), axis=ax),
        whole,
        dtype=x.dtype,
        chunks=chunks,
        name="topk",
    )


def argtopk(a: Any, k: int, axis: int = -1, split_every: Any = None) -> Array:
    """The positions along ``axis`` of the values ``topk(a, k, axis)`` returns, in the
    same order, as ``dask.array.argtopk`` (ties in any order).

    Parameters
    ----------
    a : Array or array_like
    k : int
        Number of positions; the sign picks largest (> 0) or smallest (< 0).
    axis : int, default -1
    split_every : None
        Accepted for compatibility with Dask; ignored.

    Returns
    -------
    Array of int64
        ``|k|`` positions along ``axis``, in one chunk.

    Raises
    ------
    ValueError
        If ``|k|`` exceeds the axis length.
    numpy.exceptions.AxisError
        For a bad axis or a 0-d array.
    """
    x, k, ax = _topk_args(a, k, axis)
    vals, idx = _topk_parts(x, k, ax)
    whole_vals, whole_idx = _whole_axis(vals, ax), _whole_axis(idx, ax)
    chunks = tuple((abs(k),) if i == ax else c for i, c in enumerate(whole_vals.chunks))
    return map_blocks(
        lambda v, i: np.take_along_axis(i, _topk_positions(v, k, ax), axis=ax),
        whole_vals,
        whole_idx,
        dtype=np.int64,
        chunks=chunks,
        name="argtopk",
    )
