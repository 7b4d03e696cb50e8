"""Order statistics along an axis: sort, argsort, median, nanmedian, percentile,
quantile, nanpercentile, nanquantile, topk, argtopk, and isin.

Each gathers the axis into one chunk first — a rechunk, which in brickwork is a free view
— and then runs NumPy's own function per block through ``map_blocks``, so the results
are NumPy's exactly. Memory per task is one block with the whole axis. ``topk`` and
``argtopk`` (Dask's) first keep the top ``k`` of every block, then gather those.
``percentile`` of a 1-d array in several chunks is Dask's approximation instead:
percentiles per chunk, merged by one task.
"""

from __future__ import annotations

import operator
import warnings
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import array_method, implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array

__all__ = [
    "argsort",
    "argtopk",
    "isin",
    "median",
    "nanargmax",
    "nanargmin",
    "nanmedian",
    "nanpercentile",
    "nanquantile",
    "percentile",
    "quantile",
    "sort",
    "topk",
]

_INTERNAL_METHODS = ("default", "dask", "exact", "tdigest")
# The methods Dask's merge of per-chunk percentiles supports.
_MERGE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _whole_axis(x: Array, axis: int) -> Array:
    """``x`` with ``axis`` in one chunk and no empty chunks on the other axes (both
    views). Slicing drops empty chunks (``x[None]`` inserting an axis too), so a chunk
    spec given to ``map_blocks`` that kept them would not match its input's blocks."""
    chunks = {a: -1 if a == axis else _nonempty(c) for a, c in enumerate(x.chunks)}
    return x.rechunk(chunks)


def _nonempty(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """Chunk sizes without the empty ones (one empty chunk for an empty axis)."""
    return tuple(c for c in sizes if c) or (0,)


@implements(np.sort)
def sort(a: Any, axis: int = -1) -> Array:
    """Sort along ``axis``, as ``numpy.sort``."""
    x = as_array(a)
    ax = normalize_axis_index(axis, x.ndim)
    return map_blocks(lambda b: np.sort(b, axis=ax), _whole_axis(x, ax), dtype=x.dtype, name="sort")


@implements(np.argsort)
def argsort(a: Any, axis: int = -1) -> Array:
    """Indices that sort along ``axis`` (stable), as ``numpy.argsort``."""
    x = as_array(a)
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


def _q_values(q: Any, name: str) -> Any:
    """``q`` as NumPy takes it: a brickwork Array (or a sequence holding some) is
    computed, since its values fix the result's shape; Python and NumPy scalars pass
    unchanged, so NumPy's weak promotion of a Python float ``q`` still applies.

    Raises
    ------
    TypeError
        If ``q`` is not real numbers.
    """
    if isinstance(q, Array) or (
        isinstance(q, list | tuple) and any(isinstance(v, Array) for v in q)
    ):
        q = np.asarray(q)
    try:
        kind = np.asarray(q).dtype.kind
    except (TypeError, ValueError):
        kind = "O"
    if kind not in "biuf":
        raise TypeError(
            f"{name} q must be a real number or an array_like of real numbers, got "
            f"{type(q).__name__} {q!r}"
        )
    return q


def _order_statistic(
    func: Any, x: Array, q: Any, axis: Any, keepdims: bool, method: str, name: str
) -> Array:
    """``func(x, q, axis, keepdims=keepdims, method=method)`` for NumPy's ``quantile``,
    ``percentile``, ``nanquantile`` or ``nanpercentile`` (``q`` already checked): each
    lane of the axis is gathered into one task that calls ``func``; several ``q`` give
    a result with ``q``'s axes first."""
    qs = np.asarray(q)
    if axis is None:
        out = _order_statistic(func, x.ravel(), q, 0, False, method, name)
        return out.reshape(qs.shape + (1,) * x.ndim) if keepdims else out
    ax = normalize_axis_index(axis, x.ndim)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN lanes of nan*
        dtype = func(np.zeros(1, x.dtype), q, method=method).dtype
    if qs.ndim == 0:
        return _reduce_along(
            x,
            ax,
            lambda b: func(b, q, axis=ax, keepdims=True, method=method),
            dtype,
            name,
            keepdims,
        )
    flat = qs.ravel()
    whole = _whole_axis(x, ax)
    chunks = ((flat.size,), *((1,) if i == ax else c for i, c in enumerate(whole.chunks)))
    out = map_blocks(
        lambda b: func(b, flat, axis=ax, keepdims=True, method=method),
        whole,
        dtype=dtype,
        chunks=chunks,
        new_axis=0,
        name=name,
    )
    if not keepdims:
        out = out[(slice(None),) * (ax + 1) + (0,)]
    return out if qs.ndim == 1 else out.reshape(qs.shape + out.shape[1:])


def _checked_q(q: Any, name: str, top: int) -> Any:
    """``q`` converted (``_q_values``) and checked to lie in ``[0, top]``."""
    q = _q_values(q, name)
    qs = np.asarray(q)
    if not np.all((qs >= 0) & (qs <= top)):
        what = "Quantiles" if top == 1 else "Percentiles"
        raise ValueError(f"{what} must be in the range [0, {top}]")
    return q


@implements(np.quantile)
def quantile(
    a: Any, q: Any, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """The ``q``-th quantiles (floats in [0, 1]) along ``axis`` (the flattened array for
    None), as ``numpy.quantile``: exact, each lane of the axis gathered into one task.
    Several ``q`` give a result with ``q``'s axes first. ``q`` may be a brickwork
    Array: it is computed first (its values fix the result's shape)."""
    x = as_array(a)
    q = _checked_q(q, "quantile", 1)
    return _order_statistic(np.quantile, x, q, axis, keepdims, method, "quantile")


@implements(np.nanquantile)
def nanquantile(
    a: Any, q: Any, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """The ``q``-th quantiles ignoring NaN, as ``numpy.nanquantile`` (exact; arguments
    as ``quantile``; an all-NaN lane gives NaN)."""
    x = as_array(a)
    q = _checked_q(q, "nanquantile", 1)
    return _order_statistic(np.nanquantile, x, q, axis, keepdims, method, "nanquantile")


@implements(np.nanpercentile)
def nanpercentile(
    a: Any, q: Any, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """The ``q``-th percentiles (in [0, 100]) ignoring NaN, as ``numpy.nanpercentile``
    (exact, each lane of the axis gathered into one task; an all-NaN lane gives NaN)."""
    x = as_array(a)
    q = _checked_q(q, "nanpercentile", 100)
    return _order_statistic(np.nanpercentile, x, q, axis, keepdims, method, "nanpercentile")


def percentile(
    a: Any,
    q: Any,
    axis: int | None = None,
    keepdims: bool = False,
    method: str = "linear",
    internal_method: str = "default",
) -> Array:
    """The ``q``-th percentiles (in [0, 100]), as ``dask.array.percentile``: approximate
    for a 1-d array in several chunks, else exact as ``numpy.percentile`` along ``axis``.

    The approximation is Dask's: every chunk computes its percentiles at 0, ``q`` and
    100, and one task merges them, weighting each by the chunk's length (no chunk is
    gathered with another). The result lies between the true percentiles ``q - g`` and
    ``q + g``, where ``g`` is the largest gap between consecutive percentiles of
    ``[0, *q, 100]`` (so asking for many ``q`` at once makes each more precise). NaN
    anywhere gives NaN, as in NumPy (Dask's merge returns arbitrary values then).
    ``numpy.percentile`` on a brickwork array is always exact.

    Parameters
    ----------
    a : Array or array_like
    q : float or array_like of floats
    axis : int, optional
        The axis (the flattened array for None).
    keepdims : bool, default False
    method : str, default "linear"
        NumPy's ``method``; the approximation supports "linear", "lower", "higher",
        "midpoint" and "nearest" (as Dask).
    internal_method : {"default", "dask", "exact", "tdigest"}, default "default"
        "default" and "dask" use Dask's approximation for 1-d arrays in several chunks;
        "exact" (brickwork's addition) gathers the axis and calls NumPy, as a 1-d
        array in one chunk always does; "tdigest" (Dask's, through crick) is not
        supported.

    Returns
    -------
    Array
        NumPy's shape and dtype for the same arguments.

    Raises
    ------
    ValueError
        A ``q`` outside [0, 100], an unknown ``internal_method``, or a ``method`` the
        approximation does not support.
    NotImplementedError
        ``internal_method="tdigest"``.
    """
    q = _checked_q(q, "percentile", 100)
    qs = np.asarray(q)
    if internal_method not in _INTERNAL_METHODS:
        raise ValueError(
            f"internal_method must be one of {', '.join(map(repr, _INTERNAL_METHODS))}, "
            f"got {internal_method!r}"
        )
    if internal_method == "tdigest":
        raise NotImplementedError(
            "internal_method='tdigest' (Dask's t-digest through crick) is not supported: "
            "use 'dask' (the default) or 'exact'"
        )
    x = as_array(a)
    if internal_method != "exact" and x.ndim == 1 and x.numblocks[0] > 1 and x.size:
        if axis is not None:
            normalize_axis_index(axis, 1)
        out = _merged_percentiles(x, q, method)
        return out.reshape(qs.shape + (1,)) if keepdims else out
    return _order_statistic(np.percentile, x, q, axis, keepdims, method, "percentile")


@implements(np.percentile)
def _numpy_percentile(
    a: Any, q: Any, axis: int | None = None, keepdims: bool = False, method: str = "linear"
) -> Array:
    """``numpy.percentile`` on a brickwork array: always exact (see ``percentile``)."""
    return percentile(a, q, axis=axis, keepdims=keepdims, method=method, internal_method="exact")


def _merged_percentiles(x: Array, q: Any, method: str) -> Array:
    """Dask's approximate percentiles of the 1-d ``x``: per-chunk percentiles at
    ``[0, *q, 100]``, merged by one task."""
    if method not in _MERGE_METHODS:
        raise ValueError(
            "interpolation method can only be 'linear', 'lower', 'higher', 'midpoint', "
            f"or 'nearest', got {method!r}"
        )
    qs = np.asarray(q, dtype=np.float64)
    final = qs.ravel()
    points = np.concatenate(([0.0], np.sort(final), [100.0]))  # the merge needs them sorted
    dtype = np.percentile(np.zeros(1, x.dtype), q, method=method).dtype
    block_dtype = np.percentile(np.zeros(1, x.dtype), points, method=method).dtype
    sizes = np.asarray(x.chunks[0])

    def block_percentiles(b: np.ndarray) -> np.ndarray:
        """The chunk's percentiles at ``points``, then whether it holds a NaN."""
        out = np.zeros(points.size + 1, block_dtype)
        if b.size:  # an empty chunk weighs nothing in the merge
            with np.errstate(all="ignore"):  # e.g. infinities interpolate to NaN
                out[:-1] = np.percentile(b, points, method=method)
            out[-1] = b.dtype.kind == "f" and np.isnan(b).any()
        return out

    per_block = map_blocks(
        block_percentiles,
        x,
        dtype=block_dtype,
        chunks=((points.size + 1,) * len(sizes),),
        name="percentile_chunk",
    )

    def merge(v: np.ndarray) -> np.ndarray:
        v = v.reshape(len(sizes), -1)
        if v[:, -1].any():
            return np.full(final.size, np.nan)
        return _merge_percentiles(final, points, v[:, :-1], sizes, method)

    merged = map_blocks(
        merge, per_block.rechunk(-1), dtype=dtype, chunks=((final.size,),), name="percentile"
    )
    return merged.reshape(qs.shape)


def _merge_percentiles(
    final: np.ndarray, points: np.ndarray, vals: np.ndarray, sizes: np.ndarray, method: str
) -> np.ndarray:
    """Dask's ``merge_percentiles``: the ``final`` percentiles of data whose chunks of
    ``sizes`` elements have the percentiles ``vals[i]`` at ``points`` (one fix: see
    ``right``)."""
    keep = sizes > 0
    vals, sizes = vals[keep], sizes[keep]
    # Observations between consecutive percentiles of each chunk.
    counts = np.concatenate(([points[0]], np.diff(points)))[None, :] * sizes[:, None]
    combined_vals = vals.ravel()
    order = np.argsort(combined_vals)
    combined_vals = combined_vals[order]
    combined_q = np.cumsum(counts.ravel()[order])
    desired = final * sizes.sum()
    if method == "linear":
        return np.interp(desired, combined_q, combined_vals)
    left = np.searchsorted(combined_q, desired, side="left")
    # At least 0: below the first cumulative count (equal smallest values sorted with a
    # nonzero count first) Dask's index -1 picks the largest value.
    right = np.maximum(np.searchsorted(combined_q, desired, side="right") - 1, 0)
    np.minimum(left, len(combined_vals) - 1, out=left)
    lower, upper = np.minimum(left, right), np.maximum(left, right)
    if method == "lower":
        return combined_vals[lower]
    if method == "higher":
        return combined_vals[upper]
    if method == "midpoint":
        return 0.5 * (combined_vals[lower] + combined_vals[upper])
    nearer_upper = np.abs(combined_q[lower] - desired) > np.abs(combined_q[upper] - desired)
    return combined_vals[np.where(nearer_upper, upper, lower)]


@implements(np.median)
def median(a: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """The median along ``axis``, as ``numpy.median`` (integers in float64, so the mean
    of the two middle values cannot overflow)."""
    x = as_array(a)
    if axis is None:
        out = median(x.ravel(), axis=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    ax = normalize_axis_index(axis, x.ndim)
    # NumPy's own median per lane: the mean of the two middle values, NaN (with NumPy's
    # warning) for an empty lane, where quantile raises IndexError.
    dtype = np.median(np.zeros(1, x.dtype)).dtype
    return _reduce_along(
        x, ax, lambda b: np.median(b, axis=ax, keepdims=True), dtype, "median", keepdims
    )


@implements(np.nanmedian)
def nanmedian(a: Any, axis: int | None = None, keepdims: bool = False) -> Array:
    """The median ignoring NaN along ``axis`` (the flattened array for None), as
    ``numpy.nanmedian``: exact, each lane of the axis gathered into one task."""
    x = as_array(a)
    if axis is None:
        out = nanmedian(x.ravel(), axis=0)
        return out.reshape((1,) * x.ndim) if keepdims else out
    ax = normalize_axis_index(axis, x.ndim)
    dtype = np.nanmedian(np.zeros(1, x.dtype)).dtype
    return _reduce_along(
        x, ax, lambda b: np.nanmedian(b, axis=ax, keepdims=True), dtype, "nanmedian", keepdims
    )


def _nanarg(func: Any, a: Any, axis: int | None, keepdims: bool) -> Array:
    x = as_array(a)
    if axis is None:
        out = _nanarg(func, x.ravel(), 0, False)
        return out.reshape((1,) * x.ndim) if keepdims else out
    ax = normalize_axis_index(axis, x.ndim)
    if x.shape[ax] == 0:
        raise ValueError(f"attempt to get {func.__name__} of an empty sequence")
    return _reduce_along(
        x, ax, lambda b: func(b, axis=ax, keepdims=True), np.int64, func.__name__, keepdims
    )


@implements(np.nanargmax)
def nanargmax(
    a: Any, axis: int | None = None, keepdims: bool = False, split_every: Any = None
) -> Array:
    """Index of the maximum ignoring NaN, as ``numpy.nanargmax`` (each lane of the axis
    gathered into one task; an all-NaN lane raises ValueError when computed).
    ``split_every`` is accepted as Dask's (one task per lane has no tree)."""
    return _nanarg(np.nanargmax, a, axis, keepdims)


@implements(np.nanargmin)
def nanargmin(
    a: Any, axis: int | None = None, keepdims: bool = False, split_every: Any = None
) -> Array:
    """Index of the minimum ignoring NaN, as ``numpy.nanargmin`` (each lane of the axis
    gathered into one task; an all-NaN lane raises ValueError when computed).
    ``split_every`` is accepted as Dask's (one task per lane has no tree)."""
    return _nanarg(np.nanargmin, a, axis, keepdims)


@implements(np.isin)
def isin(element: Any, test_elements: Any, invert: bool = False) -> Array:
    """Whether each element is in ``test_elements`` (a NumPy array or sequence), as
    ``numpy.isin``."""
    x = as_array(element)
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
    x = as_array(a)
    if x.ndim == 0:
        raise np.exceptions.AxisError("topk needs an array of at least one dimension")
    k = operator.index(k)
    ax = normalize_axis_index(operator.index(axis), x.ndim)
    if abs(k) > x.shape[ax]:
        raise ValueError(f"|k| = {abs(k)} is larger than the axis length {x.shape[ax]}")
    return x, k, ax


@array_method()
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


@array_method()
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
