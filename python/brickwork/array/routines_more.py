"""More of NumPy's routines, composed from the lazy primitives (views, elementwise
operations, reductions, concatenation): no data moves until ``compute``."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from brickwork.array._dispatch import implements
from brickwork.array.core import Array, as_array
from brickwork.array.creation import arange
from brickwork.array.routines import broadcast_to, concatenate
from brickwork.array.ufuncs import absolute, isfinite, isnan, logical_and, where

__all__ = [
    "allclose",
    "array_equal",
    "average",
    "count_nonzero",
    "diff",
    "flip",
    "fliplr",
    "flipud",
    "isclose",
    "ptp",
    "roll",
    "tril",
    "triu",
]


def _along(ndim: int, axis: int, index: slice) -> tuple[slice, ...]:
    return tuple(index if i == axis else slice(None) for i in range(ndim))


@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Array:
    """Reverse the order of elements along ``axis`` (all axes for None): a view."""
    x = as_array(m)
    axes = range(x.ndim) if axis is None else normalize_axis_tuple(axis, x.ndim)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


@implements(np.flipud)
def flipud(m: Any) -> Array:
    """Reverse the first axis."""
    return flip(m, 0)


@implements(np.fliplr)
def fliplr(m: Any) -> Array:
    """Reverse the second axis."""
    return flip(m, 1)


@implements(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Array:
    """Roll elements along ``axis`` (the flattened array for None), as ``numpy.roll``."""
    x = as_array(a)
    if axis is None:
        return roll(x.ravel(), shift, 0).reshape(x.shape)
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    axes = (
        normalize_axis_tuple(axis, x.ndim, allow_duplicate=True)
        if np.ndim(axis)
        else (normalize_axis_index(int(axis), x.ndim),)
    )
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same length")
    for s, ax in zip(shifts, axes):
        n = x.shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            x = concatenate(
                [
                    x[_along(x.ndim, ax, slice(n - s, None))],
                    x[_along(x.ndim, ax, slice(None, n - s))],
                ],
                axis=ax,
            )
    return x


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
        later = x[_along(x.ndim, ax, slice(1, None))]
        earlier = x[_along(x.ndim, ax, slice(None, -1))]
        x = (later != earlier) if x.dtype == bool else later - earlier
    return x


def _tri_mask(x: Array, k: int, lower: bool) -> Array:
    rows, cols = x.shape[-2], x.shape[-1]
    # Explicit per-axis chunks: a bare (0,) for an empty axis would read as chunk size 0.
    i = arange(rows, chunks=(x.chunks[-2],))[:, None]
    j = arange(cols, chunks=(x.chunks[-1],))[None, :]
    return (j - i <= k) if lower else (j - i >= k)


@implements(np.tril)
def tril(m: Any, k: int = 0) -> Array:
    """The lower triangle (elements above the ``k``-th diagonal set to zero)."""
    x = as_array(m)
    if x.ndim < 2:
        raise ValueError("tril needs an array of at least two dimensions")
    return where(_tri_mask(x, k, lower=True), x, 0).astype(x.dtype)


@implements(np.triu)
def triu(m: Any, k: int = 0) -> Array:
    """The upper triangle (elements below the ``k``-th diagonal set to zero)."""
    x = as_array(m)
    if x.ndim < 2:
        raise ValueError("triu needs an array of at least two dimensions")
    return where(_tri_mask(x, k, lower=False), x, 0).astype(x.dtype)


@implements(np.ptp)
def ptp(a: Any, axis: Any = None, keepdims: bool = False) -> Array:
    """Range (maximum - minimum) along ``axis``; one pass computes both."""
    x = as_array(a)
    return x.max(axis=axis, keepdims=keepdims) - x.min(axis=axis, keepdims=keepdims)


@implements(np.count_nonzero)
def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Array:
    """The number of nonzero elements along ``axis``, as int64."""
    return (as_array(a) != 0).sum(axis=axis, keepdims=keepdims, dtype=np.int64)


@implements(np.average)
def average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *, keepdims: bool = False
) -> Any:
    """Weighted average along ``axis``, as ``numpy.average`` (``weights`` broadcast
    against ``a``, or 1-d along a single axis)."""
    x = as_array(a)
    if weights is None:
        avg = x.mean(axis=axis, keepdims=keepdims)
        scl = avg.dtype.type(x.size / max(avg.size, 1))
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


@implements(np.isclose)
def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, as ``numpy.isclose`` (infinities equal
    only to themselves)."""
    x, y = as_array(a), as_array(b) if isinstance(b, Array | np.ndarray) else b
    xf = x.astype(np.result_type(x.dtype, np.float64 if x.dtype.kind in "biu" else x.dtype))
    close = absolute(xf - y) <= atol + rtol * absolute(y)
    finite = logical_and(isfinite(xf), isfinite(y))
    result = where(finite, close, xf == y)
    if equal_nan:
        result = result | logical_and(isnan(xf), isnan(y))
    return result


@implements(np.allclose)
def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Array:
    """True if every element of ``a`` is close to ``b`` (a lazy 0-d bool array)."""
    return isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).all()


@implements(np.array_equal)
def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Array:
    """True if the two arrays have the same shape and elements, as
    ``numpy.array_equal``, as a lazy 0-d bool Array (NumPy returns a Python bool; the
    Array converts with ``bool()``).

    Parameters
    ----------
    a1, a2 : Array or array_like
    equal_nan : bool, default False
        Whether NaNs in the same places compare equal.

    Returns
    -------
    Array
        0-d bool; False without computing anything when the shapes differ.
    """
    x, y = as_array(a1), as_array(a2)
    if x.shape != y.shape:
        return as_array(np.False_)
    same = x == y
    if equal_nan and x.dtype.kind == "f" and y.dtype.kind == "f":
        same = same | logical_and(isnan(x), isnan(y))
    return same.all()
