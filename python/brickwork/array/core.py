"""The lazy chunked ``Array`` and the builders of elementwise and reduction expressions.

An ``Array`` wraps one ``brickwork._core.Expr`` (attribute ``_expr``). Every method
checks its arguments, makes one call into ``_core`` and wraps the new ``Expr``; nothing
runs before ``compute``.
"""

from __future__ import annotations

import html
import math
import operator
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType, NotImplementedType
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from brickwork import _core, config
from brickwork._runner import ProgressArg, run
from brickwork.array._dispatch import ARRAY_METHODS, HANDLED_FUNCTIONS, HANDLED_UFUNCS
from brickwork.array._args import axis_tuple, boolean, integer, split_every_value
from brickwork.array._dtypes import SUPPORTED_DTYPES, dtype_name
from brickwork.array._repr import array_html, array_repr
from brickwork.array._sources import to_numpy

__all__ = [
    "Array",
    "elemwise_binary",
    "elemwise_unary",
    "first_expr",
    "reduction",
    "to_expr",
    "to_operand",
]

Scalar = bool | int | float
Operand = _core.Expr | Scalar
AxisLike = int | Sequence[int] | None


# --------------------------------------------------------------------------- operands


def _aligned_chunks(shape: tuple[int, ...], like: _core.Expr | None) -> Any:
    """Chunks for a NumPy operand that line up with ``like`` on the axes they share.

    Axes are aligned from the right, as broadcasting does; an axis of the same size
    takes ``like``'s chunks (so no finer common grid is needed), any other is whole.
    """
    if like is None:
        return "auto"
    like_shape = like.shape
    like_chunks = like.chunks
    offset = len(like_shape) - len(shape)
    spec: list[Any] = []
    for axis, size in enumerate(shape):
        other = axis + offset
        spec.append(like_chunks[other] if other >= 0 and like_shape[other] == size else -1)
    return tuple(spec)


def _numpy_operand(x: Any, like: _core.Expr | None) -> _core.Expr:
    arr = to_numpy(x)
    return _core.from_numpy(arr, _aligned_chunks(arr.shape, like), config.get("chunk_size"))


def to_operand(x: Any, like: _core.Expr | None = None) -> Operand | NotImplementedType:
    """Convert an operand of an elementwise operation for ``_core``.

    Arrays give their ``Expr``; Python bool/int/float stay Python scalars (weak, NEP 50);
    NumPy arrays, NumPy scalars, lists, tuples and objects with ``__array__`` become
    strongly typed ``Expr`` chunked like ``like``. Objects of other array libraries
    (with their own ``__array_ufunc__``) and unknown types give ``NotImplemented``.

    Raises
    ------
    TypeError
        For complex numbers and unsupported dtypes.
    """
    if isinstance(x, Array):
        return x._expr
    if isinstance(x, np.ndarray | np.generic | list | tuple):
        return _numpy_operand(x, like)
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, complex):
        raise TypeError(
            f"complex numbers are not supported by brickwork arrays (got {x!r}); "
            f"supported dtypes are: {', '.join(SUPPORTED_DTYPES)}"
        )
    if hasattr(type(x), "__array_ufunc__"):
        # Another array library (or an explicit opt-out with None): let it handle this.
        return NotImplemented
    if hasattr(x, "__array__"):
        return _numpy_operand(x, like)
    return NotImplemented


def to_expr(x: Any, like: _core.Expr | None = None) -> _core.Expr:
    """Like ``to_operand`` but always an ``Expr`` (Python scalars become 0-d arrays).

    Raises
    ------
    TypeError
        If ``x`` cannot be used as an array.
    """
    operand = to_operand(x, like)
    if operand is NotImplemented:
        raise TypeError(f"expected an array-like or a real number, got {type(x).__name__}")
    if isinstance(operand, _core.Expr):
        return operand
    return _numpy_operand(np.asarray(operand), None)


def as_array(a: Any) -> Array:
    """``a`` as an Array: Arrays unchanged; NumPy arrays (read in place), scalars, lists
    and other array-likes (``__array__``) wrapped in one chunk.

    Raises
    ------
    TypeError
        If ``a`` cannot be used as an array.
    """
    if isinstance(a, Array):
        return a
    if hasattr(a, "__array__") and not isinstance(a, np.ndarray | np.generic):
        a = np.asarray(a)  # another library's array (a pandas Series, ...)
    return Array(to_expr(a), "array")


def first_expr(*args: Any) -> _core.Expr | None:
    """The expression of the first Array among ``args``, if any."""
    for arg in args:
        if isinstance(arg, Array):
            return arg._expr
    return None


def _binary(op: str, a: Any, b: Any) -> Array | NotImplementedType:
    like = first_expr(a, b)
    left = to_operand(a, like)
    if left is NotImplemented:
        return NotImplemented
    right = to_operand(b, like)
    if right is NotImplemented:
        return NotImplemented
    if not isinstance(left, _core.Expr) and not isinstance(right, _core.Expr):
        left = to_expr(left)
    return Array(_core.binary(op, left, right), op)


def elemwise_binary(op: str, a: Any, b: Any) -> Array:
    """Return the lazy ``op(a, b)`` for a binary op of the contract (``"add"``, …).

    Raises
    ------
    TypeError
        If an operand has a type brickwork cannot use.
    """
    result = _binary(op, a, b)
    if result is NotImplemented:
        raise TypeError(
            f"unsupported operand types for {op}: {type(a).__name__!r} and {type(b).__name__!r}"
        )
    return result


def elemwise_unary(op: str, x: Array) -> Array:
    """Return the lazy ``op(x)`` for a unary op of the contract (``"sqrt"``, …)."""
    return Array(_core.unary(op, x._expr), op)


def reduction(
    op: str,
    x: Array,
    axis: Any = None,
    keepdims: Any = False,
    dtype: Any = None,
    split_every: Any = None,
    ddof: Any = 0,
    out: Any = None,
) -> Array:
    """Return the lazy reduction ``op`` of ``x`` after checking every argument.

    ``argmin``/``argmax`` take ``axis=None`` or an int; the others also a tuple.
    """
    if out is not None:
        raise NotImplementedError(
            f"{op}(out=...) is not supported: brickwork arrays are immutable; "
            "use the returned array"
        )
    axes = axis_tuple(axis, allow_tuple=op not in ("argmin", "argmax"))
    expr = _core.reduce(
        op,
        x._expr,
        axes,
        boolean(keepdims, "keepdims"),
        None if dtype is None else dtype_name(dtype),
        split_every_value(split_every),
        integer(ddof, "ddof"),
    )
    return Array(expr, op)


def _method(name: str) -> Callable[..., Any]:
    """The function a family module registered for ``Array.<name>`` (see ``_dispatch``)."""
    try:
        return ARRAY_METHODS[name]
    except KeyError:
        raise RuntimeError(
            f"Array.{name} is not available before brickwork.array has finished importing"
        ) from None


def _array_api() -> ModuleType:
    """The Array API namespace ``brickwork.array_api``, imported on first use.

    The namespace is a package built on this one, so it cannot be imported while
    ``brickwork.array`` loads; this is the one import ``core`` makes of a module above it.
    """
    import brickwork.array_api

    return brickwork.array_api


def _handled_operand(x: Any) -> bool:
    return isinstance(x, Array | np.ndarray | np.generic | bool | int | float | complex | list)


def _scalar_error() -> TypeError:
    return TypeError("only 0-dimensional arrays can be converted to Python scalars")


def _unary_method(op: str, expression: str) -> Callable[[Array], Array]:
    def method(self: Array) -> Array:
        return elemwise_unary(op, self)

    method.__doc__ = f"Return ``{expression}`` lazily (``numpy.{op}``)."
    return method


def _binary_methods(
    op: str, symbol: str
) -> tuple[Callable[[Array, Any], Any], Callable[[Array, Any], Any]]:
    """The operator method for ``op`` and its reflected twin (``__add__``, ``__radd__``)."""

    def forward(self: Array, other: Any) -> Any:
        return _binary(op, self, other)

    def reflected(self: Array, other: Any) -> Any:
        return _binary(op, other, self)

    forward.__doc__ = f"Return ``self {symbol} other`` lazily (``numpy.{op}``)."
    reflected.__doc__ = f"Return ``other {symbol} self`` lazily (``numpy.{op}``)."
    return forward, reflected


# --------------------------------------------------------------------------- Array


class Array:
    """A lazy N-d array cut into chunks, with the API of ``dask.array.Array``.

    Build arrays with ``from_array``, ``zeros``, ``arange``, … rather than with this
    constructor. Operations build an expression; ``compute()`` runs it in parallel and
    returns a NumPy array.

    Parameters
    ----------
    expr : brickwork._core.Expr
        The expression node this array stands for.
    name : str, default "array"
        A short label of the operation, shown by ``repr``.
    """

    __slots__ = ("__weakref__", "_name", "_node", "_pending")
    __array_priority__ = 11

    def __init__(self, expr: _core.Expr, name: str = "array") -> None:
        if not isinstance(expr, _core.Expr):
            raise TypeError(
                "Array wraps a brickwork._core.Expr; build arrays with from_array, "
                f"asarray, zeros, arange, … (got {type(expr).__name__})"
            )
        self._node = expr
        self._name = name
        self._pending: Any = None

    @classmethod
    def _unknown(cls, pending: Any, name: str = "getitem") -> Array:
        """An array whose chunk lengths are not known yet (see ``brickwork.array.unknown``)."""
        self = cls.__new__(cls)
        self._node = None
        self._name = name
        self._pending = pending
        return self

    @property
    def _expr(self) -> _core.Expr:
        """The expression node; an array with unknown chunk sizes counts them first."""
        if self._pending is not None:
            self.compute_chunk_sizes()
        return self._node

    def compute_chunk_sizes(self) -> Array:
        """Compute unknown (NaN) chunk lengths in place and return the array, as Dask.

        Only arrays indexed with a lazy mask or lazy positions have unknown lengths; the
        count is one pass over the index's inputs keeping one number per block.
        """
        if self._pending is not None:
            resolved = self._pending.resolve()
            self._node, self._pending = resolved._node, None
        return self

    # ----------------------------------------------------------------- metadata

    @property
    def shape(self) -> tuple[int, ...]:
        """Length of each axis."""
        if self._pending is not None:
            return self._pending.shape
        return self._node.shape

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype of the elements."""
        if self._pending is not None:
            return self._pending.dtype
        return np.dtype(self._node.dtype)

    @property
    def ndim(self) -> int:
        """Number of axes."""
        return len(self.chunks)

    @property
    def size(self) -> int:
        """Number of elements (NaN while chunk sizes are unknown, as Dask)."""
        return math.prod(self.shape) if self._pending is not None else self._node.size

    @property
    def nbytes(self) -> int:
        """Bytes of the whole array once computed (NaN while chunk sizes are unknown)."""
        return self.size * self.itemsize if self._pending is not None else self._node.nbytes

    @property
    def itemsize(self) -> int:
        """Bytes of one element."""
        return self.dtype.itemsize

    @property
    def chunks(self) -> tuple[tuple[int, ...], ...]:
        """Chunk lengths along each axis, e.g. ``((1000, 1000), (500, 500, 7))``."""
        if self._pending is not None:
            return self._pending.chunks
        return self._node.chunks

    @property
    def chunksize(self) -> tuple[int, ...]:
        """The largest chunk length along each axis."""
        if self._pending is not None:
            return tuple(max(c, default=0) for c in self.chunks)
        return self._node.chunksize

    @property
    def numblocks(self) -> tuple[int, ...]:
        """Number of chunks along each axis."""
        return tuple(len(c) for c in self.chunks)

    @property
    def npartitions(self) -> int:
        """Total number of chunks."""
        return math.prod(self.numblocks)

    def __len__(self) -> int:
        """Length of the first axis; TypeError for 0-d arrays, as NumPy."""
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        if math.isnan(self.shape[0]):
            raise ValueError(
                "Cannot call len() on object with unknown chunk size; "
                "call compute_chunk_sizes() first"
            )
        return self.shape[0]

    def __iter__(self) -> Iterator[Array]:
        """Iterate lazily over the first axis."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __hash__(self) -> int:
        """Hash of the expression node (its process-unique key)."""
        return id(self) if self._pending is not None else hash(self._node.key)

    def __repr__(self) -> str:
        """Dask's repr (name, shape, dtype, chunk size, chunk type) plus bytes and tasks."""
        if self._pending is not None:
            return (
                f"brickwork.array<{self._name}, shape={self.shape}, dtype={self.dtype}, "
                f"chunksize={self.chunksize}, chunktype=numpy.ndarray>"
            )
        return array_repr(self._node, self._name)

    def _repr_html_(self) -> str:
        """A table of bytes, shape, chunks, tasks and dtype for notebooks."""
        if self._pending is not None:
            return f"<pre>{html.escape(repr(self))}</pre>"
        return array_html(self._node)

    # ----------------------------------------------------------------- running

    def compute(
        self,
        progress: ProgressArg = None,
        num_threads: int | None = None,
        scheduler: str | None = None,
    ) -> Any:
        """Run the computation and return the result as NumPy.

        Parameters
        ----------
        progress : bool or callable, optional
            Draw a progress bar (True), not (False), or call ``progress(done, total)``.
            Default: ``brickwork.config.get("progress")``.
        num_threads : int, optional
            Threads to use. Default: ``brickwork.config.get("num_threads")``.
        scheduler : {"threads", "processes"}, optional
            Where ``map_blocks`` functions run (see ``brickwork.compute``).

        Returns
        -------
        numpy.ndarray or numpy scalar
            A 0-d result is returned as a NumPy scalar, as NumPy's reductions do.
        """
        result = run([self._expr], progress, num_threads, scheduler=scheduler)[0]
        return result[()] if result.ndim == 0 else result

    def persist(
        self,
        progress: ProgressArg = None,
        num_threads: int | None = None,
        scheduler: str | None = None,
    ) -> Array:
        """Compute now and return an Array backed by the result, with the same chunks."""
        result = run([self._expr], progress, num_threads, scheduler=scheduler)[0]
        expr = _core.from_numpy(result, self._expr.chunks, config.get("chunk_size"))
        return Array(expr, self._name)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """Compute and return a NumPy array (``np.asarray(x)``)."""
        result = run([self._expr])[0]
        if dtype is not None and result.dtype != np.dtype(dtype):
            result = result.astype(dtype)
        return result

    def __bool__(self) -> bool:
        """Compute a size-1 array and return its truth value, as NumPy."""
        if self.size == 0:
            raise ValueError(
                "The truth value of an empty array is ambiguous. "
                "Use `array.size > 0` to check that an array is not empty."
            )
        if self.size > 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. "
                "Use a.any() or a.all()"
            )
        return bool(self.__array__())

    def __int__(self) -> int:
        """Compute a size-1 array and return it as a Python int, as NumPy."""
        if self.size != 1:
            raise _scalar_error()
        return int(self.__array__())

    def __float__(self) -> float:
        """Compute a size-1 array and return it as a Python float, as NumPy."""
        if self.size != 1:
            raise _scalar_error()
        return float(self.__array__())

    def __index__(self) -> int:
        """Compute a 0-d integer array and return it as an index, as NumPy."""
        if self.ndim != 0 or self.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return operator.index(self.__array__())

    # ----------------------------------------------------------------- shape ops

    def __getitem__(self, index: Any) -> Array:
        """NumPy indexing, lazily: ints, slices, None, Ellipsis, integer arrays and
        boolean masks (NumPy's rules for several or N-d arrays), and brickwork arrays as
        masks or positions (the result then has unknown chunk sizes, as in Dask)."""
        return _method("__getitem__")(self, index)

    def __setitem__(self, key: Any, value: Any) -> None:
        """``x[key] = value``: ``x`` becomes a new lazy array (other arrays built from the
        old ``x`` keep its old value), as ``dask.array``. See ``advanced.setitem``."""
        new = _method("__setitem__")(self, key, value)
        self._node, self._pending, self._name = new._expr, None, "setitem"

    @property
    def vindex(self) -> Any:
        """Pointwise indexing with broadcasting: ``x.vindex[[0, 2], [1, 3]]`` picks
        ``x[0, 1]`` and ``x[2, 3]``; the broadcast dimensions come first, then the axes
        indexed with slices, as Dask's ``vindex``."""
        return _method("vindex")(self)

    @property
    def name(self) -> str:
        """A key naming this array's computation, as Dask's ``name``: the array's label
        and an identity that equal arrays built separately do not share."""
        return f"{self._name}-{id(self._expr):x}"

    @property
    def A(self) -> Array:  # noqa: N802 - Dask's (and NumPy matrix's) name
        """The array itself, as Dask's ``Array.A`` (NumPy's ``matrix.A``)."""
        return self

    def choose(self, choices: Any) -> Array:
        """``da.choose(self, choices)``: pick from ``choices`` by this index array."""
        return _method("choose")(self, choices)

    def nonzero(self) -> tuple[Array, ...]:
        """``da.nonzero(self)``: the indices of the non-zero elements, one array per axis
        (their length is unknown until computed, as in Dask)."""
        return _method("nonzero")(self)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Array:
        """``da.trace(self, ...)``: the sum along a diagonal."""
        return _method("trace")(self, offset=offset, axis1=axis1, axis2=axis2, dtype=dtype)

    @property
    def partitions(self) -> Any:
        """The same as ``blocks``, as Dask's ``partitions``."""
        return self.blocks

    @property
    def blocks(self) -> Any:
        """Index the grid of blocks: ``x.blocks[1, :2]`` is the array made of those
        blocks (axes kept), as Dask's ``blocks``."""
        return _method("blocks")(self)

    def transpose(self, *axes: Any) -> Array:
        """Permute the axes: ``x.transpose()``, ``x.transpose(1, 0)`` or ``x.transpose((1, 0))``."""
        if not axes or (len(axes) == 1 and axes[0] is None):
            perm = tuple(reversed(range(self.ndim)))
        else:
            items = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
            perm = tuple(integer(a, "axes") for a in items)
            if len(perm) != self.ndim:
                raise ValueError("axes don't match array")
        if perm == tuple(range(self.ndim)):
            return self
        return Array(_core.transpose(self._expr, perm), "transpose")

    @property
    def T(self) -> Array:  # noqa: N802 - NumPy's name
        """The transposed array (axes reversed)."""
        return self.transpose()

    def cumsum(
        self, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
    ) -> Array:
        """Cumulative sum along ``axis`` (see ``brickwork.array.cumsum``)."""
        return _method("cumsum")(self, axis=axis, dtype=dtype, method=method)

    def cumprod(
        self, axis: int | None = None, dtype: Any = None, *, method: str = "sequential"
    ) -> Array:
        """Cumulative product along ``axis`` (see ``brickwork.array.cumprod``)."""
        return _method("cumprod")(self, axis=axis, dtype=dtype, method=method)

    def repeat(self, repeats: int, axis: int | None = None) -> Array:
        """Repeat each element ``repeats`` times (see ``brickwork.array.repeat``)."""
        return _method("repeat")(self, repeats, axis=axis)

    def topk(self, k: int, axis: int = -1, split_every: int | None = None) -> Array:
        """The ``k`` largest (k > 0) or smallest (k < 0) values along ``axis``
        (see ``brickwork.array.topk``)."""
        return _method("topk")(self, k, axis=axis, split_every=split_every)

    def argtopk(self, k: int, axis: int = -1, split_every: int | None = None) -> Array:
        """The positions of ``topk(k, axis)`` (see ``brickwork.array.argtopk``)."""
        return _method("argtopk")(self, k, axis=axis, split_every=split_every)

    def to_zarr(self, url: Any, component: str | None = None, overwrite: bool = False) -> None:
        """Compute into a new Zarr array (see ``brickwork.array.to_zarr``)."""
        _method("to_zarr")(self, url, component=component, overwrite=overwrite)

    def __matmul__(self, other: Any) -> Array:
        return _method("__matmul__")(self, other)

    def __rmatmul__(self, other: Any) -> Array:
        return _method("__matmul__")(other, self)

    def dot(self, other: Any) -> Array:
        """The dot product with ``other`` (see ``brickwork.array.dot``)."""
        return _method("dot")(self, other)

    def explain(self) -> str:
        """The optimized plan as text: each stage with its task count and fused program.

        >>> x = brickwork.array.ones((100, 100), chunks=50)
        >>> print(((x * 2 + 1).sum()).explain())  # doctest: +SKIP
        """
        return _core.explain([self._expr])

    def visualize(
        self, filename: Any = "mydask", format: str | None = None, **kwargs: Any
    ) -> str | bytes:
        """Draw the optimized plan as a graph (see ``brickwork.array.visualize``)."""
        return _method("visualize")(self, filename=filename, format=format, **kwargs)

    def map_blocks(self, func: Any, *args: Any, **kwargs: Any) -> Array:
        """``map_blocks(func, self, *args, **kwargs)``: apply ``func`` to every block."""
        return _method("map_blocks")(func, self, *args, **kwargs)

    def map_overlap(
        self, func: Any, depth: Any, boundary: Any = None, trim: bool = True, **kwargs: Any
    ) -> Array:
        """``map_overlap(func, self, depth=..., ...)``: apply ``func`` to blocks extended
        by their neighbours' borders (see ``brickwork.array.map_overlap``)."""
        overlap = _method("map_overlap")
        return overlap(func, self, depth=depth, boundary=boundary, trim=trim, **kwargs)

    def reshape(self, *shape: Any, order: str = "C") -> Array:
        """The same elements in C order with a new shape, as ``ndarray.reshape``."""
        dims = shape[0] if len(shape) == 1 and not isinstance(shape[0], int | np.integer) else shape
        return _method("reshape")(self, dims, order=order)

    def ravel(self) -> Array:
        """The elements as a 1-d array in C order."""
        return self.reshape(-1)

    flatten = ravel

    def rechunk(self, chunks: Any = "auto") -> Array:
        """Cut the array into new chunks (any Dask chunk spec); see ``brickwork.array.rechunk``.

        Raises
        ------
        ValueError
            If ``chunks`` does not fit the shape.
        """
        return _method("rechunk")(self, chunks)

    def astype(self, dtype: Any, casting: str = "unsafe", copy: bool = True) -> Array:
        """Cast to ``dtype`` (lazy), with NumPy's ``casting`` rules (default ``"unsafe"``).

        Raises
        ------
        TypeError
            If ``dtype`` is not supported or the cast breaks the ``casting`` rule.
        """
        name = dtype_name(dtype)
        if name == self._expr.dtype:
            # With copy, a new Array (assigning into it leaves this one alone).
            return Array(self._expr, self._name) if copy else self
        if not np.can_cast(self.dtype, name, casting=casting):  # type: ignore[arg-type]
            raise TypeError(
                f"Cannot cast array from dtype({self._expr.dtype!r}) to dtype({name!r}) "
                f"according to the rule {casting!r}"
            )
        return Array(_core.astype(self._expr, name), "astype")

    def copy(self) -> Array:
        """A new Array of the same expression: assigning into one (``x[k] = v``) leaves
        the other as it was."""
        if self._pending is not None:
            return Array._unknown(self._pending, self._name)
        return Array(self._node, self._name)

    def __copy__(self) -> Array:
        """``copy.copy(x)``: see ``copy``."""
        return self.copy()

    def __deepcopy__(self, memo: dict[int, Any]) -> Array:
        """``copy.deepcopy(x)``: see ``copy`` (the data it reads is never written)."""
        return self.copy()

    @property
    def real(self) -> Array:
        """The real part: the array itself (brickwork's dtypes are real)."""
        return self

    @property
    def imag(self) -> Array:
        """The imaginary part: zeros of the array's shape, dtype and chunks."""
        return _method("imag")(self)

    def conj(self) -> Array:
        """The complex conjugate: a copy of the array (brickwork's dtypes are real)."""
        return self.copy()

    conjugate = conj

    def squeeze(self, axis: Any = None) -> Array:
        """Remove axes of length one. See ``brickwork.array.squeeze``."""
        return _method("squeeze")(self, axis)

    def swapaxes(self, axis1: int, axis2: int) -> Array:
        """Interchange two axes. See ``brickwork.array.swapaxes``."""
        return _method("swapaxes")(self, axis1, axis2)

    def round(self, decimals: int = 0) -> Array:
        """Round to ``decimals`` decimals. See ``brickwork.array.round``."""
        return _method("round")(self, decimals)

    def clip(self, min: Any = None, max: Any = None) -> Array:  # noqa: A002 - NumPy's names
        """Limit the values to ``[min, max]``. See ``brickwork.array.clip``."""
        return _method("clip")(self, min, max)

    # ----------------------------------------------------------------- reductions

    def sum(
        self,
        axis: AxisLike = None,
        dtype: DTypeLike | None = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Sum over ``axis``. See ``brickwork.array.sum``."""
        return reduction("sum", self, axis, keepdims, dtype, split_every, out=out)

    def prod(
        self,
        axis: AxisLike = None,
        dtype: DTypeLike | None = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Product over ``axis``. See ``brickwork.array.prod``."""
        return reduction("prod", self, axis, keepdims, dtype, split_every, out=out)

    def mean(
        self,
        axis: AxisLike = None,
        dtype: DTypeLike | None = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Arithmetic mean over ``axis``. See ``brickwork.array.mean``."""
        return _method("mean")(self, axis, dtype, keepdims, split_every, out)

    def var(
        self,
        axis: AxisLike = None,
        dtype: DTypeLike | None = None,
        keepdims: bool = False,
        ddof: int = 0,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Variance over ``axis`` with ``ddof``. See ``brickwork.array.var``."""
        return reduction("var", self, axis, keepdims, dtype, split_every, ddof, out)

    def std(
        self,
        axis: AxisLike = None,
        dtype: DTypeLike | None = None,
        keepdims: bool = False,
        ddof: int = 0,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Standard deviation over ``axis`` with ``ddof``. See ``brickwork.array.std``."""
        return reduction("std", self, axis, keepdims, dtype, split_every, ddof, out)

    def min(
        self,
        axis: AxisLike = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Minimum over ``axis``. See ``brickwork.array.min``."""
        return reduction("min", self, axis, keepdims, None, split_every, out=out)

    def max(
        self,
        axis: AxisLike = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Maximum over ``axis``. See ``brickwork.array.max``."""
        return reduction("max", self, axis, keepdims, None, split_every, out=out)

    def any(
        self,
        axis: AxisLike = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Whether any element is true over ``axis``. See ``brickwork.array.any``."""
        return reduction("any", self, axis, keepdims, None, split_every, out=out)

    def all(
        self,
        axis: AxisLike = None,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Whether all elements are true over ``axis``. See ``brickwork.array.all``."""
        return reduction("all", self, axis, keepdims, None, split_every, out=out)

    def argmin(
        self,
        axis: int | None = None,
        *,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Index of the minimum (flat if ``axis`` is None). See ``brickwork.array.argmin``."""
        return reduction("argmin", self, axis, keepdims, None, split_every, out=out)

    def argmax(
        self,
        axis: int | None = None,
        *,
        keepdims: bool = False,
        split_every: int | None = None,
        out: None = None,
    ) -> Array:
        """Index of the maximum (flat if ``axis`` is None). See ``brickwork.array.argmax``."""
        return reduction("argmax", self, axis, keepdims, None, split_every, out=out)

    # ----------------------------------------------------------------- NumPy protocols

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """Return a lazy Array for the ufuncs brickwork implements (NEP 13).

        Only plain calls without ``out=`` or other keywords are handled; anything else
        returns ``NotImplemented``, so NumPy raises its TypeError.
        """
        func = HANDLED_UFUNCS.get(ufunc)
        if func is None or method != "__call__" or any(v is not None for v in kwargs.values()):
            return NotImplemented
        if not all(_handled_operand(x) for x in inputs):
            return NotImplemented
        return func(*inputs)

    def __array_function__(
        self,
        func: Callable[..., Any],
        types: tuple[type, ...],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """Dispatch NumPy functions (NEP 18): ours stay lazy, others compute first.

        ``np.sum(x)``, ``np.mean(x)``, ``np.where(...)``, … return lazy Arrays. Other NumPy
        functions run on the computed NumPy arrays, as Dask does for functions it does
        not implement.
        """
        if not all(issubclass(t, Array | np.ndarray) for t in types):
            return NotImplemented
        handler = HANDLED_FUNCTIONS.get(func)
        if handler is not None:
            return handler(*args, **kwargs)
        args, kwargs = _method("materialize")((args, kwargs))
        return func(*args, **kwargs)

    # ----------------------------------------------------------------- operators

    __neg__ = _unary_method("negative", "-self")
    __pos__ = _unary_method("positive", "+self")
    __abs__ = _unary_method("absolute", "abs(self)")
    __invert__ = _unary_method("invert", "~self")

    __add__, __radd__ = _binary_methods("add", "+")
    __sub__, __rsub__ = _binary_methods("subtract", "-")
    __mul__, __rmul__ = _binary_methods("multiply", "*")
    __truediv__, __rtruediv__ = _binary_methods("true_divide", "/")
    __floordiv__, __rfloordiv__ = _binary_methods("floor_divide", "//")
    __mod__, __rmod__ = _binary_methods("remainder", "%")
    __rpow__ = _binary_methods("power", "**")[1]

    def __pow__(self, other: Any) -> Any:
        """Return ``self ** other`` lazily (``numpy.power``; NumPy's operator squares a
        bool array raised to the Python int 2, giving int8, as ``numpy.square``)."""
        if self.dtype == bool and type(other) is int and other == 2:
            return elemwise_unary("square", self)
        return _binary("power", self, other)
    __lshift__, __rlshift__ = _binary_methods("left_shift", "<<")
    __rshift__, __rrshift__ = _binary_methods("right_shift", ">>")
    __and__, __rand__ = _binary_methods("bitwise_and", "&")
    __or__, __ror__ = _binary_methods("bitwise_or", "|")
    __xor__, __rxor__ = _binary_methods("bitwise_xor", "^")
    __eq__ = _binary_methods("equal", "==")[0]  # type: ignore[assignment]
    __ne__ = _binary_methods("not_equal", "!=")[0]  # type: ignore[assignment]
    __lt__ = _binary_methods("less", "<")[0]
    __le__ = _binary_methods("less_equal", "<=")[0]
    __gt__ = _binary_methods("greater", ">")[0]
    __ge__ = _binary_methods("greater_equal", ">=")[0]

    def __divmod__(self, other: Any) -> Any:
        """Return ``(self // other, self % other)`` lazily."""
        quotient = _binary("floor_divide", self, other)
        if quotient is NotImplemented:
            return NotImplemented
        return quotient, _binary("remainder", self, other)

    def __rdivmod__(self, other: Any) -> Any:
        """Return ``(other // self, other % self)`` lazily."""
        quotient = _binary("floor_divide", other, self)
        if quotient is NotImplemented:
            return NotImplemented
        return quotient, _binary("remainder", other, self)

    # ---- Array API: the array object of the standard (namespace: brickwork.array_api)

    def __array_namespace__(self, *, api_version: str | None = None) -> Any:
        """The Array API namespace of brickwork arrays, ``brickwork.array_api``.

        Parameters
        ----------
        api_version : str, optional
            A version of the standard (``"2021.12"`` to ``"2024.12"``); the namespace
            implements 2024.12.

        Raises
        ------
        ValueError
            For another version.
        """
        xp = _array_api()
        if api_version is not None and api_version not in xp._info.API_VERSIONS:
            raise ValueError(
                f"Array API version {api_version!r} is not supported; supported versions "
                f"are {', '.join(xp._info.API_VERSIONS)}"
            )
        return xp

    @property
    def device(self) -> str:
        """The device holding the array: ``"cpu"``, brickwork's only device."""
        return str(_array_api()._info.DEVICE)

    def to_device(self, device: Any, /, *, stream: Any = None) -> Array:
        """The array on ``device``: ``self``, since ``"cpu"`` is the only device.

        Raises
        ------
        ValueError
            For another device, or a ``stream`` (the CPU has none).
        """
        _array_api()._info.check_device(device)
        if stream is not None:
            raise ValueError(f"the cpu device has no streams; got stream={stream!r}")
        return self

    @property
    def mT(self) -> Array:  # noqa: N802 - the standard's name
        """Each matrix transposed: the last two axes swapped (a view).

        Raises
        ------
        ValueError
            For fewer than two dimensions.
        """
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dimensions, got {self.ndim}")
        axes = (*range(self.ndim - 2), self.ndim - 1, self.ndim - 2)
        return self.transpose(axes)

    def __dlpack__(
        self,
        *,
        stream: Any = None,
        max_version: tuple[int, int] | None = None,
        dl_device: tuple[int, int] | None = None,
        copy: bool | None = None,
    ) -> Any:
        """Compute the array and export the NumPy result as a DLPack capsule (NumPy's
        ``__dlpack__`` with the same arguments), for ``from_dlpack`` of any library."""
        return self.__array__().__dlpack__(
            stream=stream, max_version=max_version, dl_device=dl_device, copy=copy
        )

    def __dlpack_device__(self) -> tuple[int, int]:
        """DLPack's device of the exported data: ``(1, 0)``, the CPU (kDLCPU)."""
        return (1, 0)
