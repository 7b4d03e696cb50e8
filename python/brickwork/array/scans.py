"""Cumulative sums and products: ``cumsum``, ``cumprod``, ``nancumsum``, ``nancumprod``."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import implements
from brickwork.array.core import Array, to_expr

__all__ = ["cumprod", "cumsum", "nancumprod", "nancumsum"]


def _dtype_name(dtype: Any) -> str | None:
    return None if dtype is None else np.dtype(dtype).name


def _axis(axis: Any) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"axis must be an integer or None, got {type(axis).__name__}")
    return int(axis)


def _scan(op: str, a: Any, axis: Any, dtype: Any) -> Array:
    x = a if isinstance(a, Array) else Array(to_expr(a), "array")
    return Array(_core.cumulative(op, x._expr, _axis(axis), _dtype_name(dtype)), op)


@implements(np.cumsum)
def cumsum(a: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative sum along ``axis`` (the flattened array for None), as ``numpy.cumsum``.

    Blocks along the axis are scanned one after another, each continuing from the last
    slice of the block before it; blocks at different positions on the other axes run
    in parallel. Integers accumulate in int64 / uint64 unless ``dtype`` says otherwise.
    """
    return _scan("cumsum", a, axis, dtype)


@implements(np.cumprod)
def cumprod(a: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative product along ``axis`` (the flattened array for None), as
    ``numpy.cumprod``."""
    return _scan("cumprod", a, axis, dtype)


@implements(np.nancumsum)
def nancumsum(a: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative sum treating NaN as zero, as ``numpy.nancumsum``."""
    from brickwork.array.ufuncs import isnan, where

    x = a if isinstance(a, Array) else Array(to_expr(a), "array")
    if x.dtype.kind == "f":
        x = where(isnan(x), 0, x)
    return cumsum(x, axis=axis, dtype=dtype)


@implements(np.nancumprod)
def nancumprod(a: Any, axis: int | None = None, dtype: Any = None) -> Array:
    """Cumulative product treating NaN as one, as ``numpy.nancumprod``."""
    from brickwork.array.ufuncs import isnan, where

    x = a if isinstance(a, Array) else Array(to_expr(a), "array")
    if x.dtype.kind == "f":
        x = where(isnan(x), 1, x)
    return cumprod(x, axis=axis, dtype=dtype)
