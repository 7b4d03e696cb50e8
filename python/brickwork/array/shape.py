"""The shape family: axes, shape and chunks of one array, as NumPy's "array manipulation"
routines: ``transpose``, ``swapaxes``, ``moveaxis``, ``squeeze``, ``expand_dims``,
``broadcast_to``, ``reshape``, ``ravel``, ``flip``, ``roll`` and ``rechunk``, and NumPy's
metadata queries (``numpy.shape``, ``ndim``, ``size``, ``result_type``), which answer
from the expression without computing.

Joining arrays is ``joining``; building larger arrays from one (``pad``, ``tile``,
``repeat``) is ``tiling``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple
from numpy.typing import DTypeLike

from brickwork import _core, config
from brickwork.array._args import shape_tuple
from brickwork.array._dispatch import array_method, implements
from brickwork.array.core import Array, as_array
from brickwork.array.indexing import along
from brickwork.array.joining import concatenate

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "broadcast_arrays",
    "broadcast_to",
    "expand_dims",
    "flip",
    "fliplr",
    "flipud",
    "moveaxis",
    "ndim",
    "ravel",
    "rechunk",
    "reshape",
    "result_type",
    "roll",
    "rollaxis",
    "rot90",
    "shape",
    "squeeze",
    "swapaxes",
    "transpose",
    "unify_chunks",
]


@implements(np.transpose)
def transpose(a: Any, axes: Any = None) -> Array:
    """Permute the axes (reverse them when ``axes`` is None), as ``numpy.transpose``."""
    return as_array(a).transpose(axes)


@implements(np.broadcast_to)
def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """Broadcast ``x`` to ``shape`` with NumPy's rules (lazy, no memory used).

    Raises
    ------
    ValueError
        If ``x`` cannot be broadcast to ``shape``.
    """
    arr = as_array(x)
    dims = shape_tuple(shape)
    out = arr if dims == arr.shape else Array(_core.broadcast_to(arr._expr, dims), "broadcast_to")
    return out if chunks is None else rechunk(out, chunks)


@array_method()
@implements(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Array:
    """Remove axes of length one (all of them, or those in ``axis``).

    Raises
    ------
    numpy.exceptions.AxisError
        If an axis is out of range.
    ValueError
        If a selected axis does not have length one.
    """
    arr = as_array(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(arr.shape) if n == 1)
    else:
        axes = normalize_axis_tuple(axis, arr.ndim)
        if any(arr.shape[i] != 1 for i in axes):
            raise ValueError("cannot select an axis to squeeze out which has size not equal to one")
    if not axes:
        return arr
    return arr[tuple(0 if i in axes else slice(None) for i in range(arr.ndim))]


@implements(np.expand_dims)
def expand_dims(a: Any, axis: Any) -> Array:
    """Insert axes of length one at the positions ``axis`` of the result."""
    arr = as_array(a)
    out_ndim = arr.ndim + (len(axis) if isinstance(axis, tuple | list) else 1)
    axes = normalize_axis_tuple(axis, out_ndim)
    return arr[tuple(None if i in axes else slice(None) for i in range(out_ndim))]


@array_method()
@implements(np.swapaxes)
def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    """Interchange two axes."""
    arr = as_array(a)
    perm = list(range(arr.ndim))
    i, j = normalize_axis_index(axis1, arr.ndim), normalize_axis_index(axis2, arr.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return arr.transpose(tuple(perm))


@implements(np.moveaxis)
def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    """Move axes to new positions; the other axes keep their order."""
    arr = as_array(a)
    src = normalize_axis_tuple(source, arr.ndim, "source")
    dst = normalize_axis_tuple(destination, arr.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError(
            "`source` and `destination` arguments must have the same number of elements"
        )
    order = [n for n in range(arr.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return arr.transpose(tuple(order))


@array_method()
@implements(np.reshape)
def reshape(x: Any, shape: Any, order: str = "C", limit: Any = None) -> Array:
    """The same elements in C order with a new shape (one entry may be -1), as
    ``numpy.reshape``.

    A C-contiguous NumPy source is reshaped in place; anything else is computed once
    into a contiguous intermediate and read with the new shape. The result's chunks hold
    about as many bytes as the input's largest chunk.

    Raises
    ------
    ValueError
        If the sizes differ, or for more than one -1.
    NotImplementedError
        For ``order="F"``.
    """
    if order != "C":
        raise NotImplementedError("reshape(order='F') is not supported; only C order")
    arr = as_array(x)
    dims = (shape,) if isinstance(shape, int | np.integer) else tuple(shape)
    return Array(_core.reshape(arr._expr, [int(n) for n in dims]), "reshape")


@implements(np.ravel)
def ravel(x: Any) -> Array:
    """The elements as a 1-d array in C order, as ``numpy.ravel``."""
    return reshape(x, (-1,))


@array_method()
def rechunk(x: Any, chunks: Any = "auto") -> Array:
    """Cut ``x`` into new chunks (any Dask chunk spec), as ``dask.array.rechunk``.

    Kernels read their inputs through global views, so a rechunk changes only how the
    work is split into tasks: it moves no data and needs no extra memory. The exception
    is a stored (Zarr) array cut across its own chunks, e.g. rows to columns: its
    chunks are decoded whole, so the plan copies it once, chunk by chunk, into an
    intermediate array (spilled to disk when the memory budget requires) and cuts that.

    Raises
    ------
    ValueError
        If ``chunks`` does not fit the shape.
    """
    arr = as_array(x)
    # As in Dask's rechunk, None (in a tuple or a dict) keeps an axis's chunks.
    if isinstance(chunks, tuple) and len(chunks) == arr.ndim:
        chunks = tuple(arr.chunks[i] if c is None else c for i, c in enumerate(chunks))
    elif isinstance(chunks, dict):
        chunks = {k: (arr.chunks[k] if v is None else v) for k, v in chunks.items()}
        # Dask's rechunk keeps the chunks of the axes a dict leaves out.
        given = {normalize_axis_index(int(k), arr.ndim) for k in chunks}
        chunks.update({i: c for i, c in enumerate(arr.chunks) if i not in given})
    return Array(_core.rechunk(arr._expr, chunks, config.get("chunk_size")), "rechunk")


@implements(np.flip)
def flip(m: Any, axis: Any = None) -> Array:
    """Reverse the order of elements along ``axis`` (all axes for None): a view."""
    x = as_array(m)
    axes = range(x.ndim) if axis is None else normalize_axis_tuple(axis, x.ndim)
    index = [slice(None)] * x.ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return x[tuple(index)]


@implements(np.flipud)
def flipud(m: Any) -> Array:
    """Reverse the first axis."""
    return flip(m, 0)


@implements(np.fliplr)
def fliplr(m: Any) -> Array:
    """Reverse the second axis."""
    return flip(m, 1)


@implements(np.roll)
def roll(a: Any, shift: Any, axis: Any = None) -> Array:
    """Roll elements along ``axis`` (the flattened array for None), as ``numpy.roll``."""
    x = as_array(a)
    if axis is None:
        return roll(x.ravel(), shift, 0).reshape(x.shape)
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    axes = (
        normalize_axis_tuple(axis, x.ndim, allow_duplicate=True)
        if np.ndim(axis)
        else (normalize_axis_index(int(axis), x.ndim),)
    )
    if len(shifts) == 1 and len(axes) > 1:
        shifts = shifts * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences of the same length")
    for s, ax in zip(shifts, axes):
        n = x.shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            x = concatenate(
                [
                    x[along(x.ndim, ax, slice(n - s, None))],
                    x[along(x.ndim, ax, slice(None, n - s))],
                ],
                axis=ax,
            )
    return x


# NumPy's metadata queries answer from the expression without computing.


@implements(np.shape)
def shape(a: Any) -> tuple[int, ...]:
    """The shape of ``a`` (an Array's without computing it), as ``numpy.shape``."""
    return a.shape if isinstance(a, Array) else np.shape(a)


@implements(np.ndim)
def ndim(a: Any) -> int:
    """The number of dimensions of ``a``, as ``numpy.ndim``."""
    return a.ndim if isinstance(a, Array) else np.ndim(a)


@implements(np.size)
def _size(a: Array, axis: int | None = None) -> int:
    return a.size if axis is None else a.shape[axis]


@implements(np.astype)
def _astype(x: Array, dtype: DTypeLike, copy: bool = True) -> Array:
    return x.astype(dtype)


def result_type(*arrays_and_dtypes: Any) -> np.dtype:
    """The dtype NumPy's promotion gives for arrays (Arrays included) and dtypes."""
    return np.result_type(*(x.dtype if isinstance(x, Array) else x for x in arrays_and_dtypes))


implements(np.result_type, adapt=False)(result_type)


def _atleast(arys: tuple[Any, ...], ndim: int) -> Array | list[Array]:
    out = []
    for a in arys:
        x = as_array(a)
        if x.ndim < ndim:
            if ndim == 3 and x.ndim == 2:
                x = x[:, :, None]
            elif ndim == 3 and x.ndim == 1:
                x = x[None, :, None]
            else:
                x = x.reshape((1,) * (ndim - x.ndim) + x.shape)
        out.append(x)
    return out[0] if len(out) == 1 else out


@implements(np.atleast_1d, adapt=False)
def atleast_1d(*arys: Any) -> Array | list[Array]:
    """Arrays of at least one dimension (0-d becomes shape (1,)), as NumPy."""
    return _atleast(arys, 1)


@implements(np.atleast_2d, adapt=False)
def atleast_2d(*arys: Any) -> Array | list[Array]:
    """Arrays of at least two dimensions (new axes in front), as NumPy."""
    return _atleast(arys, 2)


@implements(np.atleast_3d, adapt=False)
def atleast_3d(*arys: Any) -> Array | list[Array]:
    """Arrays of at least three dimensions: (N,) becomes (1, N, 1) and (M, N) becomes
    (M, N, 1), as NumPy."""
    return _atleast(arys, 3)


@implements(np.broadcast_arrays, adapt=False)
def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Array, ...]:
    """The arrays broadcast to their common shape (views; chunks unified), as
    ``numpy.broadcast_arrays``."""
    arrays = [as_array(a) for a in args]
    target = np.broadcast_shapes(*(x.shape for x in arrays))
    return tuple(x if x.shape == target else broadcast_to(x, target) for x in arrays)


@implements(np.rot90)
def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Array:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``, as ``numpy.rot90``
    (composed from ``flip`` and ``transpose``, as NumPy does)."""
    x = as_array(m)
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == x.ndim:
        raise ValueError("Axes must be different.")
    if axes[0] >= x.ndim or axes[0] < -x.ndim or axes[1] >= x.ndim or axes[1] < -x.ndim:
        raise ValueError(f"Axes={axes} out of range for array of ndim={x.ndim}.")
    k %= 4
    if k == 0:
        return x
    if k == 2:
        return flip(flip(x, axes[0]), axes[1])
    order = list(range(x.ndim))
    a0, a1 = (ax % x.ndim for ax in axes)
    order[a0], order[a1] = order[a1], order[a0]
    if k == 1:
        return transpose(flip(x, axes[1]), order)
    return flip(transpose(x, order), axes[1])


@implements(np.rollaxis)
def rollaxis(a: Any, axis: int, start: int = 0) -> Array:
    """Roll ``axis`` backwards until it lies before ``start``, as ``numpy.rollaxis``."""
    x = as_array(a)
    n = x.ndim
    axis = normalize_axis_index(axis, n)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(f"start arg requires {-n} <= start < {n + 1}, got {start}")
    if axis < start:
        start -= 1
    if axis == start:
        return x
    order = [i for i in range(n) if i != axis]
    order.insert(start, axis)
    return transpose(x, order)


def _common_chunks(chunkings: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The common refinement of chunkings of one length (all chunk boundaries)."""
    bounds: set[int] = set()
    for sizes in chunkings:
        bounds.update(np.cumsum(sizes).tolist())
    total = sum(chunkings[0])
    edges = [0, *sorted(b for b in bounds if 0 < b <= total)]
    if not total:
        return (0,)
    return tuple(b - a for a, b in zip(edges, edges[1:]))


def unify_chunks(*args: Any, **kwargs: Any) -> tuple[dict[Any, tuple[int, ...]], list[Any]]:
    """Rechunk arrays so that axes with the same index label have the same chunks, as
    ``dask.array.unify_chunks``.

    ``args`` alternate arrays and their index labels (``x, "ij", y, "jk"``); an
    argument with index None is passed unchanged. Axes of length one broadcast and are
    left as they are. Returns ``({label: chunks}, [arrays])``.
    """
    if not args:
        return {}, []
    pairs = list(zip(args[::2], args[1::2]))
    arrays = [(as_array(a) if ind is not None else a, ind) for a, ind in pairs]
    found: dict[Any, list[tuple[int, ...]]] = {}
    for x, ind in arrays:
        if ind is None:
            continue
        if len(ind) != x.ndim:
            raise ValueError(f"index {ind!r} does not match an array of ndim {x.ndim}")
        for label, sizes, length in zip(ind, x.chunks, x.shape):
            if length != 1:
                found.setdefault(label, []).append(sizes)
    chunkss = {}
    for label, chunkings in found.items():
        if len({sum(c) for c in chunkings}) > 1:
            raise ValueError(f"Dimension {label!r} has inconsistent lengths")
        chunkss[label] = _common_chunks(chunkings)
    for x, ind in arrays:
        for label, sizes in zip(ind or (), x.chunks if ind is not None else ()):
            chunkss.setdefault(label, sizes)
    out = []
    for x, ind in arrays:
        if ind is None:
            out.append(x)
            continue
        want = tuple(chunkss[label] if n != 1 else c for label, c, n in zip(ind, x.chunks, x.shape))
        out.append(x if want == x.chunks else rechunk(x, want))
    return chunkss, out
