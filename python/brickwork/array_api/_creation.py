"""Array creation functions of the Array API (``asarray``, ``zeros``, ``eye``,
``meshgrid``, …), built on ``brickwork.array``'s lazy creation functions.

Each takes ``device=None`` or ``"cpu"`` and, beyond the standard, a keyword-only
``chunks`` (any Dask chunk spec, ``"auto"`` by default).
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np

import brickwork.array as da
from brickwork.array._args import integer
from brickwork.array._dtypes import dtype_name
from brickwork.array._sources import to_numpy
from brickwork.array.core import Array, as_array
from brickwork.array_api._info import check_device

__all__ = [
    "arange",
    "asarray",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "full",
    "full_like",
    "linspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]


def arange(
    start: Any,
    /,
    stop: Any = None,
    step: Any = 1,
    *,
    dtype: Any = None,
    device: Any = None,
    chunks: Any = "auto",
) -> Array:
    """Evenly spaced values in ``[start, stop)`` (int64 for ints, float64 if any
    argument is a float, unless ``dtype`` is given); see ``brickwork.array.arange``."""
    check_device(device)
    return da.arange(start, stop, step, dtype=dtype, chunks=chunks)


def asarray(
    obj: Any,
    /,
    *,
    dtype: Any = None,
    device: Any = None,
    copy: bool | None = None,
    chunks: Any = "auto",
) -> Array:
    """Convert ``obj`` (an Array, a NumPy array, nested sequences, a Python scalar or
    anything with ``__array__`` or the buffer protocol) to an Array.

    NumPy input is read in place (no copy) unless ``copy=True`` or a cast is needed;
    ``copy=False`` raises ValueError when a copy would be needed (as ``numpy.asarray``).
    An Array keeps its chunks; it is returned itself unless ``copy=True`` (a new Array
    of the same expression, which ``x[...] = v`` on one does not change in the other)
    or ``dtype`` needs a cast.

    Raises
    ------
    TypeError
        For unsupported dtypes (complex, strings, …).
    ValueError
        With ``copy=False`` when a copy is needed, or for another device.
    """
    check_device(device)
    name = None if dtype is None else dtype_name(dtype)
    if isinstance(obj, Array):
        if name is not None and name != obj.dtype.name:
            if copy is False:
                raise ValueError(f"casting {obj.dtype} to {name} needs a copy (copy=False)")
            return obj.astype(name)
        return obj.copy() if copy else obj
    # NumPy raises the ValueError for copy=False when it cannot avoid a copy.
    arr = np.array(obj, dtype=name, copy=None if copy is None else bool(copy))
    return da.from_array(to_numpy(arr), chunks=chunks)


def empty(shape: Any, *, dtype: Any = None, device: Any = None, chunks: Any = "auto") -> Array:
    """An array of ``shape`` (float64 by default); brickwork fills it with zeros."""
    check_device(device)
    return da.empty(shape, dtype=dtype, chunks=chunks)


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None, chunks: Any = None) -> Array:
    """Like ``zeros_like`` (brickwork has no uninitialised memory)."""
    check_device(device)
    return da.empty_like(x, dtype=dtype, chunks=chunks)


def eye(
    n_rows: int,
    n_cols: int | None = None,
    /,
    *,
    k: int = 0,
    dtype: Any = None,
    device: Any = None,
    chunks: Any = "auto",
) -> Array:
    """A 2-d array with ones on the ``k``-th diagonal and zeros elsewhere (float64 by
    default), computed per chunk from two ranges without any memory.

    Raises
    ------
    ValueError
        For a negative number of rows or columns.
    """
    check_device(device)
    rows = integer(n_rows, "n_rows")
    cols = rows if n_cols is None else integer(n_cols, "n_cols")
    offset = integer(k, "k")
    name = "float64" if dtype is None else dtype_name(dtype)
    grid = da.zeros((rows, cols), dtype=name, chunks=chunks).chunks
    i = da.arange(rows, chunks=(grid[0],))[:, None]
    j = da.arange(cols, chunks=(grid[1],))[None, :]
    return ((j - i) == offset).astype(name)


def from_dlpack(x: Any, /, *, device: Any = None, copy: bool | None = None) -> Array:
    """An Array of the data of a DLPack producer (NumPy, PyTorch on CPU, …), read in
    place unless ``copy=True`` (through ``numpy.from_dlpack``).

    Raises
    ------
    BufferError
        If the producer cannot export to the CPU.
    TypeError
        For unsupported dtypes.
    """
    check_device(device)
    return da.from_array(to_numpy(np.from_dlpack(x, copy=copy)))


def full(
    shape: Any, fill_value: Any, *, dtype: Any = None, device: Any = None, chunks: Any = "auto"
) -> Array:
    """An array filled with ``fill_value`` (dtype bool, int64 or float64 from a Python
    value unless ``dtype`` is given); see ``brickwork.array.full``."""
    check_device(device)
    return da.full(shape, fill_value, dtype=dtype, chunks=chunks)


def full_like(
    x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None, chunks: Any = None
) -> Array:
    """An array of ``x``'s shape, dtype (unless ``dtype``) and chunks filled with
    ``fill_value``."""
    check_device(device)
    return da.full_like(x, fill_value, dtype=dtype, chunks=chunks)


def linspace(
    start: Any,
    stop: Any,
    /,
    num: int,
    *,
    dtype: Any = None,
    device: Any = None,
    endpoint: bool = True,
    chunks: Any = "auto",
) -> Array:
    """``num`` evenly spaced values from ``start`` to ``stop`` (float64 by default),
    as ``numpy.linspace``."""
    check_device(device)
    name = "float64" if dtype is None else dtype_name(dtype)
    return cast(
        "Array", da.linspace(start, stop, num, endpoint=endpoint, dtype=name, chunks=chunks)
    )


def meshgrid(*arrays: Any, indexing: str = "xy") -> list[Array]:
    """Coordinate arrays from 1-d coordinate vectors, as ``numpy.meshgrid``: with
    ``"xy"`` indexing the first two output axes are swapped (Cartesian), with ``"ij"``
    they are not (matrix). Each output is a lazy broadcast of its input (no memory).

    Raises
    ------
    ValueError
        For another ``indexing`` or an input that is not 1-d.
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij', got {indexing!r}")
    vectors = [as_array(a) for a in arrays]
    for i, v in enumerate(vectors):
        if v.ndim != 1:
            raise ValueError(f"meshgrid takes 1-d arrays; argument {i} has shape {v.shape}")
    axes = list(range(len(vectors)))
    if indexing == "xy" and len(vectors) > 1:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(vectors)
    for v, ax in zip(vectors, axes):
        shape[ax] = v.shape[0]
    out = []
    for v, ax in zip(vectors, axes):
        index = tuple(slice(None) if i == ax else None for i in range(len(vectors)))
        out.append(da.broadcast_to(v[index], tuple(shape)))
    return out


def ones(shape: Any, *, dtype: Any = None, device: Any = None, chunks: Any = "auto") -> Array:
    """An array of ones (float64 by default)."""
    check_device(device)
    return da.ones(shape, dtype=dtype, chunks=chunks)


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None, chunks: Any = None) -> Array:
    """An array of ones with ``x``'s shape, dtype (unless ``dtype``) and chunks."""
    check_device(device)
    return da.ones_like(x, dtype=dtype, chunks=chunks)


def tril(x: Any, /, *, k: int = 0) -> Array:
    """The lower triangle of each matrix (the last two axes): elements above the
    ``k``-th diagonal set to zero."""
    return da.tril(x, k=integer(k, "k"))


def triu(x: Any, /, *, k: int = 0) -> Array:
    """The upper triangle of each matrix (the last two axes): elements below the
    ``k``-th diagonal set to zero."""
    return da.triu(x, k=integer(k, "k"))


def zeros(shape: Any, *, dtype: Any = None, device: Any = None, chunks: Any = "auto") -> Array:
    """An array of zeros (float64 by default)."""
    check_device(device)
    return da.zeros(shape, dtype=dtype, chunks=chunks)


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None, chunks: Any = None) -> Array:
    """An array of zeros with ``x``'s shape, dtype (unless ``dtype``) and chunks."""
    check_device(device)
    return da.zeros_like(x, dtype=dtype, chunks=chunks)
