"""Run expressions on the local scheduler: the one place that calls ``_core.compute``."""

from __future__ import annotations

import operator
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from brickwork import _core, config
from brickwork.progress import ProgressBar

__all__ = ["ProgressArg", "active_pool", "add_check", "run", "run_calls"]

ProgressArg = bool | Callable[[int, int], object] | None

# Checks every computation passes before it starts (a source file truncated since its
# array was made, ...): each raises to refuse the computation.
_checks: list[Callable[[Sequence[_core.Expr]], None]] = []


def add_check(check: Callable[[Sequence[_core.Expr]], None]) -> None:
    """Run ``check(exprs)`` before every computation (it raises to refuse it)."""
    if check not in _checks:
        _checks.append(check)


def _num_threads(num_threads: Any) -> int:
    if num_threads is None:
        return int(config.get("num_threads"))
    if isinstance(num_threads, bool):
        raise TypeError(f"num_threads must be an int, got bool {num_threads!r}")
    try:
        n = operator.index(num_threads)
    except TypeError:
        raise TypeError(
            f"num_threads must be an int, got {type(num_threads).__name__} {num_threads!r}"
        ) from None
    if n < 1:
        raise ValueError(f"num_threads must be at least 1, got {n}")
    return n


_shared_pools: dict[int, Any] = {}
_pools_lock = threading.Lock()


def active_pool() -> Any:
    """The process pool that Python callables of the running computation use, or None
    (they run in the calling scheduler thread). Each computation carries its own (the
    engine hands it to the computation's worker threads), so a ``scheduler="processes"``
    compute never sends another thread's compute to the pool."""
    return _core.compute_pool()


def _pool_for(processes: int) -> Any:
    """A pool of ``processes`` workers shared by computations (made on first use; one
    per size, so a computation never ends a pool that another one is using)."""
    with _pools_lock:
        pool = _shared_pools.get(processes)
        if pool is None or pool._state != "running" or pool._forked():
            from brickwork.multiprocessing import Pool

            pool = _shared_pools[processes] = Pool(processes)
        return pool


def _scheduler(scheduler: Any) -> str:
    """The scheduler's canonical name, "threads", "processes" or "sync", from a name
    Dask accepts (None: the ``scheduler`` setting)."""
    if scheduler is None:
        scheduler = config.get("scheduler")
    return config.canonical_scheduler(scheduler)


def _progress_callback(
    progress: ProgressArg,
) -> tuple[Callable[[int, int], object] | None, ProgressBar | None]:
    """The callback for ``_core`` and the bar to close afterwards, for a progress
    argument (None: the ``progress`` setting)."""
    if progress is None:
        progress = bool(config.get("progress"))
    if progress is True:
        bar = ProgressBar()
        return bar, bar
    if progress is False:
        return None, None
    if callable(progress):
        return progress, None
    raise TypeError(
        f"progress must be True, False, None or a callable(done, total), got {progress!r}"
    )


def run(
    exprs: Sequence[_core.Expr],
    progress: ProgressArg = None,
    num_threads: int | None = None,
    into: Sequence[np.ndarray | None] | None = None,
    scheduler: str | None = None,
) -> list[np.ndarray]:
    """Compute expressions in one task graph and return one NumPy array for each.

    Parameters
    ----------
    exprs : sequence of Expr
        The expressions; work they share is done once.
    progress : bool or callable, optional
        True draws a ``ProgressBar`` on stderr, False draws nothing, a callable is
        called as ``progress(done, total)``. Default: the ``progress`` setting.
    num_threads : int, optional
        Threads to use. Default: the ``num_threads`` setting.
    into : sequence of numpy.ndarray or None, optional
        Writable C-contiguous arrays (e.g. memory-mapped files) to write the outputs
        into instead of new arrays.
    scheduler : {"threads", "processes", "sync"}, optional
        Where Python callables (``map_blocks`` functions) run: threads, the worker
        processes of ``brickwork.multiprocessing``, or one thread ("sync"; Dask's
        aliases are accepted). Default: the ``scheduler`` setting.

    Returns
    -------
    list of numpy.ndarray
    """
    kind = _scheduler(scheduler)
    threads = 1 if kind == "sync" else _num_threads(num_threads)
    for check in _checks:
        check(exprs)
    pool = _pool_for(threads) if kind == "processes" else None
    callback, bar = _progress_callback(progress)
    try:
        return _core.compute(
            list(exprs),
            threads,
            callback,
            None if into is None else list(into),
            config.get("memory_limit"),
            config.get("temporary_directory"),
            pool,
            config.get("executor"),
        )
    finally:
        if bar is not None:
            bar.close()


def run_calls(
    call: Callable[[int], object],
    name: str,
    deps: Sequence[Sequence[int]],
    progress: ProgressArg = None,
    num_threads: int | None = None,
    scheduler: str | None = None,
) -> None:
    """Run ``call(i)`` for every ``i < len(deps)`` as tasks of the engine's executor,
    ``call(i)`` after the calls ``deps[i]`` (smaller numbers) have returned.

    The work that is not an array (``brickwork.delayed``) gets what array tasks get:
    progress, memory admission under ``memory_limit``, Ctrl-C and the first error
    re-raised unchanged. With ``scheduler="processes"``, ``active_pool()`` inside a
    call is the computation's process pool. With ``scheduler="sync"`` the calls run
    one after another in the calling thread, as Dask's, so that a debugger stops in them.
    """
    kind = _scheduler(scheduler)
    threads = _num_threads(num_threads)
    pool = _pool_for(threads) if kind == "processes" else None
    callback, bar = _progress_callback(progress)
    try:
        if kind == "sync":
            for i in range(len(deps)):
                call(i)
                if callback is not None:
                    callback(i + 1, len(deps))
            return
        _core.run_calls(
            call,
            name,
            [list(d) for d in deps],
            threads,
            callback,
            config.get("memory_limit"),
            pool,
            config.get("executor"),
        )
    finally:
        if bar is not None:
            bar.close()
