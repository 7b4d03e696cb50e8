"""Matrix products: ``matmul`` / ``@`` for any dimensions and dtypes, ``outer`` and
``vdot``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import array_method, implements, implements_ufunc
from brickwork.array.core import Array, as_array
from brickwork.array.joining import stack

__all__ = ["matmul", "outer", "vdot"]


#: Batched float products with at most this many matrices run one GEMM per matrix;
#: larger batches multiply and sum elementwise (fused, without BLAS).
BATCH_GEMM_LIMIT = 64


@array_method("__matmul__")
def matmul(a: Any, b: Any) -> Array:
    """The matrix product, as ``numpy.matmul``: any dtype, 1-d operands promoted to
    matrices (and the added axis removed), and stacks of matrices in the leading axes
    broadcast against each other.

    Float products of 2-d operands run one BLAS-class GEMM task per pair of blocks,
    reading both in place; the products along the contracted axis are summed by a tree
    (with Neumaier compensation) and written into the result. Batched float products
    run one such GEMM per matrix of the batch (up to ``BATCH_GEMM_LIMIT`` matrices), or
    else, like integer and bool products, multiply the broadcast operands elementwise
    and sum over the contracted axis in one fused reduction (no product array is
    stored). Integer products wrap around as in NumPy; bool products are "any pair both
    true".

    Parameters
    ----------
    a, b : Array or array_like
        At least 1-d; ``a.shape[-1] == b.shape[-2]`` (``b.shape[0]`` for 1-d ``b``).

    Returns
    -------
    Array
        Of dtype ``numpy.result_type(a, b)``; chunks along the rows of ``a`` and the
        columns of ``b`` follow those operands.

    Raises
    ------
    ValueError
        If an operand is 0-d, the inner dimensions differ, or the stack dimensions do
        not broadcast.
    """
    x, y = as_array(a), as_array(b)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    vec_left, vec_right = x.ndim == 1, y.ndim == 1
    if vec_left:
        x = x[None, :]
    if vec_right:
        y = y[:, None]
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(
            "matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc "
            f"signature (n?,k),(k,m?)->(n?,m?) (size {y.shape[-2]} is different from "
            f"{x.shape[-1]})"
        )
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    dtype = np.result_type(x.dtype, y.dtype)
    empty = math.prod(batch) * x.shape[-2] * x.shape[-1] * y.shape[-1] == 0
    if dtype.kind == "f" and not batch and (vec_left or vec_right) and not empty:
        # A matrix-vector product is memory-bound: one fused multiply-and-sum reads the
        # matrix once, in place (a GEMM would pack whole blocks for one column).
        if vec_right:
            return (x.astype(dtype) * y[:, 0].astype(dtype)).sum(axis=-1, dtype=dtype)[
                (0,) if vec_left else (slice(None),)
            ]
        return (x[0, :, None].astype(dtype) * y.astype(dtype)).sum(axis=0, dtype=dtype)
    if dtype.kind != "f" or empty:
        # (The engine's GEMM stage does not take empty operands: nothing to multiply.)
        out = _product_sum(x, y, dtype)
    elif not batch:
        out = _gemm(x, y, dtype)
    elif math.prod(batch) <= BATCH_GEMM_LIMIT:
        out = _batched_gemm(x, y, batch, dtype)
    else:
        out = _product_sum(x, y, dtype)
    if vec_left and vec_right:
        return out[..., 0, 0]
    if vec_left:
        return out[..., 0, :]
    if vec_right:
        return out[..., 0]
    return out


def _gemm(x: Array, y: Array, dtype: np.dtype) -> Array:
    """The engine's float GEMM of two 2-d arrays, cast to ``dtype`` first."""
    x = x if x.dtype == dtype else x.astype(dtype)
    y = y if y.dtype == dtype else y.astype(dtype)
    return Array(_core.matmul(x._expr, y._expr), "matmul")


def _product_sum(x: Array, y: Array, dtype: np.dtype) -> Array:
    """``sum(x[..., :, :, None] * y[..., None, :, :], axis=-2)``: one fused reduction."""
    left, right = x[..., :, :, None], y[..., None, :, :]
    if dtype == np.bool_:
        return (left & right).any(axis=-2)
    prod = left.astype(dtype) * right.astype(dtype)
    return prod.sum(axis=-2, dtype=dtype)


def _batch_chunks(x: Array, y: Array, batch: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Chunks of the broadcast stack axes: those of an operand that is not broadcast."""
    chunks = []
    for i, n in enumerate(batch):
        found: tuple[int, ...] = (n,)
        for arr in (x, y):
            j = i - (len(batch) - (arr.ndim - 2))
            if j >= 0 and arr.shape[j] == n:
                found = arr.chunks[j]
                break
        chunks.append(found)
    return chunks


def _batched_gemm(x: Array, y: Array, batch: tuple[int, ...], dtype: np.dtype) -> Array:
    """One GEMM per matrix of the stack, stacked back (then rechunked like the inputs)."""

    def matrix(arr: Array, idx: tuple[int, ...]) -> Array:
        own = idx[len(batch) - (arr.ndim - 2) :]
        return arr[tuple(0 if n == 1 else i for i, n in zip(own, arr.shape))]

    def build(idx: tuple[int, ...]) -> Array:
        if len(idx) == len(batch):
            return _gemm(matrix(x, idx), matrix(y, idx), dtype)
        return stack([build((*idx, i)) for i in range(batch[len(idx)])], axis=0)

    out = build(())
    return out.rechunk((*_batch_chunks(x, y, batch), *out.chunks[-2:]))


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
    x, y = as_array(a), as_array(b)
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
    x, y = as_array(a), as_array(b)
    if x.size != y.size:
        raise ValueError("vectors have different lengths")
    x = x if x.ndim == 1 else x.ravel()
    y = y if y.ndim == 1 else y.ravel()
    dtype = np.result_type(x.dtype, y.dtype)
    if dtype == np.bool_:
        return (x & y).any()
    return (x * y).sum(dtype=dtype)
