"""The dtypes of the Array API namespace and its data type functions (``astype``,
``can_cast``, ``finfo``, ``iinfo``, ``isdtype``, ``result_type``).

The dtype objects are NumPy dtypes, so ``x.dtype == xp.float32`` holds for brickwork
and NumPy arrays alike.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from brickwork.array._dtypes import dtype_name
from brickwork.array.core import Array
from brickwork.array_api._info import check_device

__all__ = [
    "astype",
    "bool",
    "can_cast",
    "finfo",
    "float32",
    "float64",
    "iinfo",
    "int16",
    "int32",
    "int64",
    "int8",
    "isdtype",
    "result_type",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
]

# The standard's dtype names shadow the builtin bool here, as in numpy.
bool = np.dtype("bool")  # noqa: A001
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
uint8 = np.dtype("uint8")
uint16 = np.dtype("uint16")
uint32 = np.dtype("uint32")
uint64 = np.dtype("uint64")
float32 = np.dtype("float32")
float64 = np.dtype("float64")


def _dtype(value: Any) -> np.dtype:
    """The supported dtype of an array (brickwork or NumPy), a NumPy scalar or a
    dtype-like (TypeError for others)."""
    if isinstance(value, Array | np.ndarray | np.generic):
        value = value.dtype
    return np.dtype(dtype_name(value))


def astype(x: Array, dtype: Any, /, *, copy: builtins.bool = True, device: Any = None) -> Array:
    """Cast ``x`` to ``dtype`` (any cast is allowed, as NumPy's ``casting="unsafe"``).

    When ``dtype`` is already ``x``'s, ``copy=False`` returns ``x`` itself and
    ``copy=True`` a new Array of the same expression (``x[...] = v`` on one does not
    change the other).
    Floats cast to integers as in NumPy (NaN and out-of-range values are undefined).

    Raises
    ------
    TypeError
        If ``x`` is not an Array or ``dtype`` is not supported.
    ValueError
        For a device other than ``"cpu"``.
    """
    check_device(device)
    if not isinstance(x, Array):
        raise TypeError(f"astype expects a brickwork Array, got {type(x).__name__}")
    return x.astype(dtype_name(dtype), copy=copy)


def can_cast(from_: Any, to: Any, /) -> builtins.bool:
    """Whether ``from_`` (a dtype or an Array) casts to ``to`` under NumPy's "safe" rule
    (the standard's promotion graph, plus NumPy's integer-to-float casts).

    Raises
    ------
    TypeError
        For unsupported dtypes.
    """
    return builtins.bool(np.can_cast(_dtype(from_), _dtype(to)))


def finfo(type: Any, /) -> np.finfo:  # noqa: A002 - the standard's name
    """Machine limits of a floating dtype (or an Array's): NumPy's ``finfo``, with
    ``bits``, ``eps``, ``max``, ``min``, ``smallest_normal`` and ``dtype``.

    Raises
    ------
    ValueError
        If the dtype is not a floating dtype.
    TypeError
        If it is not supported.
    """
    dt = _dtype(type)
    if dt.kind != "f":
        raise ValueError(f"finfo needs a floating dtype (float32 or float64), got {dt}")
    return np.finfo(dt)


def iinfo(type: Any, /) -> np.iinfo:  # noqa: A002 - the standard's name
    """Machine limits of an integer dtype (or an Array's): NumPy's ``iinfo``, with
    ``bits``, ``max``, ``min`` and ``dtype``.

    Raises
    ------
    ValueError
        If the dtype is not an integer dtype.
    TypeError
        If it is not supported.
    """
    dt = _dtype(type)
    if dt.kind not in "iu":
        raise ValueError(f"iinfo needs an integer dtype, got {dt}")
    return np.iinfo(dt)


def isdtype(dtype: Any, kind: Any) -> builtins.bool:
    """Whether ``dtype`` is ``kind``: a dtype, a kind name (``"bool"``, ``"signed
    integer"``, ``"unsigned integer"``, ``"integral"``, ``"real floating"``,
    ``"complex floating"``, ``"numeric"``) or a tuple of them, as ``numpy.isdtype``.

    Raises
    ------
    TypeError
        If ``dtype`` is not a dtype or ``kind`` is not understood.
    ValueError
        For an unknown kind name.
    """
    return builtins.bool(np.isdtype(dtype, kind))


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """The dtype of an operation on the given Arrays, dtypes and Python scalars, with
    NumPy's promotion (Python scalars are weak, NEP 50).

    Raises
    ------
    TypeError
        For unsupported dtypes or a result brickwork does not support.
    ValueError
        Without any argument.
    """
    if not arrays_and_dtypes:
        raise ValueError("result_type needs at least one array or dtype")
    args = [
        a if isinstance(a, builtins.bool | int | float | complex) else _dtype(a)
        for a in arrays_and_dtypes
    ]
    return np.dtype(dtype_name(np.result_type(*args)))
