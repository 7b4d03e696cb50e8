"""Matrix products: ``matmul`` / ``@`` and ``dot`` for 1-d and 2-d float arrays."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import implements, implements_ufunc
from brickwork.array.core import Array, to_expr

__all__ = ["dot", "matmul"]


def _array(a: Any) -> Array:
    return a if isinstance(a, Array) else Array(to_expr(a), "array")


def matmul(a: Any, b: Any) -> Array:
    """The matrix product, as ``numpy.matmul`` for 1-d and 2-d float arrays.

    Each task multiplies one block of ``a`` by one block of ``b`` with a BLAS-class GEMM
    reading both in place; the products along the contracted axis are summed by a tree
    (with Neumaier compensation) and written into the result.

    Raises
    ------
    ValueError
        If the inner dimensions differ, or an operand is 0-d or more than 2-d.
    TypeError
        For non-float dtypes (not supported yet).
    """
    x, y = _array(a), _array(b)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    vec_left, vec_right = x.ndim == 1, y.ndim == 1
    if vec_left:
        x = x[None, :]
    if vec_right:
        y = y[:, None]
    out = Array(_core.matmul(x._expr, y._expr), "matmul")
    if vec_left and vec_right:
        return out[0, 0]
    if vec_left:
        return out[0]
    if vec_right:
        return out[:, 0]
    return out


@implements(np.dot)
def dot(a: Any, b: Any) -> Array:
    """The dot product, as ``numpy.dot`` for 1-d and 2-d float arrays (where it equals
    ``matmul``)."""
    return matmul(a, b)


# np.matmul is a ufunc in NumPy 2: it reaches brickwork through __array_ufunc__.
implements_ufunc(np.matmul, matmul)
