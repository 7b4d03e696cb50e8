"""Text and HTML representations of an Array (shape, dtype, chunks, bytes, tasks)."""

from __future__ import annotations

import html
import math

import numpy as np

from brickwork import _core
from brickwork._units import format_bytes

__all__ = ["array_html", "array_repr"]


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def array_repr(expr: _core.Expr, name: str) -> str:
    """Dask's repr plus bytes and tasks.

    ``brickwork.array<name, shape=..., dtype=..., chunksize=..., chunktype=numpy.ndarray,
    nbytes=..., ntasks=...>``
    """
    return (
        f"brickwork.array<{name}, shape={expr.shape}, dtype={expr.dtype}, "
        f"chunksize={expr.chunksize}, chunktype=numpy.ndarray, "
        f"nbytes={format_bytes(expr.nbytes)}, ntasks={expr.ntasks()}>"
    )


def array_html(expr: _core.Expr) -> str:
    """An HTML table for notebooks: bytes, shape, chunk count, task count and dtype."""
    itemsize = np.dtype(expr.dtype).itemsize
    chunk_bytes = math.prod(expr.chunksize) * itemsize
    ntasks = expr.ntasks()
    rows = [
        ("Bytes", format_bytes(expr.nbytes), format_bytes(chunk_bytes)),
        ("Shape", str(expr.shape), str(expr.chunksize)),
        (
            "Count",
            f"{_plural(expr.npartitions, 'chunk')} in {_plural(ntasks, 'task')}",
            f"numblocks {expr.numblocks}",
        ),
        ("Type", expr.dtype, "numpy.ndarray"),
    ]
    body = "\n".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(whole)}</td>"
        f"<td>{html.escape(chunk)}</td></tr>"
        for label, whole, chunk in rows
    )
    return (
        '<table class="brickwork-array">\n'
        "<thead><tr><td></td><th>Array</th><th>Chunk</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>"
    )
