"""Settings for brickwork, changed globally or for a ``with`` block.

>>> import brickwork
>>> brickwork.config.set(num_threads=4)                # from now on
>>> with brickwork.config.set(chunk_size="64MiB"):     # only inside the block
...     x = brickwork.array.ones((10_000, 10_000))
>>> brickwork.config.get("chunk_size")
134217728

Keys
----
num_threads : int or None
    Threads of the local scheduler. Default (and None): the CPUs this process may run on.
chunk_size : int or str
    Byte target of ``chunks="auto"``. Accepts ints and strings such as ``"64MiB"``,
    ``"1GB"`` or ``"100kB"``; ``get`` returns the number of bytes. Default ``"128MiB"``.
split_every : int
    Fan-in of tree reductions (at least 2). Default 16.
progress : bool
    Draw a progress bar on stderr during ``compute``. Default False.
scheduler : str
    Where Python callables of a computation (``map_blocks`` functions) run:
    ``"threads"`` (the default: the local scheduler's threads, holding the GIL) or
    ``"processes"`` (a shared ``brickwork.multiprocessing.Pool`` with one worker per
    thread; blocks travel through shared memory) or ``"sync"`` (one after another in
    the calling thread, for debuggers). Dask's names are accepted (``"threading"``,
    ``"multiprocessing"``, ``"synchronous"``, ``"single-threaded"``; see
    ``SCHEDULERS``) and ``get`` returns the canonical one. Built-in operations always
    run in the local scheduler's threads.
memory_limit : int, str, float or None
    The memory budget of a computation, checked before it starts: a computation whose
    outputs, intermediate arrays and per-thread working sets exceed it raises
    ``brickwork.MemoryBudgetError`` (a MemoryError) naming what does not fit, instead of
    running the machine out of memory. Bytes (``"2GiB"``, an int), a fraction of the
    physical memory (a float in (0, 1]), or None for no limit. Default 0.75: three
    quarters of the physical memory. When intermediate arrays (results that later steps
    read again: a ``map_blocks`` output used twice, a reduction result, a
    concatenation) are what does not fit, they are spilled: kept in an unnamed temporary
    file instead of memory, so the computation runs within the budget; nothing is left
    on disk afterwards, even after a crash.
temporary_directory : str or None
    Where spilled intermediate arrays go. Default None: the system's temporary
    directory (``tempfile.gettempdir()``).
executor : str
    The executor that runs computations: ``"local"`` (the default: this process's
    threads) or ``"loopback"`` (the same threads, every task run as a remote worker
    would, its stage, reads, writes and results encoded to bytes and back: slower, for
    testing that plans can travel to other machines).

Settings live in this process only and are shared by all threads, like
``dask.config``. They are never read from environment variables.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from brickwork._units import parse_bytes

__all__ = ["get", "set"]


def _default_num_threads() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _positive_int(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool):
        raise TypeError(f"config {key!r} must be an int, got bool {value!r}")
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(
            f"config {key!r} must be an int, got {type(value).__name__} {value!r}"
        ) from None
    if n < minimum:
        raise ValueError(f"config {key!r} must be at least {minimum}, got {n}")
    return n


def _check_num_threads(value: Any) -> int | None:
    return None if value is None else _positive_int("num_threads", value, 1)


def _check_split_every(value: Any) -> int:
    return _positive_int("split_every", value, 2)


def _check_chunk_size(value: Any) -> int:
    try:
        return parse_bytes(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"config 'chunk_size': {err}") from None


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return 16 << 30


def _check_memory_limit(value: Any) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, float):
        if not 0.0 < value <= 1.0:
            raise ValueError(
                f"config 'memory_limit' as a float is a fraction of the physical memory in "
                f"(0, 1], got {value!r}"
            )
        return value
    try:
        n = parse_bytes(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"config 'memory_limit': {err}") from None
    if n <= 0:
        raise ValueError(f"config 'memory_limit' must be positive, got {value!r}")
    return n


#: Every scheduler name brickwork and Dask accept -> the canonical one. The one table:
#: ``compute(scheduler=...)`` reads it too (``brickwork._runner``).
SCHEDULERS: dict[str, str] = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
}


def canonical_scheduler(value: Any, what: str = "scheduler") -> str:
    """The canonical scheduler name ("threads", "processes" or "sync") of a name
    brickwork or Dask accepts; ValueError for any other."""
    if not isinstance(value, str) or value not in SCHEDULERS:
        names = ", ".join(repr(name) for name in SCHEDULERS)
        raise ValueError(f"{what} must be one of {names}; got {value!r}")
    return SCHEDULERS[value]


def _check_scheduler(value: Any) -> str:
    return canonical_scheduler(value, "config 'scheduler'")


def _check_executor(value: Any) -> str:
    if value not in ("local", "loopback"):
        raise ValueError(f"config 'executor' must be 'local' or 'loopback', got {value!r}")
    return str(value)


def _check_temporary_directory(value: Any) -> str | None:
    if value is None:
        return None
    path = os.fspath(value)
    if not os.path.isdir(path):
        raise ValueError(f"config 'temporary_directory' must be an existing directory, got {value!r}")
    return str(path)


def _check_progress(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"config 'progress' must be True or False, got {value!r}")
    return value


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "num_threads": _check_num_threads,
    "chunk_size": _check_chunk_size,
    "split_every": _check_split_every,
    "progress": _check_progress,
    "memory_limit": _check_memory_limit,
    "scheduler": _check_scheduler,
    "temporary_directory": _check_temporary_directory,
    "executor": _check_executor,
}

# None means "the default", resolved by get() so that it follows the CPU affinity.
_settings: dict[str, Any] = {
    "num_threads": None,
    "chunk_size": parse_bytes("128MiB"),
    "split_every": 16,
    "progress": False,
    "memory_limit": 0.75,
    "scheduler": "threads",
    "temporary_directory": None,
    "executor": "local",
}


def _check_key(key: str) -> None:
    if key not in _VALIDATORS:
        valid = ", ".join(sorted(_VALIDATORS))
        raise ValueError(f"unknown config key {key!r}; valid keys are: {valid}")


def get(key: str) -> Any:
    """Return the current value of a setting.

    Parameters
    ----------
    key : str
        One of ``num_threads``, ``chunk_size`` (returned in bytes), ``split_every``,
        ``progress``, ``memory_limit`` (returned in bytes, or None).

    Returns
    -------
    Any
        The value in force.

    Raises
    ------
    ValueError
        If ``key`` is not a known setting.
    """
    _check_key(key)
    value = _settings[key]
    if key == "num_threads" and value is None:
        return _default_num_threads()
    if key == "memory_limit" and isinstance(value, float):
        return int(value * _physical_memory())
    return value


class set:  # noqa: N801 - named like dask.config.set
    """Change settings now; used as a context manager, restore them on exit.

    Parameters
    ----------
    arg : mapping, optional
        Settings as a dict, e.g. ``{"num_threads": 2}``.
    **kwargs
        Settings as keywords, e.g. ``num_threads=2, chunk_size="64MiB"``.

    Raises
    ------
    ValueError
        If a key is unknown (the message lists the valid ones) or a value is out of range.
    TypeError
        If a value has the wrong type.

    Examples
    --------
    >>> brickwork.config.set(num_threads=2)
    >>> with brickwork.config.set(progress=True):
    ...     result = x.sum().compute()
    """

    def __init__(self, arg: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        updates = dict(arg or {}, **kwargs)
        checked = {}
        for key, value in updates.items():
            _check_key(key)
            checked[key] = _VALIDATORS[key](value)
        self._previous = {key: _settings[key] for key in checked}
        _settings.update(checked)

    def __enter__(self) -> set:
        """Return this object; the settings are already in force."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the settings as they were before this ``set``."""
        _settings.update(self._previous)
