"""Counting and searching: ``unique``, ``bincount``, ``histogram``, ``digitize``,
``searchsorted`` and ``count_nonzero``.

``bincount`` and ``histogram`` count every block with NumPy's own function and sum the
per-block counts (a tree reduction), so they match NumPy exactly for integer counts.
``digitize`` is elementwise. ``unique`` has a data-dependent length, which brickwork's
chunks cannot leave unknown: it computes its input when called (see its docstring).
"""

from __future__ import annotations

import operator
from itertools import accumulate
from typing import Any

import numpy as np

from brickwork._runner import run_calls
from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import from_array, zeros
from brickwork.array.evaluation import compute
from brickwork.array.joining import concatenate
from brickwork.array.shape import rechunk, reshape

__all__ = [
    "bincount",
    "count_nonzero",
    "digitize",
    "histogram",
    "searchsorted",
    "unique",
]


def _with_new_axis(x: Array) -> Array:
    """``x[..., None]``: every block of ``x`` becomes a block with a trailing axis of one."""
    return x[(Ellipsis, None)]


def _sum_blocks(
    func: Any, x: Array, extra: list[Array], length: int, dtype: np.dtype, name: str
) -> Array:
    """Sum over the blocks of ``x`` of ``func(block, *extra_blocks)``, a 1-d array of
    ``length``: each block's result is one row of a (blocks..., length) array that is
    then summed over the block axes."""
    arrays = [_with_new_axis(a) for a in (x, *extra)]
    # The blocks of x[..., None], not of x: slicing drops empty chunks.
    chunks = (*(((1,) * len(c)) for c in arrays[0].chunks[:-1]), (length,))
    lead = (1,) * x.ndim

    def block(b: np.ndarray, *others: np.ndarray) -> np.ndarray:
        out = func(b[..., 0], *(o[..., 0] for o in others))
        return np.asarray(out, dtype=dtype).reshape((*lead, length))

    per_block = map_blocks(block, *arrays, dtype=dtype, chunks=chunks, name=name)
    return per_block.sum(axis=tuple(range(x.ndim)), dtype=dtype)


# --------------------------------------------------------------------------- unique


@implements(np.unique)
def unique(
    ar: Any,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
) -> Any:
    """The sorted unique elements of ``ar`` (flattened), as ``numpy.unique``.

    Not lazy: the length of the result depends on the data and brickwork cannot leave
    chunks unknown (Dask returns chunks of unknown length instead), so ``ar`` is
    computed when ``unique`` is called — in parallel, as ``ar.compute()``. NumPy's
    ``unique`` then runs on each row of chunks (a contiguous piece of the flat array)
    as tasks of the engine's executor, in parallel (NumPy's sort releases the GIL), and
    the per-piece results are merged. The outputs are brickwork Arrays backed by NumPy's
    results (``"auto"`` chunks; the inverse has ``ar``'s chunks).

    Parameters
    ----------
    ar : Array or array_like
    return_index : bool, default False
        Also return the flat index of the first occurrence of each unique value.
    return_inverse : bool, default False
        Also return, for each element of ``ar``, the index of its unique value (with
        ``ar``'s shape, as NumPy 2).
    return_counts : bool, default False
        Also return how often each unique value occurs.

    Returns
    -------
    Array or tuple of Arrays
        The unique values, then the optional outputs in NumPy's order.
    """
    x = as_array(ar)
    counting = x.dtype.kind in "biu" and x.size > 0 and not return_index
    if counting:
        # Small integers are counted instead of sorted: the range comes with the values.
        values, low, high = (np.asarray(v) for v in compute(x, x.min(), x.max()))
        limits = np.iinfo(np.intp)
        counting = (
            limits.min <= int(low)
            and int(high) <= limits.max
            and int(high) - int(low) < _count_limit(x.size)
        )
    else:
        values = np.asarray(x.compute())
    flags = {
        "return_index": bool(return_index),
        "return_inverse": bool(return_inverse),
        "return_counts": bool(return_counts),
    }
    pieces = _row_pieces(x)
    if counting:
        result = _unique_by_counting(
            values, pieces, int(low), int(high), bool(return_inverse), bool(return_counts)
        )
    elif len(pieces) < 2:
        result = np.unique(values, **flags)
    else:
        result = _unique_by_pieces(values, pieces, **flags)
    if not isinstance(result, tuple):
        return from_array(result)
    out = [from_array(result[0])]
    pos = 1
    if return_index:
        out.append(from_array(result[pos]))
        pos += 1
    if return_inverse:
        inverse = result[pos]
        same = inverse.shape == x.shape
        out.append(from_array(inverse, chunks=x.chunks if same else "auto"))
        pos += 1
    if return_counts:
        out.append(from_array(result[pos]))
    return tuple(out)


# Pieces of ``unique`` are rows of chunks; more than this many are merged into fewer.
_MAX_PIECES = 256


def _row_pieces(x: Array) -> list[tuple[int, int]]:
    """Contiguous ranges of the flat (C order) array that ``unique`` sorts separately:
    one per chunk along the first axis, neighbours merged to at most ``_MAX_PIECES``."""
    if x.ndim == 0 or x.size == 0:
        return [(0, x.size)]
    row = x.size // x.shape[0]
    bounds = [0, *accumulate(x.chunks[0])]
    step = max(1, -(-(len(bounds) - 1) // _MAX_PIECES))
    bounds = bounds[::step] + ([bounds[-1]] if (len(bounds) - 1) % step else [])
    return [(lo * row, hi * row) for lo, hi in zip(bounds, bounds[1:]) if hi > lo]


def _count_limit(size: int) -> int:
    """The widest range of integers ``unique`` counts (one bin per value) rather than
    sorts: at most 2**20 bins, and no more than the elements (at least 1024)."""
    return min(1 << 20, max(1024, size))


def _unique_by_counting(
    values: np.ndarray,
    pieces: list[tuple[int, int]],
    low: int,
    high: int,
    return_inverse: bool,
    return_counts: bool,
) -> Any:
    """``np.unique(values, ...)`` for integers in ``low..high`` (a narrow range): each
    piece is counted into one bin per value (in parallel on the executor); the values
    are the non-empty bins, the counts their sums, and the inverse each element's rank
    among the non-empty bins."""
    flat = values.reshape(-1)
    span = high - low + 1

    def offsets(piece: np.ndarray) -> np.ndarray:
        if piece.dtype.kind == "i" and low == 0:
            return piece
        return piece.astype(np.intp) - low

    counts: list[np.ndarray] = [np.zeros(0, np.intp)] * len(pieces)

    def count(i: int) -> None:
        lo, hi = pieces[i]
        counts[i] = np.bincount(offsets(flat[lo:hi]), minlength=span)

    run_calls(count, "unique", [[] for _ in pieces])
    total = np.sum(counts, axis=0, dtype=np.intp)
    present = total > 0
    unique_values = (np.flatnonzero(present) + low).astype(values.dtype)
    if not (return_inverse or return_counts):
        return unique_values
    out: list[np.ndarray] = [unique_values]
    if return_inverse:
        rank = np.cumsum(present, dtype=np.intp) - 1
        inverse = np.empty(flat.size, dtype=np.intp)

        def remap(i: int) -> None:
            lo, hi = pieces[i]
            np.take(rank, offsets(flat[lo:hi]), out=inverse[lo:hi])

        run_calls(remap, "unique inverse", [[] for _ in pieces])
        out.append(inverse.reshape(values.shape))
    if return_counts:
        out.append(total[present])
    return tuple(out)


def _unique_by_pieces(
    values: np.ndarray,
    pieces: list[tuple[int, int]],
    return_index: bool,
    return_inverse: bool,
    return_counts: bool,
) -> Any:
    """``np.unique(values, ...)`` from ``np.unique`` of each piece of the flat array
    (run in parallel on the executor), merged: the unique values of the pieces' unique
    values; the first index is the one of the earliest piece holding the value; counts
    add up; each piece's inverse is mapped through its unique values' places."""
    flat = values.reshape(-1)
    results: list[tuple[np.ndarray, ...]] = [()] * len(pieces)

    def piece(i: int) -> None:
        lo, hi = pieces[i]
        r = np.unique(
            flat[lo:hi],
            return_index=return_index,
            return_inverse=return_inverse,
            return_counts=return_counts,
        )
        results[i] = r if isinstance(r, tuple) else (r,)

    run_calls(piece, "unique", [[] for _ in pieces])
    ends = list(accumulate(len(r[0]) for r in results))
    starts = [0, *ends[:-1]]
    # The pieces come in flat order, so a stable first occurrence in their
    # concatenation is the earliest piece holding a value (NaNs are one value).
    unique_values, first, place = np.unique(
        np.concatenate([r[0] for r in results]), return_index=True, return_inverse=True
    )
    if not (return_index or return_inverse or return_counts):
        return unique_values
    out: list[np.ndarray] = [unique_values]
    pos = 1
    if return_index:
        index = np.concatenate([r[pos] + lo for r, (lo, _) in zip(results, pieces)])
        out.append(index[first])
        pos += 1
    if return_inverse:
        inverse = np.empty(flat.size, dtype=np.intp)

        def remap(i: int, pos: int = pos) -> None:
            lo, hi = pieces[i]
            np.take(place[starts[i] : ends[i]], results[i][pos], out=inverse[lo:hi])

        run_calls(remap, "unique inverse", [[] for _ in pieces])
        out.append(inverse.reshape(values.shape))
        pos += 1
    if return_counts:
        counts = np.concatenate([r[pos] for r in results])
        total = np.bincount(place, weights=counts, minlength=len(unique_values))
        out.append(total.astype(np.intp))
    return tuple(out)


# --------------------------------------------------------------------------- bincount


@implements(np.bincount)
def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Array:
    """Count the occurrences of each non-negative integer in ``x``, as
    ``numpy.bincount``.

    Each block is counted by ``numpy.bincount`` into ``minlength`` bins and the counts
    are summed, so the result is a single chunk of ``minlength`` elements (as in Dask,
    the length must be known to stay lazy). With ``minlength=0`` Dask returns a result
    of unknown length; brickwork instead computes ``x.min()`` and ``x.max()`` when
    called (one parallel pass) and uses ``max(x) + 1`` bins.

    Parameters
    ----------
    x : 1-d Array or array_like of non-negative integers
    weights : Array or array_like, optional
        Same shape as ``x``; the result is then float64 sums of the weights.
    minlength : int, default 0
        The number of bins. If it is positive and ``x`` holds a value ``>= minlength``,
        ``compute`` raises ValueError (pass ``minlength=0`` or a larger value).

    Returns
    -------
    Array
        int64 counts, or float64 with ``weights`` (int64 zeros for an empty ``x``, as
        NumPy).

    Raises
    ------
    ValueError
        If ``x`` is not 1-d, ``weights`` has another shape, ``minlength`` is negative,
        or (with ``minlength=0``) ``x`` holds a negative value.
    TypeError
        If ``x`` is not of an integer or bool dtype.
    """
    arr = as_array(x)
    if arr.ndim != 1:
        raise ValueError("Input array must be one dimensional. Try using x.ravel()")
    if arr.dtype.kind not in "biu":
        raise TypeError(
            f"Cannot cast array data from {arr.dtype!r} to dtype('int64') according to the "
            "rule 'safe'"
        )
    minlength = operator.index(minlength)
    if minlength < 0:
        raise ValueError("'minlength' must not be negative")
    extra: list[Array] = []
    if weights is not None:
        w = as_array(weights)
        if w.shape != arr.shape:
            raise ValueError("The weights and list don't have the same length.")
        extra.append(rechunk(w, arr.chunks))
    if arr.size == 0:
        # NumPy's answer for an empty x, with or without weights.
        return zeros(minlength, dtype=np.int64, chunks=-1)
    length = minlength
    if minlength == 0:
        low, high = compute(arr.min(), arr.max())
        if low < 0:
            raise ValueError("'list' argument must have no negative elements")
        length = int(high) + 1
    dtype = np.dtype(np.float64 if weights is not None else np.int64)

    def count(b: np.ndarray, *w: np.ndarray) -> np.ndarray:
        out = np.bincount(b, weights=w[0] if w else None, minlength=length)
        if out.shape[0] > length:
            raise ValueError(
                f"bincount: x holds values >= minlength={length}; pass minlength=0 or a "
                "larger minlength"
            )
        return out

    return _sum_blocks(count, arr, extra, length, dtype, "bincount")


# --------------------------------------------------------------------------- histogram


@implements(np.histogram)
def histogram(
    a: Any,
    bins: Any = 10,
    range: Any = None,  # noqa: A002 - NumPy's name
    density: Any = None,
    weights: Any = None,
) -> tuple[Array, np.ndarray]:
    """Counts of ``a`` (flattened) in bins, as ``numpy.histogram``.

    Each block is counted by ``numpy.histogram`` with the same edges and the counts are
    summed: lazy whenever the edges are known, that is when ``bins`` is a sequence of
    edges or ``range`` is given. For an int ``bins`` without ``range`` Dask raises
    ValueError; brickwork computes ``a.min()`` and ``a.max()`` when called (one
    parallel pass) and uses them as NumPy does.

    Parameters
    ----------
    a : Array or array_like
    bins : int or 1-d array_like, default 10
        The number of equal-width bins, or the monotonically increasing edges.
    range : (float, float), optional
        The lower and upper edge for an int ``bins``.
    density : bool, optional
        Return the probability density (counts / total / bin width) instead.
    weights : Array or array_like, optional
        Same shape as ``a``; each element counts with its weight.

    Returns
    -------
    counts : Array
        int64 counts (the weights' dtype with ``weights``, float64 with ``density``).
    bin_edges : numpy.ndarray
        NumPy's edges (a NumPy array, as in Dask).

    Raises
    ------
    ValueError
        As NumPy: bad ``range``, non-monotonic edges, ``weights`` of another shape,
        or a non-finite range.
    """
    x = as_array(a)
    if isinstance(bins, str):
        raise NotImplementedError("histogram with a bin estimator name is not supported")
    # Edges and range fix the result's length: brickwork Arrays among them are computed.
    if isinstance(bins, Array):
        bins = np.asarray(bins)
    if isinstance(range, Array) or (
        isinstance(range, list | tuple) and any(isinstance(v, Array) for v in range)
    ):
        range = tuple(np.asarray(range).tolist())
    extra: list[Array] = []
    w_probe = None
    if weights is not None:
        w = as_array(weights)
        if w.shape != x.shape:
            raise ValueError("weights should have the same shape as a.")
        extra.append(rechunk(w, x.chunks))
        w_probe = np.zeros(0, w.dtype)
    if np.ndim(bins) == 0 and range is None:
        if x.size:
            low, high = compute(x.min(), x.max())
            range = (low, high)
        else:
            range = (0, 1)
    counts0, edges = np.histogram(np.zeros(0, x.dtype), bins=bins, range=range, weights=w_probe)
    dtype = counts0.dtype
    if np.ndim(bins) != 0:
        bins, range = edges, None
    nbins = edges.shape[0] - 1

    def count(b: np.ndarray, *w: np.ndarray) -> np.ndarray:
        return np.histogram(b, bins=bins, range=range, weights=w[0] if w else None)[0]

    n = _sum_blocks(count, x, extra, nbins, dtype, "histogram")
    if density:
        widths = np.diff(edges).astype(float)
        return n / from_array(widths, chunks=n.chunks) / n.sum(), edges
    return n, edges


# --------------------------------------------------------------------------- digitize


@implements(np.digitize)
def digitize(x: Any, bins: Any, right: bool = False) -> Array:
    """The index of the bin each element of ``x`` falls in, as ``numpy.digitize``
    (elementwise, block by block).

    Parameters
    ----------
    x : Array or array_like
    bins : 1-d array_like
        Monotonically increasing or decreasing edges (a NumPy array or sequence).
    right : bool, default False
        Whether the intervals include their right edge instead of their left.

    Returns
    -------
    Array of int64, with ``x``'s shape and chunks.

    Raises
    ------
    ValueError
        If ``bins`` is not 1-d or not monotonic.
    """
    arr = as_array(x)
    edges = np.asarray(bins)
    right = bool(right)
    probe = np.digitize(np.zeros(0, arr.dtype), edges, right=right)
    return map_blocks(
        lambda b: np.digitize(b, edges, right=right), arr, dtype=probe.dtype, name="digitize"
    )


# --------------------------------------------------------------------------- searchsorted


@implements(np.searchsorted)
def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Array:
    """Indices where the elements of ``v`` would be inserted into the sorted 1-d ``a``,
    as ``numpy.searchsorted``.

    The result has ``v``'s shape and chunks. A NumPy ``a`` is searched by every block
    of ``v``. A brickwork Array ``a`` stays lazy: it is gathered into one chunk that is
    put next to each block of ``v`` (so each task holds all of ``a`` and one block of
    ``v``), with both cast to their common dtype as NumPy compares them.

    Parameters
    ----------
    a : 1-d Array or array_like
        Sorted ascending.
    v : Array or array_like
        The values to insert.
    side : {"left", "right"}, default "left"
        For equal values, the first ("left") or last ("right") suitable index.
    sorter : None
        Not supported (as in Dask).

    Returns
    -------
    Array of int64

    Raises
    ------
    ValueError
        If ``a`` is not 1-d or ``side`` is invalid.
    """
    if sorter is not None:
        raise NotImplementedError("da.searchsorted with a sorter argument is not supported")
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right' (got {side!r})")
    vals = as_array(v)
    if not isinstance(a, Array):
        haystack = np.asarray(a)
        if haystack.ndim != 1:
            raise ValueError(
                "object too deep for desired array"
                if haystack.ndim
                else "object of too small depth for desired array"
            )
        dtype = np.searchsorted(haystack, np.zeros(0, vals.dtype), side=side).dtype
        return map_blocks(
            lambda b: np.searchsorted(haystack, b, side=side),
            vals,
            dtype=dtype,
            name="searchsorted",
        )
    if a.ndim != 1:
        raise ValueError("Input array a must be one dimensional")
    common = np.result_type(a.dtype, vals.dtype)
    haystack_arr = a.astype(common)
    flat = (vals if vals.ndim == 1 else vals.ravel()).astype(common)
    n = haystack_arr.shape[0]
    parts: list[Array] = []
    starts = np.cumsum((0, *flat.chunks[0]))
    for lo, hi in zip(starts[:-1], starts[1:]):
        parts.extend([haystack_arr, flat[int(lo) : int(hi)]])
    joined = rechunk(concatenate(parts, axis=0), (tuple(n + int(c) for c in flat.chunks[0]),))

    def block(b: np.ndarray) -> np.ndarray:
        return np.searchsorted(b[:n], b[n:], side=side)

    out = map_blocks(block, joined, dtype=np.int64, chunks=flat.chunks, name="searchsorted")
    if vals.ndim == 1:
        return out
    if vals.ndim == 0:
        return out[0]
    return rechunk(reshape(out, vals.shape), vals.chunks)


@implements(np.count_nonzero)
def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Array:
    """The number of nonzero elements along ``axis``, as int64."""
    return (as_array(a) != 0).sum(axis=axis, keepdims=keepdims, dtype=np.int64)
