"""``compute`` and ``persist`` for several arrays at once, sharing their common work."""

from __future__ import annotations

from typing import Any

from brickwork import _core, config
from brickwork._runner import ProgressArg, run
from brickwork.delayed import compute as compute_delayed, contains_delayed
from brickwork.array._dispatch import array_method
from brickwork.array.core import Array

__all__ = ["compute", "explain", "materialize", "persist"]


def _collect(obj: Any, found: dict[int, Array]) -> None:
    if isinstance(obj, Array):
        found.setdefault(id(obj), obj)
    elif isinstance(obj, list | tuple):
        for item in obj:
            _collect(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _collect(item, found)


def _replace(obj: Any, results: dict[int, Any]) -> Any:
    if isinstance(obj, Array):
        return results[id(obj)]
    if isinstance(obj, list | tuple):
        items = [_replace(item, results) for item in obj]
        if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple
            return type(obj)(*items)
        return type(obj)(items)
    if isinstance(obj, dict):
        return {key: _replace(value, results) for key, value in obj.items()}
    return obj


def _scalar_if_0d(result: Any) -> Any:
    return result[()] if result.ndim == 0 else result


@array_method()
def materialize(
    obj: Any,
    progress: ProgressArg = None,
    num_threads: int | None = None,
    *,
    scalars: bool = False,
    scheduler: str | None = None,
) -> Any:
    """Replace every Array inside ``obj`` (nested lists, tuples, dicts) by its value.

    All arrays are computed in one task graph. With ``scalars=True`` 0-d results become
    NumPy scalars, as in ``Array.compute``.
    """
    found: dict[int, Array] = {}
    _collect(obj, found)
    if not found:
        return obj
    arrays = list(found.values())
    values = run([a._expr for a in arrays], progress, num_threads, scheduler=scheduler)
    if scalars:
        values = [_scalar_if_0d(v) for v in values]
    return _replace(obj, {id(a): v for a, v in zip(arrays, values, strict=True)})


def compute(
    *args: Any,
    progress: ProgressArg = None,
    num_threads: int | None = None,
    scheduler: str | None = None,
) -> tuple[Any, ...]:
    """Compute several arrays together, doing the work they share once.

    Like ``dask.compute``: Arrays, also inside lists, tuples and dicts, are
    replaced by NumPy results; other arguments are returned unchanged.
    ``brickwork.delayed`` objects are run too (see ``brickwork.delayed.compute``).

    Parameters
    ----------
    *args
        Arrays or other objects.
    progress : bool or callable, optional
        Draw a progress bar (True), not (False), or call ``progress(done, total)``.
        Default: ``brickwork.config.get("progress")``.
    num_threads : int, optional
        Threads to use. Default: ``brickwork.config.get("num_threads")``.
    scheduler : {"threads", "processes"}, optional
        Where ``map_blocks`` functions run: the scheduler's threads, or worker
        processes of a shared ``brickwork.multiprocessing.Pool`` (for functions that
        hold the GIL). Default: ``brickwork.config.get("scheduler")``.

    Returns
    -------
    tuple
        One result per argument; 0-d results are NumPy scalars.

    Examples
    --------
    >>> total, mean = brickwork.compute(x.sum(), x.mean())
    """
    if contains_delayed(args):  # brickwork.delayed objects: their graph runs too
        return compute_delayed(
            *args, progress=progress, num_threads=num_threads, scheduler=scheduler
        )
    return tuple(materialize(args, progress, num_threads, scalars=True, scheduler=scheduler))


def persist(
    *args: Any,
    progress: ProgressArg = None,
    num_threads: int | None = None,
    scheduler: str | None = None,
) -> tuple[Any, ...]:
    """Compute arrays now and return Arrays backed by the results, with the same chunks.

    Like ``dask.persist``: later computations that use the returned arrays start from
    the stored results. Other arguments are returned unchanged.

    Returns
    -------
    tuple
        One item per argument.
    """
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        return args
    values = run([a._expr for a in arrays], progress, num_threads, scheduler=scheduler)
    limit = config.get("chunk_size")
    persisted = iter(
        Array(_core.from_numpy(value, a._expr.chunks, limit), a._name)
        for a, value in zip(arrays, values, strict=True)
    )
    return tuple(next(persisted) if isinstance(a, Array) else a for a in args)


def explain(*arrays: Any) -> str:
    """The optimized plan of computing ``arrays`` together, as text: every stage with its
    task count and fused program (shared work appears once)."""
    exprs = [a._expr for a in arrays if isinstance(a, Array)]
    if not exprs:
        raise TypeError("explain needs at least one brickwork array")
    return _core.explain(exprs)
