"""Advanced indexing: several index arrays, N-d index arrays, ``vindex`` and ``__setitem__``.

Pointwise selection (``vindex``, and NumPy's rules when several arrays index an array)
groups the points by the block they fall in: each touched block is read once by one
task that picks its points, the pieces are concatenated in block order, and one gather
puts the points back in the order asked for. Nothing outside the touched blocks is read.

Assignment builds a new lazy array: ``where(region, value, x)``, with the value spread
over the region by gathers along each indexed axis.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np

from brickwork import _core
from brickwork.array._dispatch import array_method
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array
from brickwork.array.creation import from_array, zeros
from brickwork.array.indexing import normalize_index, split_array_index, take
from brickwork.array.joining import concatenate
from brickwork.array.shape import broadcast_to, moveaxis, rechunk, reshape, transpose
from brickwork.array.ufuncs import where
from brickwork.array.unknown import lazy_index

__all__ = ["BlockView", "VIndex", "getitem", "setitem", "vindex"]


def _is_array(item: Any) -> bool:
    return isinstance(item, list | tuple | np.ndarray) and np.ndim(item) >= 1 or (
        isinstance(item, np.ndarray) and item.dtype == bool
    )


def _int_positions(values: Any, size: int, axis: int) -> np.ndarray:
    """Index values as non-negative int64, with NumPy's errors."""
    arr = np.asarray(values)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise IndexError("arrays used as indices must be of integer (or boolean) type")
    arr = arr.astype(np.int64)
    bad = (arr < -size) | (arr >= size)
    if bad.any():
        raise IndexError(
            f"index {int(arr[bad].flat[0])} is out of bounds for axis {axis} with size {size}"
        )
    return np.where(arr < 0, arr + size, arr)


def _expand_ellipsis(items: tuple[Any, ...], ndim: int) -> list[Any]:
    consumed = 0
    for it in items:
        if it is None or it is Ellipsis:
            continue
        if isinstance(it, np.ndarray) and it.dtype == bool:
            consumed += max(it.ndim, 1)
        else:
            consumed += 1
    if consumed > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
        )
    out: list[Any] = []
    seen = False
    for it in items:
        if it is Ellipsis:
            if seen:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen = True
            out.extend([slice(None)] * (ndim - consumed))
        else:
            out.append(it)
    if not seen:
        out.extend([slice(None)] * (ndim - consumed))
    return out


def _as_index(item: Any) -> Any:
    """Array-likes other than brickwork arrays (a pandas Index, …) as NumPy arrays,
    0-d integer arrays as ints and 0-d boolean arrays as bools."""
    if hasattr(item, "__array__") and not isinstance(item, Array | np.ndarray):
        item = np.asarray(item)
    if isinstance(item, np.ndarray) and item.ndim == 0 and item.dtype.kind in "iub":
        return bool(item) if item.dtype == bool else int(item)
    return item


def _is_bool_scalar(item: Any) -> bool:
    return isinstance(item, bool | np.bool_)


def _bool_scalar_keys(items: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """NumPy reads a scalar ``True`` / ``False`` index as a new axis of length 1 indexed
    by ``[0]`` / ``[]`` (an advanced index). Returns the key that inserts those axes
    (keeping every other axis) and the key that then indexes them: ``x[items]`` is
    ``x[first][second]``."""
    first: list[Any] = []
    second: list[Any] = []
    for it in items:
        if _is_bool_scalar(it):
            first.append(None)
            second.append(np.arange(1 if it else 0))
        elif it is None:
            first.append(None)
            second.append(slice(None))
        elif it is Ellipsis:
            first.append(Ellipsis)
            second.append(Ellipsis)
        else:
            mask = isinstance(it, np.ndarray | list | tuple) and np.asarray(it).dtype == bool
            first.extend([slice(None)] * (max(np.ndim(it), 1) if mask else 1))
            second.append(it)
    return tuple(first), tuple(second)


def _validate(x: Array, items: tuple[Any, ...]) -> tuple[int, ...] | None:
    """Raise NumPy's own error for an invalid index (out of bounds, too many indices, a
    zero step, a mask of another shape, ...), in NumPy's order: NumPy indexes a
    zero-stride view of x's shape (free for basic indices; index arrays cost one bool
    per selected element). Keys holding brickwork arrays are checked where they are used.
    Returns NumPy's ``x[items].shape`` (None for keys holding brickwork arrays)."""
    if any(isinstance(it, Array) for it in items):
        return None
    return np.shape(np.broadcast_to(np.empty((), dtype=bool), x.shape)[items])


@array_method("__getitem__")
def getitem(x: Array, index: Any) -> Array:
    """``x[index]`` with NumPy's rules (basic, one array along an axis, several arrays,
    N-d arrays, boolean masks) and lazy brickwork indices (see ``unknown``)."""
    items = tuple(_as_index(it) for it in (index if isinstance(index, tuple) else (index,)))
    _validate(x, items)
    if any(_is_bool_scalar(it) for it in items):
        first, second = _bool_scalar_keys(items)
        return getitem(getitem(x, first), second)
    if any(isinstance(it, Array) for it in items):
        return lazy_index(x, items)
    arrays = [it for it in items if _is_array(it)]
    if arrays:
        ints = any(isinstance(it, int | np.integer) and not isinstance(it, bool) for it in items)
        if len(arrays) == 1 and np.ndim(arrays[0]) == 1 and not ints:
            basic, axis, positions = split_array_index(items, x.shape)
            return take(getitem(x, basic), positions, axis=axis)
        return _numpy_advanced(x, items)
    entries = normalize_index(index, x.shape)
    if all(isinstance(e, slice) and e == slice(None) for e in entries):
        return x
    return Array(_core.getitem(x._expr, entries), "getitem")


def _numpy_advanced(x: Array, items: tuple[Any, ...]) -> Array:
    """NumPy's advanced indexing: the index arrays (and ints) broadcast together; their
    dimensions replace the indexed axes where the arrays are adjacent, else go first."""
    expanded: list[Any] = []
    for it in _expand_ellipsis(items, x.ndim):
        if isinstance(it, np.ndarray | list | tuple) and np.asarray(it).dtype == bool:
            mask = np.asarray(it)
            expanded.extend(np.nonzero(mask) if mask.ndim else [np.flatnonzero(mask)])
        else:
            expanded.append(it)
    advanced = [
        i
        for i, it in enumerate(expanded)
        if _is_array(it) or isinstance(it, int | np.integer) and not isinstance(it, bool)
    ]
    adjacent = advanced == list(range(advanced[0], advanced[-1] + 1))
    basic = tuple(slice(None) if i in advanced else it for i, it in enumerate(expanded))
    y = getitem(x, basic)
    # Every item of `basic` is a slice or None, so item i indexes axis i of y.
    points = {i: expanded[i] for i in advanced}
    out = vindex(y, points)
    if not adjacent:
        return out
    nb = out.ndim - (y.ndim - len(points))
    first = min(points)
    return moveaxis(out, list(range(nb)), list(range(first, first + nb)))


def _pick(block: np.ndarray, local: tuple[np.ndarray, ...]) -> np.ndarray:
    return block[local]


def vindex(x: Array, points: dict[int, Any]) -> Array:
    """Pointwise selection: ``points`` maps axes of ``x`` to index arrays that broadcast
    together to shape B. The result has shape ``B + (the other axes of x, in order)``.

    Raises
    ------
    IndexError
        An index out of bounds, a non-integer index, or arrays that do not broadcast.
    """
    axes = sorted(points)
    try:
        arrays = np.broadcast_arrays(*(np.asarray(points[a]) for a in axes))
    except ValueError:
        shapes = " ".join(str(np.shape(points[a])) for a in axes)
        raise IndexError(
            f"shape mismatch: indexing arrays could not be broadcast together with shapes {shapes}"
        ) from None
    bshape = arrays[0].shape
    flat = [_int_positions(arr.ravel(), x.shape[a], a) for a, arr in zip(axes, arrays)]
    rest = [a for a in range(x.ndim) if a not in points]
    xt = transpose(x, tuple(axes + rest)) if axes + rest != list(range(x.ndim)) else x
    rest_shape = tuple(x.shape[a] for a in rest)
    if not flat[0].size:
        return zeros(bshape + rest_shape, dtype=x.dtype)
    bounds = [np.cumsum((0,) + x.chunks[a]) for a in axes]
    coords = [np.searchsorted(b, f, side="right") - 1 for b, f in zip(bounds, flat)]
    block_ids = np.ravel_multi_index(coords, tuple(len(x.chunks[a]) for a in axes))
    order = np.argsort(block_ids, kind="stable")
    starts = np.unique(block_ids[order], return_index=True)[1]
    ends = np.append(starts[1:], len(order))
    pieces = []
    for start, end in zip(starts, ends):
        sel = order[start:end]
        where = [int(c[sel[0]]) for c in coords]
        view = xt[tuple(slice(b[w], b[w + 1]) for b, w in zip(bounds, where))]
        local = tuple(f[sel] - b[w] for f, b, w in zip(flat, bounds, where))
        pieces.append(
            map_blocks(
                _pick,
                view,
                local,
                chunks=((len(sel),),) + view.chunks[len(axes) :],
                drop_axis=list(range(1, len(axes))),
                dtype=x.dtype,
                name="vindex",
            )
        )
    out = pieces[0] if len(pieces) == 1 else concatenate(pieces, axis=0)
    if np.any(order[1:] < order[:-1]):
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        out = take(out, inverse, axis=0)
    if len(bshape) != 1:
        out = reshape(out, bshape + rest_shape)
    return out


@array_method("vindex")
class VIndex:
    """``x.vindex[...]``: pointwise indexing with broadcasting, as Dask's ``vindex``.

    Integer arrays (and ints) broadcast together; the result has their broadcast shape
    followed by the axes indexed with slices, in order.
    """

    __slots__ = ("_array",)

    def __init__(self, array: Array) -> None:
        self._array = array

    def __getitem__(self, index: Any) -> Array:
        x = self._array
        items = index if isinstance(index, tuple) else (index,)
        if any(it is None for it in items):
            raise IndexError(f"vindex does not support indexing with None (np.newaxis), got {index}")
        if any(isinstance(it, Array) for it in items):
            raise IndexError(
                "vindex does not support indexing with brickwork arrays; compute the index "
                "first (np.asarray(index))"
            )
        expanded = _expand_ellipsis(items, x.ndim)
        arrays = [i for i, it in enumerate(expanded) if not isinstance(it, slice)]
        if not arrays:
            if all(s.indices(n) == (0, n, 1) for s, n in zip(expanded, x.shape)):
                return x
            raise IndexError(
                "vindex requires at least one non-slice to vectorize over when the slices "
                f"are not over the entire array (i.e, x[:]). Got: {index}"
            )
        basic = tuple(slice(None) if i in arrays else it for i, it in enumerate(expanded))
        y = getitem(x, basic)
        points = {}
        for i in arrays:
            it = expanded[i]
            if isinstance(it, np.ndarray | list | tuple) and np.asarray(it).dtype == bool:
                raise IndexError("vindex does not support boolean arrays; use np.nonzero(mask)")
            points[i] = it if _is_array(it) else operator.index(it)
        return vindex(y, points)


# --------------------------------------------------------------------------- assignment


def _region(x: Array, key: Any) -> tuple[list[np.ndarray | None], list[int]]:
    """For a basic / 1-d array key: per axis the positions it selects (None for the whole
    axis), and the axes indexed by an int (which ``x[key]`` drops)."""
    items = key if isinstance(key, tuple) else (key,)
    if any(it is None for it in items):
        raise IndexError("assignment with None (np.newaxis) in the index is not supported")
    positions: list[np.ndarray | None] = []
    dropped: list[int] = []
    for axis, (it, n) in enumerate(zip(_expand_ellipsis(items, x.ndim), x.shape)):
        if isinstance(it, slice):
            r = range(*it.indices(n))
            whole = (r.start, r.stop, r.step) == (0, n, 1)
            positions.append(None if whole else np.arange(r.start, r.stop, r.step))
        elif isinstance(it, np.ndarray | list | tuple):
            arr = np.asarray(it)
            if arr.ndim != 1:
                raise NotImplementedError(
                    "assignment with multi-dimensional index arrays is not supported"
                )
            if arr.dtype == bool:
                if len(arr) != n and len(arr):  # an empty mask assigns nothing, as NumPy
                    raise IndexError(
                        f"boolean index did not match indexed array along axis {axis}; size of "
                        f"axis is {n} but size of corresponding boolean axis is {len(arr)}"
                    )
                arr = np.flatnonzero(arr)
            positions.append(_int_positions(arr, n, axis))
        else:
            try:
                i = operator.index(it)
            except TypeError:
                raise IndexError(
                    "only integers, slices (`:`), ellipsis (`...`) and integer or boolean "
                    "arrays are valid indices"
                ) from None
            positions.append(_int_positions(np.array([i]), n, axis))
            dropped.append(axis)
    return positions, dropped


def _cast_value(value: Any, dtype: np.dtype, checked: bool = True) -> Any:
    """The assigned value in the array's dtype, as NumPy casts it on assignment (unsafe
    casting; a Python integer out of the dtype's range raises OverflowError). Casting
    first keeps the rest of the array exact: promoting it with the value would round
    large int64 / uint64 elements that are not assigned."""
    if isinstance(value, Array):
        return value.astype(dtype)
    if checked and isinstance(value, np.integer | np.floating) and dtype.kind == "i":
        # Through basic indices NumPy 2 converts a NumPy scalar into a signed integer
        # array as the Python number: out of range, infinite or NaN is an error. Into
        # unsigned arrays it casts unchecked.
        value = value.item()
    if not checked and isinstance(value, np.integer):
        return np.asarray(value).astype(dtype)  # through index arrays: cast unsafely
    return np.asarray(value, dtype=dtype)


def _check_broadcast(v: Any, target: tuple[int, ...]) -> Any:
    """``v`` fitted to ``target`` as NumPy fits an assigned value: leading axes of
    length one beyond the target's dropped, then broadcast; ValueError otherwise."""
    while v.ndim > len(target) and v.shape[0] == 1:
        v = v[0]
    try:
        if np.broadcast_shapes(v.shape, target) == target:
            return v
    except ValueError:
        pass
    raise ValueError(f"could not broadcast input array from shape {v.shape} into shape {target}")


@array_method("__setitem__")
def setitem(x: Array, key: Any, value: Any) -> Array:
    """The array ``x`` with ``x[key] = value`` applied, as a new lazy array.

    ``key`` is basic indices with at most one 1-d integer / boolean array per axis, a
    NumPy boolean mask of x's shape (``value`` broadcasts to the selected elements, as
    NumPy), or a brickwork boolean mask of x's shape (``value`` broadcasts to x's shape,
    as Dask). Scalar ``True`` / ``False`` index as NumPy (a new axis of length 1 / 0).
    The value is cast to x's dtype first, as NumPy does, so elements outside the
    region keep their exact values. With duplicate integer positions the last value
    wins, as in NumPy.

    Raises
    ------
    ValueError
        A value that does not broadcast to the region.
    OverflowError
        A Python integer value out of range for x's dtype.
    IndexError
        An index out of bounds or of the wrong type.
    """
    items = tuple(_as_index(it) for it in (key if isinstance(key, tuple) else (key,)))
    basic = not any(
        isinstance(it, Array | np.ndarray | list | tuple) or _is_bool_scalar(it) for it in items
    )
    mask_key = len(items) == 1 and isinstance(items[0], np.ndarray) and items[0].dtype == bool
    if mask_key:
        # NumPy converts the value before it checks a boolean mask.
        _cast_value(value, x.dtype, checked=basic)
    target = _validate(x, items)  # otherwise the key's errors come first, as NumPy's
    element = len(items) == x.ndim and all(
        isinstance(it, int | np.integer) and not _is_bool_scalar(it) for it in items
    )
    depth = value.ndim if isinstance(value, Array) else np.ndim(value)
    if target is not None and (
        (element and depth) or (isinstance(value, list | tuple) and depth > len(target))
    ):
        # One element takes a scalar; a sequence is not deeper than the region (NumPy
        # drops leading axes of length one of arrays only).
        raise ValueError("setting an array element with a sequence.")
    if any(_is_bool_scalar(it) for it in items):
        return _setitem_bool_scalars(x, items, value)
    key = items if isinstance(key, tuple) else items[0]
    v = _cast_value(value, x.dtype, checked=basic)
    if isinstance(key, Array):
        if key.dtype != bool:
            raise IndexError(
                "assignment with a brickwork array as the index needs a boolean mask of the "
                f"array's shape, got dtype {key.dtype}; compute integer positions first"
            )
        if key.shape != x.shape:
            raise IndexError(
                f"boolean index did not match indexed array; shape of array is {x.shape} but "
                f"shape of boolean index is {key.shape}"
            )
        return where(key, _check_broadcast(v, x.shape), x)
    if isinstance(key, np.ndarray) and key.dtype == bool and key.ndim == x.ndim:
        return _setitem_numpy_mask(x, key, v)
    if len(items) == 1 and isinstance(items[0], np.ndarray | list | tuple):
        # A mask given as a list of bools, or alone in a tuple, is still a mask (NumPy's
        # rules: one value per True, and a 0 or 1-d value only).
        mask = np.asarray(items[0])
        if mask.dtype == bool and mask.ndim == x.ndim:
            return _setitem_numpy_mask(x, mask, v)
    arrays = [np.asarray(it) for it in items if isinstance(it, np.ndarray | list | tuple)]
    ints = any(isinstance(it, int | np.integer) for it in items)
    if len(arrays) > 1 or any(a.ndim != 1 for a in arrays) or (arrays and ints):
        # Several index arrays (broadcast together, pointwise), N-d ones, or an array
        # beside an int (an advanced group whose axes may go first): NumPy's layout.
        return _setitem_points(x, items, v)
    return _setitem_region(x, key, v)


def _setitem_points(x: Array, items: tuple[Any, ...], v: Any) -> Array:
    """``x[items] = v`` for any NumPy index, through the flat positions it selects.

    NumPy itself indexes zero-stride coordinate views of x's shape with ``items``, so
    every rule (broadcast index arrays, where their axes go, ints, masks, None) is
    NumPy's; the positions and their place in the value cost memory of the region's size,
    and the spread of the value one int64 per element of x.
    """
    coords = []
    for a, n in enumerate(x.shape):
        along = np.arange(n).reshape((n,) + (1,) * (x.ndim - a - 1))
        coords.append(np.broadcast_to(along, x.shape)[items])
    region = coords[0].shape if coords else np.empty(())[items].shape
    v = _check_broadcast(v, region)
    flat = np.ravel_multi_index([c.ravel() for c in coords], x.shape) if coords else None
    if flat is None or flat.size == 0:
        return x if flat is not None else where(True, v, x)
    hit = np.zeros(x.size, dtype=bool)
    hit[flat] = True
    inside = from_array(hit.reshape(x.shape), chunks=x.chunks)
    if v.ndim == 0:
        return where(inside, v, x)
    spread = np.zeros(x.size, dtype=np.int64)
    spread[flat] = np.arange(flat.size)  # the last of duplicate positions wins, as NumPy
    v = v if isinstance(v, Array) else from_array(v)
    values = reshape(broadcast_to(v, region), (flat.size,))
    return where(inside, reshape(take(values, spread, axis=0), x.shape), x)


def _setitem_bool_scalars(x: Array, items: tuple[Any, ...], value: Any) -> Array:
    """``x[items] = value`` where ``items`` holds scalar booleans: ``False`` assigns
    nothing; ``True`` assigns the region of the other items, with the value broadcast
    to NumPy's ``x[items].shape`` (the region with axes of length 1 inserted)."""
    target = getitem(x, items).shape
    # A scalar bool is an advanced index: the value is cast unsafely, as NumPy does.
    v = _check_broadcast(_cast_value(value, x.dtype, checked=False), target)
    if not all(bool(it) for it in items if _is_bool_scalar(it)):
        return x
    rest = tuple(it for it in items if not _is_bool_scalar(it))
    region = getitem(x, rest).shape
    if v.ndim:
        v = v if isinstance(v, Array) else from_array(v)
        v = reshape(broadcast_to(v, target), region)
    return setitem(x, rest, v)


def _setitem_numpy_mask(x: Array, mask: np.ndarray, v: Any) -> Array:
    """``x[mask] = v`` for a NumPy mask of x's shape: as NumPy, ``v`` broadcasts to the
    masked elements in C order (a scalar, one value, or one value per True)."""
    if mask.size == 0:
        return x  # an empty mask (NumPy allows it on an axis of length one) assigns nothing
    if mask.shape != x.shape:
        raise IndexError(
            f"boolean index did not match indexed array; shape of array is {x.shape} but "
            f"shape of boolean index is {mask.shape}"
        )
    positions = np.flatnonzero(mask)
    count = len(positions)
    if v.ndim > 1:
        raise TypeError(
            "NumPy boolean array indexing assignment requires a 0 or 1-dimensional input, "
            f"input has {v.ndim} dimensions"
        )
    if count == 0 and v.size <= 1:
        return x  # nothing selected: an empty (or single) value assigns nothing
    if v.ndim == 0 or v.shape == (1,):
        return where(from_array(mask, chunks=x.chunks), v.reshape(()) if v.ndim else v, x)
    if v.ndim != 1 or len(v) != count:
        raise ValueError(
            f"NumPy boolean array indexing assignment cannot assign {v.size} input values to "
            f"the {count} output values where the mask is true"
        )
    spread = np.zeros(mask.size, dtype=np.int64)
    spread[positions] = np.arange(count)
    v = v if isinstance(v, Array) else from_array(v)
    spread_v = take(v, spread, axis=0)
    if x.ndim != 1:
        spread_v = reshape(spread_v, x.shape)
    return where(from_array(mask, chunks=x.chunks), spread_v, x)


def _setitem_region(x: Array, key: Any, v: Any) -> Array:
    """``x[key] = v`` for basic indices with at most one 1-d array per axis; ``v`` is
    already in x's dtype."""
    positions, dropped = _region(x, key)
    region = tuple(
        n if p is None else len(p)
        for a, (n, p) in enumerate(zip(x.shape, positions))
        if a not in dropped
    )
    v = _check_broadcast(v, region)
    if any(p is not None and len(p) == 0 for p in positions):
        return x  # an empty region: nothing is assigned
    if v.ndim:
        v = v if isinstance(v, Array) else from_array(v)
        v = broadcast_to(v, region) if v.shape != region else v
        if dropped:
            v = v[tuple(None if a in dropped else slice(None) for a in range(x.ndim))]
        for axis, pos in enumerate(positions):
            if pos is not None:
                spread = np.zeros(x.shape[axis], dtype=np.int64)
                spread[pos] = np.arange(len(pos))
                v = take(v, spread, axis=axis)
    else:
        v = v[()]
    inside: Array | bool = True
    for axis, pos in enumerate(positions):
        if pos is None:
            continue
        hit = np.zeros(x.shape[axis], dtype=bool)
        hit[pos] = True
        along = from_array(hit, chunks=(x.chunks[axis],))
        along = along[(slice(None),) + (None,) * (x.ndim - axis - 1)]
        inside = along if inside is True else inside & along
    return where(inside, v, x).astype(x.dtype)


@array_method("blocks")
class BlockView:
    """``x.blocks[...]``: the array made of the selected blocks, as Dask's ``blocks``.

    Index the grid of blocks with ints, slices and integer lists per axis; the axes are
    kept (``x.blocks[0]`` is the first row of blocks) and the chunks are the selected
    blocks' chunks.
    """

    __slots__ = ("_array",)

    def __init__(self, array: Array) -> None:
        self._array = array

    def __getitem__(self, index: Any) -> Array:
        x = self._array
        items = index if isinstance(index, tuple) else (index,)
        if any(it is None for it in items):
            raise IndexError("blocks does not support indexing with None (np.newaxis)")
        out = x
        for axis, it in enumerate(_expand_ellipsis(items, x.ndim)):
            nb = len(x.chunks[axis])
            grid = np.arange(nb)
            try:
                chosen = np.atleast_1d(grid[it])
            except IndexError as error:
                raise IndexError(f"{error} (blocks along axis {axis})") from None
            bounds = np.cumsum((0,) + x.chunks[axis])
            if len(chosen) and np.all(np.diff(chosen) == 1):
                cut = slice(int(bounds[chosen[0]]), int(bounds[chosen[-1] + 1]))
                out = out[(slice(None),) * axis + (cut,)]
            elif not (isinstance(it, slice) and it == slice(None)):
                ranges = [np.arange(bounds[b], bounds[b + 1]) for b in chosen]
                positions = np.concatenate(ranges) if ranges else np.array([], dtype=np.int64)
                sizes = tuple(x.chunks[axis][b] for b in chosen)
                out = rechunk(take(out, positions, axis=axis), {axis: sizes})
        return out
