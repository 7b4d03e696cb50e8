"""Elementwise functions under their NumPy names (``sqrt``, ``add``, ``where``, ``clip``, …).

Each function builds a lazy Array when an argument is an Array. Like ``dask.array``'s
ufuncs, a call without any Array argument is passed to NumPy and computed at once.
The NumPy ufuncs are registered so that ``np.sqrt(x)`` on an Array is lazy too.
``isclose``, ``allclose`` and ``array_equal`` are composed from them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import array_method, implements, implements_ufunc
from brickwork.array.core import (
    Array,
    as_array,
    elemwise_binary,
    elemwise_unary,
    first_expr,
    to_expr,
    to_operand,
)

__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "allclose",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "around",
    "array_equal",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "cbrt",
    "ceil",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "divide",
    "equal",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "greater",
    "greater_equal",
    "hypot",
    "invert",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "left_shift",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nan_to_num",
    "negative",
    "not_equal",
    "positive",
    "pow",
    "power",
    "rad2deg",
    "radians",
    "reciprocal",
    "remainder",
    "right_shift",
    "rint",
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
    "true_divide",
    "trunc",
    "where",
]

UnaryFunc = Callable[[Any], Any]
BinaryFunc = Callable[[Any, Any], Any]


def _unary(op: str, ufunc: np.ufunc, name: str | None = None) -> UnaryFunc:
    """The lazy function for the contract's unary ``op``, registered for ``ufunc``."""

    def func(x: Any, /) -> Any:
        if not isinstance(x, Array):
            return ufunc(x)
        return elemwise_unary(op, x)

    func.__name__ = func.__qualname__ = name or op
    func.__module__ = "brickwork.array"
    func.__doc__ = (
        f"Elementwise ``numpy.{ufunc.__name__}`` (lazy for Arrays).\n\n"
        "Parameters\n----------\nx : Array\n\nReturns\n-------\nArray\n"
    )
    implements_ufunc(ufunc, func)
    return func


def _binary(op: str, ufunc: np.ufunc, name: str | None = None) -> BinaryFunc:
    """The lazy function for the contract's binary ``op``, registered for ``ufunc``.

    Operands broadcast with NumPy's rules; Python scalars are weak (NEP 50).
    """

    def func(x1: Any, x2: Any, /) -> Any:
        if not isinstance(x1, Array) and not isinstance(x2, Array):
            return ufunc(x1, x2)
        return elemwise_binary(op, x1, x2)

    func.__name__ = func.__qualname__ = name or op
    func.__module__ = "brickwork.array"
    func.__doc__ = (
        f"Elementwise ``numpy.{ufunc.__name__}`` with broadcasting (lazy for Arrays).\n\n"
        "Parameters\n----------\nx1, x2 : Array, array_like or real scalar\n\n"
        "Returns\n-------\nArray\n"
    )
    implements_ufunc(ufunc, func)
    return func


# ------------------------------------------------------------------ unary
negative = _unary("negative", np.negative)
positive = _unary("positive", np.positive)
absolute = _unary("absolute", np.absolute)
abs = absolute  # noqa: A001 - NumPy's alias
sqrt = _unary("sqrt", np.sqrt)
cbrt = _unary("cbrt", np.cbrt)
square = _unary("square", np.square)
reciprocal = _unary("reciprocal", np.reciprocal)
exp = _unary("exp", np.exp)
exp2 = _unary("exp2", np.exp2)
expm1 = _unary("expm1", np.expm1)
log = _unary("log", np.log)
log1p = _unary("log1p", np.log1p)
log2 = _unary("log2", np.log2)
log10 = _unary("log10", np.log10)
sin = _unary("sin", np.sin)
cos = _unary("cos", np.cos)
tan = _unary("tan", np.tan)
arcsin = _unary("arcsin", np.arcsin)
arccos = _unary("arccos", np.arccos)
arctan = _unary("arctan", np.arctan)
sinh = _unary("sinh", np.sinh)
cosh = _unary("cosh", np.cosh)
tanh = _unary("tanh", np.tanh)
arcsinh = _unary("arcsinh", np.arcsinh)
arccosh = _unary("arccosh", np.arccosh)
arctanh = _unary("arctanh", np.arctanh)
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh
deg2rad = _unary("deg2rad", np.deg2rad)
rad2deg = _unary("rad2deg", np.rad2deg)
radians = _unary("deg2rad", np.radians, "radians")
degrees = _unary("rad2deg", np.degrees, "degrees")
floor = _unary("floor", np.floor)
ceil = _unary("ceil", np.ceil)
trunc = _unary("trunc", np.trunc)
rint = _unary("rint", np.rint)
sign = _unary("sign", np.sign)
signbit = _unary("signbit", np.signbit)
isnan = _unary("isnan", np.isnan)
isinf = _unary("isinf", np.isinf)
isfinite = _unary("isfinite", np.isfinite)
logical_not = _unary("logical_not", np.logical_not)
invert = _unary("invert", np.invert)
bitwise_not = bitwise_invert = invert

# ------------------------------------------------------------------ binary
add = _binary("add", np.add)
subtract = _binary("subtract", np.subtract)
multiply = _binary("multiply", np.multiply)
true_divide = _binary("true_divide", np.true_divide)
divide = true_divide
floor_divide = _binary("floor_divide", np.floor_divide)
remainder = _binary("remainder", np.remainder)
mod = remainder
power = _binary("power", np.power)
pow = power  # noqa: A001 - NumPy's alias
maximum = _binary("maximum", np.maximum)
minimum = _binary("minimum", np.minimum)
fmax = _binary("fmax", np.fmax)
fmin = _binary("fmin", np.fmin)
arctan2 = _binary("arctan2", np.arctan2)
atan2 = arctan2
hypot = _binary("hypot", np.hypot)
copysign = _binary("copysign", np.copysign)
equal = _binary("equal", np.equal)
not_equal = _binary("not_equal", np.not_equal)
less = _binary("less", np.less)
less_equal = _binary("less_equal", np.less_equal)
greater = _binary("greater", np.greater)
greater_equal = _binary("greater_equal", np.greater_equal)
logical_and = _binary("logical_and", np.logical_and)
logical_or = _binary("logical_or", np.logical_or)
logical_xor = _binary("logical_xor", np.logical_xor)
bitwise_and = _binary("bitwise_and", np.bitwise_and)
bitwise_or = _binary("bitwise_or", np.bitwise_or)
bitwise_xor = _binary("bitwise_xor", np.bitwise_xor)
left_shift = _binary("left_shift", np.left_shift)
right_shift = _binary("right_shift", np.right_shift)
bitwise_left_shift, bitwise_right_shift = left_shift, right_shift


# ------------------------------------------------------------------ composites


def fabs(x: Any, /) -> Any:
    """Elementwise absolute value as a float (``numpy.fabs``), lazy for Arrays.

    Integer and bool input is first cast to the float dtype ``sqrt`` gives it.
    """
    if not isinstance(x, Array):
        return np.fabs(x)
    if x.dtype.kind != "f":
        x = x.astype(_core.unary("sqrt", x._expr).dtype)
    return absolute(x)


implements_ufunc(np.fabs, fabs)


@array_method()
@implements(np.round, np.around)
def round(a: Any, decimals: int = 0) -> Array:  # noqa: A001 - NumPy's name
    """Round to ``decimals`` decimals, as ``numpy.round`` (halves to even).

    Floats: ``rint(x * 10**decimals) / 10**decimals`` (``rint(x / 10**-decimals) *
    10**-decimals`` for negative ``decimals``). Integers are returned unchanged for
    ``decimals >= 0`` and rounded to tens, hundreds, … otherwise.
    """
    x = as_array(a)
    if isinstance(decimals, bool) or not isinstance(decimals, int | np.integer):
        raise TypeError(f"decimals must be an integer, got {type(decimals).__name__}")
    decimals = int(decimals)
    kind = x.dtype.kind
    if kind in "iu":
        if decimals >= 0:
            return x
        # NumPy divides in float64, rounds, multiplies and casts back; through int64 the
        # cast wraps on overflow as NumPy's does on x86-64 for the narrower dtypes.
        factor = 10.0**-decimals
        rounded = rint(x / factor) * factor
        via = "uint64" if x.dtype == np.uint64 else "int64"
        return rounded.astype(via).astype(x.dtype)
    if kind == "b" and decimals != 0:
        raise TypeError(
            f"cannot round a bool array to {decimals} decimals (NumPy cannot cast the "
            "result back to bool); cast it with astype first"
        )
    if decimals == 0:
        return rint(x)
    if decimals > 0:
        factor = 10.0**decimals
        return rint(x * factor) / factor
    factor = 10.0**-decimals
    return rint(x / factor) * factor


around = round


@array_method()
def clip(x: Any, min: Any = None, max: Any = None) -> Array:  # noqa: A002 - NumPy's names
    """Limit values to ``[min, max]`` (either may be None), as ``numpy.clip``.

    Composed as ``minimum(maximum(x, min), max)`` in the dtype NumPy gives the three
    operands together, so NaNs propagate as in NumPy; with both bounds, a Python int
    outside an integer array's range is no limit (NumPy 2 clamps it).

    Raises
    ------
    TypeError
        For a bool array without bounds (NumPy has no loop for it).
    OverflowError
        For a single Python int bound outside an integer array's range.
    """
    result = as_array(x)
    if min is None and max is None:
        if result.dtype == bool:
            raise TypeError("clip of a bool array needs a bound: ufunc 'positive' has no bool loop")
        return result

    def proxy(b: Any) -> Any:
        return np.zeros((), np.dtype(b.dtype)) if isinstance(b, Array | np.ndarray) else b

    dtype = np.clip(np.zeros(1, result.dtype), proxy(min), proxy(max)).dtype
    if dtype.kind in "iu":
        # A Python int bound beyond the range on its own side limits nothing (NumPy 2);
        # one beyond the other side already raised OverflowError in the probe above.
        info = np.iinfo(dtype)
        plain = [isinstance(b, int) and not isinstance(b, bool) for b in (min, max)]
        if plain[0] and min < int(info.min):
            min = None  # noqa: A001
        if plain[1] and max > int(info.max):
            max = None  # noqa: A001
    result = result.astype(dtype)
    if min is not None:
        result = maximum(result, min)
    if max is not None:
        result = minimum(result, max)
    return result


def _numpy_clip(
    a: Any,
    a_min: Any = None,
    a_max: Any = None,
    out: Any = None,
    *,
    min: Any = None,  # noqa: A002
    max: Any = None,  # noqa: A002
    **kwargs: Any,
) -> Array:
    """``np.clip`` on Arrays (NumPy's signature): lazy ``clip``."""
    if out is not None or kwargs:
        raise TypeError("clip(): out= and ufunc keywords are not supported for brickwork arrays")
    return clip(a, a_min if a_min is not None else min, a_max if a_max is not None else max)


implements(np.clip, adapt=False)(_numpy_clip)


@implements(np.where)
def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """Elements of ``x`` where ``condition`` is true, of ``y`` elsewhere (lazy).

    ``condition``, ``x`` and ``y`` broadcast together; each may be an Array, a NumPy
    array or a Python scalar (weak, NEP 50). ``condition`` is cast to bool.

    Raises
    ------
    NotImplementedError
        For ``where(condition)`` (``nonzero``), which is not supported yet.
    """
    if x is None and y is None:
        raise NotImplementedError("where(condition) (nonzero) is not supported yet")
    if x is None or y is None:
        raise ValueError("either both or neither of x and y should be given")
    like = first_expr(condition, x, y)
    operands = []
    for value in (condition, x, y):
        operand = to_operand(value, like)
        if operand is NotImplemented:
            raise TypeError(f"where: unsupported operand type {type(value).__name__!r}")
        operands.append(operand)
    if not any(isinstance(operand, _core.Expr) for operand in operands):
        operands[0] = to_expr(condition)
    return Array(_core.where(*operands), "where")


@implements(np.nan_to_num)
def nan_to_num(
    x: Any,
    copy: bool = True,
    nan: float = 0.0,
    posinf: float | None = None,
    neginf: float | None = None,
) -> Any:
    """NaN replaced by ``nan``, infinities by ``posinf`` / ``neginf`` (default: the
    dtype's largest / smallest finite value), as ``numpy.nan_to_num``: one fused
    elementwise kernel. Integer and bool arrays are returned unchanged.
    """
    if not isinstance(x, Array):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    if x.dtype.kind != "f":
        return x
    info = np.finfo(x.dtype)
    big = info.max if posinf is None else posinf
    small = info.min if neginf is None else neginf
    # The replacement values take the array's dtype, as NumPy assigns them.
    fill = [np.asarray(v, dtype=x.dtype)[()] for v in (nan, big, small)]
    out = where(isnan(x), fill[0], x)
    out = where(x == np.inf, fill[1], out)
    return where(x == -np.inf, fill[2], out)


@implements(np.isclose)
def isclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Array:
    """Elementwise ``|a - b| <= atol + rtol * |b|``, as ``numpy.isclose`` (infinities equal
    only to themselves)."""
    x, y = as_array(a), as_array(b) if isinstance(b, Array | np.ndarray) else b
    xf = x.astype(np.result_type(x.dtype, np.float64 if x.dtype.kind in "biu" else x.dtype))
    close = absolute(xf - y) <= atol + rtol * absolute(y)
    finite = logical_and(isfinite(xf), isfinite(y))
    result = where(finite, close, xf == y)
    if equal_nan:
        result = result | logical_and(isnan(xf), isnan(y))
    return result


@implements(np.allclose)
def allclose(
    a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Array:
    """True if every element of ``a`` is close to ``b`` (a lazy 0-d bool array)."""
    return isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan).all()


@implements(np.array_equal)
def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Array:
    """True if the two arrays have the same shape and elements, as
    ``numpy.array_equal``, as a lazy 0-d bool Array (NumPy returns a Python bool; the
    Array converts with ``bool()``).

    Parameters
    ----------
    a1, a2 : Array or array_like
    equal_nan : bool, default False
        Whether NaNs in the same places compare equal.

    Returns
    -------
    Array
        0-d bool; False without computing anything when the shapes differ.
    """
    x, y = as_array(a1), as_array(a2)
    if x.shape != y.shape:
        return as_array(np.False_)
    same = x == y
    if equal_nan and x.dtype.kind == "f" and y.dtype.kind == "f":
        same = same | logical_and(isnan(x), isnan(y))
    return same.all()
