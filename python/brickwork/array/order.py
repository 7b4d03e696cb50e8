"""Order statistics along an axis: sort, argsort, median, percentile, quantile, and isin.

Each gathers the axis into one chunk first — a rechunk, which in brickwork is a free view
— and then runs NumPy's own function per block through ``map_blocks``, so the results
are NumPy's exactly. Memory per task is one block with the whole axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork.array._dispatch import implements
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, to_expr

__all__ = ["argsort", "isin", "median", "percentile", "quantile", "sort"]


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
