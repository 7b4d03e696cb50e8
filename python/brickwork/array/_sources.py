"""Turn array-likes into NumPy arrays that ``_core.from_numpy`` can read in place."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork.array._dtypes import dtype_name

__all__ = ["is_array_like", "to_numpy"]


def is_array_like(x: Any) -> bool:
    """True for NumPy arrays and scalars, lists, tuples and objects with ``__array__``."""
    return isinstance(x, np.ndarray | np.generic | list | tuple) or hasattr(x, "__array__")


def to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a native-endian, aligned ``numpy.ndarray`` of a supported dtype.

    NumPy arrays are returned without a copy when they already qualify; misaligned or
    byte-swapped arrays, and views whose strides are not whole elements, are copied once.

    Raises
    ------
    TypeError
        If ``x`` is not array-like (a dict, a string, …), is a masked array, or has a
        dtype brickwork does not support (object, strings, complex, float16, …).
    """
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError("masked arrays are not supported; fill them first (x.filled())")
    if isinstance(x, bool | int | float) or is_array_like(x):
        arr = np.asarray(x)
    else:
        raise TypeError(
            f"expected a NumPy array or an array-like object (with __array__), "
            f"got {type(x).__name__}"
        )
    dtype_name(arr.dtype)
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    elif not arr.flags.aligned or any(s % arr.itemsize for s in arr.strides):
        arr = arr.copy()
    return arr
