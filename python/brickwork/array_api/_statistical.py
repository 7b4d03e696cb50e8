"""Statistical and utility functions of the Array API: ``brickwork.array``'s tree
reductions, ``std``/``var`` with a (possibly fractional) ``correction``, the
cumulative sums and products with ``include_initial``, and ``diff`` with
``prepend``/``append``.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

import brickwork.array as da
from brickwork.array.core import Array, as_array, reduction
from brickwork.array.reductions import all, any, max, mean, min, prod, sum

# The builtins are shadowed by the standard's names, as in numpy.
# ruff: noqa: A001

__all__ = [
    "all",
    "any",
    "cumulative_prod",
    "cumulative_sum",
    "diff",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "var",
]


def _correction(correction: Any) -> float:
    if isinstance(correction, bool | np.bool_) or not isinstance(
        correction, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"correction must be a real number, got {type(correction).__name__} {correction!r}"
        )
    return float(correction)


def _moment(op: str, x: Any, axis: Any, correction: Any, keepdims: bool, ddof: Any) -> Array:
    """``var`` or ``std`` dividing by ``N - correction`` (by zero when that is not
    positive, as NumPy's ``ddof``, accepted as an alias)."""
    arr = as_array(x)
    if ddof is not None:
        if correction != 0:
            raise ValueError("ddof and correction can't be provided simultaneously")
        correction = ddof
    c = _correction(correction)
    if c.is_integer():
        return reduction(op, arr, axis, keepdims, None, None, int(c))
    axes = range(arr.ndim) if axis is None else normalize_axis_tuple(axis, arr.ndim)
    n = math.prod(arr.shape[a] for a in axes)
    # NumPy divides the sum of squares by max(N - ddof, 0): here var(ddof=0) * N / (N - c)
    # with N / 0 = inf, so that 0 / 0 gives NaN and s / 0 gives inf as in NumPy.
    scale = n / (n - c) if n - c > 0 else math.inf
    variance = reduction("var", arr, axis, keepdims) * scale
    return da.sqrt(variance) if op == "std" else variance


def var(
    x: Any,
    /,
    *,
    axis: Any = None,
    correction: Any = 0.0,
    keepdims: bool = False,
    ddof: Any = None,
) -> Array:
    """The variance over ``axis``, dividing by ``N - correction`` (``correction=1`` is
    the unbiased sample variance; fractional corrections are allowed). ``ddof`` is
    NumPy's name for ``correction``.

    Raises
    ------
    ValueError
        If both ``ddof`` and a nonzero ``correction`` are given.
    """
    return _moment("var", x, axis, correction, keepdims, ddof)


def std(
    x: Any,
    /,
    *,
    axis: Any = None,
    correction: Any = 0.0,
    keepdims: bool = False,
    ddof: Any = None,
) -> Array:
    """The standard deviation over ``axis``, dividing by ``N - correction`` (see
    ``var``)."""
    return _moment("std", x, axis, correction, keepdims, ddof)


def _cumulative(
    scan: Any, identity: int, x: Any, axis: Any, dtype: Any, include_initial: bool
) -> Array:
    arr = as_array(x)
    if axis is None:
        if arr.ndim != 1:
            raise ValueError(
                f"axis is required for arrays of other than one dimension (got {arr.ndim})"
            )
        axis = 0
    ax = normalize_axis_index(operator.index(axis), arr.ndim)
    out = scan(arr, axis=ax, dtype=dtype)
    if not include_initial:
        return out
    first = out.shape[:ax] + (1,) + out.shape[ax + 1 :]
    chunks = out.chunks[:ax] + ((1,),) + out.chunks[ax + 1 :]
    start = da.full(first, identity, dtype=out.dtype, chunks=chunks)
    return da.concatenate([start, out], axis=ax)


def cumulative_sum(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> Array:
    """The cumulative sum along ``axis`` (required unless ``x`` is 1-d), starting with
    a zero when ``include_initial``. Integers accumulate in int64 / uint64 unless
    ``dtype`` says otherwise.

    Raises
    ------
    ValueError
        Without ``axis`` for an array that is not 1-d.
    """
    return _cumulative(da.cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(
    x: Any, /, *, axis: Any = None, dtype: Any = None, include_initial: bool = False
) -> Array:
    """The cumulative product along ``axis``, starting with a one when
    ``include_initial`` (see ``cumulative_sum``)."""
    return _cumulative(da.cumprod, 1, x, axis, dtype, include_initial)


def _edge(values: Any, arr: Array, ax: int) -> Array:
    """``prepend`` / ``append`` as an Array; a scalar becomes one slice along ``ax``."""
    if isinstance(values, Array) or np.ndim(values):
        return as_array(values)
    shape = arr.shape[:ax] + (1,) + arr.shape[ax + 1 :]
    return da.broadcast_to(da.asarray(np.asarray(values)), shape)


def diff(
    x: Any, /, *, axis: int = -1, n: int = 1, prepend: Any = None, append: Any = None
) -> Array:
    """The ``n``-th discrete difference along ``axis``, after joining ``prepend`` and
    ``append`` to ``x`` along it, as ``numpy.diff`` (scalar edges broadcast). For
    ``n=0`` the result is the joined array, as the standard's length rule says (NumPy
    returns ``x`` unchanged).

    Raises
    ------
    ValueError
        For a negative ``n``, a 0-d ``x`` or edges whose other axes differ from ``x``'s.
    """
    arr = as_array(x)
    if arr.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = normalize_axis_index(operator.index(axis), arr.ndim)
    parts = [arr]
    if prepend is not None:
        parts.insert(0, _edge(prepend, arr, ax))
    if append is not None:
        parts.append(_edge(append, arr, ax))
    if len(parts) > 1:
        arr = da.concatenate(parts, axis=ax)
    return da.diff(arr, n=operator.index(n), axis=ax)
