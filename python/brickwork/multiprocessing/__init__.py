"""A drop-in for the standard ``multiprocessing`` module, built for arrays and for
workers that crash.

Change ``import multiprocessing as mp`` to ``import brickwork.multiprocessing as mp``:

- ``Process`` starts a real CPython process (forked by a fork server, never from a
  multi-threaded parent) with ``start``/``join``/``terminate``/``kill``/``exitcode``.
- ``Pool`` has ``map``, ``imap``, ``imap_unordered``, ``starmap``, ``apply`` and the
  ``*_async`` forms with callbacks. A worker that dies fails only its task, with
  ``WorkerLostError``, and is replaced; ``timeout=`` kills a stuck task's worker and
  raises ``TimeoutError``; ``progress=True`` draws a bar; chunks are sized
  automatically.
- NumPy arrays travel through shared memory. Importing this module makes NumPy place
  new arrays of at least 64 KiB in brickwork's shared-memory arena (NEP 49), so they
  reach workers without any copy; call :func:`use_shared_memory` with ``False`` to
  turn that off. Workers see arguments as read-only views, valid while the task runs.
- ``ProcessPoolExecutor`` is the ``concurrent.futures`` form of the same pool.
"""

from __future__ import annotations

import os
from typing import Any

from brickwork import _core
from brickwork.multiprocessing import joblib_backend as _joblib_backend
from brickwork.multiprocessing._serialize import SHARED_THRESHOLD
from brickwork.multiprocessing.futures import ProcessPoolExecutor
from brickwork.multiprocessing.pool import (
    AsyncResult,
    IMapIterator,
    MapResult,
    Pool,
    PoolError,
    RemoteTraceback,
    TimeoutError,
    WorkerLostError,
)
from brickwork.multiprocessing.process import (
    Process,
    active_children,
    cpu_count,
    current_process,
    parent_process,
)

__all__ = [
    "AsyncResult",
    "IMapIterator",
    "MapResult",
    "Pool",
    "PoolError",
    "Process",
    "ProcessPoolExecutor",
    "RemoteTraceback",
    "TimeoutError",
    "WorkerLostError",
    "active_children",
    "cpu_count",
    "current_process",
    "parent_process",
    "use_shared_memory",
]

_previous_allocator: Any = None


def use_shared_memory(enabled: bool = True) -> None:
    """Make NumPy allocate new arrays of at least 64 KiB in shared memory (or stop).

    On by default once ``brickwork.multiprocessing`` is imported (set the environment
    variable ``BRICKWORK_SHARED_ARRAYS=0`` to start with it off). Arrays in shared
    memory reach pool workers without a copy; others are copied once into it when
    they are sent. The setting applies to the calling thread and to threads started
    after the call. A child made by ``os.fork()`` gets a private copy of the arrays.
    """
    global _previous_allocator
    if enabled and _previous_allocator is None:
        _previous_allocator = _core.install_numpy_allocator(SHARED_THRESHOLD)
    elif not enabled and _previous_allocator is not None:
        _core.restore_numpy_allocator(_previous_allocator)
        _previous_allocator = None


os.register_at_fork(after_in_child=_core.arena_after_fork_in_child)
# The joblib backend "brickwork": registered now if joblib is imported, else when it is.
_joblib_backend.register_on_import()
if os.environ.get("BRICKWORK_SHARED_ARRAYS", "1") != "0":
    use_shared_memory(True)
