"""How values cross the process boundary: pickle protocol 5, large buffers out of band.

Buffers of at least ``SHARED_THRESHOLD`` bytes (NumPy arrays' data, any PEP 574
buffer) are not copied into the pickle stream: arguments travel through the parent's
shared-memory arena and results through a memory file the worker fills, so a large
array crosses at most one copy and, when it already lives in the arena, none.

Pickle writes ``bytes``, ``bytearray`` and ``str`` into the stream itself. The pickler
writes the stream in pieces (a large ``bytes`` or ``bytearray`` is one of the pieces
itself, not a copy), and a large stream is never joined in Python:

- an argument's stream of at least ``STREAM_THRESHOLD`` bytes (a large ``bytes`` or
  ``str``, a long list) travels like a buffer: the message's body is only
  :data:`STREAM_MARK` and the pieces, its last out-of-band buffer, are copied one
  after the other into the shared-memory arena, where the worker unpickles them in
  place (:func:`loads`);
- a worker's answer of that size is written to the socket from its pieces, and the
  parent unpickles the body it received without copying it again (a stream of
  ``INLINE_ANSWER`` bytes or more goes through a memory file instead).

Every byte is copied a bounded number of times, whatever the size of the value.

Functions and lambdas are pickled with cloudpickle; so are values that refer to
``__main__`` by name (classes and functions of a script), which workers cannot import.
"""

from __future__ import annotations

import pickle
import threading
import types
from typing import Any

import cloudpickle

__all__ = [
    "SHARED_THRESHOLD",
    "STREAM_MARK",
    "STREAM_THRESHOLD",
    "INLINE_ANSWER",
    "dumps",
    "dumps_answer",
    "dumps_function",
    "loads",
    "loads_function",
]

#: Buffers at least this large travel out of band through shared memory.
SHARED_THRESHOLD = 64 * 1024
#: Pickle streams at least this large travel out of band too (as the last buffer).
STREAM_THRESHOLD = 256 * 1024
#: A worker's answer whose stream is smaller than this goes in its frame (see
#: :func:`dumps_answer`), a larger one through a memory file like a buffer (a frame
#: holds at most 4 GiB).
INLINE_ANSWER = 1 << 30
#: The body of a message whose pickle stream is its last out-of-band buffer (a pickle
#: stream of protocol 5 starts with b"\x80\x05", so the two cannot be confused).
STREAM_MARK = b"brickwork:stream-out-of-band"


class _NamesMain(Exception):
    """Raised while pickling: the value refers to ``__main__`` by name."""


class _Pickler(pickle.Pickler):
    """The standard pickler, stopped by a class or function of ``__main__``.

    Workers cannot import the parent's ``__main__`` (a script, a notebook), so such a
    value is pickled again by value, with cloudpickle. The check costs nothing for
    builtin values (``reducer_override`` is not called for ``bytes``, ``str``, ``int``,
    ``float``, lists, tuples, dicts and sets) and one call for any other object.
    """

    def reducer_override(self, obj: Any) -> Any:
        cls = obj if isinstance(obj, type) else type(obj)
        if getattr(cls, "__module__", None) == "__main__":
            raise _NamesMain
        if cls is types.FunctionType and obj.__module__ == "__main__":
            raise _NamesMain
        return NotImplemented


class _Writer:
    """The file a pickler writes to: it keeps the pieces (the ``bytes`` and
    ``bytearray`` objects of large values themselves, not copies) and the out-of-band
    buffers. One per thread, reused: making a pickler costs more than a small pickle.
    """

    __slots__ = ("buffers", "busy", "pickler", "pieces", "write")

    def __init__(self, pickler_type: Any) -> None:
        self.pieces: list[Any] = []
        self.buffers: list[memoryview] = []
        self.write = self.pieces.append
        self.busy = False
        self.pickler = pickler_type(self, protocol=5, buffer_callback=self.out_of_band)

    def out_of_band(self, buffer: pickle.PickleBuffer) -> bool:
        raw = buffer.raw()
        if raw.nbytes < SHARED_THRESHOLD:
            return True
        self.buffers.append(raw)
        return False

    def dump(self, value: Any) -> tuple[list[Any], list[memoryview]]:
        """Pickle ``value``: its pieces and out-of-band buffers."""
        try:
            self.pickler.dump(value)
            return self.pieces[:], self.buffers[:]
        finally:
            self.pickler.clear_memo()
            self.pieces.clear()
            self.buffers.clear()


_local = threading.local()


def _pickle(value: Any) -> tuple[list[Any], list[memoryview]]:
    """Pickle ``value`` with this thread's writer (a fresh one if it is in use: a
    ``__reduce__`` may pickle through the pool)."""
    writer: _Writer | None = getattr(_local, "writer", None)
    if writer is None or writer.busy:
        writer = _Writer(_Pickler)
        if getattr(_local, "writer", None) is None:
            _local.writer = writer
    writer.busy = True
    try:
        return writer.dump(value)
    except BaseException:
        if getattr(_local, "writer", None) is writer:
            del _local.writer  # a pickler that failed midway is not reused
        raise
    finally:
        writer.busy = False


def dumps(value: Any) -> tuple[bytes, list[Any]]:
    """Pickle ``value``: the body and its out-of-band buffers.

    The buffers are raw views of large buffers, then, when the stream is at least
    ``STREAM_THRESHOLD`` bytes and the body is :data:`STREAM_MARK`, the list of the
    stream's pieces (to be joined by the receiver of the buffers).
    """
    try:
        return _body(*_pickle(value))
    except (_NamesMain, pickle.PicklingError, TypeError, AttributeError):
        pass
    # Lambdas, closures, and classes or functions of a script or notebook (__main__,
    # which workers cannot import by name): pickle them by value.
    pieces, buffers = _Writer(cloudpickle.Pickler).dump(value)
    return _body(pieces, buffers)


def dumps_answer(value: Any) -> tuple[bytes | list[Any], list[Any]]:
    """:func:`dumps` for a worker's answer: a stream below ``INLINE_ANSWER`` bytes is
    the body itself, as the list of its pieces, which the worker writes into its answer
    from where they lie (no memory file, whose fresh pages cost more than the copies
    through the socket); the parent receives it as one body."""
    body, buffers = dumps(value)
    if body == STREAM_MARK:
        pieces = buffers[-1]
        if sum(memoryview(piece).nbytes for piece in pieces) < INLINE_ANSWER:
            return pieces, buffers[:-1]
    return body, buffers


def _body(pieces: list[Any], buffers: list[Any]) -> tuple[bytes, list[Any]]:
    if len(pieces) == 1 and type(pieces[0]) is bytes and len(pieces[0]) < STREAM_THRESHOLD:
        return pieces[0], buffers
    size = sum(memoryview(piece).nbytes for piece in pieces)
    if size < STREAM_THRESHOLD:
        return b"".join(pieces), buffers
    buffers.append(pieces)
    return STREAM_MARK, buffers


def loads(body: Any, buffers: list[Any] | None = None) -> Any:
    """Inverse of :func:`dumps`; the stream of a :data:`STREAM_MARK` body is its last
    buffer (in one piece once sent, or still the list of pieces)."""
    if body == STREAM_MARK and buffers:
        *buffers, stream = buffers
        if isinstance(stream, list):  # the pieces as dumps made them (not sent)
            stream = b"".join(stream)
        return pickle.loads(stream, buffers=buffers)
    return pickle.loads(body, buffers=buffers)


def dumps_function(function: Any) -> bytes:
    """Pickle a callable by value where needed (lambdas, closures, ``__main__``)."""
    return cloudpickle.dumps(function, protocol=5)


def loads_function(data: bytes) -> Any:
    """Inverse of :func:`dumps_function`."""
    return pickle.loads(data)
