"""Reductions (``sum``, ``mean``, ``std``, ``argmax``, ``nansum``, …) as tree reductions.

Each takes ``axis`` (None, an int, negative ints, or a tuple), ``keepdims`` and
``split_every`` (the fan-in of the tree; default ``brickwork.config.get("split_every")``)
and returns a lazy Array. ``np.sum(x)``, ``np.mean(x)``, … dispatch here too. ``ptp``
and ``average`` are composed from them.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index
from numpy.typing import DTypeLike

from brickwork.array._dispatch import array_method, implements
from brickwork.array.core import Array, as_array, reduction
from brickwork.array.shape import broadcast_to

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "average",
    "max",
    "mean",
    "min",
    "nanmax",
    "nanmean",
    "nanmin",
    "nanprod",
    "nanstd",
    "nansum",
    "nanvar",
    "prod",
    "ptp",
    "std",
    "sum",
    "var",
]

AxisLike = int | Sequence[int] | None


# The builtins are shadowed below by NumPy's names, as in numpy and dask.array.
# ruff: noqa: A001


@implements(np.sum)
def sum(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Sum of the elements over ``axis``, with pairwise accuracy for floats.

    Parameters
    ----------
    a : Array or array_like
    axis : None, int or tuple of ints
        Axes to reduce; None reduces all.
    dtype : dtype-like, optional
        Accumulator and result dtype; NumPy's default otherwise (int64 for smaller
        signed ints and bool, uint64 for smaller unsigned ints).
    keepdims : bool
        Keep the reduced axes with length one.
    split_every : int, optional
        Fan-in of the tree reduction (at least 2).
    out : None
        Not supported; for signature compatibility.

    Returns
    -------
    Array
    """
    return reduction("sum", as_array(a), axis, keepdims, dtype, split_every, out=out)


@implements(np.prod)
def prod(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Product of the elements over ``axis`` (arguments as ``sum``)."""
    return reduction("prod", as_array(a), axis, keepdims, dtype, split_every, out=out)


@array_method()
@implements(np.mean)
def mean(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Arithmetic mean over ``axis`` (float64 for integer input; arguments as ``sum``).

    With an integer ``dtype`` the result is NumPy's: the sum in that dtype (wrapping on
    overflow, as NumPy's integer accumulator), divided by the count, truncated toward
    zero to that dtype.
    """
    x = as_array(a)
    if dtype is not None and np.dtype(dtype).kind in "iu":
        total = reduction("sum", x, axis, keepdims, dtype, split_every, out=out)
        count = x.size // total.size if total.size else 1
        return (total / count).astype(dtype)
    return reduction("mean", x, axis, keepdims, dtype, split_every, out=out)


@implements(np.var)
def var(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    ddof: int = 0,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Variance over ``axis``, dividing by ``N - ddof`` (arguments as ``sum``)."""
    return reduction("var", as_array(a), axis, keepdims, dtype, split_every, ddof, out)


@implements(np.std)
def std(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    ddof: int = 0,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Standard deviation over ``axis``, dividing by ``N - ddof`` (arguments as ``sum``)."""
    return reduction("std", as_array(a), axis, keepdims, dtype, split_every, ddof, out)


@implements(np.min, np.amin)
def min(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Minimum over ``axis``; NaN if any element is NaN (arguments as ``sum``)."""
    return reduction("min", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.max, np.amax)
def max(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Maximum over ``axis``; NaN if any element is NaN (arguments as ``sum``)."""
    return reduction("max", as_array(a), axis, keepdims, None, split_every, out=out)


amin, amax = min, max


@implements(np.any)
def any(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Whether any element over ``axis`` is true (arguments as ``sum``)."""
    return reduction("any", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.all)
def all(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Whether all elements over ``axis`` are true (arguments as ``sum``)."""
    return reduction("all", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.argmin)
def argmin(
    a: Any,
    axis: int | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Index of the first minimum along ``axis`` (an int), or in the flattened array."""
    return reduction("argmin", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.argmax)
def argmax(
    a: Any,
    axis: int | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Index of the first maximum along ``axis`` (an int), or in the flattened array."""
    return reduction("argmax", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.nansum)
def nansum(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Sum over ``axis`` treating NaN as zero (arguments as ``sum``)."""
    return reduction("nansum", as_array(a), axis, keepdims, dtype, split_every, out=out)


@implements(np.nanprod)
def nanprod(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Product over ``axis`` treating NaN as one (arguments as ``sum``)."""
    return reduction("nanprod", as_array(a), axis, keepdims, dtype, split_every, out=out)


@implements(np.nanmean)
def nanmean(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Mean over ``axis`` ignoring NaNs (arguments as ``sum``; an integer ``dtype`` on
    integer data, which has no NaN, is ``mean``'s)."""
    x = as_array(a)
    if dtype is not None and np.dtype(dtype).kind in "iu" and x.dtype.kind in "biu":
        return mean(x, axis, dtype, keepdims, split_every, out)
    return reduction("nanmean", x, axis, keepdims, dtype, split_every, out=out)


@implements(np.nanvar)
def nanvar(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    ddof: int = 0,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Variance over ``axis`` ignoring NaNs (arguments as ``var``)."""
    return reduction("nanvar", as_array(a), axis, keepdims, dtype, split_every, ddof, out)


@implements(np.nanstd)
def nanstd(
    a: Any,
    axis: AxisLike = None,
    dtype: DTypeLike | None = None,
    keepdims: bool = False,
    ddof: int = 0,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Standard deviation over ``axis`` ignoring NaNs (arguments as ``var``)."""
    return reduction("nanstd", as_array(a), axis, keepdims, dtype, split_every, ddof, out)


@implements(np.nanmin)
def nanmin(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Minimum over ``axis`` ignoring NaNs (arguments as ``sum``)."""
    return reduction("nanmin", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.nanmax)
def nanmax(
    a: Any,
    axis: AxisLike = None,
    keepdims: bool = False,
    split_every: int | None = None,
    out: None = None,
) -> Array:
    """Maximum over ``axis`` ignoring NaNs (arguments as ``sum``)."""
    return reduction("nanmax", as_array(a), axis, keepdims, None, split_every, out=out)


@implements(np.ptp)
def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Range (maximum - minimum) along ``axis``; one pass computes both."""
    x = as_array(a)
    return x.max(axis=axis, keepdims=keepdims) - x.min(axis=axis, keepdims=keepdims)


@implements(np.average)
def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    """Weighted average along ``axis``, as ``numpy.average`` (``weights`` broadcast
    against ``a``, or 1-d along a single axis)."""
    x = as_array(a)
    if weights is None:
        avg = x.mean(axis=axis, keepdims=keepdims)
        scl = avg.dtype.type(x.size / builtins.max(avg.size, 1))  # this module defines max
        return (avg, scl) if returned else avg
    w = as_array(weights)
    if w.shape != x.shape:
        if axis is None or np.ndim(axis) != 0 or w.ndim != 1:
            raise TypeError("1D weights expected when shapes of a and weights differ; pass axis")
        ax = normalize_axis_index(int(axis), x.ndim)
        if w.shape[0] != x.shape[ax]:
            raise ValueError("length of weights differs from the length of the axis")
        w = w.reshape(tuple(-1 if i == ax else 1 for i in range(x.ndim)))
    total = broadcast_to(w, x.shape).sum(axis=axis, keepdims=keepdims)
    avg = (x * w).sum(axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg
