"""brickwork as an xarray chunk manager: ``chunked_array_type="brickwork"``.

xarray finds ``BrickworkChunkManager`` through the ``xarray.chunkmanagers`` entry point,
so that xarray objects can hold lazy brickwork arrays:

>>> import xarray as xr
>>> ds = xr.open_zarr("data.zarr", chunked_array_type="brickwork")  # doctest: +SKIP
>>> ds.chunk(time=24, chunked_array_type="brickwork").mean("time").compute()  # doctest: +SKIP

Only xarray imports this module (when it loads its chunk managers).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import nullcontext
from itertools import accumulate
from typing import Any

import numpy as np
from xarray.namedarray.parallelcompat import ChunkManagerEntrypoint

import brickwork.array as bwa
from brickwork import _core, config
from brickwork.array import Array
from brickwork.array._args import chunks_and_limit
from brickwork.array._dtypes import dtype_name

__all__ = ["BrickworkChunkManager"]

Chunks = tuple[tuple[int, ...], ...]


def _read_block(source: Any, block_info: dict[Any, Any]) -> np.ndarray:
    """The block of ``source`` that ``block_info`` locates (for lazy sources)."""
    where = tuple(slice(start, stop) for start, stop in block_info[None]["array-location"])
    return np.asarray(source[where])


def _auto_axes(spec: Any, ndim: int) -> list[int]:
    """The axes whose entry of the chunk spec is "auto" (or a byte size)."""
    if isinstance(spec, str):
        return list(range(ndim))
    if isinstance(spec, dict):
        return sorted(axis % ndim for axis, entry in spec.items() if isinstance(entry, str))
    if isinstance(spec, tuple) and len(spec) == ndim:
        return [axis for axis, entry in enumerate(spec) if isinstance(entry, str)]
    return []


def _aligned_auto(
    chunks: Chunks, shape: tuple[int, ...], steps: dict[int, int], elements: float
) -> Chunks:
    """``chunks`` with the "auto" axes of ``steps`` (axis -> stored chunk length) cut in
    multiples of their stored chunk, so that no stored chunk is read by two blocks.

    The stored chunks grow by one common factor until blocks hold ``elements``
    elements; an axis that the factor would make longer than the array is taken whole.
    If even the stored chunks exceed the budget they shrink by the factor instead (and
    are split, as in Dask).
    """
    sizes: dict[int, int] = {}
    left = dict(steps)
    factor = 1.0
    while left:
        factor = (elements / math.prod(left.values())) ** (1 / len(left))
        whole = [axis for axis, step in left.items() if step * factor >= shape[axis]]
        if not whole:
            break
        for axis in whole:
            sizes[axis] = shape[axis]
            elements = max(1.0, elements / shape[axis])
            del left[axis]
    for axis, step in left.items():
        sizes[axis] = step * int(factor) if factor >= 1 else max(1, int(step * factor))
    out = list(chunks)
    for axis, size in sizes.items():
        n = shape[axis]
        out[axis] = (size,) * (n // size) + ((n % size,) if n % size else ())
    return tuple(out)


def _store_block(
    block: np.ndarray, target: Any, region: tuple[slice, ...], lock: Any, block_info: Any
) -> Any:
    """Write ``block`` into ``target`` at its place inside ``region`` (holding ``lock``,
    if any); return a marker."""
    where = []
    for (start, stop), outer in zip(block_info[0]["array-location"], region):
        where.append(slice(outer.start + start, outer.start + stop))
    with lock or nullcontext():
        target[tuple(where)] = block
    return np.ones((1,) * block.ndim, dtype=bool)


def _full_region(region: Any, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """``region`` (None, or a tuple of slices, missing ones meaning whole axes) as
    explicit ``start:stop`` slices of ``shape``."""
    items = () if region is None else tuple(region)
    items = items + (slice(None),) * (len(shape) - len(items))
    slices = []
    for item, n in zip(items, shape):
        if not isinstance(item, slice) or item.step not in (None, 1):
            raise ValueError(f"store regions must be tuples of step-1 slices, got {region!r}")
        slices.append(slice(item.start or 0, (item.start or 0) + n))
    return tuple(slices)


class BrickworkChunkManager(ChunkManagerEntrypoint[Array]):
    """The interface between xarray and ``brickwork.array`` (``chunked_array_type="brickwork"``).

    xarray calls these methods to chunk variables (``Dataset.chunk``, ``open_zarr``),
    compute them, and run ``apply_ufunc(..., dask="parallelized")``, reductions with user
    functions and stores (``to_zarr``) on brickwork arrays.
    """

    available = True

    def __init__(self) -> None:
        self.array_cls = Array

    def is_chunked_array(self, data: Any) -> bool:
        """Whether ``data`` is a brickwork array."""
        return isinstance(data, Array)

    def chunks(self, data: Array) -> Chunks:
        """The chunk lengths of ``data`` along each axis."""
        return data.chunks

    def normalize_chunks(
        self,
        chunks: Any,
        shape: tuple[int, ...] | None = None,
        limit: int | None = None,
        dtype: Any = None,
        previous_chunks: Any = None,
    ) -> Chunks:
        """Explicit chunk lengths for ``chunks`` (any Dask chunk spec) on ``shape``.

        "auto" entries target ``limit`` bytes (default: the ``chunk_size`` setting). Where
        ``previous_chunks`` gives the stored chunks of an "auto" axis (xarray passes a
        store's chunks), blocks are cut along stored chunk boundaries, as in Dask.

        Raises
        ------
        ValueError
            If ``shape`` is missing or ``chunks`` does not fit it.
        TypeError
            If ``dtype`` is not one brickwork supports.
        """
        if shape is None:
            raise ValueError("normalize_chunks needs the array's shape, got shape=None")
        shape = tuple(int(n) for n in shape)
        spec, byte_target = chunks_and_limit(chunks)
        if limit is not None:
            byte_target = int(limit)
        name = dtype_name(np.float64 if dtype is None else dtype)
        result = _core.normalize_chunks(spec, shape, name, byte_target)
        if previous_chunks is None:
            return result
        steps = {}
        for axis in _auto_axes(spec, len(shape)):
            previous = previous_chunks[axis]
            step = max(previous) if isinstance(previous, tuple | list) else previous
            if step is not None and 1 <= step <= shape[axis]:
                steps[axis] = int(step)
        if all(step == shape[axis] for axis, step in steps.items()):
            return result  # no stored chunking to follow (in-memory data)
        fixed = math.prod(max(c) for axis, c in enumerate(result) if axis not in steps)
        elements = max(1.0, byte_target / (np.dtype(name).itemsize * max(fixed, 1)))
        return _aligned_auto(result, shape, steps, elements)

    def from_array(self, data: Any, chunks: Any, **kwargs: Any) -> Array:
        """A brickwork array over ``data``.

        NumPy arrays are wrapped without a copy. Other array-likes (xarray's lazily
        indexed backend arrays, such as a Zarr or netCDF variable) are read block by
        block when a computation needs them, so opening a store reads nothing.
        ``kwargs`` (Dask's ``name``, ``lock``, ``inline_array``, …) are accepted and
        ignored, except a string ``name`` that labels the array.

        Raises
        ------
        TypeError
            If the dtype of ``data`` is not one brickwork supports.
        """
        name = kwargs.get("name")
        label = name if isinstance(name, str) else "from_array"
        if isinstance(data, np.ndarray | np.generic | list | tuple):
            return bwa.from_array(data, chunks=chunks, name=label)
        dtype = np.dtype(data.dtype)
        normalized = self.normalize_chunks(chunks, tuple(data.shape), dtype=dtype)
        return bwa.map_blocks(
            _read_block, dtype=dtype, chunks=normalized, name=label, source=data
        )

    def compute(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Compute brickwork arrays among ``data`` together, as NumPy arrays; other
        objects pass through. ``kwargs`` go to ``brickwork.array.compute``."""
        return bwa.compute(*data, **kwargs)

    def persist(self, *data: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Compute brickwork arrays among ``data`` now and return arrays backed by the
        results, with the same chunks; other objects pass through."""
        return bwa.persist(*data, **kwargs)

    @property
    def array_api(self) -> Any:
        """The ``brickwork.array`` module (``full``, ``arange``, … with ``chunks=``)."""
        return bwa

    def get_auto_chunk_size(self) -> int:
        """Bytes of an "auto" chunk: the ``chunk_size`` setting."""
        return int(config.get("chunk_size"))

    def reduction(
        self,
        arr: Array,
        func: Callable[..., Any],
        combine_func: Callable[..., Any] | None = None,
        aggregate_func: Callable[..., Any] | None = None,
        axis: int | Sequence[int] | None = None,
        dtype: Any = None,
        keepdims: bool = False,
    ) -> Array:
        """A tree reduction with user functions (see ``brickwork.array.reduction``)."""
        if aggregate_func is None:
            raise TypeError("reduction needs aggregate_func")
        return bwa.reduction(
            arr,
            chunk=func,
            combine=combine_func,
            aggregate=aggregate_func,
            axis=axis,
            dtype=dtype,
            keepdims=keepdims,
        )

    def apply_gufunc(
        self,
        func: Callable[..., Any],
        signature: str,
        *args: Any,
        axes: Sequence[tuple[int, ...]] | None = None,
        keepdims: bool = False,
        output_dtypes: Any = None,
        vectorize: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Apply a generalized ufunc blockwise (see ``brickwork.array.apply_gufunc``);
        this is what ``apply_ufunc(..., dask="parallelized")`` calls."""
        return bwa.apply_gufunc(
            func,
            signature,
            *args,
            axes=axes,
            keepdims=keepdims,
            output_dtypes=output_dtypes,
            vectorize=vectorize,
            **kwargs,
        )

    def map_blocks(
        self,
        func: Callable[..., Any],
        *args: Any,
        dtype: Any = None,
        chunks: Any = None,
        drop_axis: int | Sequence[int] | None = None,
        new_axis: int | Sequence[int] | None = None,
        **kwargs: Any,
    ) -> Array:
        """Apply ``func`` to every block (see ``brickwork.array.map_blocks``)."""
        return bwa.map_blocks(
            func,
            *args,
            dtype=dtype,
            chunks=chunks,
            drop_axis=drop_axis,
            new_axis=new_axis,
            **kwargs,
        )

    def blockwise(
        self,
        func: Callable[..., Any],
        out_ind: Iterable[Any],
        *args: Any,
        adjust_chunks: dict[Any, Callable[..., Any]] | None = None,
        new_axes: dict[Any, int] | None = None,
        align_arrays: bool = True,
        **kwargs: Any,
    ) -> Array:
        """Apply ``func`` to tuples of blocks chosen by index labels (see
        ``brickwork.array.blockwise``)."""
        return bwa.blockwise(
            func,
            out_ind,
            *args,
            adjust_chunks=adjust_chunks,
            new_axes=new_axes,
            align_arrays=align_arrays,
            **kwargs,
        )

    def unify_chunks(self, *args: Any, **kwargs: Any) -> tuple[dict[Hashable, Chunks], list[Any]]:
        """Rechunk arrays so that axes with the same label share one chunking, as
        ``dask.array.core.unify_chunks``.

        ``args`` alternate brickwork arrays and their labels (``x, "ij", y, "jk"``; a
        value with the label None passes through). The common chunking of a label cuts
        at every chunk boundary of every array; axes of length one broadcast and keep
        their chunk. Returns ``({label: chunks}, arrays)``.

        Raises
        ------
        ValueError
            If ``args`` are not pairs, a label does not match its array, or one label
            has different lengths.
        """
        if kwargs:
            raise TypeError(f"unify_chunks takes no keyword arguments, got {sorted(kwargs)}")
        if len(args) % 2:
            raise ValueError("unify_chunks takes (array, index) pairs")
        pairs = list(zip(args[::2], args[1::2]))
        ends: dict[Hashable, set[int]] = {}
        lengths: dict[Hashable, int] = {}
        for arr, ind in pairs:
            if ind is None:
                continue
            if not isinstance(arr, Array):
                raise TypeError(f"unify_chunks needs brickwork arrays, got {type(arr).__name__}")
            if len(ind) != arr.ndim:
                raise ValueError(f"index {ind!r} does not match an array of {arr.ndim} axes")
            for label, n, sizes in zip(ind, arr.shape, arr.chunks):
                if n == 1:
                    continue
                if lengths.setdefault(label, n) != n:
                    raise ValueError(f"dimension {label!r} has lengths {lengths[label]} and {n}")
                ends.setdefault(label, set()).update(accumulate(sizes))
        common: dict[Hashable, Chunks] = {}
        for label, cuts in ends.items():
            bounds = sorted(cuts)
            common[label] = tuple(b - a for a, b in zip([0, *bounds], bounds)) or (0,)
        arrays = []
        for arr, ind in pairs:
            if ind is None:
                arrays.append(arr)
                continue
            wanted = tuple(
                sizes if n == 1 else common[label]
                for label, n, sizes in zip(ind, arr.shape, arr.chunks)
            )
            arrays.append(arr if wanted == arr.chunks else arr.rechunk(wanted))
            for label, sizes in zip(ind, wanted):
                common.setdefault(label, sizes)
        return common, arrays

    def store(
        self,
        sources: Array | Sequence[Array],
        targets: Any,
        **kwargs: Any,
    ) -> Any:
        """Compute ``sources`` and write each block into its ``targets`` entry (any
        object with NumPy-style ``__setitem__``, such as a Zarr array), as
        ``dask.array.store``: all sources run in one pass and no result is gathered in
        memory.

        ``regions`` (one tuple of slices, or None, per source) place the sources inside
        their targets. Blocks are written from several threads at once; a ``lock`` (a
        lock object, or True for a new one) serializes the writes, as for netCDF files,
        which xarray passes one for. ``flush`` is accepted; other keywords go to
        ``brickwork.array.compute``. ``compute=False`` and ``return_stored=True`` are
        not supported (brickwork has no delayed store).

        Raises
        ------
        ValueError
            If the numbers of sources, targets and regions differ.
        NotImplementedError
            For ``compute=False`` or ``return_stored=True``.
        """
        if not kwargs.pop("compute", True):
            raise NotImplementedError(
                "store(compute=False) is not supported by brickwork: it writes at once"
            )
        if kwargs.pop("return_stored", False):
            raise NotImplementedError("store(return_stored=True) is not supported by brickwork")
        regions = kwargs.pop("regions", None)
        lock = kwargs.pop("lock", None)
        if lock is True:
            lock = threading.Lock()
        kwargs.pop("flush", None)
        srcs = [sources] if isinstance(sources, Array) else list(sources)
        tgts = [targets] if isinstance(sources, Array) else list(targets)
        if regions is None or isinstance(regions, tuple):
            regions = [regions] * len(srcs)
        if not len(srcs) == len(tgts) == len(regions):
            raise ValueError(
                f"{len(srcs)} sources, {len(tgts)} targets and {len(regions)} regions differ"
            )
        markers = []
        for source, target, region in zip(srcs, tgts, regions):
            if not isinstance(source, Array):
                raise TypeError(f"store needs brickwork arrays, got {type(source).__name__}")
            full = _full_region(region, source.shape)
            markers.append(
                bwa.map_blocks(
                    _store_block,
                    source,
                    dtype=bool,
                    chunks=tuple((1,) * len(c) for c in source.chunks),
                    name="store",
                    target=target,
                    region=full,
                    lock=lock or None,
                )
            )
        kwargs.setdefault("scheduler", "threads")
        bwa.compute(*markers, **kwargs)

