"""Chunked random arrays with the names of ``dask.array.random``.

>>> import brickwork.array as da
>>> rng = da.random.default_rng(42)
>>> x = rng.normal(10.0, 2.0, size=(10_000, 1_000), chunks=(1_000, 1_000))
>>> float(x.mean().compute())  # doctest: +SKIP
9.99...

Each block is drawn by its own ``numpy.random.Generator(numpy.random.PCG64(child))``:
``random``, ``uniform``, ``standard_normal`` (float64) and ``normal`` (scalar
parameters) by the engine itself, which reproduces those streams in Rust (no Python per
block, no GIL, nothing materialized: a region of a uniform array is a jump ahead in its
block's stream; normal values, which take a variable number of draws each, are drawn in
stream order), the other distributions by NumPy per block.
A ``Generator`` holds a root ``numpy.random.SeedSequence(seed)``; the ``k``-th call of a
method (counting from 0) takes the child ``root.spawn(...)[k]`` of the root, and block
``i`` of its result (``i`` the flat, C-order index of the block in the grid of blocks)
is drawn from ``call.spawn(...)[i]``. So:

* the same seed, the same sequence of calls and the same chunks give the same values,
  whatever the number of threads or the scheduler, and however often they are computed;
* the values differ from NumPy's ``numpy.random.default_rng(seed)`` for the same seed
  (NumPy draws one stream, brickwork one stream per block), and they change when the
  chunks change.

Distribution parameters (``loc``, ``scale``, ``low``, ``lam``, …) may be scalars,
NumPy arrays or brickwork Arrays broadcastable to ``size``; NumPy's arguments are checked
when the expression is built and raise NumPy's exceptions. The module-level functions
(``random``, ``normal``, ``randint``, …) draw from a module-wide ``Generator`` that
``seed`` resets (like ``dask.array.random``, but with PCG64 per block rather than
NumPy's legacy ``RandomState``).
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from brickwork import _core
from brickwork.array._args import chunks_and_limit, shape_tuple
from brickwork.array._dtypes import dtype_name
from brickwork.array.blockwise import map_blocks
from brickwork.array.core import Array, as_array
from brickwork.array.shape import broadcast_to, rechunk

__all__ = [
    "Generator",
    "binomial",
    "choice",
    "default_rng",
    "exponential",
    "integers",
    "normal",
    "permutation",
    "poisson",
    "randint",
    "random",
    "random_sample",
    "seed",
    "standard_normal",
    "uniform",
]

_SeedLike = None | int | np.random.SeedSequence | np.random.BitGenerator | np.random.Generator


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    """The root SeedSequence of ``seed`` (None, an int or ints, a SeedSequence, or a NumPy
    BitGenerator / Generator whose SeedSequence is used)."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        seed = seed.bit_generator
    if isinstance(seed, np.random.BitGenerator):
        found = seed.seed_seq
        if not isinstance(found, np.random.SeedSequence):
            raise TypeError("the BitGenerator has no SeedSequence to spawn from")
        return found
    if isinstance(seed, bool | np.bool_):
        raise TypeError(f"seed must be None, an int or a sequence of ints, got {seed!r}")
    return np.random.SeedSequence(seed)


def _block_seed(entropy: Any, key: tuple[int, ...], pool_size: int, index: int) -> Any:
    """``SeedSequence(entropy, spawn_key=key, pool_size).spawn(n)[index]`` for any n."""
    return np.random.SeedSequence(entropy, spawn_key=(*key, index), pool_size=pool_size)


def _uint32_words(x: Any) -> list[int]:
    """NumPy's SeedSequence coercion of entropy and spawn keys to 32-bit words (least
    significant first; 0 is one word)."""
    if isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_):
        n = int(x)
        if n < 0:
            raise ValueError(f"expected a non-negative integer, got {n}")
        words = [n & 0xFFFFFFFF]
        while n := n >> 32:
            words.append(n & 0xFFFFFFFF)
        return words
    return [w for v in x for w in _uint32_words(v)]


def _assembled_entropy(call: np.random.SeedSequence) -> list[int]:
    """The words NumPy hashes for the children ``SeedSequence(call.entropy, spawn_key=
    (*call.spawn_key, i), call.pool_size)``, but for ``i``: the entropy zero-padded to
    the pool size (a spawn key follows), then the call's spawn key."""
    run = _uint32_words(call.entropy)
    run += [0] * (call.pool_size - len(run))
    return run + _uint32_words(call.spawn_key)


# Draws the engine generates itself (no Python per block, no GIL): method -> dtypes.
_ENGINE_DRAWS = {
    "random": ("float64", "float32"),
    "uniform": ("float64",),
    "standard_normal": ("float64",),
    "normal": ("float64",),
}


def _flat_index(block_id: tuple[int, ...], numblocks: tuple[int, ...]) -> int:
    index = 0
    for i, n in zip(block_id, numblocks):
        index = index * n + i
    return index


def _size(size: Any) -> tuple[int, ...] | None:
    return None if size is None else shape_tuple(size)


def _out_chunks(shape: tuple[int, ...], chunks: Any, dtype: np.dtype) -> Any:
    spec, limit = chunks_and_limit(chunks)
    return _core.normalize_chunks(spec, shape, dtype.name, limit)


def _carrier(shape: tuple[int, ...], chunks: Any) -> Array:
    """A cheap bool array that only carries the output's shape and chunks to map_blocks."""
    return Array(_core.full(shape, False, "bool", chunks, 1), "random")


class Generator:
    """A chunked random number generator, as ``dask.array.random.Generator``.

    Build it with ``default_rng``. Every method returns a lazy Array whose block ``i``
    is drawn by ``numpy.random.Generator(PCG64(child_i))`` (see the module docstring),
    so results are reproducible for a given seed, sequence of calls and chunks, but
    differ from NumPy's values for the same seed.

    Parameters
    ----------
    seed : None, int, sequence of ints, SeedSequence, BitGenerator or numpy Generator
        Entropy for the root ``numpy.random.SeedSequence``; None takes fresh entropy
        from the operating system. A NumPy BitGenerator or Generator gives its own
        SeedSequence (the two then spawn from the same tree).
    """

    def __init__(self, seed: _SeedLike | Any = None) -> None:
        self._seed_seq = _seed_sequence(seed)

    def __repr__(self) -> str:
        return f"brickwork.array.random.Generator(PCG64 per block, {self._seed_seq!r})"

    @property
    def seed_seq(self) -> np.random.SeedSequence:
        """The root ``numpy.random.SeedSequence`` the calls spawn from."""
        return self._seed_seq

    # ----------------------------------------------------------------- machinery

    def _call_seed(self) -> np.random.SeedSequence:
        """The SeedSequence of the next call: the next child of the root."""
        return self._seed_seq.spawn(1)[0]

    def _draw(
        self,
        method: str,
        params: tuple[Any, ...],
        size: Any,
        chunks: Any,
        dtype: np.dtype,
        kwargs: dict[str, Any] | None = None,
        probe: bool = True,
    ) -> Array:
        """The lazy Array of ``numpy.random.Generator.<method>(*params, size=block, **kw)``
        drawn per block."""
        kwargs = kwargs or {}
        shape = _size(size)
        lazy = [isinstance(p, Array) for p in params]
        values = [p if lazy_p else np.asarray(p) for p, lazy_p in zip(params, lazy)]
        param_shape = np.broadcast_shapes(*(np.shape(v) for v in values))
        if shape is None:
            shape = param_shape
        elif np.broadcast_shapes(param_shape, shape) != shape:
            raise ValueError(
                f"shape mismatch: parameters of shape {param_shape} cannot be broadcast "
                f"to size {shape}"
            )
        if probe and not any(lazy):
            # NumPy checks the parameters (scale < 0, low >= high, dtype, ...).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                getattr(np.random.default_rng(0), method)(*values, **kwargs)
        dtype_name(dtype)
        out_chunks = _out_chunks(shape, chunks, dtype)
        call = self._call_seed()
        engine = dtype.name in _ENGINE_DRAWS.get(method, ())
        if engine and not any(lazy) and not any(np.ndim(v) for v in values):
            # Generated by the engine, block by block with the same streams: "uniform"
            # takes (low, high - low), "normal" (loc, scale).
            first, second = (float(values[0]), float(values[1])) if values else (0.0, 1.0)
            spread = second - first if method == "uniform" else second
            spec, limit = chunks_and_limit(out_chunks)
            expr = _core.random(
                shape, _assembled_entropy(call), call.pool_size, method, dtype.name, spec,
                limit, first, spread,
            )
            return Array(expr, method)
        inputs = [_carrier(shape, out_chunks)]
        scalar_params: list[Any] = []
        for v in values:
            if isinstance(v, Array) or v.ndim:
                inputs.append(rechunk(broadcast_to(v, shape), out_chunks))
                scalar_params.append(None)
            else:
                scalar_params.append(v[()])
        numblocks = tuple(len(c) for c in out_chunks)
        entropy, key, pool_size = call.entropy, call.spawn_key, call.pool_size

        def block(carrier: np.ndarray, *arrays: np.ndarray, block_id: tuple[int, ...]) -> Any:
            child = _block_seed(entropy, key, pool_size, _flat_index(block_id, numblocks))
            gen = np.random.Generator(np.random.PCG64(child))
            it = iter(arrays)
            args = [next(it) if p is None else p for p in scalar_params]
            return getattr(gen, method)(*args, size=carrier.shape, **kwargs)

        return map_blocks(block, *inputs, dtype=dtype, name=method)

    def _whole(
        self,
        shape: tuple[int, ...],
        chunks: Any,
        dtype: np.dtype,
        draw: Callable[..., Any],
        name: str,
    ) -> Array:
        """One task draws the whole result with ``draw(generator)`` (child 0 of the call),
        then the result is cut into ``chunks`` (a free rechunk)."""
        dtype_name(dtype)
        call = self._call_seed()
        entropy, key, pool_size = call.entropy, call.spawn_key, call.pool_size

        def block(carrier: np.ndarray) -> Any:
            gen = np.random.Generator(np.random.PCG64(_block_seed(entropy, key, pool_size, 0)))
            return draw(gen)

        one = tuple((n,) for n in shape)
        out = map_blocks(block, _carrier(shape, one), dtype=dtype, name=name)
        return rechunk(out, _out_chunks(shape, chunks, dtype))

    # ----------------------------------------------------------------- distributions

    def random(
        self,
        size: Any = None,
        dtype: DTypeLike = np.float64,
        out: None = None,
        chunks: Any = "auto",
    ) -> Array:
        """Floats uniform in [0, 1), as ``numpy.random.Generator.random``.

        Parameters
        ----------
        size : int or tuple of ints, optional
            Output shape; None gives a 0-d array.
        dtype : {float64, float32}
            Output dtype.
        out : None
            Not supported (arrays are immutable).
        chunks : chunk spec, default "auto"
            Dask's chunk specs for the output.

        Returns
        -------
        Array
        """
        if out is not None:
            raise NotImplementedError("random(out=...) is not supported; use the result")
        return self._draw("random", (), size, chunks, np.dtype(dtype), {"dtype": dtype})

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Any = None, chunks: Any = "auto"
    ) -> Array:
        """Floats uniform in [low, high), as ``numpy.random.Generator.uniform``.

        Parameters
        ----------
        low, high : float or array_like of floats
            Bounds, broadcast against ``size``.
        size : int or tuple of ints, optional
            Output shape; default the broadcast shape of the parameters.
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array of float64
        """
        return self._draw("uniform", (low, high), size, chunks, np.dtype(np.float64))

    def normal(
        self, loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto"
    ) -> Array:
        """Gaussian samples, as ``numpy.random.Generator.normal``.

        Parameters
        ----------
        loc, scale : float or array_like of floats
            Mean and standard deviation (``scale >= 0``), broadcast against ``size``.
        size : int or tuple of ints, optional
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array of float64

        Raises
        ------
        ValueError
            If ``scale < 0`` (for NumPy parameters).
        """
        return self._draw("normal", (loc, scale), size, chunks, np.dtype(np.float64))

    def standard_normal(
        self,
        size: Any = None,
        dtype: DTypeLike = np.float64,
        out: None = None,
        chunks: Any = "auto",
    ) -> Array:
        """Samples of N(0, 1), as ``numpy.random.Generator.standard_normal``.

        Parameters
        ----------
        size : int or tuple of ints, optional
        dtype : {float64, float32}
        out : None
            Not supported.
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array
        """
        if out is not None:
            raise NotImplementedError("standard_normal(out=...) is not supported; use the result")
        return self._draw("standard_normal", (), size, chunks, np.dtype(dtype), {"dtype": dtype})

    def integers(
        self,
        low: Any,
        high: Any = None,
        size: Any = None,
        dtype: DTypeLike = np.int64,
        endpoint: bool = False,
        chunks: Any = "auto",
    ) -> Array:
        """Random integers in [low, high) (or [low, high] with ``endpoint``), as
        ``numpy.random.Generator.integers``.

        Parameters
        ----------
        low, high : int or array_like of ints
            Bounds; with ``high=None`` the range is [0, low).
        size : int or tuple of ints, optional
        dtype : integer or bool dtype, default int64
        endpoint : bool, default False
            Include ``high``.
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array

        Raises
        ------
        ValueError
            If ``low >= high`` (``low > high`` with ``endpoint``) or a bound does not fit
            ``dtype``.
        """
        if high is None:
            low, high = 0, low
        kwargs = {"dtype": dtype, "endpoint": bool(endpoint)}
        return self._draw("integers", (low, high), size, chunks, np.dtype(dtype), kwargs)

    def exponential(self, scale: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
        """Exponential samples with mean ``scale``, as
        ``numpy.random.Generator.exponential``.

        Parameters
        ----------
        scale : float or array_like of floats
            The mean, ``>= 0``.
        size : int or tuple of ints, optional
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array of float64
        """
        return self._draw("exponential", (scale,), size, chunks, np.dtype(np.float64))

    def poisson(self, lam: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
        """Poisson samples with rate ``lam``, as ``numpy.random.Generator.poisson``.

        Parameters
        ----------
        lam : float or array_like of floats
            The expected count, ``>= 0``.
        size : int or tuple of ints, optional
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array of int64
        """
        return self._draw("poisson", (lam,), size, chunks, np.dtype(np.int64))

    def binomial(self, n: Any, p: Any, size: Any = None, chunks: Any = "auto") -> Array:
        """Binomial samples (``n`` trials of probability ``p``), as
        ``numpy.random.Generator.binomial``.

        Parameters
        ----------
        n : int or array_like of ints
            Trials, ``>= 0``.
        p : float or array_like of floats
            Probability of success, in [0, 1].
        size : int or tuple of ints, optional
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array of int64
        """
        return self._draw("binomial", (n, p), size, chunks, np.dtype(np.int64))

    def choice(
        self,
        a: Any,
        size: Any = None,
        replace: bool = True,
        p: Any = None,
        axis: int = 0,
        shuffle: bool = True,
        chunks: Any = "auto",
    ) -> Array:
        """A random sample of ``a``, as ``numpy.random.Generator.choice`` for 1-d ``a``.

        With ``replace=True`` every block is drawn independently. With ``replace=False``
        the whole sample is drawn by one task (NumPy's algorithm on one generator, so
        every element appears at most once), then cut into ``chunks``; Dask raises
        NotImplementedError for that case with more than one chunk.

        Parameters
        ----------
        a : int or 1-d array_like
            The population: ``arange(a)`` for an int, else the values of a NumPy array
            (a brickwork Array is not supported as the population).
        size : int or tuple of ints, optional
            Output shape; None gives a 0-d array.
        replace : bool, default True
            Whether an element may be drawn more than once.
        p : 1-d array_like of floats, optional
            Probability of each element (same length as ``a``, summing to 1).
        axis : int, default 0
            Must be 0 (``a`` is 1-d).
        shuffle : bool, default True
            For ``replace=False``: whether the sample is shuffled.
        chunks : chunk spec, default "auto"

        Returns
        -------
        Array
            int64 for an int ``a``, else ``a``'s dtype.

        Raises
        ------
        ValueError
            As NumPy: an empty population with a non-empty sample, ``a`` not 1-d, a bad
            ``p``, or a sample larger than the population without replacement.
        """
        if isinstance(a, Array) or isinstance(p, Array):
            raise NotImplementedError(
                "choice from a brickwork Array is not supported; pass an int or a NumPy array"
            )
        if isinstance(a, bool | np.bool_):
            raise TypeError("a must be an int or a 1-d array")
        population: Any = operator.index(a) if isinstance(a, int | np.integer) else np.asarray(a)
        if isinstance(population, np.ndarray) and population.ndim != 1:
            raise ValueError("a must be one dimensional")
        if axis != 0:
            raise ValueError("axis must be 0 since a is one dimensional")
        probs = None if p is None else np.asarray(p, dtype=np.float64)
        shape = _size(size)
        dims = () if shape is None else shape
        replace, shuffle = bool(replace), bool(shuffle)
        # NumPy's checks (and the result dtype) on a sample of at most one element.
        probe_size = min(math.prod(dims), 1)
        probe = np.random.default_rng(0).choice(
            population, size=probe_size, replace=replace, p=probs, shuffle=shuffle
        )
        if not replace:
            # NumPy raises for a sample larger than the population.
            n = population if isinstance(population, int) else len(population)
            if math.prod(dims) > n:
                raise ValueError(
                    "Cannot take a larger sample than population when replace is False"
                )
        dtype = np.asarray(probe).dtype
        if replace:
            kwargs = {"a": population, "p": probs, "replace": True}
            return self._draw("choice", (), dims, chunks, dtype, kwargs, probe=False)

        def draw(gen: np.random.Generator) -> Any:
            return gen.choice(population, size=dims, replace=False, p=probs, shuffle=shuffle)

        return self._whole(dims, chunks, dtype, draw, "choice")

    def permutation(self, x: Any, chunks: Any = "auto") -> Array:
        """A random permutation of ``range(x)`` for an int, or of ``x`` along its first
        axis, as ``numpy.random.Generator.permutation``.

        The permutation is drawn by one task with NumPy's algorithm and applied with the
        first axis in one chunk; the result is then cut into ``chunks`` (for an int) or
        into ``x``'s chunks (for an array).

        Parameters
        ----------
        x : int, array_like or Array
        chunks : chunk spec, default "auto"
            The result's chunks when ``x`` is an int.

        Returns
        -------
        Array
            int64 for an int ``x``, else ``x``'s dtype and shape.

        Raises
        ------
        ValueError
            For a negative int.
        numpy.exceptions.AxisError
            For a 0-d array.
        """
        if isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_):
            n = operator.index(x)
            if n < 0:
                raise ValueError("negative dimensions are not allowed")
            return self._whole(
                (n,), chunks, np.dtype(np.int64), lambda g: g.permutation(n), "permutation"
            )
        arr = as_array(x)
        if arr.ndim == 0:
            raise np.exceptions.AxisError("x must be an integer or at least 1-dimensional")
        n = arr.shape[0]
        call = self._call_seed()
        entropy, key, pool_size = call.entropy, call.spawn_key, call.pool_size

        def block(b: np.ndarray) -> np.ndarray:
            gen = np.random.Generator(np.random.PCG64(_block_seed(entropy, key, pool_size, 0)))
            return b[gen.permutation(n)]

        whole = rechunk(arr, {0: -1})
        out = map_blocks(block, whole, dtype=arr.dtype, name="permutation")
        return rechunk(out, arr.chunks)


def default_rng(seed: Any = None) -> Generator:
    """A chunked random ``Generator`` seeded with ``seed``, as
    ``dask.array.random.default_rng``.

    Parameters
    ----------
    seed : None, int, sequence of ints, SeedSequence, BitGenerator, numpy or brickwork
        Generator
        A brickwork Generator is returned unchanged; anything else seeds the root
        ``numpy.random.SeedSequence`` (None: fresh entropy from the OS).

    Returns
    -------
    Generator

    Notes
    -----
    Block ``i`` of the ``k``-th call's result is drawn by
    ``numpy.random.Generator(PCG64(SeedSequence(seed).spawn(k + 1)[k].spawn(nblocks)[i]))``:
    reproducible for the same seed and chunks whatever the threads or scheduler, but not
    NumPy's values for the same seed.
    """
    if isinstance(seed, Generator):
        return seed
    return Generator(seed)


# ------------------------------------------------------------------ module-level functions

_GLOBAL = Generator()


def seed(seed: Any = None) -> None:
    """Reset the module-wide generator used by ``random``, ``normal``, … to ``seed``.

    Parameters
    ----------
    seed : None, int or sequence of ints
        As for ``default_rng``.
    """
    global _GLOBAL
    _GLOBAL = Generator(seed)


def random(size: Any = None, chunks: Any = "auto", dtype: DTypeLike = np.float64) -> Array:
    """Floats uniform in [0, 1) from the module-wide generator (see ``Generator.random``).

    Parameters
    ----------
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"
    dtype : {float64, float32}

    Returns
    -------
    Array
    """
    return _GLOBAL.random(size, dtype=dtype, chunks=chunks)


def random_sample(size: Any = None, chunks: Any = "auto") -> Array:
    """Floats uniform in [0, 1), as ``random`` (the legacy name).

    Parameters
    ----------
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of float64
    """
    return _GLOBAL.random(size, chunks=chunks)


def uniform(low: Any = 0.0, high: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
    """Floats uniform in [low, high) from the module-wide generator
    (see ``Generator.uniform``).

    Parameters
    ----------
    low, high : float or array_like
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of float64
    """
    return _GLOBAL.uniform(low, high, size, chunks=chunks)


def normal(loc: Any = 0.0, scale: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
    """Gaussian samples from the module-wide generator (see ``Generator.normal``).

    Parameters
    ----------
    loc, scale : float or array_like
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of float64
    """
    return _GLOBAL.normal(loc, scale, size, chunks=chunks)


def standard_normal(size: Any = None, chunks: Any = "auto") -> Array:
    """Samples of N(0, 1) from the module-wide generator
    (see ``Generator.standard_normal``).

    Parameters
    ----------
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of float64
    """
    return _GLOBAL.standard_normal(size, chunks=chunks)


def integers(
    low: Any,
    high: Any = None,
    size: Any = None,
    dtype: DTypeLike = np.int64,
    endpoint: bool = False,
    chunks: Any = "auto",
) -> Array:
    """Random integers from the module-wide generator (see ``Generator.integers``).

    Parameters
    ----------
    low, high : int or array_like of ints
    size : int or tuple of ints, optional
    dtype : integer or bool dtype, default int64
    endpoint : bool, default False
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array
    """
    return _GLOBAL.integers(low, high, size, dtype=dtype, endpoint=endpoint, chunks=chunks)


def randint(
    low: Any, high: Any = None, size: Any = None, chunks: Any = "auto", dtype: DTypeLike = np.int64
) -> Array:
    """Random integers in [low, high) (the legacy name; see ``Generator.integers``).

    Parameters
    ----------
    low, high : int or array_like of ints
        With ``high=None`` the range is [0, low).
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"
    dtype : integer dtype, default int64

    Returns
    -------
    Array
    """
    return _GLOBAL.integers(low, high, size, dtype=dtype, chunks=chunks)


def exponential(scale: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
    """Exponential samples from the module-wide generator (see ``Generator.exponential``).

    Parameters
    ----------
    scale : float or array_like
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of float64
    """
    return _GLOBAL.exponential(scale, size, chunks=chunks)


def poisson(lam: Any = 1.0, size: Any = None, chunks: Any = "auto") -> Array:
    """Poisson samples from the module-wide generator (see ``Generator.poisson``).

    Parameters
    ----------
    lam : float or array_like
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of int64
    """
    return _GLOBAL.poisson(lam, size, chunks=chunks)


def binomial(n: Any, p: Any, size: Any = None, chunks: Any = "auto") -> Array:
    """Binomial samples from the module-wide generator (see ``Generator.binomial``).

    Parameters
    ----------
    n : int or array_like
    p : float or array_like
    size : int or tuple of ints, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array of int64
    """
    return _GLOBAL.binomial(n, p, size, chunks=chunks)


def choice(
    a: Any, size: Any = None, replace: bool = True, p: Any = None, chunks: Any = "auto"
) -> Array:
    """A random sample of ``a`` from the module-wide generator (see ``Generator.choice``).

    Parameters
    ----------
    a : int or 1-d array_like
    size : int or tuple of ints, optional
    replace : bool, default True
    p : 1-d array_like, optional
    chunks : chunk spec, default "auto"

    Returns
    -------
    Array
    """
    return _GLOBAL.choice(a, size, replace=replace, p=p, chunks=chunks)


def permutation(x: Any) -> Array:
    """A random permutation from the module-wide generator
    (see ``Generator.permutation``).

    Parameters
    ----------
    x : int, array_like or Array

    Returns
    -------
    Array
    """
    return _GLOBAL.permutation(x)
