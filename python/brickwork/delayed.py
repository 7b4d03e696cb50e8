"""Lazy Python calls: ``brickwork.delayed``, as ``dask.delayed``.

``delayed(func)(*args)`` records a call instead of making it; calls, attribute
accesses, indexing and operators on the result record more. ``.compute()`` (or
``brickwork.compute(...)``) runs the graph: every brickwork Array inside the arguments
is computed first, all in one task graph, then the calls run as soon as their inputs
are ready, as tasks of the same executor (progress, memory admission and Ctrl-C as for
arrays): independent ones in parallel on its threads or, with
``scheduler="processes"``, in the worker processes of ``brickwork.multiprocessing``
(the pool the arrays' ``map_blocks`` functions use). Each call runs once per compute even if several results
depend on it; with ``pure=True`` equal calls (same function, same arguments) are also
one node.

>>> import brickwork
>>> @brickwork.delayed
... def inc(x):
...     return x + 1
>>> total = inc(1) + inc(2)
>>> total.compute()
5
"""

from __future__ import annotations

import hashlib
import operator
import pickle
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from brickwork._callables import funcname
from brickwork._runner import active_pool, run_calls

__all__ = ["Delayed", "compute", "contains_delayed", "delayed"]

_LITERAL = object()  # the "function" of a node that only builds its (resolved) argument
_NO_OBJECT = object()  # delayed() called without an object: a decorator


# --------------------------------------------------------------------------- traversal


def _visit(obj: Any, found: list[Any]) -> None:
    """Append every Delayed and brickwork Array inside ``obj`` (lists, tuples, dicts,
    sets, nested) to ``found``."""
    from brickwork.array.core import Array

    if isinstance(obj, Delayed | Array):
        found.append(obj)
    elif isinstance(obj, list | tuple | set | frozenset):
        for item in obj:
            _visit(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            _visit(item, found)


def _replace(obj: Any, value_of: Callable[[Any], Any]) -> Any:
    """``obj`` with every Delayed and Array replaced by ``value_of(it)``."""
    from brickwork.array.core import Array

    if isinstance(obj, Delayed | Array):
        return value_of(obj)
    if isinstance(obj, list):
        return [_replace(item, value_of) for item in obj]
    if isinstance(obj, tuple):
        items = [_replace(item, value_of) for item in obj]
        return type(obj)(*items) if hasattr(obj, "_fields") else type(obj)(items)
    if isinstance(obj, set | frozenset):
        return type(obj)(_replace(item, value_of) for item in obj)
    if isinstance(obj, dict):
        return {k: _replace(v, value_of) for k, v in obj.items()}
    return obj


def contains_delayed(obj: Any) -> bool:
    """Whether ``obj`` is or holds (in lists, tuples, dicts, sets) a Delayed."""
    found: list[Any] = []
    _visit(obj, found)
    return any(isinstance(f, Delayed) for f in found)


# --------------------------------------------------------------------------- tokens


def _normalize(obj: Any, depth: int = 0) -> Any:
    """A value that is equal for equal arguments, for ``pure`` keys."""
    from brickwork.array.core import Array

    if depth > 50:
        return ("deep", id(obj))
    if isinstance(obj, Delayed):
        return ("delayed", obj.key)
    if isinstance(obj, Array):
        return ("array", obj._expr.key)
    if obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        return (type(obj).__name__, obj)
    if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
        return ("ndarray", obj.dtype.str, obj.shape, hashlib.sha1(obj.tobytes()).hexdigest())
    if isinstance(obj, np.generic):
        return ("npscalar", obj.dtype.str, obj.item())
    if isinstance(obj, list | tuple):
        return (type(obj).__name__, tuple(_normalize(v, depth + 1) for v in obj))
    if isinstance(obj, set | frozenset):
        return (type(obj).__name__, tuple(sorted(repr(_normalize(v, depth + 1)) for v in obj)))
    if isinstance(obj, dict):
        items = sorted(
            (repr(_normalize(k, depth + 1)), _normalize(v, depth + 1)) for k, v in obj.items()
        )
        return ("dict", tuple(items))
    if callable(obj) and hasattr(obj, "__qualname__"):
        return ("callable", getattr(obj, "__module__", None), obj.__qualname__, id(obj))
    try:
        return ("pickle", hashlib.sha1(pickle.dumps(obj, protocol=5)).hexdigest())
    except Exception:  # noqa: BLE001 - unpicklable: identity only
        return ("object", id(obj))


def tokenize(*args: Any) -> str:
    """A deterministic hex token of ``args`` (equal arguments give equal tokens)."""
    return hashlib.sha1(repr(_normalize(args)).encode()).hexdigest()[:32]


# --------------------------------------------------------------------------- Delayed


class Delayed:
    """A lazy value: the result of a recorded call, attribute access, operation or a
    wrapped object. Build with ``brickwork.delayed``; run with ``.compute()``.

    Attribute access, indexing, calling and the arithmetic and comparison operators
    return new Delayed objects. A Delayed has no truth value and, unless made with
    ``nout``, no length.
    """

    __slots__ = ("_args", "_func", "_key", "_kwargs", "_length", "_local", "_pure")

    def __init__(
        self,
        key: str,
        func: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        length: int | None = None,
        local: bool = False,
        pure: bool = False,
    ) -> None:
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_func", func)
        object.__setattr__(self, "_args", tuple(args))
        object.__setattr__(self, "_kwargs", dict(kwargs or {}))
        object.__setattr__(self, "_length", length)
        object.__setattr__(self, "_local", local)
        object.__setattr__(self, "_pure", pure)

    @property
    def key(self) -> str:
        """The node's name in the graph (equal keys are computed once)."""
        return self._key

    def compute(
        self, scheduler: str | None = None, num_threads: int | None = None, **kwargs: Any
    ) -> Any:
        """Run the graph and return this value.

        Parameters
        ----------
        scheduler : {"threads", "processes", "sync"}, optional
            Where calls run: a pool of threads, the worker processes of
            ``brickwork.multiprocessing``, or one after another in this thread.
            Default: the ``scheduler`` setting.
        num_threads : int, optional
            Threads (or processes). Default: the ``num_threads`` setting.
        """
        return compute(self, scheduler=scheduler, num_threads=num_threads, **kwargs)[0]

    def persist(self, **kwargs: Any) -> Delayed:
        """Compute now and return a Delayed holding the result."""
        value = self.compute(**kwargs)
        return Delayed(self._key, _LITERAL, (value,), local=True)

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self._key)

    def __dir__(self) -> list[str]:
        return sorted(set(dir(type(self))))

    def __getattr__(self, attr: str) -> Delayed:
        if attr.startswith("_"):
            raise AttributeError(f"Attribute {attr} not found")
        return _node(getattr, (self, attr), {}, name=attr, pure=True, local=True)

    def __setattr__(self, attr: str, value: Any) -> None:
        raise TypeError("Delayed objects are immutable")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise TypeError("Delayed objects are immutable")

    def __iter__(self) -> Iterator[Delayed]:
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length are not iterable")
        return iter([self[i] for i in range(self._length)])

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError("Delayed objects of unspecified length have no len()")
        return self._length

    def __bool__(self) -> bool:
        raise TypeError("Truth of Delayed objects is not supported")

    def __call__(
        self, *args: Any, pure: bool | None = None, dask_key_name: str | None = None, **kwargs: Any
    ) -> Delayed:
        return _node(self, args, kwargs, name="call", pure=bool(pure), key=dask_key_name)

    def __reduce__(self) -> Any:
        return (
            Delayed,
            (
                self._key,
                self._func,
                self._args,
                self._kwargs,
                self._length,
                self._local,
                self._pure,
            ),
        )


class DelayedLeaf(Delayed):
    """A delayed function: calling it records a call (``delayed(func)``)."""

    __slots__ = ("_nout", "_obj")

    def __init__(self, obj: Any, key: str, pure: bool = False, nout: int | None = None) -> None:
        super().__init__(key, _LITERAL, (obj,), local=True, pure=pure)
        object.__setattr__(self, "_obj", obj)
        object.__setattr__(self, "_nout", nout)

    def __call__(
        self, *args: Any, pure: bool | None = None, dask_key_name: str | None = None, **kwargs: Any
    ) -> Delayed:
        return _node(
            self._obj,
            args,
            kwargs,
            name=funcname(self._obj),
            pure=self._pure if pure is None else bool(pure),
            key=dask_key_name,
            length=self._nout,
        )

    def __reduce__(self) -> Any:
        return (DelayedLeaf, (self._obj, self._key, self._pure, self._nout))


def _node(
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    name: str,
    pure: bool,
    key: str | None = None,
    length: int | None = None,
    local: bool = False,
) -> Delayed:
    if key is None:
        token = tokenize(func, args, kwargs) if pure else uuid.uuid4().hex
        key = f"{name}-{token}"
    return Delayed(key, func, args, kwargs, length=length, local=local, pure=pure)


def _bind_operator(op: Callable[..., Any], reflected: bool = False) -> Callable[..., Delayed]:
    name = op.__name__.strip("_")

    def method(self: Delayed, *other: Any) -> Delayed:
        args = (other[0], self) if reflected else (self, *other)
        return _node(op, args, {}, name=name, pure=True, local=True)

    method.__name__ = f"__r{name}__" if reflected else f"__{name}__"
    return method


for _op in (operator.abs, operator.neg, operator.pos, operator.invert):
    setattr(Delayed, f"__{_op.__name__}__", _bind_operator(_op))
for _op in (
    operator.add,
    operator.sub,
    operator.mul,
    operator.matmul,
    operator.floordiv,
    operator.truediv,
    operator.mod,
    operator.pow,
    operator.and_,
    operator.or_,
    operator.xor,
    operator.lshift,
    operator.rshift,
):
    _name = _op.__name__.strip("_")
    setattr(Delayed, f"__{_name}__", _bind_operator(_op))
    setattr(Delayed, f"__r{_name}__", _bind_operator(_op, reflected=True))
for _op in (operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge):
    setattr(Delayed, f"__{_op.__name__}__", _bind_operator(_op))
Delayed.__getitem__ = _bind_operator(operator.getitem)  # type: ignore[attr-defined]


def delayed(
    obj: Any = _NO_OBJECT,
    name: str | None = None,
    pure: bool | None = None,
    nout: int | None = None,
    traverse: bool = True,
) -> Any:
    """Wrap a function or a value so that using it records work instead of doing it,
    as ``dask.delayed``.

    Parameters
    ----------
    obj : callable or object
        A function (calling the result records a call) or a value (possibly holding
        Delayed objects or brickwork Arrays in lists, tuples, dicts and sets). Without
        it, returns a decorator: ``@delayed(pure=True)``.
    name : str, optional
        The key of the node (of the wrapped value or function).
    pure : bool, optional
        Calls with equal arguments are the same node (computed once per compute).
        Default False: every call is its own node. A call may override it with
        ``pure=``; ``dask_key_name=`` names the call's node.
    nout : int, optional
        The number of outputs of the function: its calls can be unpacked into that
        many Delayed objects.
    traverse : bool, default True
        Look for Delayed objects and Arrays inside containers of ``obj``.

    Returns
    -------
    Delayed
    """
    if obj is _NO_OBJECT:
        return lambda f: delayed(f, name=name, pure=pure, nout=nout, traverse=traverse)
    if isinstance(obj, Delayed):
        return obj
    if nout is not None and (not isinstance(nout, int) or nout < 0):
        raise ValueError(f"nout must be None or a non-negative integer, got {nout!r}")
    if callable(obj) and not contains_delayed(obj):
        key = name or f"{funcname(obj)}-{tokenize(obj)}"
        return DelayedLeaf(obj, key, pure=bool(pure), nout=nout)
    held: list[Any] = []
    if traverse:
        _visit(obj, held)
    key = name or f"{type(obj).__name__}-{tokenize(obj) if pure or not held else uuid.uuid4().hex}"
    return Delayed(key, _LITERAL, (obj if traverse else _Opaque(obj),), local=True)


class _Opaque:
    """A value not to be searched for Delayed objects (``traverse=False``)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


# --------------------------------------------------------------------------- running


def _graph(targets: list[Delayed]) -> dict[str, Delayed]:
    """Every node reachable from ``targets``, by key (one node per key)."""
    nodes: dict[str, Delayed] = {}
    stack = list(targets)
    while stack:
        node = stack.pop()
        if node._key in nodes:
            continue
        nodes[node._key] = node
        found: list[Any] = []
        _visit((node._func, node._args, node._kwargs), found)
        stack.extend(f for f in found if isinstance(f, Delayed))
    return nodes


def _dependencies(node: Delayed) -> tuple[list[str], list[Any]]:
    found: list[Any] = []
    _visit((node._func, node._args, node._kwargs), found)
    keys = list(dict.fromkeys(f._key for f in found if isinstance(f, Delayed)))
    from brickwork.array.core import Array

    return keys, [f for f in found if isinstance(f, Array)]


def _call(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if func is _LITERAL:
        value = args[0]
        return value.value if isinstance(value, _Opaque) else value
    return func(*args, **kwargs)


def compute(
    *args: Any,
    scheduler: str | None = None,
    num_threads: int | None = None,
    progress: Any = None,
    traverse: bool = True,
) -> tuple[Any, ...]:
    """Compute Delayed objects and brickwork Arrays together, as ``dask.compute``.

    Arrays anywhere (top level or inside the Delayed graph) are computed first, in one
    task graph; then the calls run. Delayed objects and Arrays inside lists, tuples and
    dicts are replaced by their values; other arguments are returned unchanged.

    Parameters
    ----------
    *args
    scheduler : {"threads", "processes", "sync"}, optional
        Default: the ``scheduler`` setting.
    num_threads : int, optional
        Threads or processes; default: the ``num_threads`` setting.
    progress : bool or callable, optional
        For the arrays' computation (see ``brickwork.compute``).

    Returns
    -------
    tuple
        One value per argument; 0-d array results are NumPy scalars.
    """
    from brickwork._runner import _num_threads, _scheduler, run
    from brickwork.array.core import Array

    kind = _scheduler(scheduler)
    threads = _num_threads(num_threads)
    found: list[Any] = []
    if traverse:
        _visit(args, found)
    else:
        found = [a for a in args if isinstance(a, Delayed | Array)]
    targets = [f for f in found if isinstance(f, Delayed)]
    nodes = _graph(targets)
    deps: dict[str, list[str]] = {}
    arrays: dict[int, Array] = {id(a): a for a in found if isinstance(a, Array)}
    for key, node in nodes.items():
        deps[key], node_arrays = _dependencies(node)
        arrays.update((id(a), a) for a in node_arrays)
    array_values: dict[int, Any] = {}
    if arrays:
        listed = list(arrays.values())
        computed = run(
            [a._expr for a in listed],
            progress,
            threads,
            scheduler=kind,
        )
        array_values = {
            id(a): (v[()] if v.ndim == 0 else v) for a, v in zip(listed, computed, strict=True)
        }
    keep = {t._key for t in targets}
    values = _run_graph(nodes, deps, keep, array_values, kind, threads, progress)

    def value_of(obj: Any) -> Any:
        return values[obj._key] if isinstance(obj, Delayed) else array_values[id(obj)]

    if not traverse:
        return tuple(value_of(a) if isinstance(a, Delayed | Array) else a for a in args)
    return tuple(_replace(a, value_of) for a in args)


def _order(nodes: dict[str, Delayed], deps: dict[str, list[str]]) -> list[str]:
    """The keys with every node after the nodes it depends on (Kahn's algorithm);
    raises for a cycle."""
    waiting = {key: len(d) for key, d in deps.items()}
    users: dict[str, list[str]] = {key: [] for key in nodes}
    for key, d in deps.items():
        for dep in d:
            users[dep].append(key)
    ready = [key for key, n in waiting.items() if n == 0]
    order: list[str] = []
    while ready:
        key = ready.pop()
        order.append(key)
        for user in users[key]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    if len(order) != len(nodes):
        raise RuntimeError("the delayed graph has a cycle")
    return order


def _run_graph(
    nodes: dict[str, Delayed],
    deps: dict[str, list[str]],
    keep: set[str],
    array_values: dict[int, Any],
    kind: str,
    threads: int,
    progress: Any,
) -> dict[str, Any]:
    """Run every node once its dependencies are done, as tasks of the engine's
    executor (progress, memory admission and Ctrl-C as for arrays); return the values
    by key."""
    if not nodes:
        return {}
    order = _order(nodes, deps)
    number = {key: i for i, key in enumerate(order)}
    pending = {key: 0 for key in nodes}
    for d in deps.values():
        for dep in d:
            pending[dep] += 1
    values: dict[str, Any] = {}
    lock = threading.Lock()

    def value_of(obj: Any) -> Any:
        return values[obj._key] if isinstance(obj, Delayed) else array_values[id(obj)]

    def call(i: int) -> None:
        key = order[i]
        node = nodes[key]
        with lock:
            func = _replace(node._func, value_of) if isinstance(node._func, Delayed) else node._func
            args, kwargs = _replace(node._args, value_of), _replace(node._kwargs, value_of)
            # A node's arguments are resolved when it starts: its inputs may then go.
            for dep in deps[key]:
                pending[dep] -= 1
                if pending[dep] == 0 and dep not in keep:
                    values.pop(dep, None)
        pool = active_pool()
        if pool is not None and not node._local:
            value = pool.apply(_call, (func, args, kwargs))
        else:
            value = _call(func, args, kwargs)
        with lock:
            values[key] = value

    run_calls(
        call,
        "delayed",
        [[number[dep] for dep in deps[key]] for key in order],
        progress,
        threads,
        kind,
    )
    return values
