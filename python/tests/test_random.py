"""brickwork.array.random: per-block PCG64 streams spawned from one SeedSequence.

The values cannot be compared with NumPy's for the same seed (brickwork draws one stream
per block), so the tests check: the documented construction of every block with NumPy
itself, reproducibility over threads / schedulers / repeated computes, NumPy's dtypes and
argument errors, Dask's chunks, and the statistics of large samples.
"""

from __future__ import annotations

import itertools
import math

import dask.array as dask_array
import numpy as np
import pytest
from _support import chunk_specs, shapes
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da
from brickwork.array import random as bwr

# (method, positional parameters) for every distribution, called with size= and chunks=.
DRAWS = [
    ("random", ()),
    ("uniform", (-2.0, 3.0)),
    ("normal", (1.0, 2.0)),
    ("standard_normal", ()),
    ("integers", (-5, 7)),
    ("exponential", (2.0,)),
    ("poisson", (3.0,)),
    ("binomial", (10, 0.3)),
]


def _draw(rng, method, params, size, chunks):
    return getattr(rng, method)(*params, size=size, chunks=chunks)


def _blocks(chunks):
    """The slices of every block, in C order of the block grid."""
    bounds = [np.cumsum((0, *c)) for c in chunks]
    for ids in itertools.product(*(range(len(c)) for c in chunks)):
        yield tuple(slice(int(b[i]), int(b[i + 1])) for b, i in zip(bounds, ids))


@given(data=st.data(), seed=st.integers(0, 2**64 - 1), which=st.sampled_from(DRAWS))
def test_each_block_is_drawn_by_its_spawned_pcg64(data, seed, which):
    method, params = which
    shape = data.draw(shapes, label="shape")
    chunks = data.draw(chunk_specs(shape), label="chunks")
    x = _draw(da.random.default_rng(seed), method, params, shape, chunks)
    numpy_rng = np.random.default_rng(0)
    expected_dtype = np.asarray(getattr(numpy_rng, method)(*params, size=(1,))).dtype
    assert x.shape == shape and x.dtype == expected_dtype
    got = x.compute()
    assert np.asarray(got).dtype == expected_dtype
    nblocks = math.prod(x.numblocks)
    children = np.random.SeedSequence(seed).spawn(1)[0].spawn(nblocks)
    want = np.empty(shape, dtype=expected_dtype)
    for child, index in zip(children, _blocks(x.chunks)):
        block_shape = tuple(s.stop - s.start for s in index)
        gen = np.random.Generator(np.random.PCG64(child))
        want[index] = getattr(gen, method)(*params, size=block_shape)
    np.testing.assert_array_equal(got, want, strict=False)


@given(data=st.data(), which=st.sampled_from(DRAWS))
def test_same_seed_and_chunks_give_the_same_array_on_any_schedule(data, which):
    method, params = which
    shape = data.draw(shapes, label="shape")
    chunks = data.draw(chunk_specs(shape), label="chunks")
    seed = data.draw(st.integers(0, 2**32), label="seed")
    x = _draw(da.random.default_rng(seed), method, params, shape, chunks)
    one = x.compute(num_threads=1)
    np.testing.assert_array_equal(x.compute(num_threads=2), one, strict=True)
    np.testing.assert_array_equal(x.compute(num_threads=2), one, strict=True)
    again = _draw(da.random.default_rng(seed), method, params, shape, chunks)
    np.testing.assert_array_equal(again.compute(num_threads=2), one, strict=True)


def test_processes_scheduler_gives_the_same_values():
    rng = da.random.default_rng(11)
    x = rng.normal(0, 1, size=(50, 40), chunks=(7, 9)) + rng.integers(0, 9, (50, 40), chunks=13)
    np.testing.assert_array_equal(
        x.compute(scheduler="processes", num_threads=2), x.compute(num_threads=1)
    )


def test_calls_and_seeds_give_different_streams():
    rng = da.random.default_rng(5)
    first = rng.random(1000, chunks=100).compute()
    second = rng.random(1000, chunks=100).compute()
    assert not np.array_equal(first, second)
    # The k-th call is reproducible from the seed.
    rng2 = da.random.default_rng(5)
    np.testing.assert_array_equal(rng2.random(1000, chunks=100).compute(), first)
    np.testing.assert_array_equal(rng2.random(1000, chunks=100).compute(), second)
    other = da.random.default_rng(6).random(1000, chunks=100).compute()
    assert not np.array_equal(first, other)
    # Blocks are different streams (not one stream restarted per block).
    assert not np.array_equal(first[:100], first[100:200])


def test_seed_forms():
    ss = np.random.SeedSequence(123)
    a = da.random.default_rng(123).random(10, chunks=3).compute()
    np.testing.assert_array_equal(da.random.default_rng(ss).random(10, chunks=3).compute(), a)
    rng = da.random.default_rng(7)
    assert da.random.default_rng(rng) is rng
    # A NumPy Generator / BitGenerator lends its SeedSequence.
    b = da.random.default_rng(np.random.default_rng(123)).random(10, chunks=3).compute()
    assert b.shape == (10,)
    assert da.random.default_rng().random(3).compute().shape == (3,)
    with pytest.raises(TypeError):
        da.random.default_rng(True)
    with pytest.raises((TypeError, ValueError)):
        da.random.default_rng(-1)


@pytest.mark.parametrize(
    "chunks", [3, (2, 5), ((1, 2, 4), (5, 5)), -1, (1, -1), {0: 2}, ((7,), (3, 3, 3, 1))]
)
def test_chunks_match_dask(chunks):
    ours = da.random.default_rng(0)
    theirs = dask_array.random.default_rng(0)
    assert (
        ours.random((7, 10), chunks=chunks).chunks == theirs.random((7, 10), chunks=chunks).chunks
    )
    assert (
        ours.normal(0, 1, (7, 10), chunks=chunks).chunks
        == theirs.normal(0, 1, (7, 10), chunks=chunks).chunks
    )
    assert (
        ours.integers(0, 5, (7, 10), chunks=chunks).chunks
        == theirs.integers(0, 5, (7, 10), chunks=chunks).chunks
    )


def test_dtypes_follow_numpy():
    rng = da.random.default_rng(0)
    nrng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        assert rng.random(4, dtype=dtype).compute().dtype == nrng.random(4, dtype=dtype).dtype
        assert (
            rng.standard_normal(4, dtype=dtype).compute().dtype
            == nrng.standard_normal(4, dtype=dtype).dtype
        )
    for dtype in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        high = 2 if dtype == "bool" else 100
        got = rng.integers(0, high, 50, dtype=dtype, chunks=7).compute()
        assert got.dtype == nrng.integers(0, high, 5, dtype=dtype).dtype
    assert rng.choice(5, 3).dtype == nrng.choice(5, 3).dtype
    assert rng.choice(np.array([1.5, 2.5], np.float32), 3).dtype == np.float32
    assert rng.permutation(5).dtype == nrng.permutation(5).dtype
    # size=None gives a 0-d array that computes to a NumPy scalar, as NumPy's draws.
    value = rng.normal().compute()
    assert np.ndim(value) == 0 and np.asarray(value).dtype == np.float64


def test_statistics_of_large_samples():
    rng = da.random.default_rng(2024)
    n, chunks = 400_000, 37_000

    def stats(x):
        mean, std = da.compute(x.mean(), x.std())
        return float(mean), float(std)

    mean, std = stats(rng.random(n, chunks=chunks))
    assert abs(mean - 0.5) < 0.005 and abs(std - math.sqrt(1 / 12)) < 0.005
    mean, std = stats(rng.uniform(-2, 3, n, chunks=chunks))
    assert abs(mean - 0.5) < 0.03 and abs(std - 5 / math.sqrt(12)) < 0.03
    mean, std = stats(rng.normal(3.0, 2.0, n, chunks=chunks))
    assert abs(mean - 3.0) < 0.02 and abs(std - 2.0) < 0.02
    mean, std = stats(rng.standard_normal(n, chunks=chunks))
    assert abs(mean) < 0.01 and abs(std - 1.0) < 0.01
    mean, std = stats(rng.exponential(2.0, n, chunks=chunks))
    assert abs(mean - 2.0) < 0.02 and abs(std - 2.0) < 0.03
    mean, std = stats(rng.poisson(4.0, n, chunks=chunks))
    assert abs(mean - 4.0) < 0.02 and abs(std - 2.0) < 0.02
    mean, std = stats(rng.binomial(20, 0.25, n, chunks=chunks))
    assert abs(mean - 5.0) < 0.02 and abs(std - math.sqrt(20 * 0.25 * 0.75)) < 0.02
    ints = rng.integers(-3, 4, n, chunks=chunks).compute()
    assert ints.min() == -3 and ints.max() == 3
    assert np.all(np.abs(np.bincount(ints + 3) / n - 1 / 7) < 0.005)
    ints = rng.integers(-3, 4, n, chunks=chunks, endpoint=True).compute()
    assert ints.min() == -3 and ints.max() == 4
    # Block streams are independent: neighbouring blocks are uncorrelated.
    x = rng.standard_normal((2, 100_000), chunks=(1, 100_000)).compute()
    assert abs(np.corrcoef(x[0], x[1])[0, 1]) < 0.02


def test_array_parameters_broadcast_against_size():
    rng = da.random.default_rng(1)
    loc = np.array([0.0, 100.0, -100.0])
    x = rng.normal(loc, 0.001, size=(4, 3), chunks=(3, 2)).compute()
    np.testing.assert_allclose(x, np.broadcast_to(loc, (4, 3)), atol=0.01)
    # The shape defaults to the parameters' shape; brickwork Arrays work too.
    lazy_loc = da.from_array(loc, chunks=2)
    y = rng.normal(lazy_loc, 0.001)
    assert y.shape == (3,)
    np.testing.assert_allclose(y.compute(), loc, atol=0.01)
    low = da.arange(0, 50, 10, chunks=2)
    ints = rng.integers(low, low + 3, size=(6, 5), chunks=2).compute()
    assert ((ints >= np.arange(0, 50, 10)) & (ints < np.arange(3, 53, 10))).all()
    lam = rng.poisson(np.array([[0.0], [1000.0]]), size=(2, 6), chunks=4).compute()
    assert (lam[0] == 0).all() and (lam[1] > 800).all()
    with pytest.raises(ValueError):
        rng.normal(np.zeros(3), 1.0, size=(2,))
    with pytest.raises(ValueError):
        rng.normal(np.zeros(3), 1.0, size=(3, 2))


@given(
    n=st.integers(1, 30),
    size=st.one_of(st.integers(0, 12), st.tuples(st.integers(0, 4), st.integers(0, 4))),
    replace=st.booleans(),
    weighted=st.booleans(),
    chunks=st.sampled_from([1, 3, "auto", -1]),
)
def test_choice_draws_from_the_population(n, size, replace, weighted, chunks):
    population = np.arange(100, 100 + n, dtype=np.int16)
    p = np.arange(1.0, n + 1) / np.arange(1.0, n + 1).sum() if weighted else None
    rng = da.random.default_rng(n)
    count = math.prod(size) if isinstance(size, tuple) else size
    if not replace and count > n:
        with pytest.raises(ValueError):
            np.random.default_rng(0).choice(population, size, replace=False, p=p)
        with pytest.raises(ValueError):
            rng.choice(population, size, replace=False, p=p, chunks=chunks)
        return
    x = rng.choice(population, size, replace=replace, p=p, chunks=chunks)
    expected_shape = size if isinstance(size, tuple) else (size,)
    assert x.shape == expected_shape and x.dtype == np.int16
    got = x.compute()
    assert np.isin(got, population).all()
    if not replace:
        assert len(np.unique(got)) == got.size
    np.testing.assert_array_equal(x.compute(num_threads=1), got)
    ints = rng.choice(n, size, replace=replace, chunks=chunks).compute()
    assert ints.dtype == np.int64 and ((ints >= 0) & (ints < n)).all()


def test_choice_follows_p_and_rejects_numpy_errors():
    rng = da.random.default_rng(3)
    p = np.array([0.1, 0.0, 0.6, 0.3])
    got = rng.choice(4, 200_000, p=p, chunks=30_000).compute()
    np.testing.assert_allclose(np.bincount(got, minlength=4) / got.size, p, atol=0.005)
    # Without replacement the sample is one draw, cut into any chunks (Dask refuses).
    sample = rng.choice(10_000, 5_000, replace=False, chunks=700)
    assert sample.chunks[0][0] == 700
    assert len(np.unique(sample.compute())) == 5_000
    with pytest.raises(ValueError):
        rng.choice(np.ones((2, 2)), 3)
    with pytest.raises(ValueError):
        rng.choice(3, 2, p=[0.5, 0.5])
    with pytest.raises(ValueError):
        rng.choice(3, 2, p=[0.5, 0.6, 0.1])
    with pytest.raises(ValueError):
        rng.choice(0, 2)
    assert rng.choice(0, 0).compute().shape == (0,)
    value = rng.choice(5).compute()
    assert np.ndim(value) == 0 and 0 <= value < 5


@given(
    n=st.integers(0, 40),
    chunks=st.sampled_from([1, 4, -1, "auto"]),
    ndim=st.integers(1, 2),
)
def test_permutation_is_a_permutation(n, chunks, ndim):
    rng = da.random.default_rng(n)
    perm = rng.permutation(n, chunks=chunks)
    assert perm.shape == (n,) and perm.dtype == np.int64
    np.testing.assert_array_equal(np.sort(perm.compute()), np.arange(n))
    x = np.arange(n * 3).reshape(n, 3) if ndim == 2 else np.arange(n, dtype=np.float32) * 1.5
    arr = da.from_array(x, chunks=chunks)
    shuffled = rng.permutation(arr)
    assert shuffled.shape == x.shape and shuffled.dtype == x.dtype
    assert shuffled.chunks == arr.chunks
    got = shuffled.compute()
    np.testing.assert_array_equal(np.sort(got, axis=0), x)
    if ndim == 2:  # rows move together
        np.testing.assert_array_equal(got[:, 1] - got[:, 0], np.ones(n, int))
    np.testing.assert_array_equal(rng.permutation(x).compute().shape, x.shape)


def test_permutation_reproducible_and_shuffles():
    a = da.random.default_rng(9).permutation(1000, chunks=100).compute()
    b = da.random.default_rng(9).permutation(1000, chunks=100).compute(num_threads=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, np.arange(1000))
    with pytest.raises(ValueError):
        da.random.default_rng(0).permutation(-1)
    with pytest.raises(np.exceptions.AxisError):
        da.random.default_rng(0).permutation(np.float64(3.0))


def test_bad_arguments_raise_like_numpy():
    rng = da.random.default_rng(0)
    nrng = np.random.default_rng(0)
    cases = [
        ("normal", (0.0, -1.0)),
        ("uniform", (0.0, np.inf)),
        ("integers", (5, 5)),
        ("integers", (0, 300)),  # with dtype int8 below
        ("exponential", (-1.0,)),
        ("poisson", (-1.0,)),
        ("binomial", (-1, 0.5)),
        ("binomial", (3, 1.5)),
    ]
    for method, params in cases:
        kwargs = {"dtype": "int8"} if params == (0, 300) else {}
        with pytest.raises((ValueError, OverflowError)) as expected:
            getattr(nrng, method)(*params, size=3, **kwargs)
        with pytest.raises(expected.type):
            getattr(rng, method)(*params, size=3, chunks=2, **kwargs)
    for call in (
        lambda g: g.random(3, dtype="int32"),
        lambda g: g.standard_normal(3, dtype="int64"),
        lambda g: g.integers(0, 5, 3, dtype="float64"),
    ):
        with pytest.raises(TypeError):
            call(nrng)
        with pytest.raises(TypeError):
            call(rng)
    with pytest.raises(TypeError):  # NumPy has float16, brickwork does not
        rng.random(3, dtype="float16")
    with pytest.raises(ValueError):
        rng.random((-1, 3))
    with pytest.raises(TypeError):
        rng.random(2.5)
    with pytest.raises(NotImplementedError):
        rng.random(3, out=np.empty(3))
    with pytest.raises(ValueError):
        rng.random((10,), chunks=(3, 3))


def test_module_level_functions_use_a_reseedable_generator():
    bwr.seed(42)
    a = da.random.random((20, 5), chunks=(6, 5)).compute()
    b = da.random.normal(0, 1, 7, chunks=3).compute()
    bwr.seed(42)
    np.testing.assert_array_equal(da.random.random((20, 5), chunks=(6, 5)).compute(), a)
    np.testing.assert_array_equal(da.random.normal(0, 1, 7, chunks=3).compute(), b)
    assert ((a >= 0) & (a < 1)).all()
    r = da.random.randint(3, 9, size=100, chunks=7).compute()
    assert r.dtype == np.int64 and ((r >= 3) & (r < 9)).all()
    r = da.random.integers(3, size=50, chunks=7).compute()
    assert ((r >= 0) & (r < 3)).all()
    for x in (
        da.random.random_sample(5, chunks=2),
        da.random.uniform(1, 2, 5),
        da.random.standard_normal(5),
        da.random.exponential(1.0, 5),
        da.random.poisson(1.0, 5),
        da.random.binomial(4, 0.5, 5),
        da.random.choice(10, 5, replace=False),
        da.random.permutation(5),
    ):
        assert x.shape == (5,) and x.compute().shape == (5,)


def _numpy_blocks(seed, method, params, shape, chunks, dtype=None):
    """The array NumPy's per-block generators give (child i of the first call's
    SeedSequence draws block i)."""
    nblocks = math.prod(len(c) for c in chunks)
    children = np.random.SeedSequence(seed).spawn(1)[0].spawn(nblocks)
    kwargs = {} if dtype is None else {"dtype": dtype}
    first = getattr(np.random.default_rng(0), method)(*params, size=(1,), **kwargs)
    want = np.empty(shape, dtype=first.dtype)
    for child, index in zip(children, _blocks(chunks)):
        block_shape = tuple(s.stop - s.start for s in index)
        gen = np.random.Generator(np.random.PCG64(child))
        want[index] = getattr(gen, method)(*params, size=block_shape, **kwargs)
    return want


@given(data=st.data(), seed=st.integers(0, 2**70), dtype=st.sampled_from(["float64", "float32"]))
def test_engine_random_of_views_matches_numpy_blocks(data, seed, dtype):
    """The engine generates any region of a random array (slices with steps, reversed,
    transposed, fused into other operations) with NumPy's per-block streams."""
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple))
    chunks = data.draw(chunk_specs(shape, allow_auto=False))
    x = da.random.default_rng(seed).random(shape, dtype=dtype, chunks=chunks)
    want = _numpy_blocks(seed, "random", (), shape, x.chunks, dtype)
    index = tuple(
        slice(None, None, data.draw(st.sampled_from([1, 2, -1, -3]))) for _ in shape
    )
    np.testing.assert_array_equal(x[index].compute(), want[index])
    np.testing.assert_array_equal(x.T.compute(), want.T)
    # brickwork sums float32 in float64 (more accurate than NumPy's float32 sums).
    np.testing.assert_allclose(
        (x * 2 + 1).sum(axis=0).compute(), (want * 2 + 1).sum(axis=0), rtol=1e-6
    )


def test_engine_uniform_large_block_index_and_seed_sequence_entropy():
    """Many blocks (indices above 2**16), big entropy, and a SeedSequence given."""
    ss = np.random.SeedSequence([2**40 + 5, 7])
    x = da.random.default_rng(ss).uniform(-3.0, 5.0, size=(300, 400), chunks=(1, 2))
    want = _numpy_blocks(ss.entropy, "uniform", (-3.0, 5.0), (300, 400), x.chunks)
    np.testing.assert_array_equal(x.compute(), want)


NORMALS = [("standard_normal", ()), ("normal", (1.5, 0.25)), ("normal", (-3.0, 0.0))]


@given(data=st.data(), seed=st.integers(0, 2**70), which=st.sampled_from(NORMALS))
def test_engine_normal_of_views_matches_numpy_blocks(data, seed, which):
    """Normal values take a variable number of draws each, so the engine draws a block's
    stream in order: regions read backward (reversed, stepped, transposed), in pieces
    (slices, reductions re-blocked along rows) and fused into other operations still give
    NumPy's per-block values, for regular, irregular and size-1 chunks."""
    method, params = which
    shape = data.draw(st.lists(st.integers(1, 9), min_size=1, max_size=3).map(tuple))
    chunks = data.draw(chunk_specs(shape, allow_auto=False))
    x = getattr(da.random.default_rng(seed), method)(*params, size=shape, chunks=chunks)
    want = _numpy_blocks(seed, method, params, shape, x.chunks)
    np.testing.assert_array_equal(x.compute(), want, strict=True)
    index = tuple(
        slice(
            data.draw(st.integers(0, n - 1)),
            None,
            data.draw(st.sampled_from([1, 2, -1, -3])),
        )
        for n in shape
    )
    np.testing.assert_array_equal(x[index].compute(), want[index])
    np.testing.assert_array_equal(x.T.compute(), want.T)
    # Two reads of the same blocks in one task, one forward and one backward.
    np.testing.assert_array_equal((x + 2 * x[::-1]).compute(), want + 2 * want[::-1])
    np.testing.assert_allclose((x * 2 + 1).sum(axis=0).compute(), (want * 2 + 1).sum(axis=0))
    np.testing.assert_allclose(x.mean(axis=-1).compute(), want.mean(axis=-1))


def test_engine_standard_normal_of_a_large_block_matches_numpy_bit_for_bit():
    """10**6 values in one block take every layer of the ziggurat thousands of times,
    and its wedges and tail: each value is NumPy's; so are they read in pieces."""
    rng = da.random.default_rng(123)
    x = rng.standard_normal((1000, 1000), chunks=(1000, 1000))
    want = _numpy_blocks(123, "standard_normal", (), (1000, 1000), x.chunks)
    assert np.abs(want).max() > 3.6541528853610088  # the tail was drawn
    np.testing.assert_array_equal(x.compute(), want, strict=True)
    np.testing.assert_array_equal(x[::-7, 3::5].compute(), want[::-7, 3::5])
    np.testing.assert_array_equal(x[500:].T.compute(), want[500:].T)
    # A mean over axis 0 splits the block into row pieces, drawn by two threads.
    np.testing.assert_allclose(x.mean(axis=0).compute(num_threads=2), want.mean(axis=0))


def test_standard_normal_float32_is_drawn_by_numpy_per_block():
    """float32 normals (NumPy's float ziggurat) stay on NumPy's own generator."""
    x = da.random.default_rng(5).standard_normal((30, 20), dtype="float32", chunks=(7, 6))
    want = _numpy_blocks(5, "standard_normal", (), (30, 20), x.chunks, "float32")
    np.testing.assert_array_equal(x.compute(), want, strict=True)
