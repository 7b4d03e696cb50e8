"""Zarr stores read and written by brickwork, checked both ways with zarr-python."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _support import arrays, chunk_specs, dtypes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brickwork
import brickwork.array as da

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    zarr = pytest.importorskip("zarr")

shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple)
any_tmp = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@any_tmp
@given(data=st.data(), fmt=st.sampled_from([2, 3]))
def test_a_store_written_by_zarr_python_reads_correctly(tmp_path_factory, data, fmt):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(data.draw(dtypes, label="dtype"), shape), label="x")
    zchunks = tuple(data.draw(st.integers(1, n), label="zarr chunk") for n in shape)
    path = tmp_path_factory.mktemp("z") / "a.zarr"
    z = zarr.create_array(path, shape=shape, chunks=zchunks, dtype=x.dtype, zarr_format=fmt)
    z[...] = x
    a = da.from_zarr(path)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert a.chunksize == zchunks
    np.testing.assert_array_equal(a.compute(), x, strict=True)
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="read chunks")
    np.testing.assert_array_equal(da.from_zarr(path, chunks=chunks).compute(), x, strict=True)


@any_tmp
@given(data=st.data())
def test_a_store_written_by_brickwork_reads_correctly_in_zarr_python(tmp_path_factory, data):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(data.draw(dtypes, label="dtype"), shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    path = tmp_path_factory.mktemp("z") / "b.zarr"
    da.from_array(x, chunks=chunks).to_zarr(path)
    got = zarr.open_array(path, mode="r")
    assert got.shape == x.shape and got.dtype == x.dtype
    np.testing.assert_array_equal(got[...], x, strict=True)


def test_computed_results_stream_into_a_group_component(tmp_path):
    x = np.random.default_rng(5).random((60, 40))
    a = da.from_array(x, chunks=(16, 16))
    da.to_zarr(a - a.mean(axis=0), tmp_path / "g.zarr", component="anomaly/x")
    got = zarr.open_group(tmp_path / "g.zarr", mode="r")["anomaly/x"][...]
    np.testing.assert_allclose(got, x - x.mean(axis=0))
    back = da.from_zarr(tmp_path / "g.zarr", component="anomaly/x")
    np.testing.assert_allclose(back.std(axis=0).compute(), (x - x.mean(axis=0)).std(axis=0))


def test_overwrite_is_refused_unless_asked(tmp_path):
    a = da.ones((4, 4), chunks=2)
    a.to_zarr(tmp_path / "o.zarr")
    with pytest.raises(ValueError, match="overwrite=True"):
        (a * 2).to_zarr(tmp_path / "o.zarr")
    (a * 2).to_zarr(tmp_path / "o.zarr", overwrite=True)
    assert zarr.open_array(tmp_path / "o.zarr", mode="r")[0, 0] == 2.0


def test_missing_stores_and_arrays_raise_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="no Zarr store"):
        da.from_zarr(tmp_path / "nothing.zarr")
    zarr.open_group(tmp_path / "g.zarr", mode="w")
    with pytest.raises(FileNotFoundError, match="missing"):
        da.from_zarr(tmp_path / "g.zarr", component="absent")


def _written(tmp_path):
    x = np.arange(36.0).reshape(6, 6)
    path = tmp_path / "f.zarr"
    z = zarr.create_array(path, shape=x.shape, chunks=(3, 3), dtype="f8", fill_value=-1.0)
    z[...] = x
    return x, path


def _chunk_files(path):
    return sorted(p for p in (path / "c").rglob("*") if p.is_file())


def test_a_missing_chunk_reads_as_the_fill_value(tmp_path):
    x, path = _written(tmp_path)
    _chunk_files(path)[0].unlink()  # chunk (0, 0)
    expected = x.copy()
    expected[:3, :3] = -1.0
    np.testing.assert_array_equal(da.from_zarr(path).compute(), expected)


def test_a_corrupted_chunk_raises_an_os_error_naming_the_array(tmp_path):
    _, path = _written(tmp_path)
    _chunk_files(path)[-1].write_bytes(b"not zstd at all")
    with pytest.raises(OSError, match="f.zarr"):
        da.from_zarr(path).sum().compute()


def test_metadata_that_is_not_json_raises_value_error(tmp_path):
    _, path = _written(tmp_path)
    (path / "zarr.json").write_text("{ this is not json")
    with pytest.raises(ValueError, match="f.zarr"):
        da.from_zarr(path)


def test_a_rechunk_of_a_store_against_its_chunks_goes_through_one_copy(tmp_path):
    # Rows to columns: read directly, every column band would decode each stored chunk
    # again; the plan copies the store once (in stored chunks) and cuts the copy.
    x = np.random.default_rng(1).random((400, 500))
    da.from_array(x, chunks=(40, 500)).to_zarr(tmp_path / "rows.zarr")
    cols = da.from_zarr(tmp_path / "rows.zarr").rechunk((400, 10))
    plan = cols.explain()
    assert "-> intermediate" in plan and plan.count("load ZarrArray") == 1
    np.testing.assert_array_equal(cols.compute(), x)
    with brickwork.config.set(memory_limit="3MiB"):  # the copy is spilled
        cols.to_zarr(tmp_path / "cols.zarr")
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "cols.zarr", mode="r")[...], x)
    # A rechunk along the stored chunks stays a view.
    assert "intermediate" not in da.from_zarr(tmp_path / "rows.zarr").rechunk((80, 500)).explain()


@any_tmp
@given(data=st.data())
def test_map_blocks_reads_a_store_per_block_through_views(tmp_path_factory, data):
    x = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed")).random((23, 31))
    store_chunks = data.draw(st.tuples(st.integers(1, 23), st.integers(1, 31)), label="chunks")
    path = str(tmp_path_factory.mktemp("z") / "a.zarr")
    zarr.create_array(path, shape=x.shape, chunks=store_chunks, dtype="f8")[:] = x
    a = da.from_zarr(path)
    view, expected, direct = data.draw(
        st.sampled_from(
            [
                (lambda v: v, x, True),
                (lambda v: v.T[::2], x.T[::2], True),
                (lambda v: v[3:, ::-3], x[3:, ::-3], True),
                # A rechunk against the store's chunks may go through one copy.
                (lambda v: v.rechunk((5, 7)), x, False),
            ]
        ),
        label="view",
    )
    y = view(a).map_blocks(lambda b: b * 2 + 1, dtype="float64")
    # One stage: the store is read block by block by the map_blocks tasks, not copied
    # into an intermediate array first.
    assert not direct or "in 1 stages" in y.explain()
    with brickwork.config.set(memory_limit="1MiB"):
        np.testing.assert_array_equal(y.compute(), expected * 2 + 1)
