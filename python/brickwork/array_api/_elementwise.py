"""Elementwise functions of the Array API: ``brickwork.array``'s lazy ufuncs under
the standard's names, and ``clip``, ``conj``, ``real``, ``logaddexp`` and
``nextafter`` composed from them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from brickwork.array import ufuncs
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.ufuncs import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    positive,
    pow,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
    where,
)

__all__ = [
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clip",
    "conj",
    "copysign",
    "cos",
    "cosh",
    "divide",
    "equal",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "greater",
    "greater_equal",
    "hypot",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "nextafter",
    "not_equal",
    "positive",
    "pow",
    "real",
    "reciprocal",
    "remainder",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "trunc",
]


def clip(x: Any, /, min: Any = None, max: Any = None) -> Array:  # noqa: A002 - the standard's names
    """Limit the values of ``x`` to ``[min, max]`` (either may be None; each an Array
    or a Python scalar broadcasting against ``x``), keeping ``x``'s dtype.

    NaN in ``x``, ``min`` or ``max`` gives NaN; for ``min > max`` the result is ``max``,
    as in NumPy.
    """
    arr = as_array(x)
    out = ufuncs.clip(arr, min, max)
    return out if out.dtype == arr.dtype else out.astype(arr.dtype)


def conj(x: Any, /) -> Array:
    """The complex conjugate; brickwork has only real dtypes, so this is ``x``."""
    return as_array(x)


def real(x: Any, /) -> Array:
    """The real part; brickwork has only real dtypes, so this is ``x``."""
    return as_array(x)


def _float_operands(ufunc: np.ufunc, x1: Any, x2: Any) -> tuple[Any, Any]:
    """``x1`` and ``x2`` cast to the float dtype NumPy's ``ufunc`` computes them in
    (float32 where NumPy uses float16); Python scalars stay weak."""
    operands = [x if isinstance(x, bool | int | float) else as_array(x) for x in (x1, x2)]
    probes = [np.empty(0, x.dtype) if isinstance(x, Array) else x for x in operands]
    with np.errstate(all="ignore"):
        dtype = ufunc(*probes).dtype
    if dtype == np.float16:
        dtype = np.dtype(np.float32)
    a, b = (x.astype(dtype) if isinstance(x, Array) else x for x in operands)
    return a, b


def logaddexp(x1: Any, x2: Any, /) -> Any:
    """``log(exp(x1) + exp(x2))`` without overflow, as ``numpy.logaddexp``: composed
    lazily as ``maximum(x1, x2) + log1p(exp(-abs(x1 - x2)))`` (``x1 + log(2)`` where
    ``x1 == x2``, so equal infinities stay infinite). Integers compute in float."""
    if not isinstance(x1, Array) and not isinstance(x2, Array):
        return np.logaddexp(x1, x2)
    a, b = _float_operands(np.logaddexp, x1, x2)
    spread = log1p(exp(-abs(subtract(a, b))))
    array = a if isinstance(a, Array) else b  # where a == b, either one (and never weak)
    return where(equal(a, b), add(array, math.log(2.0)), add(maximum(a, b), spread))


def nextafter(x1: Any, x2: Any, /) -> Any:
    """The next representable float after ``x1`` towards ``x2``, as
    ``numpy.nextafter`` (run by NumPy block by block on the broadcast operands)."""
    if not isinstance(x1, Array) and not isinstance(x2, Array):
        return np.nextafter(x1, x2)
    a, b = _float_operands(np.nextafter, x1, x2)
    dtype = a.dtype if isinstance(a, Array) else b.dtype
    return map_blocks(np.nextafter, a, b, dtype=dtype, name="nextafter")
