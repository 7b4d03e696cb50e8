"""``dot``: ``matmul`` for 1-d and 2-d operands, else a ``tensordot``."""

from __future__ import annotations

from typing import Any

import numpy as np

from brickwork.array._dispatch import array_method, implements
from brickwork.array.core import Array, as_array
from brickwork.array.linalg._products import matmul
from brickwork.array.linalg._contractions import tensordot

__all__ = ["dot"]


@array_method()
@implements(np.dot)
def dot(a: Any, b: Any) -> Array:
    """The dot product, as ``numpy.dot``: ``matmul`` for 1-d and 2-d operands, a
    multiplication when one is 0-d, and otherwise the sum over the last axis of ``a``
    and the second-to-last of ``b`` (``tensordot(a, b, axes=([-1], [-2]))``)."""
    x, y = as_array(a), as_array(b)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim <= 2 and y.ndim <= 2:
        return matmul(x, y)
    return tensordot(x, y, axes=([-1], [-2 if y.ndim >= 2 else -1]))
