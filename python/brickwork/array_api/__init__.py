"""The Python Array API standard (version 2024.12) for brickwork arrays.

>>> import brickwork.array_api as xp
>>> x = xp.asarray([[1.0, 2.0], [3.0, 4.0]], chunks=1)
>>> xp.sum(xp.matrix_transpose(x) @ x, axis=0).compute()
array([24., 34.])

Every brickwork ``Array`` returns this namespace from ``x.__array_namespace__()``, so
libraries written against the standard (array-api-compat, SciPy, scikit-learn, …) can
take brickwork arrays. Results stay lazy unless noted; ``compute()`` (or
``numpy.asarray``) runs them. Most functions are ``brickwork.array``'s own under the
standard's names; the others are thin compositions of its lazy operations. Creation
functions take an extra keyword-only ``chunks`` (any Dask chunk spec).

Deviations from the standard
----------------------------
- No complex dtypes: ``complex64``, ``complex128`` and ``imag`` are absent (``conj``
  and ``real`` return their real input), and ``default_dtypes()`` has no
  ``"complex floating"`` entry. There is no ``fft`` extension.
- Data-dependent shapes outside indexing are computed eagerly: ``unique_all``,
  ``unique_counts``, ``unique_inverse``, ``unique_values`` and ``nonzero`` compute
  their input when called, ``repeat`` computes an array of ``repeats``, and ``take`` /
  ``searchsorted`` compute an Array of ``indices`` / ``sorter``.
- ``x[mask]`` with a brickwork mask is lazy with unknown lengths, which ``shape``
  reports as NaN (as Dask does), not None.
- ``x[key] = v`` rebinds ``x`` to a new lazy array; no two Arrays share memory, so
  ``copy=`` arguments only decide whether a new Array object is returned.
- The only device is ``"cpu"``; ``device=`` arguments accept it or None.

Beyond the standard
-------------------
Like NumPy's own namespace, this one also answers NumPy's other names (``cumsum``,
``median``, ``pad``, ``einsum``, ``transpose``, ``lib``, …), because libraries call them
on the namespace of an array (xarray does): ``brickwork.array``'s lazy function when it
has one, otherwise NumPy's, which dispatches on brickwork arrays through
``__array_function__`` (lazy where brickwork implements it, computed otherwise), exactly
as ``numpy.<name>(x)`` does. NumPy's scalar types, ``imag`` and ``fft`` are not
forwarded, so that the namespace reports brickwork's dtypes truthfully. ``std`` and
``var`` also take NumPy's ``ddof``.
"""

from typing import Any as _Any

import numpy as _np

import brickwork.array as _bw

from brickwork.array_api import linalg
from brickwork.array_api._creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tril,
    triu,
    zeros,
    zeros_like,
)
from brickwork.array_api._data_types import (
    astype,
    bool,
    can_cast,
    finfo,
    float32,
    float64,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from brickwork.array_api._elementwise import (
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
    clip,
    conj,
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
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    nextafter,
    not_equal,
    positive,
    pow,
    real,
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
)
from brickwork.array_api._info import __array_namespace_info__
from brickwork.array_api._manipulation import (
    broadcast_arrays,
    broadcast_to,
    concat,
    expand_dims,
    flip,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    roll,
    squeeze,
    stack,
    take,
    take_along_axis,
    tile,
    unstack,
)
from brickwork.array_api._searching import (
    argmax,
    argmin,
    argsort,
    count_nonzero,
    nonzero,
    searchsorted,
    sort,
    unique_all,
    unique_counts,
    unique_inverse,
    unique_values,
    where,
)
from brickwork.array_api._statistical import (
    all,
    any,
    cumulative_prod,
    cumulative_sum,
    diff,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)
from brickwork.array_api.linalg import matmul, matrix_transpose, tensordot, vecdot

#: The version of the standard this namespace implements.
__array_api_version__ = "2024.12"

#: Euler's constant.
e = 2.718281828459045
#: Positive infinity.
inf = float("inf")
#: Not a number.
nan = float("nan")
#: ``None``: an index that inserts an axis of length one.
newaxis = None
#: The ratio of a circle's circumference to its diameter.
pi = 3.141592653589793

__all__ = [
    "__array_api_version__",
    "__array_namespace_info__",
    "abs",
    "acos",
    "acosh",
    "add",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "argsort",
    "asarray",
    "asin",
    "asinh",
    "astype",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "bool",
    "broadcast_arrays",
    "broadcast_to",
    "can_cast",
    "ceil",
    "clip",
    "concat",
    "conj",
    "copysign",
    "cos",
    "cosh",
    "count_nonzero",
    "cumulative_prod",
    "cumulative_sum",
    "diff",
    "divide",
    "e",
    "empty",
    "empty_like",
    "equal",
    "exp",
    "expand_dims",
    "expm1",
    "eye",
    "finfo",
    "flip",
    "float32",
    "float64",
    "floor",
    "floor_divide",
    "from_dlpack",
    "full",
    "full_like",
    "greater",
    "greater_equal",
    "hypot",
    "iinfo",
    "inf",
    "int16",
    "int32",
    "int64",
    "int8",
    "isdtype",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "linalg",
    "linspace",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "meshgrid",
    "min",
    "minimum",
    "moveaxis",
    "multiply",
    "nan",
    "negative",
    "newaxis",
    "nextafter",
    "nonzero",
    "not_equal",
    "ones",
    "ones_like",
    "permute_dims",
    "pi",
    "positive",
    "pow",
    "prod",
    "real",
    "reciprocal",
    "remainder",
    "repeat",
    "reshape",
    "result_type",
    "roll",
    "round",
    "searchsorted",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sort",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "subtract",
    "sum",
    "take",
    "take_along_axis",
    "tan",
    "tanh",
    "tensordot",
    "tile",
    "tril",
    "triu",
    "trunc",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "unique_all",
    "unique_counts",
    "unique_inverse",
    "unique_values",
    "unstack",
    "var",
    "vecdot",
    "where",
    "zeros",
    "zeros_like",
]

# NumPy names the namespace withholds: brickwork has no complex numbers and no fft.
_WITHHELD = frozenset({"imag", "fft"})


def __getattr__(name: str) -> _Any:
    """NumPy's other names (see the module docstring): ``brickwork.array``'s, else
    NumPy's functions and modules (not its scalar types).

    Raises
    ------
    AttributeError
        For names neither has, NumPy's scalar types, ``imag`` and ``fft``.
    """
    if not name.startswith("_") and name not in _WITHHELD:
        if name in _bw.__all__:
            return getattr(_bw, name)
        found = getattr(_np, name, None)
        is_scalar_type = isinstance(found, type) and issubclass(found, _np.generic)
        if found is not None and not is_scalar_type:
            return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
