"""``Pool``: the standard library's process pool, on brickwork's supervisor.

The supervisor (Rust, ``brickwork._core.PoolSupervisor``) owns the worker processes:
it pipelines tasks to them, notices at once when one dies, fails only the task that
worker was running, and forks a replacement from the pool's fork server. This module
turns Python calls into tasks and results back into values: one handler thread
receives finished tasks and completes the jobs (``AsyncResult``, ``MapResult``,
``IMapIterator``) and their callbacks.
"""

from __future__ import annotations

import itertools
import math
import mmap
import multiprocessing as _stdlib
import os
import signal
import subprocess
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from brickwork import _core
from brickwork.multiprocessing import _forkserver
from brickwork.multiprocessing._serialize import dumps, dumps_function, loads
from brickwork.multiprocessing._worker import CALL, MAP, OK, STARMAP

__all__ = [
    "AsyncResult",
    "IMapIterator",
    "MapResult",
    "Pool",
    "PoolError",
    "RemoteTraceback",
    "TimeoutError",
    "WorkerLostError",
]

#: Modules the fork server imports once, so that forked workers start warm.
_PRELOAD = ["numpy", "cloudpickle", "brickwork._core", "brickwork.multiprocessing._worker"]
#: Target duration of an automatically sized chunk, in seconds.
_CHUNK_SECONDS = 0.1
#: A job keeps this many chunks per process queued ahead of the workers.
_AHEAD_PER_PROCESS = 128
#: Result files at least this large are mapped with all their pages at once.
_POPULATE_FROM = 1 << 20


class TimeoutError(_stdlib.TimeoutError, TimeoutError):  # noqa: A001 - the stdlib's name
    """A wait ran out (``AsyncResult.get(timeout)``), or a task ran longer than the
    pool's ``timeout`` and its worker was killed.

    Both ``except multiprocessing.TimeoutError`` and ``except TimeoutError`` catch it.
    """


class PoolError(_stdlib.ProcessError):
    """The pool cannot run tasks: it is closed, its workers cannot start, or it
    belongs to the parent of a child made by ``os.fork()``."""


class WorkerLostError(_stdlib.ProcessError):
    """The worker running a task died (killed, crashed or exited) before answering.

    Attributes
    ----------
    pid : int
        The worker's process id.
    exitcode : int or None
        Its return code: the exit status, or minus the signal that killed it.
    task : str
        Which task it was running.
    """

    def __init__(self, pid: int, exitcode: int | None, task: str) -> None:
        self.pid = pid
        self.exitcode = exitcode
        self.task = task
        if exitcode is None:
            how = "died"
        elif exitcode < 0:
            try:
                name = signal.Signals(-exitcode).name
            except ValueError:
                name = f"signal {-exitcode}"
            how = f"was killed by signal {-exitcode} ({name})"
        else:
            how = f"exited with code {exitcode}"
        super().__init__(f"worker process {pid} {how} while running {task}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.pid, self.exitcode, self.task))


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, attached as ``__cause__``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n\"\"\"\n{self.text}\"\"\""


def _remote(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RemoteTraceback(text)
    return exc


class _Job:
    """A group of tasks submitted together, completed by the handler thread."""

    def __init__(self, pool: Pool, what: str) -> None:
        self._pool = pool
        self._what = what
        self._id = next(pool._job_ids)
        self._event = threading.Event()

    def describe(self, index: int) -> str:
        """Name task ``index`` of this job in an error message."""
        return f"task {index} of {self._what}"

    def on_values(self, values: list[tuple[int, Any, float]]) -> None:
        """Tasks finished: ``(index, value, seconds spent in the worker)`` each."""
        raise NotImplementedError

    def on_error(self, index: int, error: BaseException) -> None:
        raise NotImplementedError

    def cancel(self, error: BaseException) -> None:
        """Fail the job as a whole (pool terminated, interrupted or broken)."""
        self.on_error(-1, error)


class AsyncResult(_Job):
    """The result of ``apply_async`` (and the base of ``map_async``'s)."""

    def __init__(
        self,
        pool: Pool,
        what: str,
        callback: Callable[[Any], object] | None,
        error_callback: Callable[[BaseException], object] | None,
    ) -> None:
        super().__init__(pool, what)
        self._callback = callback
        self._error_callback = error_callback
        self._value: Any = None
        self._error: BaseException | None = None
        self._keepalive: Any = None
        self._done = False
        self._finish_lock = threading.Lock()

    def ready(self) -> bool:
        """Whether the call has finished."""
        return self._event.is_set()

    def successful(self) -> bool:
        """Whether the call finished without raising (ValueError if not finished)."""
        if not self.ready():
            raise ValueError(f"{self!r} not ready")
        return self._error is None

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the result is available or ``timeout`` seconds pass."""
        self._pool._wait(self._event, timeout)

    def get(self, timeout: float | None = None) -> Any:
        """Return the result when it arrives; raise the task's exception if it raised.

        Raises ``TimeoutError`` if it has not arrived within ``timeout`` seconds.
        Ctrl-C while waiting stops the pool's work (see ``Pool``).
        """
        self.wait(timeout)
        if not self.ready():
            raise TimeoutError(f"the result was not ready within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value

    def _finish(self, value: Any, error: BaseException | None) -> None:
        with self._finish_lock:
            if self._done:
                return
            self._done = True
        self._value, self._error = value, error
        self._keepalive = None
        try:
            # As in the standard library, the callback has run when get() returns.
            if error is None and self._callback is not None:
                self._callback(value)
            elif error is not None and self._error_callback is not None:
                self._error_callback(error)
        except Exception:  # noqa: BLE001 - like the stdlib, a failing callback is reported, not raised
            import traceback

            traceback.print_exc()
        self._event.set()
        self._pool._forget(self)

    def on_values(self, values: list[tuple[int, Any, float]]) -> None:
        self._finish(values[0][1], None)

    def on_error(self, index: int, error: BaseException) -> None:
        self._finish(None, error)


class _Feeder:
    """Cuts an iterable into chunks: a fixed size, or sized on the fly so that a chunk
    runs for about ``_CHUNK_SECONDS`` (items are timed in the workers)."""

    def __init__(self, items: Iterable[Any], chunksize: int | None, processes: int, length: int | None) -> None:
        if chunksize is not None and (not isinstance(chunksize, int) or chunksize < 1):
            raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
        self._items = iter(items)
        self._fixed = chunksize
        self._processes = processes
        self._remaining = length
        self._seconds_per_item: float | None = None
        self.exhausted = False

    def observe(self, items: int, seconds: float) -> None:
        """Record that a chunk of ``items`` ran for ``seconds`` in a worker."""
        if items > 0:
            per_item = seconds / items
            old = self._seconds_per_item
            self._seconds_per_item = per_item if old is None else 0.7 * old + 0.3 * per_item

    def _size(self) -> int:
        if self._fixed is not None:
            return self._fixed
        if self._seconds_per_item is None:
            return 1
        size = max(1, int(_CHUNK_SECONDS / max(self._seconds_per_item, 1e-7)))
        if self._remaining is not None:
            # Keep the tail balanced: at least two chunks per process remain.
            size = min(size, max(1, math.ceil(self._remaining / (2 * self._processes))))
        return size

    def next_chunk(self) -> list[Any]:
        """The next chunk (empty once the iterable is exhausted)."""
        chunk = list(itertools.islice(self._items, self._size()))
        if self._remaining is not None:
            self._remaining -= len(chunk)
        if not chunk:
            self.exhausted = True
        return chunk


class MapResult(AsyncResult):
    """The result of ``map_async`` / ``starmap_async``: a list in input order."""

    def __init__(
        self,
        pool: Pool,
        what: str,
        feeder: _Feeder,
        mode: int,
        key: int,
        callback: Callable[[Any], object] | None,
        error_callback: Callable[[BaseException], object] | None,
        progress: Any = None,
    ) -> None:
        super().__init__(pool, what, callback, error_callback)
        self._feeder = feeder
        self._mode = mode
        self._key = key
        self._chunks: dict[int, list[Any]] = {}
        self._sizes: dict[int, int] = {}
        self._keepalive: dict[int, list[memoryview]] = {}
        self._next_index = 0
        self._done_chunks = 0
        self._done_items = 0
        self._progress = progress
        self._lock = threading.Lock()

    def _top_up(self) -> None:
        """Submit chunks until enough are queued ahead of the workers (in batches: only
        once fewer than half of them are left)."""
        ahead = _AHEAD_PER_PROCESS * self._pool._processes
        if not self._feeder.exhausted and self._next_index - self._done_chunks > ahead // 2:
            return
        error: BaseException | None = None
        with self._lock:
            batch = []
            while not self._feeder.exhausted and self._next_index - self._done_chunks < ahead:
                index = self._next_index
                try:
                    chunk = self._feeder.next_chunk()
                except Exception as exc:  # noqa: BLE001 - the iterable failed: it ends here
                    error, self._feeder.exhausted = exc, True
                    self._next_index += 1
                    self._sizes[index] = 0
                    break
                if not chunk:
                    break
                self._next_index += 1
                self._sizes[index] = len(chunk)
                try:
                    body, buffers = dumps((self._mode, chunk))
                except Exception as exc:  # noqa: BLE001 - this chunk cannot be sent: it fails
                    error = exc
                    break
                if buffers:
                    self._keepalive[index] = buffers
                batch.append((index, body, buffers))
            if batch:
                self._pool._submit(self, self._key, batch)
            if error is None and self._feeder.exhausted and self._done_chunks == self._next_index:
                self._complete()
        if error is not None:
            self.on_error(self._next_index - 1, error)

    def _complete(self) -> None:
        values = [v for i in range(self._next_index) for v in self._chunks.pop(i)]
        if self._progress is not None:
            self._progress.close()
        self._finish(values, None)

    def _record(self, values: list[tuple[int, Any, float]]) -> None:
        """Book finished chunks: sizes, buffers to release, timing, progress."""
        items = 0
        seconds = 0.0
        keepalive = self._keepalive
        for index, _, spent in values:
            items += self._sizes.pop(index)
            if keepalive:
                keepalive.pop(index, None)
            seconds += spent
        self._done_chunks += len(values)
        self._done_items += items
        self._feeder.observe(items, seconds)
        if self._progress is not None:
            self._progress.update(self._done_items)

    def on_values(self, values: list[tuple[int, Any, float]]) -> None:
        if self.ready():
            return
        for index, value, _ in values:
            self._chunks[index] = value
        self._record(values)
        self._top_up()

    def on_error(self, index: int, error: BaseException) -> None:
        if self.ready():
            return
        if self._progress is not None:
            self._progress.close()
        self._pool._cancel(self)
        self._finish(None, error)


class _Failed:
    """A failed chunk's place in an ``imap`` iterator."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class IMapIterator(MapResult):
    """The iterator ``imap`` / ``imap_unordered`` return: values as they arrive."""

    def __init__(self, pool: Pool, what: str, feeder: _Feeder, mode: int, key: int, ordered: bool, progress: Any) -> None:
        super().__init__(pool, what, feeder, mode, key, None, None, progress)
        self._ordered = ordered
        self._ready: deque[Any] = deque()
        self._yield_next = 0
        self._cond = threading.Condition()
        self._failure: BaseException | None = None
        self._finished = False

    def on_values(self, values: list[tuple[int, Any, float]]) -> None:
        with self._cond:
            for index, value, _ in values:
                self._arrived(index, value)
            self._record(values)
            self._cond.notify_all()
        self._top_up()

    def _arrived(self, index: int, outcome: Any) -> None:
        """File a chunk's values (a list) or failure (a ``_Failed``) for ``next``: in
        input order for ``imap``, at once for ``imap_unordered``."""
        if self._ordered:
            self._chunks[index] = outcome
            while self._yield_next in self._chunks:
                self._queue(self._chunks.pop(self._yield_next))
                self._yield_next += 1
        else:
            self._queue(outcome)

    def _queue(self, outcome: Any) -> None:
        if isinstance(outcome, list):
            self._ready.extend(outcome)
        else:
            self._ready.append(outcome)

    def _complete(self) -> None:
        with self._cond:
            self._finished = True
            self._cond.notify_all()
        if self._progress is not None:
            self._progress.close()
        self._pool._forget(self)

    def on_error(self, index: int, error: BaseException) -> None:
        if index < 0:
            # The job as a whole failed (pool terminated or interrupted): raise at once.
            with self._cond:
                if self._failure is None and not self._finished:
                    self._failure = error
                self._cond.notify_all()
            if self._progress is not None:
                self._progress.close()
            self._pool._forget(self)
            return
        # One chunk failed: next() raises its error at its place; the rest goes on, as
        # with the standard library's imap.
        with self._cond:
            self._arrived(index, _Failed(error))
            self._sizes.pop(index, None)
            self._keepalive.pop(index, None)
            self._done_chunks += 1
            self._cond.notify_all()
        self._top_up()

    def __iter__(self) -> IMapIterator:
        return self

    def __next__(self) -> Any:
        return self.next()

    def next(self, timeout: float | None = None) -> Any:
        """The next value; ``TimeoutError`` if none arrives within ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._ready:
                if self._failure is not None:
                    raise self._failure
                if self._finished:
                    raise StopIteration
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no result arrived within {timeout} s")
                self._pool._wait_condition(self._cond, remaining)
            item = self._ready.popleft()
        if isinstance(item, _Failed):
            raise item.error
        return item


class _Progress:
    """A progress bar for a map, redrawn at most ten times a second."""

    def __init__(self, total: int | None) -> None:
        from brickwork.progress import ProgressBar

        self._bar = ProgressBar()
        self._total = total
        self._last = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last >= 0.1 or done == self._total:
            self._last = now
            self._bar(done, self._total if self._total is not None else -1)

    def close(self) -> None:
        self._bar.close()


class Pool:
    """A pool of worker processes, a drop-in for ``multiprocessing.Pool``.

    Unlike the standard library's pool, a worker that dies (killed, segfault,
    ``os._exit``) fails only the task it was running, with ``WorkerLostError``, and is
    replaced at once; the other tasks finish and the pool stays usable. NumPy arrays
    and other large buffers reach the workers through shared memory, functions are
    sent to each worker once, and lambdas and closures work (cloudpickle).

    Parameters
    ----------
    processes : int, optional
        Number of worker processes; ``os.cpu_count()`` if not given.
    initializer : callable, optional
        Called as ``initializer(*initargs)`` in each worker before its first task.
    initargs : tuple
        Arguments of ``initializer``.
    maxtasksperchild : int, optional
        A worker is replaced after this many tasks (chunks).
    timeout : float, optional
        A task running longer than this many seconds has its worker killed and raises
        ``TimeoutError``; the pool carries on.
    max_retries : int, default 0
        How many times a task whose worker died is run again before it raises
        ``WorkerLostError``.

    Notes
    -----
    Workers are forked by a fork server: a fresh Python process started (by spawn)
    when the pool is created, which imports NumPy once; a multi-threaded process is
    never forked. Ctrl-C while waiting for a result kills the running workers, drops
    the queued tasks and raises ``KeyboardInterrupt``; fresh workers start, so the pool
    stays usable. Leaving a ``with Pool() as pool:`` block terminates the pool, as in
    the standard library.

    The workers belong to the process that created the pool. In a child made by
    ``os.fork()``, every call that would run tasks or wait for them (``map``,
    ``apply``, ``imap``, ``*_async``, ``AsyncResult.get``, iterating) raises
    ``PoolError`` at once, where the standard library's pool hangs; ``close``,
    ``terminate`` and ``join`` return at once and leave the parent's workers alone.
    Create a new pool in the child.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: Any = None,
        *,
        timeout: float | None = None,
        max_retries: int = 0,
    ) -> None:
        if processes is None:
            processes = os.cpu_count() or 1
        if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
            raise ValueError(f"Number of processes must be at least 1, got {processes!r}")
        if initializer is not None and not callable(initializer):
            raise TypeError(f"initializer must be a callable, got {initializer!r}")
        if maxtasksperchild is not None and (not isinstance(maxtasksperchild, int) or maxtasksperchild < 1):
            raise ValueError(f"maxtasksperchild must be a positive integer, got {maxtasksperchild!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self._processes = processes
        # The process that owns the workers: a child made by os.fork() cannot use them.
        self._pid = os.getpid()
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._state = "running"
        self._jobs: dict[int, _Job] = {}
        self._jobs_lock = threading.Lock()
        self._job_ids = itertools.count()
        self._function_keys = itertools.count()
        # Functions pickled to the same bytes (a lambda made again in a loop) share a key,
        # so the workers hold each distinct function once.
        self._keys_by_body: dict[bytes, int] = {}
        self._broken: str | None = None
        self._server = _forkserver.start_server(preload=_PRELOAD)
        ctl = self._server.detach()
        try:
            self._supervisor = _core.PoolSupervisor(ctl, processes, timeout, max_retries, maxtasksperchild)
        except BaseException:
            self._server.popen.wait()  # the socket was closed: the server exits
            raise
        self._handler = threading.Thread(
            target=_handle_events, args=(weakref.ref(self), self._supervisor), name="brickwork-pool-results", daemon=True
        )
        self._handler.start()
        self._finalizer = weakref.finalize(self, _terminate, self._supervisor)

    # -- the standard library's API -------------------------------------------------

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (), kwds: dict[str, Any] | None = None) -> Any:
        """Call ``func(*args, **kwds)`` in a worker and return its result."""
        return self.apply_async(func, args, kwds).get()

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: dict[str, Any] | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> AsyncResult:
        """Start ``func(*args, **kwds)`` in a worker; return an ``AsyncResult``."""
        self._check_running()
        key = self._function_key(func)
        result = AsyncResult(self, f"apply_async({_name(func)})", callback, error_callback)
        body, buffers = dumps((CALL, (tuple(args), dict(kwds or {}))))
        result._keepalive = buffers
        self._register(result)
        self._submit(result, key, [(0, body, buffers)])
        return result

    def map(self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int | None = None, *, progress: bool = False) -> list[Any]:
        """``list(map(func, iterable))`` in the workers, in order.

        ``chunksize`` items go to a worker at a time; by default chunks are sized as
        the work runs so that each takes about 0.1 s. ``progress=True`` draws a bar.
        """
        return self._map_async(func, iterable, MAP, chunksize, None, None, progress, "map").get()

    def starmap(self, func: Callable[..., Any], iterable: Iterable[Iterable[Any]], chunksize: int | None = None, *, progress: bool = False) -> list[Any]:
        """Like ``map``, calling ``func(*args)`` for each ``args`` of ``iterable``."""
        return self._map_async(func, iterable, STARMAP, chunksize, None, None, progress, "starmap").get()

    def map_async(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        progress: bool = False,
    ) -> MapResult:
        """Like ``map``, returning an ``AsyncResult`` at once."""
        return self._map_async(func, iterable, MAP, chunksize, callback, error_callback, progress, "map_async")

    def starmap_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        progress: bool = False,
    ) -> MapResult:
        """Like ``starmap``, returning an ``AsyncResult`` at once."""
        return self._map_async(func, iterable, STARMAP, chunksize, callback, error_callback, progress, "starmap_async")

    def imap(self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int = 1, *, progress: bool = False) -> IMapIterator:
        """Lazy ``map``: an iterator of the values in order, as they arrive."""
        return self._imap(func, iterable, chunksize, True, progress, "imap")

    def imap_unordered(self, func: Callable[[Any], Any], iterable: Iterable[Any], chunksize: int = 1, *, progress: bool = False) -> IMapIterator:
        """Like ``imap``, yielding values in the order they finish."""
        return self._imap(func, iterable, chunksize, False, progress, "imap_unordered")

    def close(self) -> None:
        """Accept no more tasks; the workers exit once the queued ones are done.

        In a child made by ``os.fork()`` this only marks the pool closed: the workers
        are the parent's.
        """
        if self._state == "running":
            self._state = "closed"
            if not self._forked():
                self._supervisor.close()

    def terminate(self) -> None:
        """Kill the workers now; unfinished results raise ``PoolError``.

        In a child made by ``os.fork()`` this only marks the pool terminated: the
        workers are the parent's and keep working for it.
        """
        if self._state != "terminated":
            self._state = "terminated"
            if self._forked():
                return
            self._supervisor.terminate()
            self._fail_all(PoolError("the pool was terminated"))
            # As the standard library's terminate: return once the workers are gone (the
            # fork server kills and reaps them, then exits).
            self._supervisor.join()
            try:
                self._server.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def join(self) -> None:
        """Wait for the workers to exit (call ``close`` or ``terminate`` first).

        In a child made by ``os.fork()`` it returns at once: there is nothing of its
        own to wait for.
        """
        if self._state == "running":
            raise ValueError("Pool is still running")
        if self._forked():
            return
        self._supervisor.join()
        if self._handler is not threading.current_thread():  # join from a callback
            self._handler.join()
        self._server.popen.wait()

    def __enter__(self) -> Pool:
        self._check_running()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()

    def __repr__(self) -> str:
        return f"<brickwork.multiprocessing.Pool state={self._state} processes={self._processes}>"

    # -- brickwork's additions ---------------------------------------------------------

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        return list(self._supervisor.pids)

    # -- internals ------------------------------------------------------------------------

    def _forked(self) -> bool:
        """Whether this is a child made by ``os.fork()`` from the pool's process."""
        return os.getpid() != self._pid

    def _fork_error(self) -> PoolError:
        return PoolError(
            f"this Pool was created in process {self._pid}; a forked child (process "
            f"{os.getpid()}) cannot use it: create a new Pool in the child"
        )

    def _check_running(self) -> None:
        if self._forked():
            raise self._fork_error()
        if self._broken is not None:
            raise PoolError(self._broken)
        if self._state != "running":
            raise ValueError("Pool not running")

    def _function_key(self, func: Callable[..., Any]) -> int:
        """The key of ``func`` in the workers. The function is pickled at every call (so
        a closure or callable object runs with its current state, as with the standard
        library), but sent to each worker only once per distinct pickle."""
        if not callable(func):
            raise TypeError(f"expected a callable, got {func!r}")
        body = dumps_function((self._initializer, self._initargs, func))
        key = self._keys_by_body.get(body)
        if key is None:
            key = next(self._function_keys)
            self._supervisor.define(key, body)
            self._keys_by_body[body] = key
        return key

    def _map_async(self, func: Any, iterable: Iterable[Any], mode: int, chunksize: int | None, callback: Any, error_callback: Any, progress: bool, what: str) -> MapResult:
        self._check_running()
        key = self._function_key(func)
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        length = len(items)  # type: ignore[arg-type]
        feeder = _Feeder(items, chunksize, self._processes, length)
        bar = _Progress(length) if progress else None
        result = MapResult(self, f"{what}({_name(func)})", feeder, mode, key, callback, error_callback, bar)
        self._register(result)
        result._top_up()
        return result

    def _imap(self, func: Any, iterable: Iterable[Any], chunksize: int, ordered: bool, progress: bool, what: str) -> IMapIterator:
        self._check_running()
        key = self._function_key(func)
        length = len(iterable) if hasattr(iterable, "__len__") else None  # type: ignore[arg-type]
        feeder = _Feeder(iterable, chunksize, self._processes, length)
        bar = _Progress(length) if progress else None
        result = IMapIterator(self, f"{what}({_name(func)})", feeder, MAP, key, ordered, bar)
        self._register(result)
        result._top_up()
        return result

    def _register(self, job: _Job) -> None:
        with self._jobs_lock:
            self._jobs[job._id] = job

    def _forget(self, job: _Job) -> None:
        with self._jobs_lock:
            self._jobs.pop(job._id, None)

    def _job(self, job_id: int) -> _Job | None:
        with self._jobs_lock:
            return self._jobs.get(job_id)

    def _submit(self, job: _Job, key: int, batch: list[tuple[int, bytes, list[memoryview]]]) -> None:
        self._supervisor.submit(job._id, key, batch)

    def _cancel(self, job: _Job) -> None:
        self._supervisor.cancel(job._id)

    def _fail_all(self, error: BaseException) -> None:
        with self._jobs_lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel(error)

    def _wait(self, event: threading.Event, timeout: float | None) -> None:
        if not event.is_set() and self._forked():
            raise self._fork_error()  # nothing in this process would ever set it
        try:
            event.wait(timeout)
        except KeyboardInterrupt:
            self._interrupt()
            raise

    def _wait_condition(self, cond: threading.Condition, timeout: float | None) -> None:
        if self._forked():
            raise self._fork_error()
        try:
            cond.wait(timeout)
        except KeyboardInterrupt:
            self._interrupt()
            raise

    def _interrupt(self) -> None:
        """Ctrl-C: kill the workers, drop every task, start fresh workers."""
        if self._state == "running":
            self._supervisor.reset()
        self._fail_all(KeyboardInterrupt())


def _name(func: Any) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__


def _terminate(supervisor: Any) -> None:
    supervisor.terminate()


def _handle_events(pool_ref: weakref.ref[Pool], supervisor: Any) -> None:
    """The handler thread: turn finished tasks into values and errors of their jobs."""
    while True:
        events = supervisor.events(0.2)
        pool = pool_ref()
        if pool is None:
            return
        for event in events:
            try:
                _dispatch(pool, event)
            except Exception:  # noqa: BLE001 - the handler thread must outlive any failure
                import traceback

                traceback.print_exc()
        if not events and supervisor.finished:
            if pool._state == "running" and pool._broken is None:
                pool._broken = "the pool's supervisor stopped"
                pool._fail_all(PoolError(pool._broken))
            return
        del pool


def _dispatch(pool: Pool, event: tuple[Any, ...]) -> None:
    """Complete the tasks of one group of events ``(job, kind, items)``."""
    job_id, kind, items = event
    if kind == "failed" and job_id == 2**64 - 1:
        pool._broken = items[0][1]
        pool._fail_all(PoolError(pool._broken))
        return
    job = pool._job(job_id)
    if kind == "done":
        if job is None:  # a cancelled or finished job: only close the memory files
            for item in items:
                if item[4] >= 0:
                    os.close(item[4])
            return
        values: list[tuple[int, Any, float]] = []
        for index, status, body, spans, fd in items:
            try:
                payload = loads(body) if fd < 0 else loads(body, _map_buffers(spans, fd))
            except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled fails its task
                payload, status = (exc, ""), -1
            if status == OK:
                values.append((index, *payload))
            else:
                if values:
                    job.on_values(values)
                    values = []
                exc, text = payload
                job.on_error(index, _remote(exc, text) if text else exc)
        if values:
            job.on_values(values)
        return
    if job is None:
        return
    for item in items:
        index = item[0]
        if kind == "lost":
            error: BaseException = WorkerLostError(item[1], item[2], job.describe(index))
        elif kind == "timeout":
            error = TimeoutError(
                f"{job.describe(index)} ran longer than the pool's timeout of {item[2]:g} s; "
                f"its worker (pid {item[1]}) was killed"
            )
        else:
            error = PoolError(item[1])
        job.on_error(index, error)


def _map_buffers(spans: list[tuple[int, int]], fd: int) -> list[memoryview]:
    """Views of a result's out-of-band buffers in its memory file (closing the fd)."""
    try:
        size = max(offset + length for offset, length in spans)
        flags = mmap.MAP_SHARED
        if size >= _POPULATE_FROM:
            flags |= mmap.MAP_POPULATE  # one system call, not a page fault per 64 KiB
        region = memoryview(mmap.mmap(fd, size, flags=flags))
        return [region[offset : offset + length] for offset, length in spans]
    finally:
        os.close(fd)
