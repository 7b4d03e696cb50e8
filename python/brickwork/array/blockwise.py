"""User functions over blocks: ``map_blocks``."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from brickwork import _core, config
from brickwork._runner import active_pool
from brickwork.array.core import Array, to_expr

__all__ = ["map_blocks"]


def _accepts(func: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _infer_dtype(func: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]) -> np.dtype:
    """Dask's way: call ``func`` on empty blocks and look at the result's dtype."""
    empties = [np.empty((0,) * a.ndim, a.dtype) if isinstance(a, Array) else a for a in args]
    first = next(a for a in args if isinstance(a, Array))
    try:
        with np.errstate(all="ignore"):
            out = func(*empties, **kwargs)
        return np.asarray(out).dtype
    except Exception:  # noqa: BLE001 - any failure means "cannot infer": use the input's
        return first.dtype


def map_blocks(
    func: Callable[..., Any],
    *args: Any,
    dtype: Any = None,
    chunks: Any = None,
    name: str | None = None,
    drop_axis: Any = None,
    new_axis: Any = None,
    **kwargs: Any,
) -> Array:
    """Apply ``func`` to every block, as ``dask.array.map_blocks``.

    Output block ``i`` is ``func`` of block ``i`` of every array argument (arrays are
    broadcast against each other and their chunks unified); other arguments are passed
    unchanged. If ``func`` takes ``block_id`` it receives the block's grid coordinates.
    ``dtype`` defaults to the dtype of ``func`` applied to empty blocks; ``chunks`` (the
    output's chunks, e.g. a tuple of tuples) defaults to the inputs' chunks and must have
    as many blocks. The function runs in the scheduler's threads, holding the GIL, or in
    worker processes with ``compute(scheduler="processes")``.

    Raises
    ------
    TypeError
        If no argument is an array, or ``func`` is not callable.
    ValueError
        If ``chunks`` has a different number of blocks; at compute time, if a block comes
        back with the wrong shape. An exception raised by ``func`` propagates from
        ``compute``.
    NotImplementedError
        For ``drop_axis`` / ``new_axis``.
    """
    if not callable(func):
        raise TypeError(f"map_blocks needs a callable, got {type(func).__name__}")
    if drop_axis is not None or new_axis is not None:
        raise NotImplementedError("map_blocks(drop_axis=..., new_axis=...) is not supported yet")
    args = list(args)
    flags = [isinstance(a, Array) for a in args]
    if not any(flags):
        raise TypeError("map_blocks needs at least one brickwork array argument")
    out_dtype = np.dtype(dtype) if dtype is not None else _infer_dtype(func, args, kwargs)
    inputs = [to_expr(a) for a, is_array in zip(args, flags) if is_array]
    block_id_wanted = _accepts(func, "block_id")

    def call(block_id: tuple[int, ...], *blocks: np.ndarray) -> np.ndarray:
        it = iter(blocks)
        call_args = [next(it) if is_array else a for a, is_array in zip(args, flags)]
        kw = dict(kwargs, block_id=block_id) if block_id_wanted else kwargs
        pool = active_pool()
        out = func(*call_args, **kw) if pool is None else pool.apply(func, call_args, kw)
        # np.asarray(order="C"), not ascontiguousarray: that makes 0-d results 1-d.
        return np.asarray(out, dtype=out_dtype, order="C")

    label = name or getattr(func, "__name__", "map_blocks")
    expr = _core.map_blocks(call, label, inputs, out_dtype.name, chunks, config.get("chunk_size"))
    return Array(expr, label)
