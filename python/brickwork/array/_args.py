"""Validation and normalisation of common arguments (axes, shapes, chunks, flags).

Every function here turns user input into the plain Python values that
``brickwork._core`` expects, or raises TypeError / ValueError naming the argument.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from brickwork import config
from brickwork._units import parse_bytes

__all__ = [
    "axis_int",
    "axis_tuple",
    "boolean",
    "chunks_and_limit",
    "integer",
    "shape_tuple",
    "split_every_value",
]


def integer(value: Any, name: str) -> int:
    """Return ``value`` as a Python int; bools and non-integers raise TypeError."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}"
        ) from None


def axis_int(axis: Any) -> int:
    """Return one ``axis`` as a Python int; bools and non-integers raise TypeError."""
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}")
    return int(axis)


def boolean(value: Any, name: str) -> bool:
    """Return ``value`` as a Python bool; accepts bools and the ints 0 and 1."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


def axis_tuple(axis: Any, *, allow_tuple: bool = True) -> tuple[int, ...] | None:
    """Normalise a reduction ``axis`` (None, an int or a tuple of ints) to None or a tuple.

    Range and duplicates are checked by the Rust side, which raises
    ``numpy.exceptions.AxisError``.
    """
    if axis is None:
        return None
    if isinstance(axis, tuple | list):
        if not allow_tuple:
            raise TypeError(f"axis must be None or an integer, got {type(axis).__name__} {axis!r}")
        return tuple(integer(a, "axis") for a in axis)
    return (integer(axis, "axis"),)


def shape_tuple(shape: Any) -> tuple[int, ...]:
    """Normalise a shape (an int or a sequence of ints) to a tuple of non-negative ints."""
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool | np.bool_):
        dims: tuple[int, ...] = (int(shape),)
    else:
        try:
            items = tuple(shape)
        except TypeError:
            raise TypeError(
                f"shape must be an int or a sequence of ints, got {type(shape).__name__} {shape!r}"
            ) from None
        dims = tuple(integer(d, "shape") for d in items)
    if any(d < 0 for d in dims):
        raise ValueError(f"negative dimensions are not allowed, got shape {dims}")
    return dims


def split_every_value(split_every: Any) -> int:
    """Return the tree-reduction fan-in: ``split_every`` or the configured default."""
    if split_every is None:
        return int(config.get("split_every"))
    if isinstance(split_every, dict):
        raise TypeError("split_every must be an int >= 2 or None; per-axis dicts are not supported")
    n = integer(split_every, "split_every")
    if n < 2:
        raise ValueError(f"split_every must be at least 2, got {n}")
    return n


def _plain_chunks(chunks: Any) -> Any:
    """Lists to tuples and NumPy ints to ints, recursively; everything else unchanged."""
    if isinstance(chunks, list | tuple):
        return tuple(_plain_chunks(c) for c in chunks)
    if isinstance(chunks, dict):
        return {integer(k, "chunks axis"): _plain_chunks(v) for k, v in chunks.items()}
    if isinstance(chunks, np.integer):
        return int(chunks)
    return chunks


def chunks_and_limit(chunks: Any) -> tuple[Any, int]:
    """Return a chunk spec for ``_core`` and the byte target for its ``"auto"`` entries.

    As in Dask, a byte string such as ``"64MiB"`` means ``"auto"`` with that target;
    otherwise the target is the ``chunk_size`` setting.
    """
    if isinstance(chunks, str) and chunks != "auto":
        try:
            return "auto", parse_bytes(chunks)
        except ValueError:
            raise ValueError(
                f"chunks {chunks!r} is not understood: expected 'auto', a byte target such "
                "as '64MiB', an int, -1, None, a tuple with one entry per axis or a dict"
            ) from None
    return _plain_chunks(chunks), int(config.get("chunk_size"))
