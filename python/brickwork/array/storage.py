"""Storing results into existing arrays and ``.npy`` files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from brickwork import _core, config
from brickwork._runner import ProgressArg, _num_threads, run
from brickwork.array.core import Array
from brickwork.array.creation import from_array

__all__ = ["from_npy", "from_zarr", "store", "to_npy", "to_zarr"]


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

    The file's blocks are reserved before anything runs, so a disk without room raises
    OSError (ENOSPC) at once rather than failing inside the memory map. If the
    computation fails or is interrupted, the file is removed.
    """
    out = np.lib.format.open_memmap(os.fspath(path), mode="w+", dtype=arr.dtype, shape=arr.shape)
    try:
        with open(path, "r+b") as file:
            size = os.fstat(file.fileno()).st_size
            if size:
                os.posix_fallocate(file.fileno(), 0, size)
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


def _regular(arr: Array) -> Array:
    """``arr`` with regular chunks (all equal but maybe the last), as Zarr needs; a rechunk
    is a view, so this moves no data."""
    regular = all(len(set(c[:-1])) <= 1 and (len(c) < 2 or c[-1] <= c[0]) for c in arr.chunks)
    return arr if regular else arr.rechunk(arr.chunksize)


def from_zarr(
    url: str | os.PathLike[str], component: str | None = None, chunks: Any = None
) -> Array:
    """An array over a Zarr array (format 2 or 3) in a directory store, read lazily chunk
    by chunk (through the zarrs crate), as ``dask.array.from_zarr``.

    ``chunks`` defaults to the store's chunks. Nothing is read until a computation needs
    a region, and then only the chunks it touches.

    Raises
    ------
    FileNotFoundError
        If there is no store or no array at ``component``.
    TypeError
        If the array's data type is not one brickwork supports.
    """
    expr = _core.from_zarr(os.fspath(url), component, chunks, config.get("chunk_size"))
    return Array(expr, "from_zarr")


def to_zarr(
    arr: Array,
    url: str | os.PathLike[str],
    component: str | None = None,
    overwrite: bool = False,
    progress: ProgressArg = None,
) -> None:
    """Compute ``arr`` into a new Zarr (format 3, zstd) array, one chunk per block,
    streaming: the result never needs to fit in memory. As ``dask.array.to_zarr``.

    Irregular chunks are first made regular (a free rechunk). Refuses to replace an
    existing array unless ``overwrite``.

    If a write fails (a full disk, a read-only directory, an error in the computation),
    other arrays of the store, written before, are untouched. The failed array is left
    as follows: its metadata is complete; the chunks written before the failure hold
    their data; the chunk whose write failed may be incomplete, and reading it raises an
    OSError naming it; the chunks not yet written read as the fill value 0. Write it
    again with ``overwrite=True``.

    As with zarr-python, chunks are left to the kernel's write-back rather than synced
    one by one; call ``os.sync()`` afterwards if the data must survive a power cut.

    Raises
    ------
    ValueError
        If an array exists at the path and ``overwrite`` is False.
    OSError
        If the store cannot be written; the message names the store and the chunk.
    """
    if not isinstance(arr, Array):
        raise TypeError(f"to_zarr needs a brickwork array, got {type(arr).__name__}")
    x = _regular(arr)
    from brickwork._runner import _progress_callback

    callback, bar = _progress_callback(progress)
    try:
        _core.to_zarr(
            x._expr,
            os.fspath(url),
            component,
            overwrite,
            _num_threads(None),
            callback,
            config.get("memory_limit"),
            config.get("temporary_directory"),
        )
    finally:
        if bar is not None:
            bar.close()
