"""Matrix products: ``matmul`` / ``@`` and ``dot`` for 1-d and 2-d float arrays, and
``outer`` and ``vdot`` for any real dtype."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import implements, implements_ufunc
from brickwork.array.core import Array, to_expr

__all__ = ["dot", "matmul", "outer", "vdot"]


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


@implements(np.outer)
def outer(a: Any, b: Any) -> Array:
    """The outer product of the flattened ``a`` and ``b``, as ``numpy.outer``: element
    ``(i, j)`` is ``a.ravel()[i] * b.ravel()[j]`` (any dtype, NumPy's promotion).

    The result's chunks are those of the flattened inputs (as in Dask).

    Parameters
    ----------
    a, b : Array or array_like

    Returns
    -------
    Array
        2-d, of shape ``(a.size, b.size)``.
    """
    x, y = _array(a), _array(b)
    x = x if x.ndim == 1 else x.ravel()
    y = y if y.ndim == 1 else y.ravel()
    return x[:, None] * y[None, :]


@implements(np.vdot)
def vdot(a: Any, b: Any) -> Array:
    """The dot product of the flattened arrays, as ``numpy.vdot`` (real dtypes, so no
    conjugation), as a lazy 0-d Array.

    The elementwise products are summed by a tree in NumPy's result dtype (integers
    wrap around as in NumPy; floats are summed pairwise, so the last bits may differ
    from NumPy's BLAS dot). For bools it is "any pair both true", as NumPy.

    Parameters
    ----------
    a, b : Array or array_like
        The same number of elements.

    Returns
    -------
    Array
        0-d, of ``numpy.result_type(a, b)``.

    Raises
    ------
    ValueError
        If the sizes differ.
    """
    x, y = _array(a), _array(b)
    if x.size != y.size:
        raise ValueError("vectors have different lengths")
    x = x if x.ndim == 1 else x.ravel()
    y = y if y.ndim == 1 else y.ravel()
    dtype = np.result_type(x.dtype, y.dtype)
    if dtype == np.bool_:
        return (x & y).any()
    return (x * y).sum(dtype=dtype)
