"""User functions over blocks: ``map_blocks`` and ``blockwise``.

Both are planned as one engine callback stage (``_core.map_blocks``), whose task ``i``
hands block ``i`` of every engine input to a Python function. The engine's grid has one
axis per index label: the output's labels first, then the *contracted* labels (those of
inputs that the output lacks). An input is arranged on that grid by free views: its
contracted axes are gathered into one chunk (a rechunk), its axes are transposed into
the grid's order and missing labels become axes of length one. The engine broadcasts
the inputs and unifies their chunks; the wrapper here gives the function each input's
own block back (broadcast axes cut to length one, the input's axis order) and gives
the engine the result with a length-one axis per contracted label, indexed away after.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork._callables import funcname
from brickwork import _core, config
from brickwork._runner import active_pool
from brickwork.array._dispatch import array_method
from brickwork.array.core import Array, as_array

__all__ = ["apply_blocks", "blockwise", "map_blocks", "map_blocks_with"]

Label = Hashable
Chunks = tuple[tuple[int, ...], ...]


def _accepts(func: Callable[..., Any], name: str) -> bool:
    """Whether ``func`` names the parameter ``name`` (Dask's ``has_keyword``: a
    ``**kwargs`` catch-all does not count)."""
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


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


def _offsets(sizes: Sequence[int]) -> list[int]:
    return [0, *accumulate(sizes)]


def _refine(chunkings: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The common refinement of chunkings of one length (every boundary of each)."""
    bounds = sorted({b for c in chunkings for b in _offsets(c)})
    return tuple(b - a for a, b in zip(bounds, bounds[1:])) or chunkings[0]


def _split(block: np.ndarray, axes: list[tuple[int, tuple[int, ...]]]) -> Any:
    """``block`` cut into nested lists of pieces along ``axes`` ((axis, sizes) pairs)."""
    if not axes:
        return block
    (axis, sizes), rest = axes[0], axes[1:]
    bounds = _offsets(sizes)
    return [
        _split(block[(slice(None),) * axis + (slice(a, b),)], rest)
        for a, b in zip(bounds, bounds[1:])
    ]


@dataclass
class _Input:
    """An array argument: its position among the arguments, the array and its labels."""

    pos: int
    array: Array
    ind: tuple[Label, ...]
    select: tuple[Any, ...] = ()
    order: tuple[int, ...] = ()
    pieces: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    trivial: bool = True

    def block(self, engine_block: np.ndarray) -> Any:
        """The function's argument for one engine block."""
        if self.trivial:
            return engine_block
        b = engine_block[self.select]
        if self.order != tuple(range(b.ndim)):
            b = b.transpose(self.order)
        return _split(b, self.pieces) if self.pieces else b


def _adjust(chunks: tuple[int, ...], spec: Any, axis: int) -> tuple[int, ...]:
    """Dask's ``adjust_chunks`` entry: a callable of the size, a size for every block,
    or explicit sizes (one per block)."""
    if callable(spec):
        return tuple(int(spec(c)) for c in chunks)
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        return (int(spec),) * len(chunks)
    if isinstance(spec, tuple | list):
        if len(spec) != len(chunks):
            raise ValueError(
                f"Dimension {axis} has {len(chunks)} blocks, chunks specified with "
                f"{len(spec)} blocks (output block i is computed from input block i, so "
                "the blocks per axis must match)"
            )
        return tuple(int(c) for c in spec)
    raise NotImplementedError("adjust_chunks values must be callable, int, or tuple")


def _carrier(shape: tuple[int, ...]) -> _core.Expr:
    """A bool array of ``shape`` (broadcast from one value) in chunks of one element."""
    limit = config.get("chunk_size")
    one = _core.from_numpy(np.zeros((), bool), (), limit)
    return _core.rechunk(_core.broadcast_to(one, shape), 1, limit)


def _probe(*_: Any) -> None:  # never called: only the planned grid is read
    raise AssertionError("the probe expression is never computed")


def apply_blocks(
    func: Callable[..., Any],
    out_ind: Sequence[Label],
    args: Sequence[Any],
    inds: Sequence[Sequence[Label] | None],
    *,
    dtype: Any,
    name: str,
    kwargs: dict[str, Any] | None = None,
    new_axes: dict[Label, Any] | None = None,
    adjust_chunks: dict[Label, Any] | None = None,
    concatenate: bool = True,
    block_id: bool = False,
    block_info: bool = False,
    enforce_ndim: bool = False,
    post: Callable[[np.ndarray, tuple[int, ...]], Any] | None = None,
    post_chunks: Callable[[Chunks], Chunks] | None = None,
) -> Array:
    """The engine of ``blockwise`` and ``map_blocks`` (see the module docstring).

    ``args`` are the function's positional arguments; ``inds[i]`` is the index labels
    of ``args[i]`` if it is an array, else None. ``dtype`` None infers it. ``post``
    (given the function's result and the output block id) and ``post_chunks`` (given
    the output chunks, returning the chunks after ``post``) let ``map_overlap`` trim
    inside the same task; ``block_info[None]`` describes the chunks before ``post``.
    """
    out_ind = tuple(out_ind)
    kwargs = dict(kwargs or {})
    if len(set(out_ind)) != len(out_ind):
        repeated = sorted({str(k) for k in out_ind if out_ind.count(k) > 1})
        raise ValueError("Repeated elements not allowed in output index", repeated)
    news = {
        k: tuple(int(c) for c in v) if isinstance(v, tuple | list) else (int(v),)
        for k, v in (new_axes or {}).items()
    }
    args = list(args)
    inputs: list[_Input] = []
    for pos, (arg, ind) in enumerate(zip(args, inds, strict=True)):
        if ind is None:
            continue
        arr = as_array(arg)
        ind = tuple(ind)
        if arr.ndim != len(ind):
            raise ValueError(f"Index string {ind} does not match array dimension {arr.ndim}")
        if len(set(ind)) != len(ind):
            raise NotImplementedError(f"an index repeated within one argument: {ind}")
        inputs.append(_Input(pos, arr, ind))
        args[pos] = arr
    unknown = set(out_ind) - {k for inp in inputs for k in inp.ind} - set(news)
    if unknown:
        raise ValueError("Unknown dimension", unknown)
    contracted = list(
        dict.fromkeys(k for inp in inputs for k in inp.ind if k not in out_ind and k not in news)
    )
    labels = [*out_ind, *contracted]
    sizes: dict[Label, set[int]] = {}
    chunkings: dict[Label, list[tuple[int, ...]]] = {}
    for inp in inputs:
        for k, n, c in zip(inp.ind, inp.array.shape, inp.array.chunks):
            sizes.setdefault(k, set()).add(n)
            if n != 1:
                chunkings.setdefault(k, []).append(c)
    for k, found in sizes.items():
        if len(found - {1}) > 1:
            raise ValueError(f"Dimension {k!r} with different lengths in arrays: {sorted(found)}")

    # Arrange every input on the engine's grid (free views).
    exprs: list[_core.Expr] = []
    need_carrier = not inputs or any(len(news[k]) > 1 for k in out_ind if k in news)
    if need_carrier:
        exprs.append(_carrier(tuple(len(news[k]) if k in news else 1 for k in labels)))
    for inp in inputs:
        x = inp.array
        gather = {j: -1 for j, k in enumerate(inp.ind) if k in contracted and x.numblocks[j] > 1}
        if gather:
            x = x.rechunk(gather)
        own = [k for k in labels if k in inp.ind]
        x = x.transpose(tuple(inp.ind.index(k) for k in own))
        if len(own) < len(labels):
            x = x[tuple(slice(None) if k in inp.ind else None for k in labels)]
        exprs.append(x._expr)
    grid = _core.map_blocks(_probe, "probe", exprs, "bool", None, config.get("chunk_size")).chunks
    engine_size = [sum(c) for c in grid]

    # The function's view of each input's engine block.
    for inp in inputs:
        own = [k for k in labels if k in inp.ind]
        select = []
        for e, k in enumerate(labels):
            if k not in inp.ind:
                select.append(0)
            elif inp.array.shape[inp.ind.index(k)] == 1 and engine_size[e] != 1:
                select.append(slice(0, 1))
            else:
                select.append(slice(None))
        inp.select = tuple(select)
        inp.order = tuple(own.index(k) for k in inp.ind)
        if not concatenate:
            inp.pieces = [
                (j, _refine(chunkings[k]) if k in chunkings else (inp.array.shape[j],))
                for j, k in enumerate(inp.ind)
                if k in contracted
            ]
        inp.trivial = (
            all(isinstance(s, slice) and s == slice(None) for s in inp.select)
            and inp.order == tuple(range(len(inp.ind)))
            and not inp.pieces
        )

    out_chunks = []
    for i, k in enumerate(out_ind):
        c = news[k] if k in news else grid[i]
        if adjust_chunks and k in adjust_chunks:
            c = _adjust(c, adjust_chunks[k], i)
        out_chunks.append(tuple(c))
    info_chunks: Chunks = tuple(out_chunks)
    final_chunks = post_chunks(info_chunks) if post_chunks is not None else info_chunks
    if dtype is None:
        dtype = _infer_dtype(func, args, kwargs) if inputs else np.dtype(float)
    out_dtype = np.dtype(dtype)
    nout, ncon = len(out_ind), len(contracted)
    info = _block_info_maker(inputs, labels, contracted, grid, engine_size, info_chunks, out_dtype)

    def call(engine_id: tuple[int, ...], *blocks: np.ndarray) -> np.ndarray:
        if need_carrier:
            blocks = blocks[1:]
        call_args = list(args)
        for inp, b in zip(inputs, blocks):
            call_args[inp.pos] = inp.block(b)
        out_id = tuple(engine_id[:nout])
        kw = kwargs
        if block_id or block_info:
            kw = dict(kwargs)
            if block_id:
                kw["block_id"] = out_id
            if block_info:
                kw["block_info"] = info(engine_id)
        pool = active_pool()
        out = func(*call_args, **kw) if pool is None else pool.apply(func, call_args, kw)
        if enforce_ndim and getattr(out, "ndim", 0) != nout:
            raise ValueError(
                f"Dimension mismatch: expected output of {func} to have dims = {nout}.  "
                f"Got {getattr(out, 'ndim', 0)} instead."
            )
        if post is not None:
            out = post(out, out_id)
        # Any strides: the engine copies the block from them (a trimmed view needs no
        # copy here). np.asarray, not ascontiguousarray: that makes 0-d results 1-d.
        result = np.asarray(out, dtype=out_dtype)
        return result.reshape(result.shape + (1,) * ncon) if ncon else result

    engine_chunks = tuple(final_chunks) + ((1,),) * ncon
    expr = _core.map_blocks(
        call, name, exprs, out_dtype.name, engine_chunks, config.get("chunk_size")
    )
    out = Array(expr, name)
    return Array(out[(slice(None),) * nout + (0,) * ncon]._expr, name) if ncon else out


def _block_info_maker(
    inputs: list[_Input],
    labels: list[Label],
    contracted: list[Label],
    grid: Chunks,
    engine_size: list[int],
    out_chunks: Chunks,
    dtype: np.dtype,
) -> Callable[[tuple[int, ...]], dict[Any, Any]]:
    """A function of the engine block id giving Dask's ``block_info`` dictionary."""
    starts = [_offsets(c) for c in grid]
    out_starts = [_offsets(c) for c in out_chunks]
    out_shape = tuple(sum(c) for c in out_chunks)
    out_numblocks = tuple(len(c) for c in out_chunks)

    def info(engine_id: tuple[int, ...]) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for inp in inputs:
            num, loc, where = [], [], []
            for j, k in enumerate(inp.ind):
                n = inp.array.shape[j]
                e = labels.index(k)
                if k in contracted or (n == 1 and engine_size[e] != 1):
                    num.append(1)
                    loc.append(0)
                    where.append((0, n))
                else:
                    b = engine_id[e]
                    num.append(len(grid[e]))
                    loc.append(b)
                    where.append((starts[e][b], starts[e][b + 1]))
            result[inp.pos] = {
                "shape": inp.array.shape,
                "num-chunks": tuple(num),
                "chunk-location": tuple(loc),
                "array-location": where,
            }
        out_id = tuple(engine_id[: len(out_chunks)])
        result[None] = {
            "shape": out_shape,
            "num-chunks": out_numblocks,
            "chunk-location": out_id,
            "array-location": [
                (out_starts[i][b], out_starts[i][b + 1]) for i, b in enumerate(out_id)
            ],
            "chunk-shape": tuple(out_chunks[i][b] for i, b in enumerate(out_id)),
            "dtype": dtype,
        }
        return result

    return info


def _axes_list(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, numbers.Integral):
        return [int(value)]
    return [int(v) for v in value]


def _explicit_chunks(chunks: Any, shape: tuple[int, ...], dtype: np.dtype) -> Any:
    """Dask's ``chunks`` argument of ``map_blocks`` (per axis: a size for every block or
    one size per block); other chunk specs (an int, "auto", -1, a dict) are resolved
    against ``shape`` as elsewhere in brickwork."""
    if isinstance(chunks, tuple | list) and all(
        isinstance(c, tuple | list)
        or (isinstance(c, numbers.Integral) and not isinstance(c, bool) and c >= 0)
        for c in chunks
    ):
        return tuple(tuple(c) if isinstance(c, tuple | list) else int(c) for c in chunks)
    return _core.normalize_chunks(chunks, shape, dtype.name, config.get("chunk_size"))


@array_method()
def map_blocks(
    func: Callable[..., Any],
    *args: Any,
    name: str | None = None,
    token: str | None = None,
    dtype: Any = None,
    chunks: Any = None,
    drop_axis: Any = None,
    new_axis: Any = None,
    enforce_ndim: bool = False,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """Apply ``func`` to every block, as ``dask.array.map_blocks``.

    Output block ``i`` is ``func`` of block ``i`` of every array argument; other
    arguments (NumPy arrays included) are passed unchanged, as are ``kwargs``. Arrays
    broadcast against each other (aligned from the right) and their chunks are unified
    to the common refinement of their boundaries; each block keeps its array's own
    number of dimensions (a broadcast axis of length one stays of length one).

    Parameters
    ----------
    func : callable
        Called once per block. If it names a ``block_id`` parameter it receives the
        output block's grid coordinates; if it names ``block_info`` it receives Dask's
        dictionary: for each array argument (keyed by its position among the
        arguments) ``shape``, ``num-chunks``, ``chunk-location`` and
        ``array-location`` (a list of (start, stop) per axis) of the block it is given,
        and under the key None the same of the output block plus ``chunk-shape`` and
        ``dtype``.
    *args : Array or object
    dtype : dtype-like, optional
        The result's dtype; default: the dtype of ``func`` applied to empty blocks (or
        of ``meta``). Blocks are cast to it.
    chunks : tuple, optional
        The output's chunks when ``func`` changes block shapes: per output axis either
        one size (every block) or one size per block. Default: the inputs' unified
        chunks. Other chunk specs (an int, "auto", a dict) are resolved against the
        shape of the inputs.
    drop_axis : int or sequence of ints, optional
        Axes of the inputs that ``func`` removes. Each is gathered into one chunk first
        (a free view), so ``func`` sees the whole axis.
    new_axis : int or sequence of ints, optional
        Positions in the output of axes that ``func`` adds (after ``drop_axis`` is
        applied); of length one unless ``chunks`` says otherwise (a tuple of sizes
        makes several blocks, each computed from the same input blocks). Inferred on
        the left when ``chunks`` has more entries than the output would have.
    enforce_ndim : bool, default False
        Raise ValueError at compute time if ``func`` returns a result of another
        number of dimensions.
    name, token : str, optional
        A label for the operation (shown by ``repr`` and ``explain``).
    meta : array_like, optional
        Only its dtype is used, when ``dtype`` is not given.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array

    Raises
    ------
    TypeError
        If ``func`` is not callable, or no argument is an array and ``chunks`` is None.
    ValueError
        If ``chunks`` has a different number of dimensions or of blocks, or
        ``drop_axis`` / ``new_axis`` is out of range; at compute time, if a block comes
        back with the wrong shape. An exception raised by ``func`` propagates from
        ``compute``.

    Notes
    -----
    The function runs in the scheduler's threads holding the GIL, or in worker
    processes with ``compute(scheduler="processes")``. Unlike Dask, arrays of
    different shapes with the same number of blocks are not paired block by block:
    they must broadcast.
    """
    if not callable(func):
        raise TypeError(
            f"First argument must be callable function, not {type(func).__name__}\n"
            "Usage:   da.map_blocks(function, x)\n"
            "   or:   da.map_blocks(function, x, y, z)"
        )
    options = dict(name=name, token=token, dtype=dtype, chunks=chunks, meta=meta)
    return map_blocks_with(func, args, kwargs, drop_axis, new_axis, enforce_ndim, **options)


def map_blocks_with(
    func: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    drop_axis: Any = None,
    new_axis: Any = None,
    enforce_ndim: bool = False,
    *,
    name: str | None = None,
    token: str | None = None,
    dtype: Any = None,
    chunks: Any = None,
    meta: Any = None,
    trim: Callable[[list[Label]], tuple[Any, Any]] | None = None,
) -> Array:
    """``map_blocks`` with its arguments as values; ``trim``, given the output labels
    (input axis numbers, or ``("new", position)``), returns ``post`` and
    ``post_chunks`` for ``apply_blocks`` (``map_overlap`` trims in the same task)."""
    args = list(args)
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays and chunks is None:
        raise TypeError("map_blocks needs at least one brickwork array argument, or chunks=")
    ndim = max((a.ndim for a in arrays), default=0)
    drop = _axes_list(drop_axis)
    if any(not -ndim <= d < ndim for d in drop):
        raise ValueError(f"drop_axis out of range (drop_axis={drop_axis}, but output is {ndim}d).")
    drop = sorted({d % ndim for d in drop})
    out_ind: list[Label] = [k for k in range(ndim) if k not in drop]
    if dtype is None and meta is not None:
        dtype = getattr(meta, "dtype", None)
    if dtype is None:
        dtype = _infer_dtype(func, args, kwargs) if arrays else _infer_no_input(func, kwargs)
    out_dtype = np.dtype(dtype)
    if chunks is not None:
        shape = tuple(np.broadcast_shapes(*(a.shape for a in arrays))) if arrays else ()
        kept = tuple(n for i, n in enumerate(shape) if i not in drop)
        chunks = _explicit_chunks(chunks, kept, out_dtype)
    adds = _axes_list(new_axis)
    if new_axis is None and chunks is not None and len(out_ind) < len(chunks):
        adds = list(range(len(chunks) - len(out_ind)))
    new_axes: dict[Label, Any] = {}
    if adds:
        total = len(out_ind) + len(adds)
        positions = sorted(normalize_axis_index(a, total) for a in adds)
        if len(set(positions)) != len(positions):
            raise ValueError(f"repeated axis in new_axis: {new_axis}")
        for p in positions:
            out_ind.insert(p, ("new", p))
            new_axes[("new", p)] = 1
    adjust = None
    if chunks is not None:
        if len(chunks) != len(out_ind):
            raise ValueError(
                f"Provided chunks have {len(chunks)} dims; expected {len(out_ind)} dims"
            )
        adjust = dict(zip(out_ind, chunks))
        for k in new_axes:
            new_axes[k] = adjust[k]
    post, post_chunks = trim(out_ind) if trim is not None else (None, None)
    inds = [tuple(range(ndim - a.ndim, ndim)) if isinstance(a, Array) else None for a in args]
    return apply_blocks(
        func,
        out_ind,
        args,
        inds,
        dtype=out_dtype,
        name=name or token or funcname(func),
        kwargs=kwargs,
        new_axes=new_axes,
        adjust_chunks=adjust,
        concatenate=True,
        block_id=_accepts(func, "block_id"),
        block_info=_accepts(func, "block_info"),
        enforce_ndim=enforce_ndim,
        post=post,
        post_chunks=post_chunks,
    )


def _infer_no_input(func: Callable[..., Any], kwargs: dict[str, Any]) -> np.dtype:
    try:
        with np.errstate(all="ignore"):
            return np.asarray(func(**kwargs)).dtype
    except Exception as exc:  # noqa: BLE001 - reported as Dask does
        raise ValueError(
            "`dtype` inference failed in `map_blocks`.\n\n"
            "Please specify the dtype explicitly using the `dtype` kwarg.\n\n"
            f"Original error is below:\n------------------------\n{exc!r}"
        ) from exc


def _index(ind: Any) -> tuple[Label, ...] | None:
    if ind is None:
        return None
    if isinstance(ind, str):
        return tuple(ind)
    return tuple(ind)


def blockwise(
    func: Callable[..., Any],
    out_ind: Any,
    *args: Any,
    name: str | None = None,
    token: str | None = None,
    dtype: Any = None,
    adjust_chunks: dict[Label, Any] | None = None,
    new_axes: dict[Label, Any] | None = None,
    align_arrays: bool = True,
    concatenate: bool | None = None,
    meta: Any = None,
    **kwargs: Any,
) -> Array:
    """Apply ``func`` to tuples of blocks chosen by index labels, as
    ``dask.array.blockwise``.

    ``args`` alternate values and indices: an array with a label per axis (a string
    such as ``"ij"`` or a tuple of hashables), or any object with None (passed
    unchanged). Axes with the same label are aligned (chunks unified; length one
    broadcasts). The output has the axes ``out_ind``. A label of an input that is not
    in ``out_ind`` is *contracted*: with ``concatenate=True`` ``func`` receives the
    whole axis in one array, otherwise a list of the blocks along it (nested lists for
    several labels, in the argument's axis order).

    Parameters
    ----------
    func : callable
    out_ind : str or sequence of hashables
        The output's labels.
    *args
        ``(value, index)`` pairs.
    dtype : dtype-like, optional
        The result's dtype; default: that of ``func`` on empty blocks.
    adjust_chunks : dict, optional
        Label -> a function of each chunk size, one size for all blocks, or a tuple of
        sizes, for labels whose chunks ``func`` changes.
    new_axes : dict, optional
        Label -> length (one chunk) or tuple of chunk sizes, for output labels that no
        input has.
    concatenate : bool, optional
        See above. Default None: lists, as in Dask.
    align_arrays : bool, default True
        Accepted for Dask compatibility: chunks are always unified (for free).
    name, token : str, optional
        A label for the operation.
    meta : array_like, optional
        Only its dtype is used, when ``dtype`` is not given.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array

    Raises
    ------
    ValueError
        For repeated or unknown output labels, an index of the wrong length, labels
        whose lengths differ, or ``adjust_chunks`` with the wrong number of blocks.
    """
    if not callable(func):
        raise TypeError(f"blockwise needs a callable, got {type(func).__name__}")
    if len(args) % 2:
        raise ValueError("blockwise takes (value, index) pairs after out_ind")
    values = list(args[::2])
    inds = [_index(i) for i in args[1::2]]
    out = _index(out_ind)
    assert out is not None
    if dtype is None and meta is not None:
        dtype = getattr(meta, "dtype", None)
    if dtype is None and any(i is not None for i in inds):
        dtype = _infer_blockwise_dtype(func, out, values, inds, bool(concatenate), kwargs)
    return apply_blocks(
        func,
        out,
        values,
        inds,
        dtype=dtype,
        name=name or token or funcname(func),
        kwargs=kwargs,
        new_axes=new_axes,
        adjust_chunks=adjust_chunks,
        concatenate=bool(concatenate),
    )


def _infer_blockwise_dtype(
    func: Callable[..., Any],
    out_ind: tuple[Label, ...],
    values: list[Any],
    inds: list[tuple[Label, ...] | None],
    concatenate: bool,
    kwargs: dict[str, Any],
) -> np.dtype:
    samples = []
    first = None
    for v, ind in zip(values, inds):
        if ind is None:
            samples.append(v)
            continue
        dt = v.dtype if isinstance(v, Array) else np.asarray(v).dtype
        first = dt if first is None else first
        sample: Any = np.empty((0,) * len(ind), dt)
        if not concatenate:
            for _ in [k for k in ind if k not in out_ind]:
                sample = [sample]
        samples.append(sample)
    try:
        with np.errstate(all="ignore"):
            return np.asarray(func(*samples, **kwargs)).dtype
    except Exception:  # noqa: BLE001 - cannot infer: use the first array's dtype
        return np.dtype(first)
