"""What the decompositions and solvers share: the computation dtype, shape checks, and
running NumPy on a matrix gathered into one chunk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array
from brickwork.array.joining import concatenate

__all__ = ["as_float", "check_2d", "check_square", "float_dtype", "offsets", "whole"]


def float_dtype(*dtypes: Any) -> np.dtype:
    """NumPy's linalg computation dtype: float32 if every input is float32, else
    float64 (integers and bools are computed in float64)."""
    if all(np.dtype(d) == np.float32 for d in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float(a: Array, dtype: np.dtype | None = None) -> Array:
    dtype = float_dtype(a.dtype) if dtype is None else dtype
    return a if a.dtype == dtype else a.astype(dtype)


def offsets(sizes: Sequence[int]) -> list[int]:
    out = [0]
    for s in sizes:
        out.append(out[-1] + s)
    return out


def whole(
    func: Callable[..., np.ndarray],
    arrays: Sequence[Array],
    out_shape: tuple[int, int],
    dtype: np.dtype,
    name: str,
) -> Array:
    """``func(*blocks)`` on 2-d arrays with the same number of rows, each gathered whole
    (side by side in one chunk), as a one-chunk Array of ``out_shape``."""
    widths = [a.shape[1] for a in arrays]
    packed = arrays[0] if len(arrays) == 1 else concatenate(list(arrays), axis=1)
    packed = packed.rechunk(-1)
    cuts = offsets(widths)[1:-1]

    def block(b: np.ndarray) -> np.ndarray:
        pieces = np.split(b, cuts, axis=1) if cuts else [b]
        return np.ascontiguousarray(func(*pieces), dtype=dtype)

    block.__name__ = name
    return map_blocks(block, packed, chunks=((out_shape[0],), (out_shape[1],)), dtype=dtype)


def check_2d(a: Array, what: str) -> None:
    if a.ndim < 2:
        raise np.linalg.LinAlgError(
            f"{a.ndim}-dimensional array given. Array must be at least two-dimensional"
        )
    if a.ndim > 2:
        raise NotImplementedError(f"{what} of stacks of matrices (ndim > 2) is not supported")


def check_square(a: Array, what: str) -> None:
    check_2d(a, what)
    if a.shape[0] != a.shape[1]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
