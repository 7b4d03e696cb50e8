"""Large values through brickwork.multiprocessing.Pool, compared with the standard library.

A large ``bytes``, ``bytearray`` or ``str`` is written into the pickle stream itself;
brickwork sends a stream of 256 KiB or more through shared memory (issue 10, D4: the
socket path used to take quadratic time). Each value must come back equal to the one
sent and of the same type, as through ``multiprocessing.Pool``, whether it is the
argument or the result of a task. How long it takes is measured in
``bench/pool.py payloads``, not here.
"""

from __future__ import annotations

import multiprocessing
import sys
import types

import numpy as np
import pytest

from brickwork import _core
from brickwork.multiprocessing import Pool
from brickwork.multiprocessing import _serialize

MIB = 1 << 20

# ---- task functions (module level: workers import this module) -----------------------


def _make(kind, size, seed):
    """A value of ``size`` bytes (about, for lists) whose contents depend on ``seed``."""
    data = np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()
    if kind == "bytes":
        return data
    if kind == "bytearray":
        return bytearray(data)
    if kind == "str":
        return data.decode("latin-1")  # every code point below 256: 1 or 2 UTF-8 bytes
    if kind == "list":
        return [float(b) for b in data[: size // 9]]
    if kind == "mixed":
        return {
            "bytes": data[: size // 2],
            "str": data[size // 2 :].decode("latin-1"),
            "array": np.frombuffer(data[: size // 8 * 8], dtype=np.float64).copy(),
            "small": [1, "two", b"three"],
        }
    raise ValueError(kind)


def _echo(value):
    return value


def _describe(value):
    """What a process holds: the value's type, length and a digest of its contents."""
    import hashlib

    if isinstance(value, str):
        raw = value.encode("utf-8")
    elif isinstance(value, list):
        raw = repr(value).encode()
    else:
        raw = bytes(value)
    return type(value).__name__, len(value), hashlib.sha256(raw).hexdigest()


def _answers_through_memory_files():
    """Pool initializer: streams of 1 MiB or more come back through a memory file (by
    default only those of 1 GiB or more do)."""
    _serialize.INLINE_ANSWER = MIB


@pytest.fixture(scope="module")
def pool():
    with Pool(2) as p:
        yield p


@pytest.fixture(scope="module")
def stdlib_pool():
    with multiprocessing.get_context("fork").Pool(2) as p:
        yield p


def _equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and a.tobytes() == b.tobytes()
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "str"])
def test_64_mib_round_trips_as_argument_and_result(pool, stdlib_pool, kind):
    size = 64 * MIB
    value = _make(kind, size, seed=1)
    # As the argument: the worker sees the same value as a stdlib worker does.
    expected = _describe(value)
    assert pool.apply(_describe, (value,)) == stdlib_pool.apply(_describe, (value,)) == expected
    # As the result, made in the worker...
    made = pool.apply(_make, (kind, size, 1))
    assert _equal(made, value)
    del made
    # ...and both ways at once.
    back = pool.apply(_echo, (value,))
    assert _equal(back, value)
    assert back is not value


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "str", "list", "mixed"])
@pytest.mark.parametrize("size", [100, 200 * 1024, 300 * 1024, 3 * MIB + 5])
def test_values_of_every_size_round_trip_as_with_the_stdlib(pool, stdlib_pool, kind, size):
    """Below, at and above the size from which the stream travels out of band."""
    value = _make(kind, size, seed=size)
    ours = pool.apply(_echo, (value,))
    theirs = stdlib_pool.apply(_echo, (value,))
    assert _equal(ours, value) and _equal(theirs, value)
    mapped = pool.map(_echo, [value, "small", value], chunksize=1)
    assert _equal(mapped[0], value) and mapped[1] == "small" and _equal(mapped[2], value)


def test_map_and_imap_carry_large_items_in_order(pool):
    values = [_make("bytes", MIB + i, seed=i) for i in range(6)]
    assert pool.map(_describe, values, chunksize=2) == [_describe(v) for v in values]
    assert list(pool.imap(_echo, values)) == values
    assert sorted(pool.imap_unordered(_echo, values)) == sorted(values)
    expected = [_make("str", MIB, i) for i in range(3)]
    assert pool.starmap(_make, [("str", MIB, i) for i in range(3)]) == expected


def test_large_payloads_leave_no_arena_blocks_behind(pool):
    before = _core.arena_used()
    for _ in range(3):
        assert pool.apply(_describe, (_make("bytes", 8 * MIB, seed=3),))[1] == 8 * MIB
        assert len(pool.apply(_make, ("str", 8 * MIB, 3))) == 8 * MIB
    assert _core.arena_used() == before


class _Named:
    """An object of a class workers must unpickle by value (it claims ``__main__``)."""

    def __init__(self, payload):
        self.payload = payload

    def __eq__(self, other):
        return type(other).__name__ == "_Named" and other.payload == self.payload


def test_a_main_class_after_large_data_is_still_sent_by_value(pool, monkeypatch):
    # A class of __main__ pickles by reference (as __main__._Named), which a worker
    # cannot resolve: it must be noticed after a large piece of data and sent by value.
    main = sys.modules["__main__"]
    cls = types.new_class("_Named", (_Named,))
    cls.__module__ = "__main__"
    cls.__qualname__ = "_Named"
    monkeypatch.setattr(main, "_Named", cls, raising=False)
    big = _make("bytes", 2 * MIB, seed=4)
    for value in ([big, cls(b"x")], [big, "y" * MIB, cls(big)], (cls(big),)):
        back = pool.apply(_echo, (value,))
        assert [type(v).__name__ for v in back] == [type(v).__name__ for v in value]
        assert back == value


def test_the_stream_threshold_is_where_the_body_changes():
    small, buffers = _serialize.dumps(b"x" * 1000)
    assert small != _serialize.STREAM_MARK and buffers == []
    body, buffers = _serialize.dumps(b"x" * _serialize.STREAM_THRESHOLD)
    assert body == _serialize.STREAM_MARK and isinstance(buffers[-1], list)
    assert _serialize.loads(body, buffers) == b"x" * _serialize.STREAM_THRESHOLD


def test_large_answers_through_memory_files_round_trip():
    with Pool(1, initializer=_answers_through_memory_files) as pool:
        for kind in ("bytes", "bytearray", "str", "mixed"):
            value = _make(kind, 3 * MIB, seed=5)
            assert _equal(pool.apply(_echo, (value,)), value)
            assert _equal(pool.apply(_make, (kind, 3 * MIB, 5)), value)
        small = _make("bytes", MIB // 2, seed=6)  # below the limit: in the answer's frame
        assert pool.apply(_echo, (small,)) == small
