"""User functions beyond ``map_blocks``: ``apply_along_axis``, ``apply_over_axes`` and
``reduction``, as Dask defines them (``apply_gufunc`` is in ``gufuncs``).

All are built on ``blockwise.apply_blocks`` (one callback stage per step): an axis a
function needs whole is gathered into one chunk by a free rechunk. ``reduction`` runs
Dask's tree: ``chunk`` on every block, ``combine`` on groups of ``split_every``
neighbouring partial results, ``aggregate`` once per output block; a group is simply a
block of the partial results rechunked along the reduced axes, so concatenating the
partials costs nothing.
"""

from __future__ import annotations

import builtins
import inspect
import math
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from brickwork._callables import funcname
from brickwork import config
from brickwork.array._dispatch import implements
from brickwork.array.blockwise import _split, apply_blocks, map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.shape import broadcast_to

__all__ = ["apply_along_axis", "apply_over_axes", "reduction"]


# --------------------------------------------------------------------------- along an axis


def _inner_apply_along_axis(
    block: np.ndarray, func1d: Any, func1d_axis: int, func1d_args: Any, func1d_kwargs: Any
) -> np.ndarray:
    return np.apply_along_axis(func1d, func1d_axis, block, *func1d_args, **func1d_kwargs)


@implements(np.apply_along_axis, adapt=False)
def apply_along_axis(
    func1d: Callable[..., Any],
    axis: int,
    arr: Any,
    *args: Any,
    dtype: Any = None,
    shape: Any = None,
    **kwargs: Any,
) -> Array:
    """Apply ``func1d`` to 1-d slices along ``axis``, as ``numpy.apply_along_axis``
    (Dask's blocked version: the axis is gathered into one chunk, a free view).

    Parameters
    ----------
    func1d : callable
        ``func1d(a, *args, **kwargs)`` of a 1-d slice.
    axis : int
    arr : Array or array_like
    dtype, shape : optional
        The dtype and shape of ``func1d``'s result; when either is missing
        ``func1d`` is called on ones of the axis's length and the array's dtype to find
        them (Dask uses length one, which gets ``cumsum``'s shape wrong).

    Returns
    -------
    Array
        The axis replaced by the result's axes.

    Raises
    ------
    numpy.exceptions.AxisError
        If ``axis`` is out of range.
    """
    arr = as_array(arr)
    axis = normalize_axis_index(axis, arr.ndim)
    if shape is None or dtype is None:
        # Dask calls func1d on np.ones(1), which gets the shape wrong for functions
        # such as cumsum; a slice of the axis's real length gets it right.
        test = np.array(func1d(np.ones((arr.shape[axis],), dtype=arr.dtype), *args, **kwargs))
        shape = test.shape if shape is None else shape
        dtype = test.dtype if dtype is None else dtype
    shape = tuple(int(n) for n in shape)
    arr = arr.rechunk(arr.chunks[:axis] + ((arr.shape[axis],),) + arr.chunks[axis + 1 :])
    return map_blocks(
        _inner_apply_along_axis,
        arr,
        name=f"{funcname(func1d)}-along-axis",
        dtype=dtype,
        chunks=arr.chunks[:axis] + shape + arr.chunks[axis + 1 :],
        drop_axis=axis,
        new_axis=list(range(axis, axis + len(shape))),
        func1d=func1d,
        func1d_axis=axis,
        func1d_args=args,
        func1d_kwargs=kwargs,
    )


@implements(np.apply_over_axes, adapt=False)
def apply_over_axes(func: Callable[..., Any], a: Any, axes: Any) -> Array:
    """Apply ``func(a, axis)`` repeatedly over ``axes``, as ``numpy.apply_over_axes``
    (through ``apply_along_axis``, as Dask does: ``func`` sees 1-d slices).

    Raises
    ------
    ValueError
        If ``func`` neither keeps the number of dimensions nor removes one.
    """
    a = as_array(a)
    try:
        axes = tuple(axes)
    except TypeError:
        axes = (axes,)
    result = a
    for i in axes:
        result = apply_along_axis(func, i, result, 0)
        if result.ndim == a.ndim - 1:
            result = result[(slice(None),) * normalize_axis_index(i, a.ndim) + (None,)]
        elif result.ndim != a.ndim:
            raise ValueError(
                "func must either preserve dimensionality of the input or reduce it by one."
            )
    return result


# --------------------------------------------------------------------------- reduction


def _takes(func: Any, name: str) -> bool:
    try:
        return name in inspect.getfullargspec(func).args
    except TypeError:
        return False


def _reduced_size(
    func: Any,
    pieces: tuple[int, ...],
    axis: int,
    ndim: int,
    axes: tuple[int, ...],
    dtype: np.dtype,
    lists: bool,
    extra: tuple[Any, ...] = (),
) -> tuple[int, np.dtype] | None:
    """The length along ``axis`` and the dtype of ``func``'s result for input pieces of
    lengths ``pieces`` along it (one per block of a group), found by calling it on
    arrays of ones (as one array, or nested lists with ``lists``); None if that fails."""
    order = sorted(axes)
    base = [1] * ndim

    def build(level: int, shape: list[int]) -> Any:
        if level == len(order):
            return np.ones(shape, dtype)
        ax = order[level]
        if ax == axis:
            return [
                build(level + 1, [p if i == ax else n for i, n in enumerate(shape)]) for p in pieces
            ]
        return [build(level + 1, shape)]

    if lists:
        sample = build(0, base)
    else:
        base[axis] = builtins.sum(pieces)
        sample = np.ones(base, dtype)
    try:
        with np.errstate(all="ignore"):
            out = np.asarray(func(sample, *extra, axis=axes, keepdims=True))
        return int(out.shape[axis]), out.dtype
    except Exception:  # noqa: BLE001 - unknown: the caller falls back
        return None


def reduction(
    x: Any,
    chunk: Callable[..., Any],
    aggregate: Callable[..., Any],
    axis: Any = None,
    keepdims: bool = False,
    dtype: Any = None,
    split_every: Any = None,
    combine: Callable[..., Any] | None = None,
    name: str | None = None,
    out: Any = None,
    concatenate: bool = True,
    output_size: int = 1,
    meta: Any = None,
    weights: Any = None,
) -> Array:
    """A tree reduction with user functions, as ``dask.array.reduction``.

    ``chunk(block, [weights_block,] axis=axes, keepdims=True)`` runs on every block;
    ``combine(partials, axis=axes, keepdims=True)`` on groups of up to ``split_every``
    neighbouring results along the reduced axes (only when one level is not enough);
    ``aggregate(partials, axis=axes, keepdims=keepdims)`` once per output block.
    ``partials`` is the group's results concatenated along the reduced axes, or with
    ``concatenate=False`` nested lists of them (one level per reduced axis). ``axes``
    is a tuple of non-negative ints. A function with a ``dtype`` parameter gets
    ``dtype=dtype`` (``chunk`` and ``aggregate``, as in Dask).

    Parameters
    ----------
    x : Array or array_like
    chunk, aggregate : callable
    axis : None, int or tuple of ints
    keepdims : bool, default False
    dtype : dtype-like
        The result's dtype (required, as in Dask).
    split_every : int or dict, optional
        Fan-in of the tree (per axis with a dict); default the ``split_every`` setting,
        spread over the reduced axes as Dask does.
    combine : callable, optional
        Default: ``aggregate``.
    name : str, optional
    concatenate : bool, default True
    output_size : int, default 1
        Length of ``aggregate``'s result along the reduced axes with ``keepdims``.
    meta : optional
        Ignored (Dask's output type hint).
    weights : array_like, optional
        Broadcast to ``x``'s shape and passed to ``chunk`` after the block.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        Without ``dtype``; for weights that do not broadcast. ``numpy.exceptions.AxisError``
        for a bad axis. Partial results must be NumPy arrays whose length along the
        reduced axes depends only on the block's (found by calling the functions on
        arrays of ones; ``output_size`` if that fails) and whose other axes keep the
        block's lengths.
    """
    if out is not None:
        raise NotImplementedError("reduction(out=...) is not supported: arrays are immutable")
    x = as_array(x)
    axes = tuple(range(x.ndim)) if axis is None else normalize_axis_tuple(axis, x.ndim)
    if dtype is None:
        raise ValueError("Must specify dtype")
    dtype = np.dtype(dtype)
    if _takes(chunk, "dtype"):
        chunk = partial(chunk, dtype=dtype)
    if _takes(aggregate, "dtype"):
        aggregate = partial(aggregate, dtype=dtype)
    args: list[Any] = [x]
    if weights is not None:
        w = as_array(weights)
        try:
            fits = np.broadcast_shapes(w.shape, x.shape) == x.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(
                f"Weights with shape {w.shape} are not broadcastable to x with shape {x.shape}"
            )
        args.append(broadcast_to(w, x.shape).rechunk(x.chunks))
    labels = tuple(range(x.ndim))
    label = name or funcname(chunk)
    # Level 0: chunk on every block; its partial results' dtype and lengths by probing.
    extra = tuple(np.ones((1,) * x.ndim, a.dtype) for a in args[1:])
    try:
        with np.errstate(all="ignore"):
            sample = chunk(np.ones((1,) * x.ndim, x.dtype), *extra, axis=axes, keepdims=True)
        pdtype = np.asarray(sample).dtype
    except Exception:  # noqa: BLE001 - unknown: the result's dtype
        pdtype = dtype
    sizes: dict[int, tuple[int, ...]] = {}
    for ax in axes:
        found = []
        for c in x.chunks[ax]:
            probe = _reduced_size(chunk, (c,), ax, x.ndim, axes, x.dtype, False, extra)
            found.append(probe[0] if probe is not None else output_size)
        sizes[ax] = tuple(found)
    part = apply_blocks(
        chunk,
        labels,
        args,
        [labels] * len(args),
        dtype=pdtype,
        name=label,
        kwargs={"axis": axes, "keepdims": True},
        adjust_chunks=sizes,
        concatenate=True,
    )
    # Dask's fan-in per axis and depth.
    if split_every is None:
        split_every = int(config.get("split_every"))
    if isinstance(split_every, dict):
        fan = {normalize_axis_index(k, x.ndim): int(v) for k, v in split_every.items()}
        fan = {k: fan.get(k, 2) for k in axes}
    else:
        n = builtins.max(int(int(split_every) ** (1 / (len(axes) or 1))), 2)
        fan = dict.fromkeys(axes, n)
    depth = 1
    for i, n in enumerate(x.numblocks):
        if i in fan and fan[i] != 1:
            depth = int(builtins.max(depth, math.ceil(math.log(n, fan[i])))) if n else depth
    step = combine or aggregate
    for _ in range(depth - 1):
        part = _combine_level(part, step, axes, fan, concatenate, label)
    # Last level: aggregate all remaining blocks along the reduced axes.
    if keepdims:
        whole = part.rechunk(tuple(-1 if i in axes else c for i, c in enumerate(part.chunks)))
        pieces = {ax: part.chunks[ax] for ax in axes}
        return _group_apply(
            whole,
            aggregate,
            axes,
            {ax: (pieces[ax],) for ax in axes},
            concatenate,
            keepdims,
            {ax: (output_size,) for ax in axes},
            dtype,
            f"{label}-aggregate",
        )
    out_ind = tuple(i for i in labels if i not in axes)
    return apply_blocks(
        aggregate,
        out_ind,
        [part],
        [labels],
        dtype=dtype,
        name=f"{label}-aggregate",
        kwargs={"axis": axes, "keepdims": False},
        concatenate=concatenate,
    )


def _combine_level(
    part: Array,
    func: Any,
    axes: tuple[int, ...],
    fan: dict[int, int],
    concatenate: bool,
    label: str,
) -> Array:
    """One level of the tree: ``func`` on groups of ``fan[ax]`` neighbouring blocks."""
    groups: dict[int, tuple[tuple[int, ...], ...]] = {}
    out_sizes: dict[int, tuple[int, ...]] = {}
    dtype, probed = part.dtype, None
    for ax in axes:
        c = part.chunks[ax]
        groups[ax] = tuple(c[i : i + fan[ax]] for i in range(0, len(c), fan[ax]))
        found = []
        for g in groups[ax]:
            probe = _reduced_size(func, g, ax, part.ndim, axes, part.dtype, not concatenate)
            if probe is not None and probed is None:
                probed = dtype = probe[1]
            found.append(probe[0] if probe is not None else 1)
        out_sizes[ax] = tuple(found)
    grouped = part.rechunk(
        tuple(
            tuple(builtins.sum(g) for g in groups[i]) if i in axes else c
            for i, c in enumerate(part.chunks)
        )
    )
    return _group_apply(
        grouped, func, axes, groups, concatenate, True, out_sizes, dtype, f"{label}-partial"
    )


def _group_apply(
    grouped: Array,
    func: Any,
    axes: tuple[int, ...],
    groups: dict[int, tuple[tuple[int, ...], ...]],
    concatenate: bool,
    keepdims: bool,
    out_sizes: dict[int, tuple[int, ...]],
    dtype: np.dtype,
    name: str,
) -> Array:
    """``func`` on every block of ``grouped`` (a group of partial results), given as one
    array or as nested lists of the group's pieces."""
    order = sorted(axes)

    def step(block: np.ndarray, block_id: tuple[int, ...]) -> Any:
        arg: Any = block
        if not concatenate:
            arg = _split(block, [(ax, groups[ax][block_id[ax]]) for ax in order])
        return func(arg, axis=axes, keepdims=keepdims)

    labels = tuple(range(grouped.ndim))
    return apply_blocks(
        step,
        labels,
        [grouped],
        [labels],
        dtype=dtype,
        name=name,
        adjust_chunks=out_sizes,
        concatenate=True,
        block_id=True,
    )
