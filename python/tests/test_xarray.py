"""brickwork as xarray's chunk manager, checked against NumPy-backed xarray.

Every result computed on brickwork-backed Datasets is compared with the same operation
on the same Dataset held in NumPy arrays (xarray's own reference path); results are
checked to be lazy brickwork arrays before ``compute``.
"""

from __future__ import annotations

import threading
import time
import warnings
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from _support import explicit_chunks
from hypothesis import given, settings
from hypothesis import strategies as st

import brickwork
import brickwork.array as da

xr = pytest.importorskip("xarray")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    zarr = pytest.importorskip("zarr")

from xarray.namedarray.parallelcompat import (  # noqa: E402 - after the importorskip
    get_chunked_array_type,
    guess_chunkmanager,
    list_chunkmanagers,
)

from brickwork.xarray_chunkmanager import BrickworkChunkManager  # noqa: E402

BW = "brickwork"


def dataset(n_time=40, n_x=3, seed=0, freq="6h"):
    """A Dataset with a time coordinate: floats with NaNs, ints, float32."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n_time, n_x))
    a[rng.random(a.shape) < 0.1] = np.nan
    return xr.Dataset(
        {
            "a": (("time", "x"), a),
            "b": (("time",), rng.integers(-50, 50, n_time).astype("int32")),
            "c": (("x", "time"), rng.random((n_x, n_time)).astype("float32")),
        },
        coords={
            "time": pd.date_range("2000-01-01", periods=n_time, freq=freq),
            "x": np.arange(n_x) * 10,
        },
        attrs={"title": "test"},
    )


def assert_lazy(obj):
    """Every data variable of ``obj`` is held in a brickwork array."""
    items = obj.data_vars.values() if isinstance(obj, xr.Dataset) else [obj]
    for var in items:
        assert isinstance(var.data, da.Array), (var.name, type(var.data))


def check(op, ds, chunks, lazy=True):
    """``op`` on ``ds`` chunked with brickwork is lazy (unless ``lazy`` is False) and
    equals ``op`` on NumPy data (float32 sums differ in rounding: brickwork adds them in
    float64)."""
    expected = op(ds)
    result = op(ds.chunk(chunks, chunked_array_type=BW))
    if lazy:
        assert_lazy(result)
    xr.testing.assert_allclose(result.compute(), expected, rtol=1e-5, atol=1e-6)


def write_store(path, ds, chunks):
    """Write ``ds`` with zarr-python through xarray (NumPy data, explicit chunks)."""
    encoding = {name: {"chunks": tuple(chunks[d] for d in ds[name].dims)} for name in ds}
    ds.to_zarr(path, encoding=encoding, zarr_format=3, consolidated=False)


# Chunkings of ``dataset()``: single elements, irregular, mixed and whole.
CHUNKINGS = [
    {"time": 1, "x": 1},
    {"time": (7, 1, 20, 12), "x": (2, 1)},
    {"time": 9},
    {"time": -1, "x": -1},
]


# --------------------------------------------------------------------------- registration


def test_the_entry_point_registers_a_brickwork_chunk_manager():
    managers = list_chunkmanagers()
    assert isinstance(managers[BW], BrickworkChunkManager)
    assert guess_chunkmanager(BW) is managers[BW]
    with xr.set_options(chunk_manager=BW):
        assert isinstance(dataset().chunk(time=5).a.data, da.Array)


def test_dask_does_not_claim_brickwork_arrays_and_brickwork_claims_nothing_else():
    dask = pytest.importorskip("dask")
    from xarray.namedarray.daskmanager import DaskManager
    from xarray.namedarray.utils import is_duck_dask_array

    x = da.from_array(np.arange(6.0), chunks=2)
    assert not dask.is_dask_collection(x)
    assert not is_duck_dask_array(x)
    assert not DaskManager().is_chunked_array(x)
    assert isinstance(get_chunked_array_type(x), BrickworkChunkManager)
    manager = list_chunkmanagers()[BW]
    assert manager.is_chunked_array(x)
    assert not manager.is_chunked_array(np.arange(6.0))
    assert not manager.is_chunked_array(dask.array.ones(6, chunks=2))
    # dask-backed and brickwork-backed data cannot be mixed in one computation
    mixed = (dataset().a.chunk(time=5), dataset().a.chunk(time=5, chunked_array_type=BW))
    with pytest.raises(TypeError, match="Mixing chunked array types"):
        xr.apply_ufunc(np.add, *mixed, dask="parallelized")


# --------------------------------------------------------------------------- chunking


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_chunk_gives_the_requested_chunks_and_the_same_values(chunks):
    ds = dataset()
    result = ds.chunk(chunks, chunked_array_type=BW)
    assert_lazy(result)
    expected = ds.chunk(chunks)  # Dask's chunking of the same request
    assert dict(result.chunksizes) == dict(expected.chunksizes)
    xr.testing.assert_identical(result.compute(), ds)
    # without chunked_array_type xarray would use its default manager (Dask) again
    rechunked = result.chunk(time=4, chunked_array_type=BW)
    assert_lazy(rechunked)
    assert rechunked.a.chunks == ((4,) * 10, result.a.chunks[1])
    xr.testing.assert_identical(rechunked.compute(), ds)


def test_compute_persist_load_and_deep_copy():
    ds = dataset()
    chunked = ds.chunk(time=(7, 1, 20, 12), chunked_array_type=BW)
    persisted = chunked.persist()
    assert_lazy(persisted)
    assert persisted.a.chunks == chunked.a.chunks
    xr.testing.assert_identical(persisted.compute(), ds)
    copied = chunked.copy(deep=True)
    assert_lazy(copied)
    xr.testing.assert_identical(copied.compute(), ds)
    np.testing.assert_array_equal(chunked.a.values, ds.a.values)
    loaded = chunked.copy().load()
    assert isinstance(loaded.a.data, np.ndarray)
    xr.testing.assert_identical(loaded, ds)


def test_chunking_data_of_an_unsupported_dtype_raises_type_error():
    ds = dataset()
    ds["when"] = ("time", ds.time.values)  # datetime64 data variable
    with pytest.raises(TypeError, match="datetime64"):
        ds.chunk(time=5, chunked_array_type=BW)


# --------------------------------------------------------------------------- computations


REDUCTIONS = {
    "mean": lambda d: d.mean("time"),
    "mean_all": lambda d: d.mean(),
    "sum": lambda d: d.sum("x"),
    "std": lambda d: d.std("time"),
    "var_ddof": lambda d: d.var("time", ddof=1),
    "min_max": lambda d: d.max("time") - d.min("time"),
    "prod": lambda d: d.prod("x"),
    "count": lambda d: d.count("time"),
    "median": lambda d: d.median("time"),
    "argmax": lambda d: d.a.argmax("time"),
    "sum_min_count": lambda d: d.sum("time", min_count=35),
    "skipna_false": lambda d: d.mean("time", skipna=False),
    "cumsum": lambda d: d.cumsum("time"),
    "any_all": lambda d: (d.a > 0).any("time") & (d.a > -3).all("x"),
}


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reductions_match_numpy_backed_xarray(name, chunks):
    check(REDUCTIONS[name], dataset(), chunks, lazy=True)


ELEMENTWISE = {
    "arithmetic": lambda d: (d.a * 2 + d.b) / (d.c + 1),
    "where": lambda d: d.a.where(d.a > 0),
    "where_other": lambda d: d.where(d.b > 0, -1),
    "fillna": lambda d: d.fillna(0),
    "isnull": lambda d: d.a.isnull(),
    "astype": lambda d: d.b.astype("float32") / 3,
    "ufunc": lambda d: np.sqrt(np.abs(d.a)),
    "clip_round": lambda d: d.a.clip(-1, 1).round(2),
    "isel_sel": lambda d: d.isel(time=slice(3, 31, 2), x=[0, 2]).sel(x=20),
    "shift_roll_diff": lambda d: d.a.shift(time=2) + d.a.roll(time=3) - d.a.diff("time"),
    "transpose_stack": lambda d: d.a.T.stack(z=("x", "time")),
    "concat": lambda d: xr.concat([d, d * 2], "time"),
    "pad": lambda d: d.a.pad(time=(2, 1)),
    "reindex": lambda d: d.a.reindex(x=[0, 10, 70]),
    "weighted": lambda d: d.a.weighted(d.x * 1.0).mean("x"),
    "dot": lambda d: xr.dot(d.a, d.c, dim="x"),
    "corr": lambda d: xr.corr(d.a, d.c, dim="time"),
    "coarsen": lambda d: d.coarsen(time=4).mean(),
    "real_imag_conj": lambda d: d.a.real + d.a.imag - d.a.conj() + d.a.conjugate(),
    "idxmax_x": lambda d: d.a.idxmax("x"),
}


@pytest.mark.parametrize("chunks", CHUNKINGS[:2])
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_and_structural_operations_match(name, chunks):
    check(ELEMENTWISE[name], dataset(), chunks)


GROUPED = {
    "groupby_mean": lambda d: d.groupby("time.hour").mean(),
    "groupby_sum": lambda d: d.groupby("time.day").sum(),
    "groupby_std": lambda d: d.groupby("time.hour").std(),
    "groupby_max_x": lambda d: d.a.groupby("x").max(),
    "groupby_first": lambda d: d.groupby("time.day").first(),
    "groupby_last": lambda d: d.groupby("time.day").last(),
    "anomaly": lambda d: d.groupby("time.hour") - d.groupby("time.hour").mean(),
    "resample_mean": lambda d: d.resample(time="1D").mean(),
    "resample_sum": lambda d: d.resample(time="12h").sum(),
    "resample_max": lambda d: d.resample(time="2D").max(),
}


@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("name", sorted(GROUPED))
def test_groupby_and_resample_match(name, chunks):
    check(GROUPED[name], dataset(), chunks)


ROLLING = {
    "mean": lambda d: d.rolling(time=3).mean(),
    "sum_center": lambda d: d.rolling(time=4, center=True).sum(),
    "min_periods": lambda d: d.rolling(time=5, min_periods=2).max(),
    "two_dims": lambda d: d.a.rolling(time=3, x=2).mean(),
}


@pytest.mark.parametrize("chunks", CHUNKINGS[:2])
@pytest.mark.parametrize("name", sorted(ROLLING))
def test_rolling_matches(name, chunks):
    # xarray builds rolling windows with np.lib.stride_tricks.sliding_window_view, which
    # brickwork dispatches to its lazy blocked version.
    check(ROLLING[name], dataset(), chunks, lazy=True)


@settings(max_examples=20)
@given(data=st.data())
def test_random_chunkings_and_reductions_match(data):
    n_time = data.draw(st.integers(1, 30), label="n_time")
    n_x = data.draw(st.integers(1, 4), label="n_x")
    ds = dataset(n_time, n_x, seed=data.draw(st.integers(0, 2**16), label="seed"), freq="5h")
    chunks = {
        "time": data.draw(explicit_chunks(n_time), label="time chunks"),
        "x": data.draw(explicit_chunks(n_x), label="x chunks"),
    }
    name = data.draw(st.sampled_from(sorted(REDUCTIONS) + ["groupby_mean", "resample_sum"]))
    check(REDUCTIONS.get(name) or GROUPED[name], ds, chunks, lazy=True)


# --------------------------------------------------------------------------- apply_ufunc


@pytest.mark.parametrize("chunks", CHUNKINGS[:3])
def test_apply_ufunc_parallelized_elementwise(chunks):
    def op(d):
        return xr.apply_ufunc(
            lambda a, b: np.hypot(a, b), d.a, d.b, dask="parallelized", output_dtypes=[float]
        )

    check(op, dataset(), chunks)


@pytest.mark.parametrize("time_chunks", [1, (7, 1, 20, 12), -1])
def test_apply_ufunc_parallelized_with_core_dimensions(time_chunks):
    def nanmax_minus_min(x):
        return np.nanmax(x, axis=-1) - np.nanmin(x, axis=-1)

    def reduce_x(d):
        return xr.apply_ufunc(
            nanmax_minus_min,
            d.a,
            input_core_dims=[["x"]],
            dask="parallelized",
            output_dtypes=[float],
        )

    def sorted_x(d):
        return xr.apply_ufunc(
            np.sort,
            d.a,
            input_core_dims=[["x"]],
            output_core_dims=[["x"]],
            vectorize=True,
            dask="parallelized",
            output_dtypes=[float],
        )

    def new_dim(d):
        return xr.apply_ufunc(
            lambda x: np.stack([x, 2 * x], axis=-1),
            d.b,
            output_core_dims=[["k"]],
            dask="parallelized",
            output_dtypes=[np.int32],
            dask_gufunc_kwargs={"output_sizes": {"k": 2}},
        )

    def two_outputs(d):
        return xr.Dataset(
            dict(
                zip(
                    "qr",
                    xr.apply_ufunc(
                        np.divmod,
                        d.b,
                        7,
                        output_core_dims=[[], []],
                        dask="parallelized",
                        output_dtypes=[np.int32, np.int32],
                    ),
                )
            )
        )

    for op in (reduce_x, sorted_x, new_dim, two_outputs):
        check(op, dataset(), {"time": time_chunks, "x": -1})


def test_interp_matches():
    pytest.importorskip("scipy")
    check(lambda d: d.interp(x=[5.0, 12.5, 20.0]), dataset(), {"time": (7, 1, 20, 12), "x": -1})


def test_interp_over_two_dimensions_matches():
    pytest.importorskip("scipy")
    rng = np.random.default_rng(1)
    ds = xr.Dataset(
        {"v": (("y", "x", "z"), rng.random((20, 8, 3)))},
        coords={"y": np.arange(20.0), "x": np.arange(8.0)},
    )
    points = {"y": xr.DataArray([1.5, 7.2, 19.0], dims="p"), "x": [0.5, 3.3, 6.1]}
    check(lambda d: d.interp(**points), ds, {"y": 5, "x": (3, 5), "z": 1})


def test_apply_ufunc_refuses_a_core_dimension_in_several_chunks():
    chunked = dataset().a.chunk(x=1, chunked_array_type=BW)
    with pytest.raises(ValueError, match="consists of multiple chunks"):
        xr.apply_ufunc(np.sort, chunked, input_core_dims=[["x"]], dask="parallelized")


# --------------------------------------------------------------------------- chunk manager


def test_unify_chunks_matches_dask():
    ds = dataset()
    pairs = [
        (ds.a.chunk(time=(7, 1, 20, 12), x=(2, 1)), ds.c.chunk(time=9, x=1)),
        (ds.a.chunk(time=1), ds.b.chunk(time=(30, 10))),
    ]
    for left, right in pairs:
        expected = xr.unify_chunks(left, right)
        result = xr.unify_chunks(
            left.chunk(dict(left.chunksizes), chunked_array_type=BW),
            right.chunk(dict(right.chunksizes), chunked_array_type=BW),
        )
        for got, want in zip(result, expected):
            assert_lazy(got)
            assert got.chunks == want.chunks
            xr.testing.assert_identical(got.compute(), want.compute())


def test_normalize_chunks_matches_dask_for_explicit_specs():
    dask_core = pytest.importorskip("dask.array.core")
    manager = BrickworkChunkManager()
    for chunks, shape in [
        ((5, None), (12, 3)),
        ((5, -1), (12, 3)),
        ({0: 4}, (12, 3)),
        (((1, 2, 3), 2), (6, 5)),
        ("1kB", (1000,)),
        (3, (0, 4)),
    ]:
        expected = dask_core.normalize_chunks(chunks, shape, dtype=np.float64)
        assert manager.normalize_chunks(chunks, shape, dtype=np.float64) == expected


@given(
    shape=st.lists(st.integers(1, 400), min_size=1, max_size=3).map(tuple),
    data=st.data(),
    dtype=st.sampled_from(["uint8", "float32", "float64"]),
)
def test_auto_chunks_keep_stored_chunks_whole_when_they_fit(shape, data, dtype):
    stored = tuple(data.draw(st.integers(1, n), label="stored chunk") for n in shape)
    itemsize = np.dtype(dtype).itemsize
    smallest = int(np.prod(stored)) * itemsize
    limit = data.draw(st.integers(smallest, smallest + 20_000), label="limit")
    chunks = BrickworkChunkManager().normalize_chunks(
        "auto", shape, limit=limit, dtype=dtype, previous_chunks=stored
    )
    assert tuple(sum(c) for c in chunks) == shape
    assert np.prod([c[0] for c in chunks]) * itemsize <= limit
    for n, step, sizes in zip(shape, stored, chunks):
        assert sizes[0] >= step
        assert all(size % step == 0 for size in sizes[:-1]), (sizes, step)
        assert sizes[:-1] == (sizes[0],) * (len(sizes) - 1)


def test_open_zarr_auto_chunks_keep_stored_chunks_whole(tmp_path):
    ds = dataset(n_time=400, n_x=6)
    path = tmp_path / "auto.zarr"
    write_store(path, ds, {"time": 10, "x": 3})
    for chunk_size, expected in [("128MiB", ((400,), (6,))), ("2000B", ((40,) * 10, (6,)))]:
        with brickwork.config.set(chunk_size=chunk_size), warnings.catch_warnings():
            warnings.simplefilter("error")  # xarray warns when a block splits stored chunks
            opened = xr.open_zarr(path, chunked_array_type=BW, chunks="auto", consolidated=False)
        assert opened.a.chunks == expected
        xr.testing.assert_identical(opened.compute(), ds)


def test_map_blocks_blockwise_and_reduction_match_numpy():
    manager = BrickworkChunkManager()
    x = np.arange(30.0).reshape(5, 6)
    bx = da.from_array(x, chunks=((2, 3), (1, 4, 1)))
    doubled = manager.map_blocks(lambda b: 2 * b, bx, dtype=x.dtype)
    np.testing.assert_array_equal(doubled.compute(), 2 * x)
    summed = manager.map_blocks(lambda b: b.sum(axis=1), bx, dtype=x.dtype, drop_axis=1)
    np.testing.assert_array_equal(summed.compute(), x.sum(axis=1))
    u, v = np.arange(4.0), np.arange(3.0)
    outer = manager.blockwise(
        np.multiply.outer, "ij", da.from_array(u, chunks=3), "i", da.from_array(v, chunks=1), "j"
    )
    np.testing.assert_array_equal(outer.compute(), np.multiply.outer(u, v))
    first = manager.reduction(
        bx,
        func=lambda b, axis, keepdims: b[:1],
        aggregate_func=lambda b, axis, keepdims: b[0] if not keepdims else b[:1],
        axis=0,
        dtype=x.dtype,
    )
    np.testing.assert_array_equal(first.compute(), x[0])


def test_bad_arguments_raise_at_build_time():
    manager = BrickworkChunkManager()
    with pytest.raises(ValueError):
        manager.normalize_chunks((4, 4), (10,), dtype=np.float64)
    with pytest.raises(ValueError, match="shape=None"):
        manager.normalize_chunks(4)
    x = da.from_array(np.zeros((4, 6)), chunks=2)
    with pytest.raises(ValueError, match="'j' has lengths 6 and 5"):
        manager.unify_chunks(x, "ij", da.from_array(np.zeros(5), chunks=2), "j")
    with pytest.raises(ValueError, match="does not match an array of 2 axes"):
        manager.unify_chunks(x, "i")
    with pytest.raises(TypeError, match="datetime64"):
        manager.from_array(np.full(3, np.datetime64("2000-01-01")), chunks=1)


def test_store_writes_every_block_into_its_region():
    manager = BrickworkChunkManager()
    x = np.arange(60.0).reshape(6, 10)
    y = np.arange(7, dtype=np.int32)
    sources = [da.from_array(x, chunks=((1, 2, 3), (4, 1, 5))), da.from_array(y, chunks=3)]
    targets = [np.zeros((9, 12)), np.zeros(10, dtype=np.int32)]
    manager.store(sources, targets, regions=[(slice(2, 8), slice(1, 11)), None], flush=True)
    expected = np.zeros((9, 12))
    expected[2:8, 1:11] = x
    np.testing.assert_array_equal(targets[0], expected)
    np.testing.assert_array_equal(targets[1], np.r_[y, 0, 0, 0])
    with pytest.raises(NotImplementedError, match="compute=False"):
        manager.store(sources, targets, compute=False)
    with pytest.raises(NotImplementedError, match="return_stored"):
        manager.store(sources, targets, return_stored=True)
    with pytest.raises(ValueError, match="2 sources, 1 targets"):
        manager.store(sources, targets[:1])


class OneWriterAtATime:
    """A target that records whether two writes ever overlapped in time."""

    def __init__(self, shape):
        self.data = np.zeros(shape)
        self.active = 0
        self.overlapped = False
        self.guard = threading.Lock()

    def __setitem__(self, where, value):
        with self.guard:
            self.active += 1
            self.overlapped |= self.active > 1
        time.sleep(0.002)
        self.data[where] = value
        with self.guard:
            self.active -= 1


@pytest.mark.parametrize("lock", [True, threading.Lock(), None])
def test_store_holds_the_lock_while_writing(lock):
    x = np.arange(64.0).reshape(8, 8)
    target = OneWriterAtATime(x.shape)
    with brickwork.config.set(num_threads=4):
        BrickworkChunkManager().store([da.from_array(x, chunks=2)], [target], lock=lock)
    np.testing.assert_array_equal(target.data, x)
    if lock is not None:
        assert not target.overlapped


def test_full_like_zeros_like_and_ones_like_are_lazy():
    ds = dataset()
    chunked = ds.a.chunk(time=(7, 1, 20, 12), chunked_array_type=BW)
    for result, expected in [
        (xr.full_like(chunked, 2.5), xr.full_like(ds.a, 2.5)),
        (xr.zeros_like(chunked, dtype="int16"), xr.zeros_like(ds.a, dtype="int16")),
        (xr.ones_like(chunked), xr.ones_like(ds.a)),
    ]:
        assert_lazy(result)
        assert result.chunks == chunked.chunks
        xr.testing.assert_identical(result.compute(), expected)


# --------------------------------------------------------------------------- Zarr


@pytest.mark.parametrize(
    "open_chunks, expected",
    [
        ({}, {"time": (6,) * 6 + (4,), "x": (2, 1)}),
        ({"time": 12}, {"time": (12, 12, 12, 4), "x": (2, 1)}),
        ({"time": -1, "x": 1}, {"time": (40,), "x": (1, 1, 1)}),
    ],
)
def test_open_zarr_with_brickwork_is_lazy_and_matches(tmp_path, open_chunks, expected):
    ds = dataset()
    path = tmp_path / "store.zarr"
    write_store(path, ds, {"time": 6, "x": 2})
    splits = expected["x"] != (2, 1)  # xarray warns when blocks split stored chunks
    with pytest.warns(UserWarning, match="separate the stored chunks") if splits else nullcontext():
        opened = xr.open_zarr(path, chunks=open_chunks, chunked_array_type=BW, consolidated=False)
    assert_lazy(opened)
    assert opened.a.chunksizes == expected
    reference = xr.open_zarr(path, chunks=None, consolidated=False)
    xr.testing.assert_identical(opened.compute(), reference)
    xr.testing.assert_identical(opened.compute(), ds)
    # the store is read at compute time, not when opened
    changed = zarr.open_array(path / "a", mode="r+")
    changed[...] = -np.arange(changed.size).reshape(changed.shape)
    np.testing.assert_array_equal(opened.a.values, changed[...])


@settings(max_examples=15)
@given(data=st.data())
def test_random_chunkings_round_trip_through_zarr(tmp_path_factory, data):
    n_time = data.draw(st.integers(1, 25), label="n_time")
    n_x = data.draw(st.integers(1, 4), label="n_x")
    ds = dataset(n_time, n_x, seed=data.draw(st.integers(0, 2**16), label="seed"))
    stored = {
        "time": data.draw(st.integers(1, n_time), label="stored time chunk"),
        "x": data.draw(st.integers(1, n_x), label="stored x chunk"),
    }
    path = tmp_path_factory.mktemp("z") / "in.zarr"
    write_store(path, ds, stored)
    read_chunks = {
        "time": data.draw(explicit_chunks(n_time), label="read time chunks"),
        "x": data.draw(explicit_chunks(n_x), label="read x chunks"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read chunks may split stored ones
        opened = xr.open_zarr(path, chunks=read_chunks, chunked_array_type=BW, consolidated=False)
    assert_lazy(opened)
    assert opened.a.chunks == (read_chunks["time"], read_chunks["x"])
    xr.testing.assert_identical(opened.compute(), ds)
    out = tmp_path_factory.mktemp("z") / "out.zarr"
    written = {"time": data.draw(st.integers(1, n_time)), "x": data.draw(st.integers(1, n_x))}
    (opened * 2).chunk(written, chunked_array_type=BW).to_zarr(out, consolidated=False)
    assert zarr.open_array(out / "a").chunks == (written["time"], written["x"])
    np.testing.assert_array_equal(zarr.open_array(out / "a")[...], ds.a.values * 2)
    xr.testing.assert_identical(xr.open_zarr(out, chunks=None, consolidated=False), ds * 2)


def test_a_pipeline_from_zarr_to_zarr(tmp_path):
    ds = dataset()
    source = tmp_path / "in.zarr"
    write_store(source, ds, {"time": 8, "x": 3})
    opened = xr.open_zarr(source, chunked_array_type=BW, consolidated=False)
    daily = opened.resample(time="1D").mean()
    anomaly = opened.groupby("time.hour") - opened.groupby("time.hour").mean()
    assert_lazy(daily)
    assert_lazy(anomaly)
    for name, result, expected in [
        ("daily", daily, ds.resample(time="1D").mean()),
        ("anomaly", anomaly, ds.groupby("time.hour") - ds.groupby("time.hour").mean()),
    ]:
        target = tmp_path / f"{name}.zarr"
        result.chunk(time=4, chunked_array_type=BW).to_zarr(target, zarr_format=3, consolidated=False)
        back = xr.open_zarr(target, chunks=None, consolidated=False)
        xr.testing.assert_allclose(back, expected, rtol=1e-5, atol=1e-6)


def test_to_zarr_goes_through_the_chunk_manager_store(tmp_path, monkeypatch):
    calls = []
    original = BrickworkChunkManager.store

    def spy(self, sources, targets, **kwargs):
        calls.append([type(s) for s in sources])
        return original(self, sources, targets, **kwargs)

    monkeypatch.setattr(BrickworkChunkManager, "store", spy)
    ds = dataset()
    chunked = ds.chunk(time=5, x=1, chunked_array_type=BW)
    path = tmp_path / "out.zarr"
    chunked.to_zarr(path, zarr_format=3, consolidated=False)
    assert calls and all(t is da.Array for t in calls[0]) and len(calls[0]) == 3
    back = xr.open_zarr(path, chunks=None, consolidated=False)
    xr.testing.assert_identical(back, ds)
    assert zarr.open_array(path / "a").chunks == (5, 1)


def test_to_zarr_regions_and_appends(tmp_path):
    ds = dataset()
    path = tmp_path / "parts.zarr"
    ds.isel(time=slice(0, 20)).chunk(time=5, chunked_array_type=BW).to_zarr(
        path, zarr_format=3, consolidated=False
    )
    ds.isel(time=slice(20, 40)).chunk(time=5, chunked_array_type=BW).to_zarr(
        path, append_dim="time", consolidated=False
    )
    xr.testing.assert_identical(xr.open_zarr(path, chunks=None, consolidated=False), ds)
    doubled = (ds.isel(time=slice(10, 25)) * 2).chunk(time=5, chunked_array_type=BW)
    doubled.drop_vars("x").to_zarr(path, region={"time": slice(10, 25)}, consolidated=False)
    expected = ds.copy(deep=True)
    for name in ("a", "b", "c"):
        expected[name][{"time": slice(10, 25)}] = ds[name].isel(time=slice(10, 25)) * 2
    xr.testing.assert_identical(xr.open_zarr(path, chunks=None, consolidated=False), expected)


def test_to_zarr_without_compute_is_refused(tmp_path):
    chunked = dataset().chunk(time=5, chunked_array_type=BW)
    with pytest.raises(NotImplementedError, match="compute=False"):
        chunked.to_zarr(tmp_path / "lazy.zarr", compute=False, consolidated=False)


def test_netcdf_round_trip(tmp_path):
    pytest.importorskip("scipy")
    ds = dataset().drop_vars("time").assign_coords(time=np.arange(40))
    path = tmp_path / "data.nc"
    ds.chunk(time=(7, 1, 20, 12), chunked_array_type=BW).to_netcdf(path, engine="scipy")
    opened = xr.open_dataset(path, engine="scipy", chunks={"time": 6}, chunked_array_type=BW)
    assert_lazy(opened)
    assert opened.a.chunks == ((6,) * 6 + (4,), (3,))
    xr.testing.assert_identical(opened.compute(), ds)
    opened.close()
