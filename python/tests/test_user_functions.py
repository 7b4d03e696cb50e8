"""map_blocks (drop_axis, new_axis, block_info), blockwise, apply_along_axis,
apply_over_axes, apply_gufunc and reduction against NumPy on the whole array and
against Dask (chunks, block_info, the reduction tree)."""

from __future__ import annotations

import dask.array as dask_array
import numpy as np
import pytest
from _support import FLOAT_DTYPES, arrays, assert_values, chunk_specs, dtypes, explicit_chunks
from hypothesis import given
from hypothesis import strategies as st
from numpy.exceptions import AxisError

import brickwork.array as da

shapes = st.lists(st.integers(0, 6), min_size=1, max_size=3).map(tuple)
nonempty = st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple)


def _case(data, shape_strategy=shapes, dtype=None):
    """(numpy array, brickwork array, dask array with the same chunks)."""
    shape = data.draw(shape_strategy, label="shape")
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    a = da.from_array(x, chunks=chunks)
    return x, a, dask_array.from_array(x, chunks=a.chunks)


def _numbers(data, shape_strategy=shapes, dtype="float64"):
    """Like _case with small finite values (sums compare across groupings)."""
    shape = data.draw(shape_strategy, label="shape")
    x = data.draw(arrays(dtype, shape, st.integers(-50, 50).map(float)), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    a = da.from_array(x, chunks=chunks)
    return x, a, dask_array.from_array(x, chunks=a.chunks)


# --------------------------------------------------------------------------- map_blocks


@given(data=st.data())
def test_map_blocks_drop_axis_matches_numpy_and_dask_chunks(data):
    x, a, d = _case(data)
    ax = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")

    def total(b):
        return b.sum(axis=ax)

    got = a.map_blocks(total, drop_axis=ax)
    theirs = d.map_blocks(total, drop_axis=ax)
    assert got.chunks == theirs.chunks
    expected = x.sum(axis=ax)
    assert got.dtype == expected.dtype
    assert_values(got.compute(), expected)


@given(data=st.data())
def test_map_blocks_new_axis_matches_dask(data):
    x, a, d = _case(data)
    got = a.map_blocks(lambda b: b[None, ..., None], new_axis=[0, x.ndim + 1])
    theirs = d.map_blocks(lambda b: b[None, ..., None], new_axis=[0, x.ndim + 1])
    assert got.chunks == theirs.chunks
    assert_values(got.compute(), x[None, ..., None])


@given(data=st.data(), copies=st.integers(1, 3))
def test_map_blocks_replaces_an_axis(data, copies):
    """drop_axis and new_axis at the same place with explicit chunks (min and max of the
    axis, as apply_along_axis does it)."""
    x, a, d = _numbers(data, nonempty)
    ax = data.draw(st.integers(0, x.ndim - 1), label="axis")
    chunks = a.chunks[:ax] + ((2,) * copies,) + a.chunks[ax + 1 :]

    def stats(b):
        return np.stack([b.min(axis=ax), b.max(axis=ax)], axis=ax)

    got = a.map_blocks(
        stats, drop_axis=ax, new_axis=ax, chunks=a.chunks[:ax] + ((2,),) + a.chunks[ax + 1 :]
    )
    assert_values(got.compute(), stats(x))
    # A new axis cut into several blocks: each is computed from the same input blocks.
    several = a.map_blocks(stats, drop_axis=ax, new_axis=ax, chunks=chunks)
    theirs = d.map_blocks(stats, drop_axis=ax, new_axis=ax, chunks=chunks)
    assert several.chunks == theirs.chunks
    assert_values(several.compute(), theirs.compute())


def _infos(array, drop, **compute_kwargs):
    """The block_info dictionaries map_blocks hands a function, by output block."""
    found = []

    def func(b, block_info=None):
        if isinstance(block_info, dict):  # Dask's meta call passes None or a placeholder
            found.append(block_info)
        return b.sum(axis=0, dtype=np.int64) if drop else b

    kwargs = {"drop_axis": 0, "dtype": np.int64} if drop else {"dtype": array.dtype}
    array.map_blocks(func, **kwargs).compute(**compute_kwargs)
    return sorted(found, key=lambda i: i[None]["chunk-location"])


@given(data=st.data(), drop=st.booleans())
def test_block_info_matches_dask(data, drop):
    x, a, d = _case(data, nonempty, dtype="int32")
    drop = drop and x.ndim > 1
    assert _infos(a, drop, num_threads=1) == _infos(d, drop, scheduler="sync")


def test_block_info_of_several_inputs_and_constants():
    x = np.arange(24).reshape(4, 6)
    y = np.arange(6)
    a, b = da.from_array(x, chunks=(2, 3)), da.from_array(y, chunks=3)
    dx, dy = dask_array.from_array(x, chunks=(2, 3)), dask_array.from_array(y, chunks=3)
    seen = {}

    def record(p, k, q, block_info=None, store=None):
        if block_info is not None:
            store.setdefault(block_info[None]["chunk-location"], block_info)
            # Each block keeps its own array's dimensions (Dask's blocks, not broadcast).
            assert q.ndim == 1 and p.ndim == 2
        return p + k * q

    mine = da.map_blocks(record, a, 10, b, dtype=a.dtype, store=seen)
    np.testing.assert_array_equal(mine.compute(), x + 10 * y)
    theirs_seen = {}
    dask_array.map_blocks(record, dx, 10, dy, dtype=dx.dtype, store=theirs_seen).compute(
        scheduler="sync"
    )
    assert seen == theirs_seen
    assert set(seen[(1, 1)]) == {0, 2, None}


def test_map_blocks_without_arrays_and_block_id_on_new_axes():
    def arange_block(block_info=None):
        start, stop = block_info[None]["array-location"][0]
        return np.arange(start, stop)

    got = da.map_blocks(arange_block, chunks=((4, 4, 2),), dtype=np.int64)
    assert got.chunks == ((4, 4, 2),)
    np.testing.assert_array_equal(got.compute(), np.arange(10))
    a = da.ones((4,), chunks=2)
    ids = a.map_blocks(
        lambda b, block_id=None: np.full((3,) + b.shape, block_id[0] * 10 + block_id[1]),
        new_axis=0,
        chunks=((3, 3), 2),
        dtype=np.int64,
    )
    theirs = dask_array.ones((4,), chunks=2).map_blocks(
        lambda b, block_id=None: np.full((3,) + b.shape, block_id[0] * 10 + block_id[1]),
        new_axis=0,
        chunks=((3, 3), 2),
        dtype=np.int64,
    )
    assert ids.chunks == theirs.chunks
    np.testing.assert_array_equal(ids.compute(), theirs.compute())


def test_map_blocks_argument_errors():
    a = da.ones((4, 6), chunks=(2, 3))
    with pytest.raises(ValueError, match="drop_axis out of range"):
        a.map_blocks(lambda b: b, drop_axis=2)
    with pytest.raises(ValueError, match="Provided chunks have"):
        a.map_blocks(lambda b: b, chunks=((2, 2),))
    with pytest.raises(ValueError, match="blocks"):
        a.map_blocks(lambda b: b, chunks=((4,), (3, 3)))
    with pytest.raises(AxisError):
        a.map_blocks(lambda b: b[..., None], new_axis=5)
    with pytest.raises(TypeError):
        da.map_blocks(3, a)
    with pytest.raises(ValueError, match="Dimension mismatch"):
        a.map_blocks(lambda b: b.sum(), enforce_ndim=True).compute()
    # A function that returns the declared dimensions passes the check.
    np.testing.assert_array_equal(
        a.map_blocks(lambda b: b * 2, enforce_ndim=True).compute(), np.full((4, 6), 2.0)
    )


def test_map_blocks_with_new_axes_in_worker_processes():
    x = np.arange(60.0).reshape(6, 10)
    a = da.from_array(x, chunks=(3, 4))

    def spread(b, block_info=None):
        lo = block_info[0]["array-location"][0][0]
        return np.stack([b.sum(axis=0) + lo, b.max(axis=0)])

    got = a.map_blocks(spread, drop_axis=0, new_axis=0, chunks=((2, 2), (4, 4, 2)), dtype=float)
    # Axis 0 is gathered whole; both blocks of the new axis see the same input block.
    expected = np.tile(np.stack([x.sum(0), x.max(0)]), (2, 1))
    np.testing.assert_array_equal(got.compute(scheduler="processes", num_threads=2), expected)


# --------------------------------------------------------------------------- blockwise


@given(data=st.data())
def test_blockwise_elementwise_and_transpose(data):
    x, a, d = _numbers(data, st.tuples(st.integers(0, 6), st.integers(0, 6)))
    y = x * 2 + 1
    cy = data.draw(chunk_specs(x.shape, allow_auto=False), label="y chunks")
    b = da.from_array(y, chunks=cy)
    got = da.blockwise(np.add, "ij", a, "ij", b, "ij", dtype=x.dtype)
    assert_values(got.compute(), x + y)
    t = da.blockwise(np.transpose, "ji", a, "ij", dtype=x.dtype)
    assert t.chunks == dask_array.blockwise(np.transpose, "ji", d, "ij", dtype=x.dtype).chunks
    assert_values(t.compute(), x.T)
    mixed = da.blockwise(lambda p, q: p + q.T, "ij", a, "ij", b.T, "ji", dtype=x.dtype)
    assert_values(mixed.compute(), x + y)


@given(data=st.data(), concatenate=st.booleans())
def test_blockwise_contraction_matches_numpy_and_dask(data, concatenate):
    n, k, m = (data.draw(st.integers(1, 6), label=s) for s in "nkm")
    x = data.draw(arrays("float64", (n, k), st.integers(-9, 9).map(float)), label="x")
    y = data.draw(arrays("float64", (k, m), st.integers(-9, 9).map(float)), label="y")
    a = da.from_array(x, chunks=data.draw(chunk_specs((n, k), allow_auto=False), label="ca"))
    b = da.from_array(y, chunks=data.draw(chunk_specs((k, m), allow_auto=False), label="cb"))

    if concatenate:

        def product(p, q):
            return p @ q
    else:

        def product(ps, qs):
            return sum(p @ q for p, q in zip(ps, qs))

    got = da.blockwise(product, "ik", a, "ij", b, "jk", dtype=float, concatenate=concatenate)
    da_, db = dask_array.from_array(x, chunks=a.chunks), dask_array.from_array(y, chunks=b.chunks)
    theirs = dask_array.blockwise(
        product, "ik", da_, "ij", db, "jk", dtype=float, concatenate=concatenate
    )
    if a.chunks[1] == b.chunks[0]:
        assert got.chunks == theirs.chunks
    assert_values(got.compute(), x @ y)


def test_blockwise_outer_new_axes_adjust_chunks_and_literals():
    p = da.from_array(np.array([0, 1, 2]), chunks=1)
    q = da.from_array(np.array([10, 50, 100]), chunks=2)
    np.testing.assert_array_equal(
        da.blockwise(np.outer, "ij", p, "i", q, "j", dtype="i8").compute(),
        np.outer([0, 1, 2], [10, 50, 100]),
    )
    z = da.blockwise(
        lambda v: v[:, None] * np.ones((1, 5)), "az", p, "a", new_axes={"z": (5, 5)}, dtype=float
    )
    assert z.chunks == ((1, 1, 1), (5, 5))
    np.testing.assert_array_equal(z.compute(), np.repeat(np.array([0, 1, 2.0])[:, None], 10, 1))
    x = da.from_array(np.arange(8).reshape(2, 4), chunks=(1, 2))
    doubled = da.blockwise(
        lambda v: np.concatenate([v, v]),
        "ij",
        x,
        "ij",
        adjust_chunks={"i": lambda n: 2 * n},
        dtype=x.dtype,
    )
    assert doubled.chunks == ((2, 2), (2, 2))
    np.testing.assert_array_equal(
        da.blockwise(np.add, "ij", x, "ij", 1234, None, dtype=x.dtype).compute(),
        np.arange(8).reshape(2, 4) + 1234,
    )
    dots = da.blockwise(
        lambda xs, ys: sum(u.dot(v) for u, v in zip(xs, ys)), "", p, "i", p, "i", dtype="f8"
    )
    assert dots.shape == () and dots.compute() == 5


def test_blockwise_errors():
    x = da.ones((2, 3), chunks=1)
    with pytest.raises(ValueError, match="Repeated"):
        da.blockwise(np.add, "ii", x, "ij", dtype=float)
    with pytest.raises(ValueError, match="Unknown dimension"):
        da.blockwise(np.add, "ik", x, "ij", dtype=float)
    with pytest.raises(ValueError, match="does not match"):
        da.blockwise(np.add, "ij", x, "ijk", dtype=float)
    with pytest.raises(ValueError, match="different lengths"):
        da.blockwise(np.add, "ij", x, "ij", da.ones((3, 3)), "ij", dtype=float)
    with pytest.raises(ValueError, match="blocks"):
        da.blockwise(np.add, "ij", x, "ij", adjust_chunks={"i": (1,)}, dtype=float)


# --------------------------------------------------------------------------- along an axis


FUNCS_1D = {
    "cumsum": np.cumsum,
    "sort": np.sort,
    "minmax": lambda v: np.array([v.min(), v.max()]),
    "sum": np.sum,
    "outer": lambda v: np.outer(v[:2], v[:1]),
}


@given(data=st.data(), name=st.sampled_from(sorted(FUNCS_1D)))
def test_apply_along_axis_matches_numpy(data, name):
    x, a, _ = _numbers(data, nonempty)
    ax = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    func = FUNCS_1D[name]
    expected = np.apply_along_axis(func, ax, x)
    got = da.apply_along_axis(func, ax, a)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert_values(got.compute(), expected)
    assert_values(np.apply_along_axis(func, ax, a).compute(), expected)  # NEP 18


def test_apply_along_axis_follows_dask_given_shape_and_errors():
    x = np.arange(24.0).reshape(4, 6)
    a, d = da.from_array(x, chunks=(3, 4)), dask_array.from_array(x, chunks=(3, 4))
    got = da.apply_along_axis(np.cumsum, 0, a, shape=(4,), dtype=float)
    theirs = dask_array.apply_along_axis(np.cumsum, 0, d, shape=(4,), dtype=float)
    assert got.chunks == theirs.chunks
    np.testing.assert_array_equal(got.compute(), theirs.compute())
    with pytest.raises(AxisError):
        da.apply_along_axis(np.sum, 2, a)
    got = da.apply_over_axes(np.sum, a, [0, 1])
    np.testing.assert_array_equal(got.compute(), np.apply_over_axes(np.sum, x, [0, 1]))


# --------------------------------------------------------------------------- gufuncs


def _loop_case(data, core):
    """A float array with 0-2 loop axes (chunked) and the given core lengths (whole)."""
    loop = data.draw(st.lists(st.integers(1, 5), max_size=2).map(tuple), label="loop")
    x = data.draw(arrays("float64", loop + core, st.integers(-9, 9).map(float)), label="x")
    loop_chunks = (
        data.draw(chunk_specs(loop, allow_auto=False), label="loop chunks") if loop else ()
    )
    if not isinstance(loop_chunks, tuple):
        loop_chunks = (loop_chunks,) * len(loop)
    a = da.from_array(x, chunks=tuple(loop_chunks) + (-1,) * len(core))
    return x, a


@given(data=st.data())
def test_apply_gufunc_reduce_keep_and_transform(data):
    n = data.draw(st.integers(1, 5), label="n")
    x, a = _loop_case(data, (n,))
    mean = da.apply_gufunc(lambda v: v.mean(axis=-1), "(i)->()", a)
    assert_values(mean.compute(), x.mean(axis=-1))
    cumsum = da.apply_gufunc(lambda v: np.cumsum(v, axis=-1), "(i)->(i)", a, output_dtypes=float)
    assert_values(cumsum.compute(), np.cumsum(x, axis=-1))
    ranges = da.apply_gufunc(
        lambda v: np.stack([v.min(-1), v.max(-1), v.mean(-1)], -1),
        "(i)->(k)",
        a,
        output_sizes={"k": 3},
    )
    assert_values(ranges.compute(), np.stack([x.min(-1), x.max(-1), x.mean(-1)], -1))
    kept = da.apply_gufunc(lambda v: v.sum(-1), "(i)->()", a, keepdims=True)
    assert_values(kept.compute(), x.sum(-1, keepdims=True))
    d = dask_array.from_array(x, chunks=a.chunks)
    theirs = dask_array.apply_gufunc(lambda v: v.mean(axis=-1), "(i)->()", d)
    assert mean.chunks == theirs.chunks


@given(data=st.data())
def test_apply_gufunc_two_outputs_run_once_per_block(data):
    n = data.draw(st.integers(1, 4), label="n")
    x, a = _loop_case(data, (n,))
    calls = []

    def stats(v):
        calls.append(v.shape)
        return v.mean(axis=-1), v.max(axis=-1).astype(np.int32)

    mean, top = da.apply_gufunc(stats, "(i)->(),()", a, output_dtypes=(float, np.int32))
    assert mean.dtype == np.float64 and top.dtype == np.int32
    calls.clear()
    got_mean, got_top = da.compute(mean, top)
    assert len(calls) == a.npartitions
    assert_values(np.asarray(got_mean), np.asarray(x.mean(axis=-1)))
    assert_values(np.asarray(got_top), np.asarray(x.max(axis=-1).astype(np.int32)))


def test_apply_gufunc_broadcasting_vectorize_axes_and_decorators():
    rng = np.random.default_rng(3)
    p, q = rng.random((20, 30)), rng.random((10, 1, 40))
    a, b = da.from_array(p, chunks=(10, 30)), da.from_array(q, chunks=(5, 1, 40))
    got = da.apply_gufunc(
        lambda u, v: np.einsum("i,j->ij", u, v),
        "(i),(j)->(i,j)",
        a,
        b,
        vectorize=True,
        output_dtypes=float,
    )
    theirs = dask_array.apply_gufunc(
        lambda u, v: np.einsum("i,j->ij", u, v),
        "(i),(j)->(i,j)",
        dask_array.from_array(p, chunks=(10, 30)),
        dask_array.from_array(q, chunks=(5, 1, 40)),
        vectorize=True,
        output_dtypes=float,
    )
    assert got.shape == (10, 20, 30, 40) and got.chunks == theirs.chunks
    np.testing.assert_allclose(got.compute(), theirs.compute())
    x = rng.random((6, 5))
    c = da.from_array(x, chunks=(-1, 2))
    along0 = da.apply_gufunc(lambda v: v.sum(-1), "(i)->()", c, axis=0)
    np.testing.assert_allclose(along0.compute(), x.sum(0))
    swapped = da.apply_gufunc(
        lambda v: v, "(i,j)->(i,j)", da.from_array(x, chunks=-1), axes=[(0, 1), (1, 0)]
    )
    np.testing.assert_array_equal(swapped.compute(), x.T)

    @da.as_gufunc("(i)->()", output_dtypes=float)
    def total(v):
        return v.sum(axis=-1)

    np.testing.assert_allclose(total(da.from_array(x, chunks=(2, -1))).compute(), x.sum(-1))
    norm = da.gufunc(lambda v: np.sqrt((v * v).sum(-1)), signature="(i)->()", output_dtypes=float)
    np.testing.assert_allclose(
        norm(da.from_array(x, chunks=(3, -1))).compute(), np.linalg.norm(x, axis=-1)
    )


def test_apply_gufunc_errors_as_dask():
    x = da.ones((6, 5), chunks=(3, 2))
    with pytest.raises(ValueError, match="consists of multiple chunks"):
        da.apply_gufunc(lambda v: v.sum(-1), "(i)->()", x)
    np.testing.assert_array_equal(
        da.apply_gufunc(lambda v: v.sum(-1), "(i)->()", x, allow_rechunk=True).compute(),
        np.full(6, 5.0),
    )
    with pytest.raises(ValueError, match="different chunksize"):
        da.apply_gufunc(np.add, "(),()->()", da.ones(6, chunks=2), da.ones(6, chunks=3))
    with pytest.raises(ValueError, match="different lengths"):
        da.apply_gufunc(np.add, "(),()->()", da.ones(6), da.ones(5))
    with pytest.raises(ValueError, match="Not a valid gufunc signature"):
        da.apply_gufunc(np.add, "(i)->(", x)
    with pytest.raises(ValueError, match="requires 2 arguments"):
        da.apply_gufunc(np.add, "(),()->()", x, output_dtypes=float)
    with pytest.raises(TypeError):
        da.as_gufunc("(i)->()", bogus=1)


# --------------------------------------------------------------------------- reduction


def _sum_chunk(b, axis, keepdims):
    return np.sum(b, axis=axis, keepdims=keepdims)


def _sum_lists(parts, axis, keepdims):
    """aggregate / combine with concatenate=False: nested lists, one level per axis."""

    def join(p, level):
        if not isinstance(p, list):
            return p
        return np.concatenate([join(q, level + 1) for q in p], axis=sorted(axis)[level])

    return np.sum(join(parts, 0), axis=axis, keepdims=keepdims)


@given(
    data=st.data(),
    keepdims=st.booleans(),
    split_every=st.sampled_from([None, 2, 3, 8]),
    concatenate=st.booleans(),
)
def test_reduction_matches_numpy_and_dask_tree(data, keepdims, split_every, concatenate):
    x, a, d = _numbers(data)
    axis = data.draw(
        st.one_of(
            st.none(),
            st.integers(-x.ndim, x.ndim - 1),
            st.sets(st.integers(0, x.ndim - 1), min_size=1).map(tuple),
        ),
        label="axis",
    )
    agg = _sum_chunk if concatenate else _sum_lists
    got = da.reduction(
        a,
        _sum_chunk,
        agg,
        axis=axis,
        keepdims=keepdims,
        dtype=float,
        split_every=split_every,
        concatenate=concatenate,
    )
    theirs = dask_array.reduction(
        d,
        _sum_chunk,
        agg,
        axis=axis,
        keepdims=keepdims,
        dtype=float,
        split_every=split_every or 16,
        concatenate=concatenate,
    )
    assert got.chunks == theirs.chunks
    assert_values(np.asarray(got.compute()), np.asarray(x.sum(axis=axis, keepdims=keepdims)))


def _pair_chunk(b, axis, keepdims):
    """Partial (sum, count) pairs along the one reduced axis: two values per block."""
    (ax,) = axis
    return np.concatenate(
        [
            b.sum(axis=ax, keepdims=True),
            np.full(b.sum(axis=ax, keepdims=True).shape, b.shape[ax], float),
        ],
        axis=ax,
    )


def _pair_merge(b, axis):
    (ax,) = axis
    moved = np.moveaxis(b, ax, -1)
    pairs = moved.reshape(moved.shape[:-1] + (-1, 2)).sum(axis=-2)
    return pairs


def _pair_combine(b, axis, keepdims):
    return np.moveaxis(_pair_merge(b, axis), -1, axis[0])


def _pair_aggregate(b, axis, keepdims):
    pairs = _pair_merge(b, axis)
    mean = pairs[..., 0] / pairs[..., 1]
    return np.expand_dims(mean, axis[0]) if keepdims else mean


@given(data=st.data(), split_every=st.sampled_from([2, 3]), keepdims=st.booleans())
def test_reduction_with_partials_of_two_values(data, split_every, keepdims):
    """A mean from (sum, count) partials: partial results longer than one along the
    axis, a combine different from the aggregate."""
    x, a, d = _numbers(data, nonempty)
    ax = data.draw(st.integers(0, x.ndim - 1), label="axis")
    got = da.reduction(
        a,
        _pair_chunk,
        _pair_aggregate,
        combine=_pair_combine,
        axis=ax,
        keepdims=keepdims,
        dtype=float,
        split_every=split_every,
    )
    expected = x.mean(axis=ax, keepdims=keepdims)
    assert got.shape == expected.shape
    assert_values(got.compute(), expected, rtol=1e-12)


def test_reduction_weights_dtype_and_errors():
    x = np.arange(24.0).reshape(4, 6)
    w = np.linspace(0, 1, 6)
    a = da.from_array(x, chunks=(3, 4))

    def chunk(b, weights=None, axis=None, keepdims=None):
        return np.sum(b * weights, axis=axis, keepdims=keepdims)

    got = da.reduction(a, chunk, _sum_chunk, axis=1, dtype=float, weights=w)
    np.testing.assert_allclose(got.compute(), (x * w).sum(axis=1))

    def typed(b, axis, keepdims, dtype):
        return np.sum(b, axis=axis, keepdims=keepdims, dtype=dtype)

    got = da.reduction(a, typed, typed, dtype=np.float32)
    assert got.dtype == np.float32 and got.compute() == np.float32(x.sum())
    with pytest.raises(ValueError, match="Must specify dtype"):
        da.reduction(a, _sum_chunk, _sum_chunk)
    with pytest.raises(AxisError):
        da.reduction(a, _sum_chunk, _sum_chunk, axis=2, dtype=float)
    with pytest.raises(ValueError, match="broadcastable"):
        da.reduction(a, chunk, _sum_chunk, dtype=float, weights=np.ones(5))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_reduction_counts_combine_calls_like_dask(dtype):
    x = np.arange(100, dtype=dtype)
    shapes_seen = {"mine": [], "dask": []}

    def combine(which):
        def step(b, axis, keepdims):
            shapes_seen[which].append(b.shape)
            return np.sum(b, axis=axis, keepdims=keepdims)

        return step

    got = da.reduction(
        da.from_array(x, chunks=5),
        _sum_chunk,
        _sum_chunk,
        combine=combine("mine"),
        dtype=dtype,
        split_every=3,
    )
    theirs = dask_array.reduction(
        dask_array.from_array(x, chunks=5),
        _sum_chunk,
        _sum_chunk,
        combine=combine("dask"),
        dtype=dtype,
        split_every=3,
    )
    shapes_seen["mine"].clear()
    shapes_seen["dask"].clear()
    assert got.compute() == theirs.compute() == x.sum()
    assert sorted(shapes_seen["mine"]) == sorted(shapes_seen["dask"])


@given(data=st.data())
def test_apply_gufunc_with_a_core_dimension_repeated_in_one_argument(data):
    n = data.draw(st.integers(1, 4), label="n")
    x = np.random.default_rng(data.draw(st.integers(0, 99), label="seed")).random((5, n, n))
    chunks = (data.draw(explicit_chunks(5), label="loop chunks"), n, n)
    a = da.from_array(x, chunks=chunks)
    np.testing.assert_allclose(
        da.apply_gufunc(np.linalg.det, "(m,m)->()", a).compute(), np.linalg.det(x), rtol=1e-10
    )
    cube = np.random.default_rng(1).random((4, n, n, n))
    got = da.apply_gufunc(
        lambda v: v.sum(axis=(-3, -2, -1)), "(m,m,m)->()", da.from_array(cube, chunks=(3, n, n, n))
    )
    np.testing.assert_allclose(got.compute(), cube.sum(axis=(1, 2, 3)), rtol=1e-12)
