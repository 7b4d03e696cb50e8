"""Blocks that share borders with their neighbours: ``overlap``, ``trim_internal``,
``trim_overlap`` and ``map_overlap``, as in ``dask.array.overlap``.

``overlap`` builds the extended blocks with one gather (``take``) per overlapped axis:
the index list names, for every extended block in turn, the positions it covers, with
the positions outside the array mapped by the boundary rule (``reflect`` mirrors
including the edge element, as NumPy's ``pad(mode="symmetric")``; ``periodic`` wraps;
``nearest`` repeats the edge; a constant replaces them), so no padding or concatenation
is materialized. ``map_overlap`` trims the function's result inside the same task.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate
from numbers import Integral
from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import array_method, implements
from brickwork.array.blockwise import Label, map_blocks, map_blocks_with
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange
from brickwork.array.ufuncs import where

__all__ = [
    "coerce_boundary",
    "coerce_depth",
    "ensure_minimum_chunksize",
    "map_overlap",
    "overlap",
    "sliding_window_view",
    "trim_internal",
    "trim_overlap",
]

_KINDS = ("reflect", "periodic", "nearest", "none")


def coerce_depth(ndim: int, depth: Any) -> dict[int, Any]:
    """Dask's depth argument (None, an int, a tuple per axis or a dict) as a dict with
    every axis: an int, or a ``(before, after)`` tuple."""
    if depth is None:
        depth = 0
    if isinstance(depth, Integral):
        depth = (int(depth),) * ndim
    if isinstance(depth, tuple | list):
        depth = dict(zip(range(ndim), depth))
    if not isinstance(depth, dict):
        raise TypeError(f"depth must be an int, a tuple or a dict, got {type(depth).__name__}")
    out: dict[int, Any] = {}
    for ax in range(ndim):
        d = depth.get(ax, depth.get(ax - ndim, 0))
        out[ax] = tuple(int(v) for v in d) if isinstance(d, tuple | list) else int(d)
        if any(v < 0 for v in _pair(out[ax])):
            raise ValueError(f"depth must not be negative, got {d} for axis {ax}")
    return out


def coerce_boundary(ndim: int, boundary: Any) -> dict[int, Any]:
    """Dask's boundary argument (None, a kind or constant, a tuple per axis or a dict) as
    a dict with every axis (missing: ``"none"``)."""
    if boundary is None:
        boundary = "none"
    if not isinstance(boundary, tuple | dict):
        boundary = (boundary,) * ndim
    if isinstance(boundary, tuple):
        boundary = dict(zip(range(ndim), boundary))
    out = {ax: boundary.get(ax, boundary.get(ax - ndim, "none")) for ax in range(ndim)}
    for ax, kind in out.items():
        if isinstance(kind, str) and kind not in _KINDS:
            raise ValueError(
                f"boundary {kind!r} for axis {ax} is not understood: expected one of "
                f"{', '.join(map(repr, _KINDS))} or a constant"
            )
    return out


def _pair(d: Any) -> tuple[int, int]:
    return (d[0], d[1]) if isinstance(d, tuple) else (d, d)


def ensure_minimum_chunksize(size: int, chunks: tuple[int, ...]) -> tuple[int, ...]:
    """Chunks of the same axis with every chunk at least ``size`` (Dask's algorithm:
    small chunks merge into their neighbours).

    Raises
    ------
    ValueError
        If ``size`` is larger than the axis.
    """
    if size <= min(chunks):
        return chunks
    output: list[int] = []
    new = 0
    for c in chunks:
        if c < size:
            if new > size + (size - c):
                output.append(new - (size - c))
                new = size
            else:
                new += c
        if new >= size:
            output.append(new)
            new = 0
        if c >= size:
            new += c
    if new >= size:
        output.append(new)
    elif output:
        output[-1] += new
    else:
        raise ValueError(f"The overlapping depth {size} is larger than your array {sum(chunks)}.")
    return tuple(output)


def _rechunked(x: Array, depth: dict[int, Any], allow_rechunk: bool) -> Array:
    """``x`` with every chunk at least as long as the depth along its axis."""
    depths = [max(_pair(depth[ax])) for ax in range(x.ndim)]
    if allow_rechunk:
        chunks = tuple(ensure_minimum_chunksize(d, c) for d, c in zip(depths, x.chunks))
        return x if chunks == x.chunks else x.rechunk(chunks)
    if any(min(c) < d for d, c in zip(depths, x.chunks)):
        raise ValueError(
            "Overlap depth is larger than smallest chunksize.\n"
            "Please set allow_rechunk=True to rechunk automatically.\n"
            f"Overlap depths required: {depths}\n"
            f"Input chunks: {x.chunks}\n"
        )
    return x


def _border(n: int, first: int, count: int, kind: Any) -> list[tuple[int, int, int]]:
    """Runs ``(start, step, len)`` of the ``count`` coordinates from ``first`` on, where
    those outside ``0..n`` are replaced as ``kind`` says (a constant reads the nearest
    element; the caller masks it)."""
    if count == 0:
        return []
    if 0 <= first and first + count <= n:
        return [(first, 1, count)]
    if kind == "periodic":
        # At most one wrap: a depth is never larger than the axis.
        lo = first % n
        head = min(count, n - lo)
        return [(lo, 1, head)] + ([(0, 1, count - head)] if count > head else [])
    if kind == "reflect":  # mirrored, the edge element included
        if first < 0:
            return [(-1 - first, -1, count)]
        return [(2 * n - 1 - first, -1, count)]
    return [(0 if first < 0 else n - 1, 0, count)]  # nearest, or a constant


def _extend_axis(x: Array, axis: int, before: int, after: int, kind: Any) -> Array:
    """``x`` with every block along ``axis`` extended by its neighbours' borders (and the
    boundary outside the array), by one gather of O(blocks) runs of coordinates."""
    n = x.shape[axis]
    sizes = x.chunks[axis]
    runs: list[tuple[int, int, int]] = []
    new_sizes = []
    last = len(sizes) - 1
    start = 0
    for k, size in enumerate(sizes):
        lo = before if (kind != "none" or k > 0) else 0
        hi = after if (kind != "none" or k < last) else 0
        runs += _border(n, start - lo, lo, kind)
        runs.append((start, 1, size))
        runs += _border(n, start + size, hi, kind)
        new_sizes.append(size + lo + hi)
        start += size
    if tuple(new_sizes) == sizes:
        return x
    out = Array(_core.take_runs(x._expr, [r for r in runs if r[2]], axis, new_sizes), "overlap")
    if isinstance(kind, str):
        return out
    # A constant boundary: the first `before` and the last `after` positions of the
    # extended axis lie outside the array.
    total = sum(new_sizes)
    position = arange(total, chunks=(tuple(new_sizes),))
    outside = (position < before) | (position >= total - after)
    outside = outside[(slice(None),) + (None,) * (x.ndim - axis - 1)]
    return where(outside, np.full((), kind, dtype=x.dtype), out)


def overlap(x: Any, depth: Any, boundary: Any, *, allow_rechunk: bool = True) -> Array:
    """Extend every block with ``depth`` elements of its neighbours, as
    ``dask.array.overlap.overlap``.

    Parameters
    ----------
    x : Array or array_like
    depth : int, tuple or dict
        Elements shared with each neighbour, per axis (``{0: 2, 1: 1}``); a
        ``(before, after)`` pair for an axis is allowed with ``boundary="none"``.
    boundary : str, constant, tuple or dict
        What lies outside the array, per axis: ``"reflect"`` (mirrored, the edge
        element included), ``"periodic"`` (wrapped), ``"nearest"`` (the edge
        repeated), ``"none"`` (nothing: edge blocks are extended inward only) or a
        constant. Default (None): ``"none"``.
    allow_rechunk : bool, default True
        Merge chunks shorter than the depth into their neighbours first (Dask's rule);
        otherwise such chunks raise ValueError.

    Returns
    -------
    Array
        Chunks grown by the depth on each side that has a neighbour or a boundary.

    Raises
    ------
    ValueError
        If the depth is larger than the axis, or than a chunk with
        ``allow_rechunk=False``; for an unknown boundary kind.
    NotImplementedError
        For an asymmetric depth with a boundary other than ``"none"``.
    """
    x = as_array(x)
    depth2 = coerce_depth(x.ndim, depth)
    boundary2 = coerce_boundary(x.ndim, boundary)
    _check_asymmetric(depth2, boundary2)
    x = _rechunked(x, depth2, allow_rechunk)
    for ax in range(x.ndim):
        before, after = _pair(depth2[ax])
        if before or after:
            x = _extend_axis(x, ax, before, after, boundary2[ax])
    return x


def _check_asymmetric(depth: dict[int, Any], boundary: dict[int, Any], arg: int = 0) -> None:
    for ax, d in depth.items():
        if isinstance(d, tuple) and d[0] != d[1] and boundary[ax] != "none":
            raise NotImplementedError(
                "Asymmetric overlap is currently only implemented for boundary='none', "
                f"however boundary for dimension {ax} in array argument {arg} is {boundary[ax]}"
            )


def _trimmed_chunks(
    chunks: tuple[tuple[int, ...], ...], axes: dict[int, Any], boundary: dict[int, Any]
) -> tuple[tuple[int, ...], ...]:
    out = []
    for i, sizes in enumerate(chunks):
        before, after = _pair(axes.get(i, 0))
        none = boundary.get(i, "none") == "none"
        last = len(sizes) - 1
        out.append(
            tuple(
                c - (0 if none and j == 0 else before) - (0 if none and j == last else after)
                for j, c in enumerate(sizes)
            )
        )
    return tuple(out)


def _trim_index(
    block_id: tuple[int, ...],
    numblocks: tuple[int, ...],
    axes: dict[int, Any],
    boundary: dict[int, Any],
) -> tuple[slice, ...]:
    index = []
    for i, (loc, count) in enumerate(zip(block_id, numblocks)):
        before, after = _pair(axes.get(i, 0))
        none = boundary.get(i, "none") == "none"
        front = 0 if none and loc == 0 else before
        back = 0 if none and loc == count - 1 else after
        index.append(slice(front, -back if back else None))
    return tuple(index)


def trim_internal(x: Any, axes: Any, boundary: Any = None) -> Array:
    """Remove ``axes[i]`` elements from both sides of every block along axis ``i``, as
    ``dask.array.overlap.trim_internal``; with ``boundary="none"`` on an axis the outer
    sides of the edge blocks are kept (``overlap`` did not extend them).

    Parameters
    ----------
    x : Array
    axes : dict
        Axis -> depth (an int or a ``(before, after)`` pair).
    boundary : str, constant, tuple or dict, optional
        The boundary given to ``overlap``; default ``"none"``.

    Returns
    -------
    Array
    """
    x = as_array(x)
    depth = coerce_depth(x.ndim, axes)
    kinds = coerce_boundary(x.ndim, boundary)
    chunks = _trimmed_chunks(x.chunks, depth, kinds)
    if chunks == x.chunks:
        return x
    numblocks = x.numblocks

    def trim(block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        return block[_trim_index(block_id, numblocks, depth, kinds)]

    return map_blocks(trim, x, chunks=chunks, dtype=x.dtype, name="trim")


def trim_overlap(x: Any, depth: Any, boundary: Any = None) -> Array:
    """``trim_internal`` with a depth given as ``overlap`` takes it."""
    x = as_array(x)
    return trim_internal(x, coerce_depth(x.ndim, depth), boundary)


def _unify(arrays: list[Array]) -> list[Array]:
    """Arrays rechunked to the common refinement of their chunks, axes aligned from the
    right (length-one axes broadcast and keep their chunk)."""
    ndim = max(a.ndim for a in arrays)
    per_axis: dict[int, set[int]] = {}
    for a in arrays:
        for j, (n, c) in enumerate(zip(a.shape, a.chunks)):
            if n != 1:
                per_axis.setdefault(ndim - a.ndim + j, set()).update(accumulate(c))
    out = []
    for a in arrays:
        chunks = []
        for j, n in enumerate(a.shape):
            bounds = sorted(per_axis.get(ndim - a.ndim + j, set()) | {0})
            refined = tuple(b - p for p, b in zip(bounds, bounds[1:]))
            chunks.append(refined if n != 1 and refined else a.chunks[j])
        chunks_t = tuple(chunks)
        out.append(a if chunks_t == a.chunks else a.rechunk(chunks_t))
    return out


@array_method()
def map_overlap(
    func: Callable[..., Any],
    *args: Any,
    depth: Any = None,
    boundary: Any = None,
    trim: bool = True,
    align_arrays: bool = True,
    allow_rechunk: bool = True,
    **kwargs: Any,
) -> Array:
    """Apply ``func`` to blocks extended by their neighbours' borders, then trim the
    borders off the results, as ``dask.array.map_overlap``.

    Parameters
    ----------
    func : callable
        Called on the extended blocks of every array (one per array, in order).
    *args : Array
    depth : int, tuple, dict or list, optional
        Elements shared with each neighbour per axis (see ``overlap``); a list gives
        one depth per array. Default 0: plain ``map_blocks``.
    boundary : str, constant, tuple, dict or list, optional
        See ``overlap``; default ``"none"``.
    trim : bool, default True
        Remove the borders from ``func``'s results (by the depth and boundary of the
        array with the most dimensions). With False ``func`` must return blocks of the
        unextended size.
    align_arrays : bool, default True
        Unify the arrays' chunks first (they must match otherwise).
    allow_rechunk : bool, default True
        Merge chunks shorter than the depth (see ``overlap``).
    **kwargs
        ``map_blocks`` arguments (``dtype``, ``chunks``, ``drop_axis``, ``new_axis``,
        ``name``, ...) and arguments of ``func``.

    Returns
    -------
    Array

    Raises
    ------
    TypeError
        If ``func`` is not callable or an argument is not a brickwork Array.
    NotImplementedError
        For an asymmetric depth with a boundary other than ``"none"``.
    """
    if isinstance(func, Array) and args and callable(args[0]):
        raise TypeError("map_overlap(x, func, ...) is the old signature: use map_overlap(func, x)")
    if not callable(func):
        raise TypeError(
            f"First argument must be callable function, not {type(func).__name__}\n"
            "Usage:   da.map_overlap(function, x)\n"
            "   or:   da.map_overlap(function, x, y, z)"
        )
    if not all(isinstance(x, Array) for x in args):
        raise TypeError(
            f"All variadic arguments must be arrays, not {[type(x).__name__ for x in args]}\n"
            "Usage:   da.map_overlap(function, x)\n"
            "   or:   da.map_overlap(function, x, y, z)"
        )
    arrays = list(args)
    depths = [
        coerce_depth(x.ndim, d)
        for x, d in zip(arrays, depth if isinstance(depth, list) else [depth] * len(arrays))
    ]
    kinds = [
        coerce_boundary(x.ndim, b)
        for x, b in zip(
            arrays, boundary if isinstance(boundary, list) else [boundary] * len(arrays)
        )
    ]
    if align_arrays and len(arrays) > 1:
        arrays = _unify(arrays)
    if all(all(_pair(v) == (0, 0) for v in d.values()) for d in depths):
        return map_blocks(func, *arrays, **kwargs)
    for i, (d, b) in enumerate(zip(depths, kinds)):
        _check_asymmetric(d, b, i)
    if not trim and "chunks" not in kwargs:
        kwargs["chunks"] = _rechunked(arrays[0], depths[0], allow_rechunk).chunks
    extended = [
        overlap(x, d, b, allow_rechunk=allow_rechunk) for x, d, b in zip(arrays, depths, kinds)
    ]
    options = {
        k: kwargs.pop(k) for k in ("name", "token", "dtype", "chunks", "meta") if k in kwargs
    }
    drop_axis = kwargs.pop("drop_axis", None)
    new_axis = kwargs.pop("new_axis", None)
    enforce_ndim = kwargs.pop("enforce_ndim", False)
    trimmer = None
    if trim:
        # The depth and boundary of the array with the most dimensions (the first of
        # those), on the output's axes: dropped axes go, new axes are not trimmed.
        i = sorted(enumerate(arrays), key=lambda v: (v[1].ndim, -v[0]))[-1][0]
        depth_i, kind_i = depths[i], kinds[i]

        def trimmer(out_ind: list[Label]) -> tuple[Any, Any]:
            # Labels are axis numbers of the array with the most dimensions, or new axes.
            axes = {n: depth_i[k] if isinstance(k, int) else 0 for n, k in enumerate(out_ind)}
            bounds = {n: kind_i[k] if isinstance(k, int) else "none" for n, k in enumerate(out_ind)}
            return _trim_hooks(axes, bounds)

    return map_blocks_with(
        func, extended, kwargs, drop_axis, new_axis, enforce_ndim, trim=trimmer, **options
    )


def _trim_hooks(axes: dict[int, Any], kinds: dict[int, Any]) -> tuple[Any, Any]:
    """``post`` and ``post_chunks`` for ``apply_blocks`` that trim every result block."""
    numblocks: list[tuple[int, ...]] = []

    def post_chunks(chunks: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
        numblocks.append(tuple(len(c) for c in chunks))
        return _trimmed_chunks(chunks, axes, kinds)

    def post(out: Any, block_id: tuple[int, ...]) -> Any:
        out = np.asarray(out)
        if out.ndim != len(block_id):
            return out  # the engine reports the wrong shape
        return out[_trim_index(block_id, numblocks[0], axes, kinds)]

    return post, post_chunks


def sliding_window_view(
    x: Any, window_shape: Any, axis: Any = None, automatic_rechunk: bool = True
) -> Array:
    """Windows of ``window_shape`` over ``x`` as new trailing axes, as
    ``numpy.lib.stride_tricks.sliding_window_view`` (Dask's blocked version: each block
    is extended by ``window - 1`` elements of the next one).

    Raises
    ------
    ValueError
        If a window is not positive or does not fit in the array.
    """
    from numpy.lib.array_utils import normalize_axis_tuple

    x = as_array(x)
    window = tuple(window_shape) if np.iterable(window_shape) else (window_shape,)
    window = tuple(int(w) for w in window)
    if any(w <= 0 for w in window):
        raise ValueError("`window_shape` must contain values > 0")
    if axis is None:
        axes = tuple(range(x.ndim))
        if len(window) != len(axes):
            raise ValueError(
                f"Since axis is `None`, must provide window_shape for all dimensions of `x`; "
                f"got {len(window)} window_shape elements and `x.ndim` is {x.ndim}."
            )
    else:
        axes = normalize_axis_tuple(axis, x.ndim, allow_duplicate=True)
        if len(window) != len(axes):
            raise ValueError(
                f"Must provide matching length window_shape and axis; got {len(window)} "
                f"window_shape elements and {len(axes)} axes elements."
            )
    depths = [0] * x.ndim
    for ax, w in zip(axes, window):
        depths[ax] += w - 1
    if any(d >= n for d, n in zip(depths, x.shape) if d):
        raise ValueError("window shape cannot be larger than input array shape")
    x = x.rechunk(tuple(ensure_minimum_chunksize(d + 1, c) for d, c in zip(depths, x.chunks)))
    chunks = tuple(c[:-1] + (c[-1] - d,) for d, c in zip(depths, x.chunks)) + tuple(
        (w,) for w in window
    )
    return map_overlap(
        np.lib.stride_tricks.sliding_window_view,
        x,
        depth=tuple((0, d) for d in depths),
        boundary="none",
        new_axis=list(range(x.ndim, x.ndim + len(axes))),
        chunks=chunks,
        trim=False,
        align_arrays=False,
        dtype=x.dtype,
        window_shape=window,
        axis=axes,
    )


@implements(np.lib.stride_tricks.sliding_window_view)
def _numpy_sliding_window_view(
    x: Any, window_shape: Any, axis: Any = None, *, subok: bool = False, writeable: bool = False
) -> Array:
    """``np.lib.stride_tricks.sliding_window_view`` on a brickwork array stays lazy (xarray's
    ``rolling`` calls it)."""
    if writeable:
        raise ValueError("brickwork arrays cannot be written through: writeable=True is refused")
    return sliding_window_view(x, window_shape, axis)
