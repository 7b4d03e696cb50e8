"""``ProcessPoolExecutor``: the ``concurrent.futures`` form of brickwork's ``Pool``.

Change ``from concurrent.futures import ProcessPoolExecutor`` to
``from brickwork.multiprocessing.futures import ProcessPoolExecutor``. Every call runs
in a worker of one :class:`~brickwork.multiprocessing.Pool`, so it inherits the pool's
strengths: NumPy arrays travel through shared memory, lambdas and closures work, and a
worker that dies (killed, segfault, ``os._exit``) fails only the future it was running,
with :class:`~brickwork.multiprocessing.WorkerLostError` -- the executor does not
become "broken" as the standard library's does (``BrokenProcessPool``).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from typing import Any


from brickwork.multiprocessing.pool import AsyncResult, Pool, PoolError

__all__ = ["ProcessPoolExecutor"]


def _name_of(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


class _Call:
    """The function a task runs: ``fn(*args, **kwargs)`` from one by-value package."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, packed: tuple[tuple[Any, ...], dict[str, Any]]) -> Any:
        args, kwargs = packed
        return self.fn(*args, **kwargs)

    @property
    def __name__(self) -> str:  # names the task in the pool's error messages
        return _name_of(self.fn)


class _CallChunk:
    """``fn(*args)`` for every ``args`` of a chunk of ``map``."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn

    def __call__(self, chunk: list[tuple[Any, ...]]) -> list[Any]:
        fn = self.fn
        return [fn(*args) for args in chunk]

    @property
    def __name__(self) -> str:
        return _name_of(self.fn)


def _drop(pool: Pool, result: AsyncResult, error: BaseException) -> None:
    """Withdraw ``result``'s task: unqueue it and fail it with ``error``.

    A task already in a worker runs to the end, but its answer is ignored.
    """
    pool._cancel(result)
    result.cancel(error)


def _chunks(iterable: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _chain(results: Iterator[list[Any]]) -> Iterator[Any]:
    """Flatten the lists of ``results``, closing it (so cancelling the rest) when closed."""
    try:
        for chunk in results:
            chunk.reverse()
            while chunk:
                yield chunk.pop()
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


class _Future(Future):
    """The future of one submitted call; completed once, from the pool's callbacks."""

    def __init__(self, executor: ProcessPoolExecutor, key: int) -> None:
        super().__init__()
        # (Future's own attributes are _state, _result, _exception, ...: keep clear.)
        self._bw_executor = executor
        self._bw_key = key
        self._bw_async: AsyncResult | None = None

    def cancel(self) -> bool:
        """Cancel the call unless its result has arrived (see ``ProcessPoolExecutor``).

        Returns
        -------
        bool
            Whether the future is cancelled.
        """
        if not super().cancel():
            return False
        result = self._bw_async
        if self._bw_executor._settle(self):
            # CANCELLED -> CANCELLED_AND_NOTIFIED, so that wait() and as_completed()
            # count the future as done (the standard library's executor does it too).
            self.set_running_or_notify_cancel()
            pool = self._bw_executor._pool
            if result is not None and pool is not None:
                _drop(pool, result, CancelledError())
        return True

    def result(self, timeout: float | None = None) -> Any:
        """The call's return value (see :meth:`concurrent.futures.Future.result`).

        In a child made by ``os.fork()``, a future of the parent's executor that is not
        done raises ``PoolError`` at once: nothing in the child would complete it.
        """
        self._bw_check_fork()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The call's exception (see :meth:`concurrent.futures.Future.exception`);
        ``PoolError`` in a forked child, as :meth:`result`."""
        self._bw_check_fork()
        return super().exception(timeout)

    def _bw_check_fork(self) -> None:
        pool = self._bw_executor._pool
        if pool is not None and not self.done() and pool._forked():
            raise pool._fork_error()

    def _complete(self, value: Any) -> None:
        if self._bw_executor._settle(self) and self.set_running_or_notify_cancel():
            self.set_result(value)

    def _fail(self, error: BaseException) -> None:
        if self._bw_executor._settle(self) and self.set_running_or_notify_cancel():
            self.set_exception(error)


class ProcessPoolExecutor(Executor):
    """A ``concurrent.futures`` executor running calls in brickwork worker processes.

    A drop-in for :class:`concurrent.futures.ProcessPoolExecutor` built on one
    :class:`~brickwork.multiprocessing.Pool`. Unlike the standard library's, a worker
    that dies while running a call fails only that call's future, with
    :class:`~brickwork.multiprocessing.WorkerLostError` (after ``max_retries`` new
    attempts); a fresh worker replaces it and the executor keeps working.

    Parameters
    ----------
    max_workers : int, optional
        Number of worker processes; ``os.cpu_count()`` if not given.
    mp_context : object, optional
        Accepted for compatibility and ignored: workers always come from brickwork's
        fork server (forked from a fresh, single-threaded interpreter).
    initializer : callable, optional
        Called as ``initializer(*initargs)`` in each worker before its first call.
    initargs : tuple
        Arguments of ``initializer``.
    max_tasks_per_child : int, optional
        A worker is replaced by a fresh one after this many tasks.
    timeout : float, optional
        A call running longer than this many seconds has its worker killed and its
        future fails with :class:`~brickwork.multiprocessing.TimeoutError` (also a
        :class:`TimeoutError`); the executor carries on.
    max_retries : int, default 0
        How many times a call whose worker died is run again before its future fails
        with ``WorkerLostError``.

    Raises
    ------
    ValueError
        If ``max_workers``, ``max_tasks_per_child``, ``timeout`` or ``max_retries`` is
        out of range.
    TypeError
        If ``initializer`` is not callable or ``max_tasks_per_child`` not an integer.

    Notes
    -----
    The worker processes start with the first :meth:`submit` or :meth:`map`. Done
    callbacks of the futures run in the pool's result thread.

    A future stays *pending* until its result arrives (the pool does not report when a
    call starts), so :meth:`~concurrent.futures.Future.cancel` succeeds until then. A
    cancelled call still in the pool's queue never runs; one already handed to a worker
    (running, or waiting in the worker's short pipeline of upcoming tasks) runs to the
    end and its result is discarded. The standard library instead refuses to cancel a
    call once it has been handed to its workers.

    Examples
    --------
    >>> from brickwork.multiprocessing.futures import ProcessPoolExecutor
    >>> with ProcessPoolExecutor(max_workers=2) as executor:  # doctest: +SKIP
    ...     list(executor.map(pow, [2, 3], [5, 2]))
    [32, 9]
    """

    def __init__(
        self,
        max_workers: int | None = None,
        mp_context: Any = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        *,
        max_tasks_per_child: int | None = None,
        timeout: float | None = None,
        max_retries: int = 0,
    ) -> None:
        if max_workers is None:
            max_workers = os.cpu_count() or 1
        elif max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if max_tasks_per_child is not None:
            if not isinstance(max_tasks_per_child, int):
                raise TypeError("max_tasks_per_child must be an integer")
            if max_tasks_per_child <= 0:
                raise ValueError("max_tasks_per_child must be >= 1")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self._max_workers = max_workers
        self._mp_context = mp_context
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._max_tasks_per_child = max_tasks_per_child
        self._timeout = timeout
        self._max_retries = max_retries
        self._pool: Pool | None = None
        self._shutdown = False
        self._lock = threading.Lock()
        self._pending: dict[int, _Future] = {}
        self._keys = itertools.count()
        self._id = next(_executor_ids)
        self._calls: dict[int, tuple[Callable[..., Any], _Call]] = {}
        self._chunk_calls: dict[int, tuple[Callable[..., Any], _CallChunk]] = {}

    # -- the concurrent.futures API ------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)`` in a worker process.

        Parameters
        ----------
        fn : callable
            The function to call; functions defined in ``__main__``, lambdas and
            closures are sent by value (cloudpickle).
        *args, **kwargs
            Its arguments. NumPy arrays reach the worker through shared memory.

        Returns
        -------
        concurrent.futures.Future
            Completes with the call's return value, or with the exception it raised
            (its remote traceback attached as ``__cause__``), ``WorkerLostError`` if
            its worker died, or ``TimeoutError`` if it ran past ``timeout``. A call
            that cannot be sent (an argument that does not pickle) fails its future
            with the pickling error, as in the standard library.

        Raises
        ------
        RuntimeError
            After :meth:`shutdown`.
        PoolError
            If the worker processes cannot start.
        """
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            pool = self._get_pool()
            future = _Future(self, next(self._keys))
            self._pending[future._bw_key] = future
            try:
                future._bw_async = pool.apply_async(
                    self._call(fn),
                    ((args, kwargs),),
                    callback=future._complete,
                    error_callback=future._fail,
                )
            except PoolError:
                self._pending.pop(future._bw_key, None)
                raise
            except Exception as exc:  # noqa: BLE001 - the call could not be sent: fail its future
                future._fail(exc)
            except BaseException:
                self._pending.pop(future._bw_key, None)
                raise
        return future

    def map(
        self,
        fn: Callable[..., Any],
        *iterables: Iterable[Any],
        timeout: float | None = None,
        chunksize: int = 1,
    ) -> Iterator[Any]:
        """Return an iterator equivalent to ``map(fn, *iterables)``, computed in workers.

        All calls are submitted at once (the iterables are consumed immediately); the
        results are yielded in order.

        Parameters
        ----------
        fn : callable
            Called as ``fn(*args)`` for each ``args`` of ``zip(*iterables)``.
        *iterables : iterable
            The arguments.
        timeout : float, optional
            Seconds, counted from this call, after which the iterator raises
            :class:`TimeoutError` if the next result is not there.
        chunksize : int, default 1
            Calls sent to a worker as one task; larger chunks cost less per call.

        Returns
        -------
        iterator
            The results, in order. The first call that raised raises at its place;
            the calls not yet done are then cancelled, as they are when the iterator
            is closed or garbage collected before the end.

        Raises
        ------
        ValueError
            If ``chunksize`` is less than 1.
        RuntimeError
            After :meth:`shutdown`.
        """
        if chunksize < 1:
            raise ValueError("chunksize must be >= 1.")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout)
        chunks = _chunks(zip(*iterables, strict=False), chunksize)
        results = super().map(self._chunk_call(fn), chunks, timeout=timeout)
        return _chain(results)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Accept no more calls, and free the worker processes once the work is done.

        Parameters
        ----------
        wait : bool, default True
            Return only when every pending future is done and the workers have exited.
            Otherwise return at once; the pending calls still run, and the workers exit
            after them.
        cancel_futures : bool, default False
            Cancel every future whose result has not arrived yet. Calls still queued
            never run; calls already handed to a worker finish but their results are
            discarded.

        Notes
        -----
        Calling it again is harmless. Leaving a ``with`` block calls
        ``shutdown(wait=True)``.
        """
        with self._lock:
            self._shutdown = True
            pool = self._pool
        if cancel_futures:
            for future in list(self._pending.values()):
                future.cancel()
        if pool is None:
            return
        pool.close()
        if wait:
            pool.join()
        else:
            # Keep the pool alive until its last pending call is done, even if the
            # executor itself is dropped (see _settle).
            _draining[self._id] = pool
            if not self._pending:
                _draining.pop(self._id, None)

    # -- brickwork's additions ---------------------------------------------------------

    @property
    def pids(self) -> list[int]:
        """list of int : The process ids of the live workers (empty before the first call)."""
        pool = self._pool
        return [] if pool is None else pool.pids

    def __repr__(self) -> str:
        state = "shutdown" if self._shutdown else "running"
        return (
            f"<brickwork.multiprocessing.futures.ProcessPoolExecutor state={state} "
            f"max_workers={self._max_workers} pending={len(self._pending)}>"
        )

    # -- internals ------------------------------------------------------------------------

    def _get_pool(self) -> Pool:
        """The executor's pool, started on first use (call with ``_lock`` held)."""
        if self._pool is None:
            self._pool = Pool(
                self._max_workers,
                self._initializer,
                self._initargs,
                self._max_tasks_per_child,
                timeout=self._timeout,
                max_retries=self._max_retries,
            )
        return self._pool

    def _call(self, fn: Callable[..., Any]) -> _Call:
        """The task function for ``fn``, one per function so that it is sent once.

        Called with ``_lock`` held.
        """
        if not callable(fn):
            raise TypeError(f"{type(fn).__name__!r} object is not callable")
        entry = self._calls.get(id(fn))
        if entry is not None and entry[0] is fn:
            return entry[1]
        call = _Call(fn)
        self._calls[id(fn)] = (fn, call)
        if len(self._calls) > 128:
            self._calls.pop(next(iter(self._calls)))
        return call

    def _chunk_call(self, fn: Callable[..., Any]) -> _CallChunk:
        """The chunk runner of ``fn`` for ``map``, reused so that it is sent once."""
        with self._lock:
            entry = self._chunk_calls.get(id(fn))
            if entry is not None and entry[0] is fn:
                return entry[1]
            call = _CallChunk(fn)
            self._chunk_calls[id(fn)] = (fn, call)
            if len(self._chunk_calls) > 128:
                self._chunk_calls.pop(next(iter(self._chunk_calls)))
            return call

    def _settle(self, future: _Future) -> bool:
        """Mark ``future``'s call finished; only the first caller gets ``True``."""
        if self._pending.pop(future._bw_key, None) is None:
            return False
        future._bw_async = None
        if self._shutdown and not self._pending:
            _draining.pop(self._id, None)
        return True


#: Pools of executors shut down with ``wait=False``, kept alive until their calls end.
_draining: dict[int, Pool] = {}
_executor_ids = itertools.count()
