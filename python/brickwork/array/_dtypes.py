"""The dtypes brickwork supports and the conversion of user dtypes to their names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:
    from brickwork._core import DTypeName

__all__ = ["SUPPORTED_DTYPES", "dtype_name", "unsupported_dtype_error"]

SUPPORTED_DTYPES: tuple[str, ...] = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
)
_SUPPORTED = frozenset(SUPPORTED_DTYPES)


def unsupported_dtype_error(dtype: np.dtype, what: str = "brickwork arrays") -> TypeError:
    """Return the TypeError raised for a dtype brickwork does not support."""
    return TypeError(
        f"{what} do not support dtype {str(dtype)!r}; "
        f"supported dtypes are: {', '.join(SUPPORTED_DTYPES)}"
    )


def dtype_name(dtype: Any) -> DTypeName:
    """Return the NumPy name (``"float64"``, ``"int32"``, …) of a supported dtype.

    Parameters
    ----------
    dtype : dtype-like
        Anything ``numpy.dtype`` accepts: ``float``, ``"i4"``, ``np.uint8``, a dtype.

    Raises
    ------
    TypeError
        If NumPy does not understand ``dtype`` or brickwork does not support it
        (object, strings, complex, float16, datetimes, structured dtypes, …).
    """
    if dtype is None:
        raise TypeError("a dtype is required here, got None")
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"data type {dtype!r} not understood") from err
    if dt.name not in _SUPPORTED or dt.fields is not None:
        raise unsupported_dtype_error(dt)
    return cast("DTypeName", dt.name)
