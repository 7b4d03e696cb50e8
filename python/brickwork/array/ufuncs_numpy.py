"""NumPy's elementwise functions that the engine has no kernel for, and the complex-number
functions for real dtypes.

``fmod``, ``nextafter``, ``frexp``, ``i0`` ... run NumPy's own function on each block
(``map_blocks``), so values, dtypes and special cases are NumPy's; ``isneginf``,
``divmod``, ``angle`` ... compose the engine's ufuncs (one fused kernel). As for
``brickwork.array.ufuncs``, a call without any Array argument is NumPy's.

Where NumPy would compute in float16 (``spacing`` of int8), brickwork computes in
float32 (brickwork has no float16 yet: issue 12 item 3).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from brickwork.array._dispatch import implements, implements_ufunc
from brickwork.array._sources import is_array_like
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.creation import full_like
from brickwork.array.ufuncs import (
    arctan2,
    floor_divide,
    isinf,
    isnan,
    logical_and,
    remainder,
    signbit,
)

__all__ = [
    "angle",
    "conj",
    "divmod",
    "fix",
    "float_power",
    "fmod",
    "frexp",
    "i0",
    "imag",
    "iscomplex",
    "isneginf",
    "isnull",
    "isposinf",
    "isreal",
    "ldexp",
    "logaddexp",
    "logaddexp2",
    "modf",
    "nextafter",
    "notnull",
    "real",
    "sinc",
    "spacing",
]


def _has_array(args: tuple[Any, ...]) -> bool:
    return any(isinstance(a, Array) for a in args)


def _operands(args: tuple[Any, ...]) -> list[Any]:
    """Arrays and array-likes as Arrays (so they are cut into blocks); scalars unchanged."""
    out = []
    for a in args:
        if isinstance(a, Array) or (is_array_like(a) and np.ndim(a) > 0):
            out.append(as_array(a))
        else:
            out.append(a)
    return out


def _widened(func: Callable[..., Any], args: list[Any]) -> tuple[list[Any], np.dtype]:
    """The result dtype of ``func`` on these operands; float16 results are computed in
    float32 (Array operands are cast first)."""
    empties = [np.empty((0,), a.dtype) if isinstance(a, Array) else a for a in args]
    dtype = np.asarray(func(*empties)).dtype
    if dtype == np.float16:
        args = [a.astype(np.float32) if isinstance(a, Array) else a for a in args]
        dtype = np.dtype(np.float32)
    return args, dtype


def _output(func: Callable[..., Any], k: int, *blocks: Any) -> Any:
    return func(*blocks)[k]


def _per_block(func: Callable[..., Any], name: str, nout: int = 1) -> Callable[..., Any]:
    """A lazy elementwise function running ``func`` (NumPy's) on each block."""

    def lazy(*args: Any) -> Any:
        if not _has_array(args):
            return func(*args)
        operands = _operands(args)
        if nout == 1:
            operands, dtype = _widened(func, operands)
            return map_blocks(func, *operands, dtype=dtype, name=name)
        outs = []
        for k in range(nout):
            pick = functools.partial(_output, func, k)
            operands_k, dtype = _widened(pick, operands)
            outs.append(map_blocks(pick, *operands_k, dtype=dtype, name=name))
        return tuple(outs)

    lazy.__name__ = lazy.__qualname__ = name
    lazy.__module__ = "brickwork.array"
    lazy.__doc__ = (
        f"Elementwise ``numpy.{name}``, run by NumPy on each block (lazy for Arrays).\n\n"
        f"Returns {'an Array' if nout == 1 else f'a tuple of {nout} Arrays'}.\n"
    )
    if isinstance(func, np.ufunc):
        implements_ufunc(func, lazy)
    return lazy


fmod = _per_block(np.fmod, "fmod")
float_power = _per_block(np.float_power, "float_power")
logaddexp = _per_block(np.logaddexp, "logaddexp")
logaddexp2 = _per_block(np.logaddexp2, "logaddexp2")
nextafter = _per_block(np.nextafter, "nextafter")
spacing = _per_block(np.spacing, "spacing")
ldexp = _per_block(np.ldexp, "ldexp")
frexp = _per_block(np.frexp, "frexp", nout=2)
modf = _per_block(np.modf, "modf", nout=2)
i0 = _per_block(np.i0, "i0")
sinc = _per_block(np.sinc, "sinc")
fix = _per_block(np.fix, "fix")
implements(np.i0)(i0)
implements(np.sinc)(sinc)
implements(np.fix)(fix)


def divmod(x: Any, y: Any, /) -> tuple[Any, Any]:  # noqa: A001 - Dask's name
    """``(x // y, x % y)``, as ``numpy.divmod`` (two fused engine kernels)."""
    if not _has_array((x, y)):
        return np.divmod(x, y)
    return floor_divide(x, y), remainder(x, y)


implements_ufunc(np.divmod, divmod)


@implements(np.isneginf)
def isneginf(x: Any) -> Any:
    """True where ``x`` is negative infinity, as ``numpy.isneginf``."""
    if not isinstance(x, Array):
        return np.isneginf(x)
    return logical_and(isinf(x), signbit(x))


@implements(np.isposinf)
def isposinf(x: Any) -> Any:
    """True where ``x`` is positive infinity, as ``numpy.isposinf``."""
    if not isinstance(x, Array):
        return np.isposinf(x)
    return logical_and(isinf(x), ~signbit(x))


def isnull(values: Any) -> Array:
    """True where a value is missing (NaN), as ``dask.array.isnull`` on numeric arrays."""
    x = _real(values, "isnull")
    return isnan(x) if x.dtype.kind == "f" else full_like(x, False, dtype=bool)


def notnull(values: Any) -> Array:
    """The negation of ``isnull``."""
    return ~isnull(values)


# -------------------------------------------------- complex-number functions, real dtypes


def _real(x: Any, name: str) -> Array:
    """``x`` as a real Array; complex input raises a TypeError naming the missing support."""
    if np.iscomplexobj(x) if not isinstance(x, Array) else False:
        raise TypeError(
            f"{name}: complex dtypes are not supported by brickwork yet (issue 12 item 2); "
            "got a complex input"
        )
    return as_array(x)


@implements(np.real)
def real(val: Any) -> Array:
    """The real part: the array itself (brickwork's dtypes are real)."""
    return _real(val, "real")


@implements(np.imag)
def imag(val: Any) -> Array:
    """The imaginary part: zeros of the array's shape, dtype and chunks."""
    x = _real(val, "imag")
    return full_like(x, 0)


def conj(x: Any) -> Array:
    """The complex conjugate: the array itself (brickwork's dtypes are real)."""
    return _real(x, "conj")


implements_ufunc(np.conjugate, conj)


@implements(np.angle)
def angle(z: Any, deg: bool = False) -> Array:
    """The angle of each value as a complex number: pi for negative values (and -0.0),
    0 otherwise, NaN for NaN, as ``numpy.angle`` (in degrees with ``deg=True``)."""
    x = _real(z, "angle")
    a = arctan2(0, x)
    return a * (180 / np.pi) if deg else a


@implements(np.iscomplex)
def iscomplex(x: Any) -> Array:
    """False everywhere: no value of a real dtype has an imaginary part."""
    return full_like(_real(x, "iscomplex"), False, dtype=bool)


@implements(np.isreal)
def isreal(x: Any) -> Array:
    """True everywhere: every value of a real dtype is real."""
    return full_like(_real(x, "isreal"), True, dtype=bool)
