"""Creating arrays: from NumPy data, filled with a value, or as ranges; and the
triangles ``tril`` / ``triu`` of a matrix (NumPy's "building matrices")."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from brickwork import _core
from brickwork.array._args import chunks_and_limit, integer, shape_tuple
from brickwork.array._dispatch import array_method, implements
from brickwork.array._dtypes import SUPPORTED_DTYPES, dtype_name
from brickwork.array._sources import is_array_like, to_numpy
from brickwork.array.core import Array, Scalar, as_array
from brickwork.array.ufuncs import where

__all__ = [
    "arange",
    "array",
    "asanyarray",
    "asarray",
    "empty",
    "empty_like",
    "from_array",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]


def from_array(
    x: Any,
    chunks: Any = "auto",
    name: str | None = None,
    lock: bool = False,
    asarray: bool | None = None,
    fancy: bool = True,
    inline_array: bool = False,
    *,
    copy: bool = False,
) -> Array:
    """Wrap a NumPy array (or anything with ``__array__``) as a chunked Array.

    NumPy arrays are read in place, without a copy (brickwork's deliberate choice;
    ``dask.array.from_array`` copies): a change to ``x`` shows in every later
    ``compute()``, and ``x`` must not be modified while a computation that reads it
    runs. Pass ``copy=True`` for a snapshot that later changes to ``x`` do not affect.
    Byte-swapped or misaligned arrays are copied once.

    Parameters
    ----------
    x : array_like
        A NumPy array, an object with ``__array__``, a list or a scalar.
    chunks : int, tuple, dict, "auto" or str, default "auto"
        Dask's chunk specs: an int for every axis, a tuple per axis (ints, -1 or None
        for the whole axis, "auto", or explicit tuples of sizes), a dict
        ``{axis: spec}``. ``"auto"`` targets ``brickwork.config.get("chunk_size")``
        bytes; a byte string such as ``"64MiB"`` means "auto" with that target.
    name : str, optional
        A label shown by ``repr``.
    lock, asarray, fancy, inline_array
        Accepted for compatibility with ``dask.array.from_array``; ignored.
    copy : bool, default False
        Copy ``x`` once now (a snapshot) instead of reading it in place.

    Returns
    -------
    Array

    Raises
    ------
    TypeError
        If ``x`` is not array-like or its dtype is not supported.
    ValueError
        If ``x`` is already an Array, or ``chunks`` is invalid for its shape.
    """
    if isinstance(x, Array):
        raise ValueError("x is already a brickwork Array; use asarray() instead")
    arr = _numpy_with_dtype(x, None, copy=bool(copy))
    spec, limit = chunks_and_limit(chunks)
    return Array(_core.from_numpy(arr, spec, limit), name if isinstance(name, str) else "array")


def _numpy_with_dtype(x: Any, dtype: DTypeLike | None, copy: bool) -> np.ndarray:
    """``x`` as a NumPy array of ``dtype``; with ``copy``, never memory of ``x`` itself."""
    src = to_numpy(x)
    arr = src if dtype is None else src.astype(dtype_name(dtype), copy=False)
    fresh = isinstance(x, list | tuple | bool | int | float)
    return arr.copy() if copy and arr is src and not fresh else arr


def asarray(
    a: Any, dtype: DTypeLike | None = None, order: str | None = None, *, chunks: Any = "auto"
) -> Array:
    """Convert to an Array; Arrays are returned unchanged (cast if ``dtype`` is given).

    NumPy input is read in place, as in ``from_array``. ``order`` is ignored.
    """
    if isinstance(a, Array):
        return a if dtype is None else a.astype(dtype)
    return from_array(_numpy_with_dtype(a, dtype, copy=False), chunks=chunks)


def asanyarray(
    a: Any,
    dtype: DTypeLike | None = None,
    order: str | None = None,
    *,
    like: Any = None,
    inline_array: bool = False,
    chunks: Any = "auto",
) -> Array:
    """``asarray`` (brickwork has no array subclasses to keep). ``order``, ``like`` and
    ``inline_array`` are accepted for Dask's signature and ignored."""
    return asarray(a, dtype=dtype, chunks=chunks)


def array(
    x: Any, dtype: DTypeLike | None = None, copy: bool = True, *, chunks: Any = "auto"
) -> Array:
    """Convert to an Array like ``numpy.array``: NumPy input is copied by default.

    With ``copy=True`` later changes to ``x`` do not affect the result; with
    ``copy=False`` this is ``asarray``.
    """
    if isinstance(x, Array):
        return x if dtype is None else x.astype(dtype)
    return from_array(_numpy_with_dtype(x, dtype, copy=bool(copy)), chunks=chunks)


def _fill(fill_value: Any, dtype: DTypeLike | None) -> tuple[Scalar, str]:
    """Return ``fill_value`` cast as ``numpy.full`` casts it, and the dtype name."""
    if isinstance(fill_value, Array) or np.ndim(fill_value) != 0:
        raise ValueError(
            f"fill_value must be scalar. Received {type(fill_value).__name__} instead."
        )
    value = fill_value.item() if isinstance(fill_value, np.generic | np.ndarray) else fill_value
    if isinstance(value, complex):
        raise TypeError(
            f"complex fill values are not supported (got {fill_value!r}); "
            f"supported dtypes are: {', '.join(SUPPORTED_DTYPES)}"
        )
    if not isinstance(value, bool | int | float):
        raise TypeError(
            f"fill_value must be a bool, int or float, got {type(fill_value).__name__} "
            f"{fill_value!r}"
        )
    if dtype is None:
        found = np.asarray(fill_value).dtype
        if found.kind == "O":
            raise OverflowError(f"Python int {fill_value} is too large for any supported dtype")
        name = dtype_name(found)
    else:
        name = dtype_name(dtype)
    cell = np.empty((), dtype=name)
    np.copyto(cell, value, casting="unsafe")
    return cell.item(), name


def full(
    shape: Any,
    fill_value: Any,
    dtype: DTypeLike | None = None,
    order: str = "C",
    *,
    chunks: Any = "auto",
    name: str | None = None,
) -> Array:
    """An array of ``shape`` filled with ``fill_value`` (computed per chunk, no memory used).

    ``dtype`` defaults to that of ``fill_value`` (bool, int64 or float64 for Python
    values); the value is cast as ``numpy.full`` casts it. ``order`` is ignored;
    ``name``, as in Dask, labels the array (shown by ``repr``).
    """
    dims = shape_tuple(shape)
    value, dtype_label = _fill(fill_value, dtype)
    spec, limit = chunks_and_limit(chunks)
    return Array(_core.full(dims, value, dtype_label, spec, limit), _label(name, "full"))


def zeros(
    shape: Any,
    dtype: DTypeLike | None = float,
    order: str = "C",
    *,
    chunks: Any = "auto",
    name: str | None = None,
) -> Array:
    """An array of zeros (``dtype`` float64 by default). ``order`` is ignored."""
    return _filled(shape, 0, dtype, chunks, _label(name, "zeros"))


def ones(
    shape: Any,
    dtype: DTypeLike | None = float,
    order: str = "C",
    *,
    chunks: Any = "auto",
    name: str | None = None,
) -> Array:
    """An array of ones (``dtype`` float64 by default). ``order`` is ignored."""
    return _filled(shape, 1, dtype, chunks, _label(name, "ones"))


def empty(
    shape: Any,
    dtype: DTypeLike | None = float,
    order: str = "C",
    *,
    chunks: Any = "auto",
    name: str | None = None,
) -> Array:
    """An uninitialised array; brickwork fills it with zeros. ``order`` is ignored."""
    return _filled(shape, 0, dtype, chunks, _label(name, "empty"))


def _label(name: Any, default: str) -> str:
    """The label of a new array: Dask's ``name=`` when it is a string."""
    return name if isinstance(name, str) and name else default


def _filled(shape: Any, value: int, dtype: DTypeLike | None, chunks: Any, label: str) -> Array:
    dims = shape_tuple(shape)
    fill, name = _fill(value, "float64" if dtype is None else dtype)
    spec, limit = chunks_and_limit(chunks)
    return Array(_core.full(dims, fill, name, spec, limit), label)


def _like(
    a: Any, dtype: DTypeLike | None, shape: Any, chunks: Any
) -> tuple[tuple[int, ...], str, Any]:
    """Shape, dtype name and chunks for ``*_like``: those of ``a`` unless overridden."""
    if isinstance(a, Array):
        src_shape, src_dtype = a.shape, a.dtype
    elif is_array_like(a) or isinstance(a, bool | int | float):
        src = np.asarray(a)
        src_shape, src_dtype = src.shape, src.dtype
    else:
        raise TypeError(f"expected an array-like, got {type(a).__name__}")
    new_shape = src_shape if shape is None else shape_tuple(shape)
    if chunks is None:
        same = isinstance(a, Array) and new_shape == src_shape
        chunks = a.chunks if same else "auto"
    return new_shape, dtype_name(src_dtype if dtype is None else dtype), chunks


@implements(np.full_like)
def full_like(
    a: Any,
    fill_value: Any,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    chunks: Any = None,
    name: str | None = None,
) -> Array:
    """An array filled with ``fill_value`` with the shape, dtype and chunks of ``a``.

    ``a`` may be an Array (its chunks are kept) or a NumPy array / array-like (then
    ``chunks="auto"``). ``order`` and ``subok`` are ignored; ``name`` labels the array.
    """
    dims, dtype_label, chunks = _like(a, dtype, shape, chunks)
    return full(dims, fill_value, dtype_label, chunks=chunks, name=name)


@array_method("imag")
@implements(np.zeros_like)
def zeros_like(
    a: Any,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    chunks: Any = None,
    name: str | None = None,
) -> Array:
    """An array of zeros with the shape, dtype and chunks of ``a`` (see ``full_like``)."""
    dims, dtype_label, chunks = _like(a, dtype, shape, chunks)
    return zeros(dims, dtype_label, chunks=chunks, name=name)


@implements(np.ones_like)
def ones_like(
    a: Any,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    chunks: Any = None,
    name: str | None = None,
) -> Array:
    """An array of ones with the shape, dtype and chunks of ``a`` (see ``full_like``)."""
    dims, dtype_label, chunks = _like(a, dtype, shape, chunks)
    return ones(dims, dtype_label, chunks=chunks, name=name)


@implements(np.empty_like)
def empty_like(
    prototype: Any,
    dtype: DTypeLike | None = None,
    order: str = "K",
    subok: bool = True,
    shape: Any = None,
    *,
    chunks: Any = None,
    name: str | None = None,
) -> Array:
    """Like ``zeros_like`` (brickwork has no uninitialised memory)."""
    dims, dtype_label, chunks = _like(prototype, dtype, shape, chunks)
    return empty(dims, dtype_label, chunks=chunks, name=name)


def _real_scalar(value: Any, name: str) -> bool | int | float:
    """Return a Python bool/int/float for a real scalar argument, else raise TypeError."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, bool | int | float):
        return value
    raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")


def _arange_length(start: Any, stop: Any, step: Any) -> int:
    if all(isinstance(v, int) for v in (start, stop, step)):
        return max(0, -((start - stop) // step))
    length = (stop - start) / step
    if not math.isfinite(length):
        raise ValueError(f"arange: the number of elements ({length}) is not finite")
    return max(0, math.ceil(length))


def arange(
    start: Any,
    stop: Any = None,
    step: Any = 1,
    *,
    chunks: Any = "auto",
    dtype: DTypeLike | None = None,
    like: Any = None,
    name: str | None = None,
) -> Array:
    """Evenly spaced values in ``[start, stop)``, with ``numpy.arange``'s rules.

    The length is ``ceil((stop - start) / step)``; the dtype is int64 for integer
    arguments and float64 if any is a float, unless ``dtype`` is given. Like NumPy,
    element ``i`` is ``x0 + i * (x1 - x0)`` where ``x0``, ``x1`` are the first two
    values computed in ``dtype``. ``like`` is accepted for Dask's signature and
    ignored; ``name`` labels the array.

    Raises
    ------
    ZeroDivisionError
        If ``step`` is zero.
    """
    if stop is None:
        start, stop = 0, start
    originals = (start, stop, step)
    start, stop, step = (_real_scalar(v, n) for v, n in zip(originals, ("start", "stop", "step")))
    if step == 0:
        raise ZeroDivisionError("arange: step must not be zero")
    num = _arange_length(start, stop, step)
    if dtype is None:
        dtype = np.result_type(np.int64, *(np.asarray(v).dtype for v in originals))
    kind = dtype_name(dtype)
    spec, limit = chunks_and_limit(chunks)
    if kind == "bool":
        return from_array(
            np.arange(start, stop, step, dtype=bool), chunks=chunks, name=_label(name, "arange")
        )
    pair = np.zeros(2, dtype=kind)
    pair[0] = start
    if num > 1:
        pair[1] = start + step
        pair[1:] = np.subtract(pair[1:], pair[:1])
    expr = _core.arange(pair[0].item(), pair[1].item(), num, kind, spec, limit)
    return Array(expr, _label(name, "arange"))


def linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    chunks: Any = "auto",
    dtype: DTypeLike | None = None,
    *,
    name: str | None = None,
) -> Array | tuple[Array, float]:
    """``num`` evenly spaced values from ``start`` to ``stop``, as ``numpy.linspace``.

    Parameters
    ----------
    start, stop : real scalars
    num : int, default 50
        Number of values (non-negative).
    endpoint : bool, default True
        Whether ``stop`` is the last value.
    retstep : bool, default False
        Also return the spacing.
    chunks : chunk spec, default "auto"
    dtype : dtype-like, optional
        Default: float64 (float32 if both ends are float32).
    name : str, optional
        A label shown by ``repr`` (Dask's keyword).
    """
    num = integer(num, "num")
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    first = _real_scalar(start, "start")
    last = _real_scalar(stop, "stop")
    kind = dtype_name(np.result_type(start, stop, float(num)) if dtype is None else dtype)
    spec, limit = chunks_and_limit(chunks)
    expr = _core.linspace(first, last, num, bool(endpoint), kind, spec, limit)
    result = Array(expr, _label(name, "linspace"))
    if not retstep:
        return result
    div = num - 1 if endpoint else num
    return result, (last - first) / div if div > 0 else math.nan


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
