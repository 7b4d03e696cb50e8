"""A joblib parallel backend, ``"brickwork"``, running on brickwork's ``Pool``.

After :func:`register` (or once joblib is imported, after :func:`register_on_import`)::

    import joblib
    from sklearn.model_selection import GridSearchCV

    with joblib.parallel_config(backend="brickwork"):
        GridSearchCV(estimator, grid, n_jobs=-1).fit(X, y)
        joblib.Parallel(n_jobs=2)(joblib.delayed(f)(i) for i in range(10))

What it brings over joblib's ``"loky"`` and ``"multiprocessing"`` backends:

- NumPy arrays reach the workers through brickwork's shared memory, without the
  temporary memory-mapped files of joblib (``max_nbytes``, ``temp_folder`` and
  ``mmap_mode`` are accepted and ignored).
- A worker that dies fails only its batch, with
  :class:`~brickwork.multiprocessing.WorkerLostError`; with ``max_retries`` the batch
  runs again first. ``task_timeout`` kills a batch that runs too long.
- One pool serves successive ``Parallel`` calls (like loky's reusable executor); it
  exits after ``idle_worker_timeout`` seconds without work, or with
  :func:`shutdown_pool`.

Nested ``Parallel`` calls inside a worker run sequentially. Importing this module does
not import joblib; joblib is imported by :func:`register` or when the backend is used.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
import warnings
from typing import Any

# BrickworkBackend is defined on first access (module __getattr__), importing joblib then.
__all__ = ["BrickworkBackend", "register", "register_on_import", "shutdown_pool"]  # noqa: F822

#: The name the backend is registered under.
NAME = "brickwork"

#: Whether this process is a worker of a pool started by this backend.
_in_worker = False


def _inside_brickwork_worker() -> bool:
    """Whether the caller runs inside a brickwork pool worker (a task of any ``Pool``)."""
    if _in_worker:
        return True
    worker = sys.modules.get("brickwork.multiprocessing._worker")
    if worker is None:
        return False
    # A worker runs its tasks from _worker.pool_main, at the bottom of its stack.
    code = worker.pool_main.__code__
    frame = sys._getframe()
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


# -- what runs in the workers ----------------------------------------------------------


def _init_worker(env: dict[str, str]) -> None:
    """Pool initializer: mark the process as a worker, cap its native thread pools.

    The environment variables reach libraries loaded from now on (OpenMP, numexpr,
    ...); threadpoolctl, when installed, caps the BLAS already loaded with NumPy. The
    backend is registered in the worker too, so that a nested
    ``Parallel(backend="brickwork")`` finds it (and runs sequentially).
    """
    global _in_worker
    _in_worker = True
    os.environ.update(env)
    register_on_import()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    try:
        threadpool_limits(
            limits={
                "blas": int(env["OPENBLAS_NUM_THREADS"]),
                "openmp": int(env["OMP_NUM_THREADS"]),
            }
        )
    except Exception:  # noqa: BLE001 - a cap that cannot be applied is not an error
        pass


def _run_batch(batch: Any) -> Any:
    """Run one joblib batch (a ``BatchedCalls``) in a worker."""
    return batch()


class _Outcome:
    """What a batch's callback receives: its value, or the exception it raised."""

    __slots__ = ("error", "value")

    def __init__(self, value: Any, error: BaseException | None) -> None:
        self.value = value
        self.error = error


# -- the pool kept for reuse -------------------------------------------------------------


class _Lease:
    """A pool and how many ``Parallel`` calls are using it."""

    __slots__ = ("cached", "idle_since", "idle_timeout", "key", "pool", "users")

    def __init__(self, pool: Any, key: tuple[Any, ...], cached: bool) -> None:
        self.pool = pool
        self.key = key
        self.cached = cached
        self.users = 1
        self.idle_since = 0.0
        self.idle_timeout: float | None = None


def _usable(pool: Any) -> bool:
    running = getattr(pool, "_state", "running") == "running"
    # A pool of the parent of a forked child is not usable in the child: replace it.
    ours = getattr(pool, "_pid", os.getpid()) == os.getpid()
    return running and ours and getattr(pool, "_broken", None) is None


def _terminate_all(pools: list[Any]) -> None:
    for pool in pools:
        pool.terminate()


class _PoolKeeper:
    """Keeps one pool for reuse across ``Parallel`` calls.

    A call asking for the cached pool's configuration shares it. A call asking for
    another one replaces it when it is idle, or gets a private pool (terminated at the
    end of the call) when another call is using it. The cached pool is terminated after
    ``idle_worker_timeout`` seconds without users (one timer thread at most).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: _Lease | None = None
        self._timer: threading.Timer | None = None
        self._timer_due = 0.0

    def acquire(self, key: tuple[Any, ...]) -> _Lease:
        """A lease on a running pool configured by ``key`` (see ``_new_pool``)."""
        stale: list[Any] = []
        try:
            with self._lock:
                cached = self._cached
                if cached is not None and not _usable(cached.pool):
                    self._detach(cached, stale)
                    cached = None
                if cached is not None and cached.key == key:
                    cached.users += 1
                    return cached
                if cached is not None and cached.users > 0:
                    private = True  # in use by another call with another configuration
                else:
                    if cached is not None:
                        self._detach(cached, stale)
                    lease = _Lease(_new_pool(key), key, cached=True)
                    self._cached = lease
                    return lease
        finally:
            _terminate_all(stale)
        assert private
        return _Lease(_new_pool(key), key, cached=False)

    def release(self, lease: _Lease, idle_timeout: float | None, kill: bool = False) -> bool:
        """End a call's use of ``lease``; ``kill`` terminates the pool if no one else uses it.

        Returns whether the pool was terminated.
        """
        stale: list[Any] = []
        with self._lock:
            lease.users -= 1
            if lease.users > 0:
                return False
            if lease is self._cached and not kill and _usable(lease.pool):
                lease.idle_since = time.monotonic()
                lease.idle_timeout = idle_timeout
                if idle_timeout is not None:
                    self._arm(idle_timeout)
                return False
            self._detach(lease, stale)
        _terminate_all(stale)
        return True

    def shutdown(self) -> None:
        """Terminate the cached pool now if idle, else when its last call ends."""
        stale: list[Any] = []
        with self._lock:
            if self._cached is not None:
                self._detach(self._cached, stale)
        _terminate_all(stale)

    def _arm(self, delay: float) -> None:
        """Make sure the timer fires within ``delay`` seconds (lock held)."""
        due = time.monotonic() + delay
        if self._timer is not None:
            if self._timer_due <= due:
                return
            self._timer.cancel()
        self._timer = threading.Timer(delay, self._expire)
        self._timer.daemon = True
        self._timer_due = due
        self._timer.start()

    def _expire(self) -> None:
        stale: list[Any] = []
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # superseded by a sooner timer
            self._timer = None
            lease = self._cached
            if lease is None or lease.users > 0 or lease.idle_timeout is None:
                return
            remaining = lease.idle_since + lease.idle_timeout - time.monotonic()
            if remaining > 0:
                self._arm(remaining)
                return
            self._detach(lease, stale)
        _terminate_all(stale)

    def _detach(self, lease: _Lease, stale: list[Any]) -> None:
        """Forget ``lease`` as the cached pool; its pool ends once unused (lock held)."""
        if lease is self._cached:
            self._cached = None
        lease.cached = False
        if lease.users == 0:
            stale.append(lease.pool)

    @property
    def pool(self) -> Any:
        """The cached pool, or ``None``."""
        cached = self._cached
        return None if cached is None else cached.pool


_keeper = _PoolKeeper()


def _new_pool(key: tuple[Any, ...]) -> Any:
    from brickwork.multiprocessing.pool import Pool

    n_jobs, env, max_retries, task_timeout, maxtasksperchild = key
    return Pool(
        n_jobs,
        _init_worker,
        (dict(env),),
        maxtasksperchild,
        timeout=task_timeout,
        max_retries=max_retries,
    )


def shutdown_pool() -> None:
    """Terminate the worker pool the backend keeps between ``Parallel`` calls.

    A pool in use by a running ``Parallel`` call is terminated when that call ends. The
    next call starts a new pool.
    """
    _keeper.shutdown()


# -- the backend ---------------------------------------------------------------------------

_backend_class: type | None = None


def _make_backend_class() -> type:
    from joblib import cpu_count
    from joblib._parallel_backends import (
        AutoBatchingMixin,
        FallbackToBackend,
        ParallelBackendBase,
        SequentialBackend,
    )

    from brickwork.multiprocessing.futures import _drop

    class BrickworkBackend(AutoBatchingMixin, ParallelBackendBase):
        """The joblib backend ``"brickwork"``: batches run in a brickwork ``Pool``.

        Parameters
        ----------
        nesting_level : int, optional
            Set by joblib.
        inner_max_num_threads : int, optional
            Threads each worker's native thread pools (BLAS, OpenMP) may use; by
            default ``cpu_count() // n_jobs``, unless the environment already sets
            them (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ...).
        max_retries : int, default 0
            How many times a batch whose worker died is run again before the
            ``Parallel`` call raises ``WorkerLostError``.
        task_timeout : float, optional
            A batch running longer than this many seconds has its worker killed and the
            call raises :class:`~brickwork.multiprocessing.TimeoutError`. (joblib's own
            ``Parallel(timeout=...)`` is supported as well.)
        maxtasksperchild : int, optional
            A worker is replaced after this many batches.
        idle_worker_timeout : float or None, default 300
            Seconds the pool kept for reuse may stay idle before it is terminated;
            ``None`` keeps it until :func:`shutdown_pool` or the end of the program.

        Notes
        -----
        Pass the parameters through joblib::

            with joblib.parallel_config(backend="brickwork", max_retries=2):
                ...

        Successive ``Parallel`` calls with the same number of jobs and parameters share
        one pool. ``Parallel`` calls nested in a task run sequentially, and a
        ``"brickwork"`` ``Parallel`` call made inside any brickwork worker runs with
        ``n_jobs=1`` (with a warning).
        """

        supports_retrieve_callback = True
        supports_inner_max_num_threads = True
        supports_sharedmem = False
        uses_threads = False
        default_n_jobs = 1

        def __init__(
            self,
            nesting_level: int | None = None,
            inner_max_num_threads: int | None = None,
            *,
            max_retries: int = 0,
            task_timeout: float | None = None,
            maxtasksperchild: int | None = None,
            idle_worker_timeout: float | None = 300,
        ) -> None:
            super().__init__(
                nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads
            )
            if not isinstance(max_retries, int) or max_retries < 0:
                raise ValueError(f"max_retries must be a non-negative integer, got {max_retries!r}")
            if task_timeout is not None and not task_timeout > 0:
                raise ValueError(
                    f"task_timeout must be a positive number of seconds, got {task_timeout!r}"
                )
            if maxtasksperchild is not None and (
                not isinstance(maxtasksperchild, int) or maxtasksperchild < 1
            ):
                raise ValueError(
                    f"maxtasksperchild must be a positive integer, got {maxtasksperchild!r}"
                )
            if idle_worker_timeout is not None and not idle_worker_timeout >= 0:
                raise ValueError(
                    f"idle_worker_timeout must be >= 0 or None, got {idle_worker_timeout!r}"
                )
            self.max_retries = max_retries
            self.task_timeout = task_timeout
            self.maxtasksperchild = maxtasksperchild
            self.idle_worker_timeout = idle_worker_timeout
            self.parallel: Any = None
            self._n_jobs = 1
            self._lease: _Lease | None = None
            self._closed = False
            self._results: dict[int, Any] = {}
            self._result_ids = itertools.count()
            self._lock = threading.Lock()

        def effective_n_jobs(self, n_jobs: int | None) -> int:
            """The number of workers a ``Parallel(n_jobs=n_jobs)`` call gets.

            Parameters
            ----------
            n_jobs : int or None
                Negative values count from the number of CPUs (``-1``: all of them).

            Returns
            -------
            int
                ``1`` for ``None``, or inside a brickwork worker (nested call).

            Raises
            ------
            ValueError
                If ``n_jobs`` is 0.
            """
            if n_jobs == 0:
                raise ValueError("n_jobs == 0 in Parallel has no meaning")
            if n_jobs is None:
                return 1
            if _inside_brickwork_worker():
                if n_jobs != 1:
                    warnings.warn(
                        "brickwork-backed parallel loops cannot be nested in a brickwork "
                        "worker, setting n_jobs=1",
                        stacklevel=3,
                    )
                return 1
            if n_jobs < 0:
                n_jobs = max(cpu_count() + 1 + n_jobs, 1)
            return n_jobs

        def configure(
            self,
            n_jobs: int | None = 1,
            parallel: Any = None,
            prefer: str | None = None,
            require: str | None = None,
            **backend_kwargs: Any,
        ) -> int:
            """Prepare a ``Parallel`` call and return its number of workers.

            Parameters
            ----------
            n_jobs : int or None
                As requested from ``Parallel``.
            parallel : joblib.Parallel
                The calling ``Parallel`` object.
            prefer, require : str, optional
                joblib's hints (handled by joblib itself).
            **backend_kwargs
                joblib's memory-mapping options (``max_nbytes``, ``temp_folder``,
                ``mmap_mode``, ...), ignored: arrays travel through shared memory.

            Returns
            -------
            int
                The number of workers.

            Raises
            ------
            FallbackToBackend
                Towards joblib's sequential backend when only one worker would run.
            """
            n_jobs = self.effective_n_jobs(n_jobs)
            if n_jobs == 1:
                raise FallbackToBackend(SequentialBackend(nesting_level=self.nesting_level))
            with self._lock:
                lease = self._lease
                if lease is not None and lease.key[0] != n_jobs:
                    self._lease = None  # reconfigured while holding a pool of another size
                else:
                    lease = None
                self.parallel = parallel
                self._n_jobs = n_jobs
                self._closed = False
            if lease is not None:
                _keeper.release(lease, self.idle_worker_timeout)
            return n_jobs

        def submit(self, func: Any, callback: Any = None) -> Any:
            """Run the batch ``func`` in a worker; ``callback`` gets its outcome.

            Parameters
            ----------
            func : callable
                A joblib batch (``BatchedCalls``), called without arguments.
            callback : callable, optional
                Called in the pool's result thread with an outcome object to pass to
                :meth:`retrieve_result_callback`, on success and on failure.

            Returns
            -------
            brickwork.multiprocessing.AsyncResult or None
                The batch's result; ``None`` when the batch could not be sent (then
                ``callback`` has already received the error).
            """
            key = next(self._result_ids)

            def on_value(value: Any) -> None:
                self._results.pop(key, None)
                if callback is not None:
                    callback(_Outcome(value, None))

            def on_error(error: BaseException) -> None:
                self._results.pop(key, None)
                if callback is not None:
                    callback(_Outcome(None, error))

            self._results[key] = None
            try:
                pool = self._get_pool()
                result = pool.apply_async(
                    _run_batch, (func,), callback=on_value, error_callback=on_error
                )
            except Exception as exc:  # noqa: BLE001 - reported like a failed batch
                # joblib submits from the pool's result thread too, where an exception
                # would be lost and the call would hang: fail the batch instead (a
                # batch that does not pickle, a pool that cannot start).
                on_error(exc)
                return None
            except BaseException:
                self._results.pop(key, None)
                raise
            if key in self._results:
                self._results[key] = (pool, result)
            return result

        def retrieve_result_callback(self, out: _Outcome) -> Any:
            """Return a batch's results, or raise the exception it raised.

            Parameters
            ----------
            out : object
                What :meth:`submit`'s ``callback`` received.

            Returns
            -------
            list
                The results of the batch's calls.
            """
            if out.error is not None:
                raise out.error
            return out.value

        def terminate(self) -> None:
            """End the ``Parallel`` call: give the pool back for reuse."""
            with self._lock:
                lease, self._lease = self._lease, None
            if lease is not None:
                _keeper.release(lease, self.idle_worker_timeout)
            self._results.clear()
            self.reset_batch_stats()

        def abort_everything(self, ensure_ready: bool = True) -> None:
            """Stop the call's remaining batches after an error or a timeout.

            Parameters
            ----------
            ensure_ready : bool, default True
                Whether more batches may be submitted afterwards (a new pool then
                starts on demand).

            Notes
            -----
            When no other ``Parallel`` call uses the pool, its workers are killed (the
            next call starts a new pool); otherwise only this call's queued batches are
            withdrawn and its running ones finish unreported.
            """
            with self._lock:
                lease, self._lease = self._lease, None
                self._closed = not ensure_ready
            # (list() copies in one step: the result thread pops entries meanwhile.)
            results = [entry for entry in list(self._results.values()) if entry is not None]
            self._results.clear()
            self.reset_batch_stats()
            if lease is None:
                return
            if not _keeper.release(lease, self.idle_worker_timeout, kill=True):
                for pool, result in results:
                    _drop(pool, result, RuntimeError("the joblib call was aborted"))

        def get_nested_backend(self) -> tuple[Any, int | None]:
            """The backend of ``Parallel`` calls nested in a task: sequential.

            Returns
            -------
            tuple
                ``(SequentialBackend, None)``.
            """
            nesting_level = (self.nesting_level or 0) + 1
            return SequentialBackend(nesting_level=nesting_level), None

        def _get_pool(self) -> Any:
            with self._lock:
                if self._lease is None:
                    if self._closed:
                        raise RuntimeError("the brickwork joblib backend was aborted")
                    env = self._prepare_worker_env(self._n_jobs)
                    key = (
                        self._n_jobs,
                        tuple(sorted(env.items())),
                        self.max_retries,
                        self.task_timeout,
                        self.maxtasksperchild,
                    )
                    self._lease = _keeper.acquire(key)
                return self._lease.pool

    BrickworkBackend.__qualname__ = "BrickworkBackend"
    BrickworkBackend.__module__ = __name__
    return BrickworkBackend


def _get_backend_class() -> type:
    global _backend_class
    if _backend_class is None:
        _backend_class = _make_backend_class()
    return _backend_class


def __getattr__(name: str) -> Any:
    # BrickworkBackend subclasses joblib's classes: define it (importing joblib) on demand.
    if name == "BrickworkBackend":
        cls = _get_backend_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- registration ------------------------------------------------------------------------------


def register() -> None:
    """Register the backend with joblib under the name ``"brickwork"``.

    Imports joblib. Afterwards ``joblib.parallel_config(backend="brickwork")`` and
    ``joblib.Parallel(backend="brickwork")`` select it.
    """
    import joblib

    joblib.register_parallel_backend(NAME, _get_backend_class())


class _RegisterAfterImport:
    """Import hook (a meta path finder): once joblib has executed, call :func:`register`.

    (Not derived from ``importlib.abc.MetaPathFinder``: importing that costs 7 ms.)
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "joblib":
            return None
        _remove_hook()
        from importlib.util import find_spec

        spec = find_spec(fullname)
        loader = getattr(spec, "loader", None)
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_then_register(module: Any) -> None:
            exec_module(module)
            try:
                register()
            except Exception as exc:  # noqa: BLE001 - never break importing joblib
                warnings.warn(
                    f"could not register the brickwork joblib backend: {exc!r}", stacklevel=2
                )

        loader.exec_module = exec_then_register  # type: ignore[union-attr]
        return spec


_hook: _RegisterAfterImport | None = None
_hook_lock = threading.Lock()


def _remove_hook() -> None:
    global _hook
    with _hook_lock:
        if _hook is not None:
            try:
                sys.meta_path.remove(_hook)
            except ValueError:
                pass
            _hook = None


def register_on_import() -> None:
    """Register the backend now if joblib is imported, else as soon as it is.

    Costs nothing when joblib is never imported: a one-shot import hook waits for it
    (importing joblib takes about 40 ms).
    """
    global _hook
    if "joblib" in sys.modules:
        register()
        return
    with _hook_lock:
        if _hook is None:
            _hook = _RegisterAfterImport()
            sys.meta_path.insert(0, _hook)
