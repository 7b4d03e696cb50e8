"""Generalized ufuncs over blocks: ``apply_gufunc`` and the ``gufunc`` / ``as_gufunc``
decorators, as ``dask.array.gufunc`` defines them.

The loop dimensions of the arguments are aligned, broadcast and split into blocks; the
core dimensions (NumPy's gufunc signature) are gathered into one chunk (a free view)
and the function runs once per block of the loop dimensions, through
``blockwise.apply_blocks``. A signature with several outputs runs the function once per
block as well: the outputs travel together as the bytes of one uint8 array.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Callable, Sequence
from functools import partial
from itertools import accumulate
from typing import Any

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from brickwork._callables import funcname
from brickwork.array.blockwise import apply_blocks
from brickwork.array.core import Array, as_array

__all__ = ["apply_gufunc", "as_gufunc", "gufunc"]


_DIMENSION_NAME = r"\w+"
_CORE_DIMENSION_LIST = f"(?:{_DIMENSION_NAME}(?:,{_DIMENSION_NAME})*,?)?"
_ARGUMENT = rf"\({_CORE_DIMENSION_LIST}\)"
_INPUT_ARGUMENTS = f"(?:{_ARGUMENT}(?:,{_ARGUMENT})*,?)?"
_OUTPUT_ARGUMENTS = f"{_ARGUMENT}(?:,{_ARGUMENT})*"
_SIGNATURE = f"^{_INPUT_ARGUMENTS}->{_OUTPUT_ARGUMENTS}$"


def _parse_signature(signature: str) -> tuple[list[tuple[str, ...]], Any]:
    """Input core dims (a list) and output core dims (a tuple for one output, a list
    of tuples for several), as Dask parses a gufunc signature."""
    signature = re.sub(r"\s+", "", signature)
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"Not a valid gufunc signature: {signature}")
    in_txt, out_txt = signature.split("->")
    ins = [tuple(re.findall(_DIMENSION_NAME, a)) for a in re.findall(_ARGUMENT, in_txt)]
    outs = [tuple(re.findall(_DIMENSION_NAME, a)) for a in re.findall(_ARGUMENT, out_txt)]
    return ins, (outs[0] if len(outs) == 1 and out_txt[-1] != "," else outs)


def _normalize_axes(
    axes: Any, axis: Any, keepdims: bool, ins: list[tuple[str, ...]], outs: list[tuple[str, ...]]
) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Dask's ``_validate_normalize_axes``: input and output axes of the core dims."""
    nin, nout = len(ins), len(outs)
    if axes is not None and axis is not None:
        raise ValueError("Only one of `axis` or `axes` keyword arguments should be given")
    if axes and not isinstance(axes, list):
        raise ValueError("`axes` has to be of type list")
    filtered = [cd for cd in ins if cd]
    with_core = sum(1 for cd in outs if cd)
    if keepdims:
        if with_core:
            raise ValueError("`keepdims` can only be used for scalar outputs")
        outs = [filtered[0]] * nout
    core_dims = ins + outs
    if axis is not None:
        if not isinstance(axis, int):
            raise ValueError("`axis` argument has to be an integer value")
        if filtered:
            if len(filtered[0]) != 1:
                raise ValueError("`axis` can be used only, if one core dimension is present")
            if any(cd != filtered[0] for cd in filtered):
                raise ValueError("To use `axis`, all core dimensions have to be equal")
    if axes is None:
        if axis is not None:
            axes = [(axis,) if cd else () for cd in core_dims]
        else:
            axes = [tuple(range(-len(cd), 0)) for cd in core_dims]
    axes = [(a,) if isinstance(a, int) else tuple(a) for a in axes]
    if (with_core == 0 and len(axes) not in (nin, nin + nout)) or (
        with_core > 0 and len(axes) != nin + nout
    ):
        raise ValueError(
            "The number of `axes` entries is not equal the number of input and output arguments"
        )
    out_axes = axes[nin:] or [tuple(range(-len(cd), 0)) for cd in outs]
    in_axes = axes[:nin]
    for i, (iax, cd) in enumerate(zip(in_axes, ins)):
        if len(iax) != len(cd):
            raise ValueError(
                f"The number of `axes` entries for argument #{i} is not equal the number of "
                "respective input core dimensions in signature"
            )
    if not keepdims:
        for i, (oax, cd) in enumerate(zip(out_axes, outs)):
            if len(oax) != len(cd):
                raise ValueError(
                    f"The number of `axes` entries for argument #{i} is not equal the number "
                    "of respective output core dimensions in signature"
                )
    elif ins:
        if any(cd != ins[0] for cd in ins):
            raise ValueError("To use `keepdims`, all core dimensions have to be equal")
        out_axes = [in_axes[0] for _ in outs]
    return in_axes, out_axes


def _infer_output_dtypes(func: Any, args: Sequence[Any], kwargs: dict[str, Any], nout: Any) -> Any:
    """Dask's ``apply_infer_dtype``: call ``func`` on arrays of ones of length one."""
    samples = [
        np.ones((1,) * a.ndim, a.dtype) if isinstance(a, Array | np.ndarray) else a for a in args
    ]
    try:
        with np.errstate(all="ignore"):
            out = func(*samples, **kwargs)
    except OverflowError:
        raise
    except Exception as exc:
        raise ValueError(
            "`dtype` inference failed in `apply_gufunc`.\n\n"
            "Please specify the dtype explicitly using the `output_dtypes` kwarg.\n\n"
            f"Original error is below:\n------------------------\n{exc!r}"
        ) from exc
    if nout is None:
        return np.asarray(out).dtype
    return tuple(np.asarray(o).dtype for o in out)


def apply_gufunc(
    func: Callable[..., Any],
    signature: str,
    *args: Any,
    axes: Any = None,
    axis: Any = None,
    keepdims: bool = False,
    output_dtypes: Any = None,
    output_sizes: dict[str, int] | None = None,
    vectorize: bool | None = None,
    allow_rechunk: bool = False,
    meta: Any = None,
    **kwargs: Any,
) -> Any:
    """Apply a generalized ufunc (or a Python function acting like one) to arrays, as
    ``dask.array.apply_gufunc``.

    ``signature`` (NumPy's, e.g. ``"(i),(i)->()"``) names the core dimensions each
    argument consumes and each output produces; the other (loop) dimensions broadcast
    and are split into blocks. Each block of the loop dimensions calls ``func`` once
    with whole core dimensions.

    Parameters
    ----------
    func : callable
        Vectorized over the loop dimensions (or use ``vectorize=True``).
    signature : str
    *args : Array, array_like or scalars
    axes : list of tuples, optional
        Positions of the core dimensions of each input and output (default: last).
    axis : int, optional
        Shortcut for one shared core dimension.
    keepdims : bool, default False
        Keep reduced core dimensions as length one (outputs without core dims only).
    output_dtypes : dtype or list of dtypes, optional
        Default: from ``func`` called on arrays of ones.
    output_sizes : dict, optional
        Lengths of output core dimensions that no input has.
    vectorize : bool, optional
        Wrap ``func`` in ``numpy.vectorize`` with the signature.
    allow_rechunk : bool, default False
        Gather core dimensions split into several chunks into one (a free view here);
        otherwise such input raises ValueError, as in Dask.
    meta : array or tuple of arrays, optional
        Only their dtypes are used.
    **kwargs
        Passed to ``func``.

    Returns
    -------
    Array or tuple of Array
        A tuple when the signature has several outputs (``func`` runs once per block
        for all of them).

    Raises
    ------
    ValueError
        For a bad signature, argument count or axes, dimensions of different lengths,
        or (without ``allow_rechunk``) a core dimension in several chunks or a loop
        dimension chunked differently in different arguments.
    """
    if not isinstance(signature, str):
        raise TypeError("`signature` has to be of type string")
    ins, outs = _parse_signature(signature)
    nout = None if not isinstance(outs, list) else len(outs)
    if meta is not None and output_dtypes is not None:
        raise ValueError(
            "Only one of `meta` and `output_dtypes` should be given (`meta` is preferred)."
        )
    if meta is not None:
        output_dtypes = (
            tuple(m.dtype for m in meta) if isinstance(meta, tuple | list) else meta.dtype
        )
    if output_dtypes is None:
        probe = np.vectorize(func, signature=signature) if vectorize else func
        output_dtypes = _infer_output_dtypes(probe, args, kwargs, nout)
    if nout is None and isinstance(output_dtypes, tuple | list):
        if len(output_dtypes) != 1:
            raise ValueError(
                "For a function with one output, must give a single item for "
                "`output_dtypes`/`meta`, not a tuple or list."
            )
        output_dtypes = output_dtypes[0]
    if nout is not None:
        if not isinstance(output_dtypes, tuple | list):
            raise ValueError(
                f"For a function with {nout} outputs, must give a tuple or list for "
                "`output_dtypes`/`meta`, not a single item."
            )
        if len(output_dtypes) != nout:
            raise ValueError(
                f"For a function with {nout} outputs, must give a tuple or list of {nout} "
                f"items for `output_dtypes`/`meta`, not {len(output_dtypes)}."
            )
    dtypes = [np.dtype(d) for d in (output_dtypes if nout else [output_dtypes])]
    if vectorize:
        func = np.vectorize(func, signature=signature, otypes=dtypes)
    out_core = outs if nout else [outs]
    in_axes, out_axes = _normalize_axes(axes, axis, keepdims, ins, out_core)
    arrays = [as_array(a) for a in args]
    if len(ins) != len(arrays):
        raise ValueError(
            f"According to `signature`, `func` requires {len(ins)} arguments, but "
            f"{len(arrays)} given"
        )
    # Core dimensions last.
    moved = []
    for a, iax in zip(arrays, in_axes):
        iax = tuple(normalize_axis_index(i, a.ndim) - a.ndim for i in iax)
        order = tuple(i for i in range(-a.ndim, 0) if i not in iax) + iax
        moved.append(a.transpose(tuple(i % a.ndim for i in order)) if a.ndim else a)
    nloops = [a.ndim - len(cd) for a, cd in zip(moved, ins)]
    if any(n < 0 for n in nloops):
        raise ValueError("an argument has fewer dimensions than its core dimensions")
    max_loop = max(nloops, default=0)
    loop_dims = [tuple(f"__loopdim{d}__" for d in range(max_loop - n, max_loop)) for n in nloops]
    dims = [lo + cd for lo, cd in zip(loop_dims, ins)]
    loop_out = tuple(f"__loopdim{d}__" for d in range(max_loop))
    core_shapes: dict[str, int] = {}
    seen: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    for a, ds, n in zip(moved, dims, nloops):
        for j, (d, size, c) in enumerate(zip(ds, a.shape, a.chunks)):
            seen.setdefault(d, []).append((size, c))
            if j >= n:
                core_shapes[d] = size
    core_shapes.update(output_sizes or {})
    for d, found in seen.items():
        sizes = {s for s, _ in found}
        if sizes | {1} != {1, builtins.max(sizes)}:
            raise ValueError(f"Dimension `'{d}'` with different lengths in arrays")
        if not allow_rechunk:
            if d in core_shapes and found[0][1][0] < core_shapes[d]:
                raise ValueError(
                    f"Core dimension `'{d}'` consists of multiple chunks. To fix, rechunk into "
                    "a single chunk along this dimension or set `allow_rechunk=True`, but beware "
                    "that this may increase memory usage significantly."
                )
            if len({c for s, c in found if s > 1}) > 1:
                raise ValueError(f"Dimension `'{d}'` with different chunksize present")
    moved = [
        a.rechunk(tuple(-1 if j >= n else c for j, c in enumerate(a.chunks))) if a.ndim > n else a
        for a, n in zip(moved, nloops)
    ]
    in_labels = {d for ds in dims for d in ds}
    for cd in out_core:
        for d in cd:
            if d not in core_shapes:
                raise ValueError(
                    f"Output core dimension `'{d}'` is not in any input: give its length in "
                    "`output_sizes`"
                )
    # A core dimension repeated within one argument ("(m,m)->()"): its axes were checked
    # to be equally long and are whole (one chunk), so the repeats get labels of their own.
    inds = [
        tuple(d if d not in ds[:j] else f"{d}__repeat{ds[:j].count(d)}__" for j, d in enumerate(ds))
        for ds in dims
    ]
    name = funcname(func)
    if nout is None:
        cd = out_core[0]
        leaves = [
            apply_blocks(
                func,
                loop_out + cd,
                moved,
                inds,
                dtype=dtypes[0],
                name=name,
                kwargs=kwargs,
                new_axes={d: core_shapes[d] for d in cd if d not in in_labels},
                concatenate=True,
            )
        ]
    else:
        leaves = _several_outputs(
            func, moved, inds, loop_out, out_core, dtypes, core_shapes, kwargs
        )
    results = []
    for leaf, oax in zip(leaves, out_axes):
        if keepdims:
            leaf = leaf[(slice(None),) * leaf.ndim + (None,) * len(oax)]
        order: list[Any] = [None] * leaf.ndim
        for ii, oa in zip(range(-len(oax), 0), oax):
            order[oa] = ii
        j = 0
        for ii in range(len(order)):
            if order[ii] is None:
                order[ii] = j
                j += 1
        results.append(leaf.transpose(tuple(o % leaf.ndim for o in order)) if leaf.ndim else leaf)
    return tuple(results) if nout else results[0]


def _several_outputs(
    func: Any,
    arrays: list[Array],
    inds: list[tuple[str, ...]],
    loop_out: tuple[str, ...],
    out_core: list[tuple[str, ...]],
    dtypes: list[np.dtype],
    core_shapes: dict[str, int],
    kwargs: dict[str, Any],
) -> list[Array]:
    """The outputs of a gufunc with several: ``func`` runs once per block and its
    outputs travel as the bytes of one uint8 array (loop dims + a byte axis), which one
    decoding stage per output reads back."""
    cores = [tuple(core_shapes[d] for d in cd) for cd in out_core]
    nbytes = [math.prod(c) * dt.itemsize for c, dt in zip(cores, dtypes)]
    offsets = [0, *accumulate(nbytes)]
    nloop = len(loop_out)
    loops = [builtins.sum(1 for d in ind if d.startswith("__loopdim")) for ind in inds]

    def pack(*blocks: Any, **kw: Any) -> np.ndarray:
        outs = func(*blocks, **kw)
        if not isinstance(outs, tuple | list) or len(outs) != len(cores):
            raise ValueError(f"the gufunc returned {type(outs).__name__}, not {len(cores)} outputs")
        loop = np.broadcast_shapes(*(np.shape(b)[:n] for b, n in zip(blocks, loops)))
        loop = (1,) * (nloop - len(loop)) + tuple(loop)
        parts = [
            np.ascontiguousarray(np.broadcast_to(np.asarray(o, dt), loop + core))
            .view(np.uint8)
            .reshape(loop + (n,))
            for o, dt, core, n in zip(outs, dtypes, cores, nbytes)
        ]
        return np.concatenate(parts, axis=-1)

    packed = apply_blocks(
        pack,
        loop_out + ("__bytes__",),
        arrays,
        inds,
        dtype=np.uint8,
        name=funcname(func),
        kwargs=kwargs,
        new_axes={"__bytes__": offsets[-1]},
        concatenate=True,
    )

    def decode(block: np.ndarray, lo: int, hi: int, dt: np.dtype, core: tuple[int, ...]) -> Any:
        raw = np.ascontiguousarray(block[..., lo:hi])
        return raw.view(dt).reshape(block.shape[:-1] + core)

    return [
        apply_blocks(
            partial(decode, lo=offsets[k], hi=offsets[k + 1], dt=dtypes[k], core=cores[k]),
            loop_out + cd,
            [packed],
            [loop_out + ("__bytes__",)],
            dtype=dtypes[k],
            name=f"{funcname(func)}-{k}",
            new_axes={d: core_shapes[d] for d in cd},
            concatenate=True,
        )
        for k, cd in enumerate(out_core)
    ]


class gufunc:  # noqa: N801 - Dask's name
    """``pyfunc`` bound into ``apply_gufunc`` with a signature and options, as
    ``dask.array.gufunc``; calling it applies it to arrays.

    Parameters
    ----------
    pyfunc : callable
    signature : str
    vectorize, axes, axis, keepdims, output_sizes, output_dtypes, allow_rechunk, meta
        As for ``apply_gufunc``.
    """

    def __init__(
        self,
        pyfunc: Callable[..., Any],
        *,
        signature: str | None = None,
        vectorize: bool = False,
        axes: Any = None,
        axis: Any = None,
        keepdims: bool = False,
        output_sizes: Any = None,
        output_dtypes: Any = None,
        allow_rechunk: bool = False,
        meta: Any = None,
    ) -> None:
        self.pyfunc = pyfunc
        self.signature = signature
        self.vectorize = vectorize
        self.axes = axes
        self.axis = axis
        self.keepdims = keepdims
        self.output_sizes = output_sizes
        self.output_dtypes = output_dtypes
        self.allow_rechunk = allow_rechunk
        self.meta = meta
        self.__doc__ = f"Bound ``brickwork.array.gufunc`` of {pyfunc!r}, signature {signature!r}."

    def __call__(self, *args: Any, allow_rechunk: bool = False, **kwargs: Any) -> Any:
        """``apply_gufunc`` of the bound function on ``args``."""
        if self.signature is None:
            raise ValueError("gufunc needs a signature")
        return apply_gufunc(
            self.pyfunc,
            self.signature,
            *args,
            vectorize=self.vectorize,
            axes=self.axes,
            axis=self.axis,
            keepdims=self.keepdims,
            output_sizes=self.output_sizes,
            output_dtypes=self.output_dtypes,
            allow_rechunk=self.allow_rechunk or allow_rechunk,
            meta=self.meta,
            **kwargs,
        )


_GUFUNC_KEYS = {
    "vectorize",
    "axes",
    "axis",
    "keepdims",
    "output_sizes",
    "output_dtypes",
    "allow_rechunk",
    "meta",
}


def as_gufunc(signature: str | None = None, **kwargs: Any) -> Callable[[Any], gufunc]:
    """A decorator making a ``gufunc`` of a function, as ``dask.array.as_gufunc``.

    >>> @as_gufunc("(i)->()", output_dtypes=float)
    ... def mean(x):
    ...     return x.mean(axis=-1)

    Raises
    ------
    TypeError
        For a keyword ``gufunc`` does not take.
    """
    if kwargs.keys() - _GUFUNC_KEYS:
        raise TypeError("Unsupported keyword argument(s) provided")

    def _as_gufunc(pyfunc: Callable[..., Any]) -> gufunc:
        return gufunc(pyfunc, signature=signature, **kwargs)

    return _as_gufunc
