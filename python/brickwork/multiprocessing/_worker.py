"""The code a pool worker runs: learn functions, run tasks, send results back.

The fork server calls :func:`pool_main` in a freshly forked child. The loop itself
(reading frames, mapping shared memory, answering) is Rust
(``brickwork._core.pool_worker_serve``); this module supplies the two callbacks it
calls: ``define`` for a function sent once, ``call`` for each task.

A task body is the pickle of ``(mode, payload)``: ``CALL`` runs ``f(*args,
**kwargs)``, ``MAP`` runs ``[f(x) for x in items]`` and ``STARMAP`` ``[f(*a) for a in
items]``. The answer's status is ``OK`` with the pickled value, or ``ERROR`` with the
pickled exception and its formatted traceback.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from typing import Any, Callable

from brickwork import _core
from brickwork.multiprocessing._serialize import dumps, dumps_answer, loads, loads_function

__all__ = ["CALL", "ERROR", "MAP", "OK", "STARMAP", "pool_main"]

CALL, MAP, STARMAP = 0, 1, 2
OK, ERROR = 0, 1


def _error_reply(exc: BaseException) -> tuple[int, bytes, list[memoryview]]:
    """Pickle ``exc`` with its traceback text (or a stand-in when it will not pickle)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        data, buffers = dumps((exc, text))
        loads(data, buffers)
    except Exception:  # noqa: BLE001 - any failure means "not transportable"
        stand_in = RuntimeError(f"{type(exc).__qualname__}: {exc}")
        data, buffers = dumps((stand_in, text))
    return ERROR, data, buffers


class _Functions:
    """The functions this worker has been sent, and the pool's initializer."""

    def __init__(self) -> None:
        self._by_key: dict[int, Callable[..., Any] | BaseException] = {}
        self._initialized = False

    def define(self, key: int, body: bytes) -> None:
        """Unpickle function ``key``; run the pool's initializer the first time."""
        try:
            initializer, initargs, function = loads_function(body)
            if not self._initialized:
                self._initialized = True
                if initializer is not None:
                    initializer(*initargs)
            self._by_key[key] = function
        except BaseException as exc:  # noqa: BLE001 - reported with the first task
            self._by_key[key] = exc

    def call(self, key: int, body: bytes, buffers: list[memoryview]) -> tuple[int, Any, list[Any]]:
        """Run one task and return ``(status, pickled answer, out-of-band buffers)``; a
        large answer is the list of its pieces (see ``dumps_answer``)."""
        try:
            function = self._by_key[key]
            if isinstance(function, BaseException):
                raise function
            mode, payload = loads(body, buffers)
            start = time.perf_counter()
            if mode == MAP:
                value: Any = [function(item) for item in payload]
            elif mode == STARMAP:
                value = [function(*item) for item in payload]
            else:
                args, kwargs = payload
                value = function(*args, **kwargs)
            data, out = dumps_answer((value, time.perf_counter() - start))
            return OK, data, out
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent
            return _error_reply(exc)
        finally:
            del buffers


def pool_main(sock_fd: int, arena_fd: int) -> None:
    """Serve tasks on ``sock_fd`` until the parent closes it (then return)."""
    functions = _Functions()
    try:
        _core.pool_worker_serve(sock_fd, arena_fd, functions.define, functions.call)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(0)
