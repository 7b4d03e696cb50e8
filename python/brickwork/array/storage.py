"""Storing results into existing arrays and ``.npy`` files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from brickwork._runner import ProgressArg, run
from brickwork.array.core import Array
from brickwork.array.creation import from_array

__all__ = ["from_npy", "store", "to_npy"]


def store(
    sources: Array | Sequence[Array],
    targets: np.ndarray | Sequence[np.ndarray],
    progress: ProgressArg = None,
) -> None:
    """Compute ``sources`` and write them into ``targets``, as ``dask.array.store``.

    All sources are computed in one pass over their shared inputs, and each result is
    written straight into its target (no intermediate copy of the result): targets are
    writable, C-contiguous NumPy arrays of the sources' shapes and dtypes, such as
    memory-mapped files, so a result larger than memory streams to disk.

    Raises
    ------
    ValueError
        If the counts, shapes or dtypes differ, or a target is not writable and
        C-contiguous.
    """
    single = isinstance(sources, Array)
    srcs = [sources] if single else list(sources)
    tgts = [targets] if isinstance(targets, np.ndarray) else list(targets)
    if len(srcs) != len(tgts):
        raise ValueError(f"{len(srcs)} sources but {len(tgts)} targets")
    for i, (s, t) in enumerate(zip(srcs, tgts)):
        if not isinstance(s, Array):
            raise TypeError(f"source {i} is a {type(s).__name__}, not a brickwork array")
        if not isinstance(t, np.ndarray):
            raise TypeError(f"target {i} is a {type(t).__name__}; store writes into NumPy arrays")
        if t.shape != s.shape or t.dtype != s.dtype:
            raise ValueError(
                f"target {i} has shape {t.shape} and dtype {t.dtype}, but source {i} has "
                f"shape {s.shape} and dtype {s.dtype}"
            )
    run([s._expr for s in srcs], progress=progress, into=tgts)


def to_npy(arr: Array, path: str | os.PathLike[str], progress: ProgressArg = None) -> None:
    """Compute ``arr`` into a ``.npy`` file, streaming the result through a memory map
    (the whole result never needs to fit in memory).

    If the computation fails or is interrupted, the file is removed.
    """
    out = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=arr.dtype, shape=arr.shape)
    try:
        store(arr, out, progress=progress)
        out.flush()
    except BaseException:
        out._mmap.close()  # release the mapping before removing the file
        os.remove(path)
        raise


def from_npy(path: str | os.PathLike[str], chunks: Any = "auto") -> Array:
    """An array over a ``.npy`` file, memory-mapped read-only: nothing is read until a
    computation needs it, and then only the blocks it needs.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid ``.npy`` file.
    """
    data = np.load(os.fspath(path), mmap_mode="r")
    return from_array(data, chunks=chunks)
