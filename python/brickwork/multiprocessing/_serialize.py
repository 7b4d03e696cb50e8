"""How values cross the process boundary: pickle protocol 5, large buffers out of band.

Buffers of at least ``SHARED_THRESHOLD`` bytes (NumPy arrays' data, ``bytes``,
``bytearray``, any PEP 574 buffer) are not copied into the pickle stream: arguments
travel through the parent's shared-memory arena and results through a memory file
the worker fills, so a large array crosses at most one copy and, when it already
lives in the arena, none. Functions and lambdas are pickled with cloudpickle.
"""

from __future__ import annotations

import pickle
from typing import Any

import cloudpickle

__all__ = ["SHARED_THRESHOLD", "dumps", "dumps_function", "loads_function"]

#: Buffers at least this large travel out of band through shared memory.
SHARED_THRESHOLD = 64 * 1024


def dumps(value: Any) -> tuple[bytes, list[memoryview]]:
    """Pickle ``value``; return the stream and its large buffers (as raw views)."""
    buffers: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < SHARED_THRESHOLD:
            return True
        buffers.append(raw)
        return False

    try:
        data = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
        if b"__main__" not in data:
            return data, buffers
    except (pickle.PicklingError, TypeError, AttributeError):
        pass
    # Lambdas, closures, and classes or functions of a script or notebook (__main__,
    # which workers cannot import by name): pickle them by value.
    buffers.clear()
    data = cloudpickle.dumps(value, protocol=5, buffer_callback=out_of_band)
    return data, buffers


def dumps_function(function: Any) -> bytes:
    """Pickle a callable by value where needed (lambdas, closures, ``__main__``)."""
    return cloudpickle.dumps(function, protocol=5)


def loads_function(data: bytes) -> Any:
    """Inverse of :func:`dumps_function`."""
    return pickle.loads(data)
