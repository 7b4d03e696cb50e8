"""Keywords Dask code passes routinely are accepted: ``name=`` on the creation functions,
``map_blocks`` and ``blockwise``, and Dask's scheduler names (issue 12, item 1)."""

from __future__ import annotations

import numpy as np
import pytest

import brickwork
import brickwork.array as da

dask_array = pytest.importorskip("dask.array")

x = np.arange(12.0).reshape(3, 4)


def _creations(name):
    a = da.from_array(x, chunks=2)
    return [
        (da.zeros((3, 4), chunks=2, name=name), dask_array.zeros((3, 4), chunks=2, name=name)),
        (
            da.ones((3, 4), dtype="int8", name=name),
            dask_array.ones((3, 4), dtype="int8", name=name),
        ),
        (da.empty((2,), name=name).shape, dask_array.empty((2,), name=name).shape),
        (da.full((3,), 7, name=name), dask_array.full((3,), 7, name=name)),
        (da.zeros_like(a, name=name), np.zeros_like(x)),
        (da.ones_like(a, dtype="int16", name=name), np.ones_like(x, dtype="int16")),
        (da.empty_like(a, name=name).shape, x.shape),
        (da.full_like(a, 2.5, name=name), np.full_like(x, 2.5)),
        (da.from_array(x, chunks=2, name=name), x),
        (da.arange(5, name=name), np.arange(5)),
        (da.linspace(0, 1, 5, name=name), np.linspace(0, 1, 5)),
        (da.map_blocks(np.negative, a, name=name), -x),
        (da.blockwise(np.add, "ij", a, "ij", a, "ij", name=name), x + x),
    ]


@pytest.mark.parametrize("name", [None, "my-array"])
def test_name_is_accepted_wherever_dask_accepts_it(name):
    for got, want in _creations(name):
        if isinstance(got, tuple):
            assert got == want
            continue
        expected = want.compute() if hasattr(want, "dask") else want
        np.testing.assert_array_equal(got.compute(), expected, strict=True)


def test_name_labels_the_array_in_its_repr():
    assert "my-zeros" in repr(da.zeros((2,), name="my-zeros"))
    assert "my-range" in repr(da.arange(3, name="my-range"))
    assert "zeros" in repr(da.zeros((2,), name=None))


@pytest.mark.parametrize(
    ("dask_name", "canonical"),
    [
        ("sync", "sync"),
        ("synchronous", "sync"),
        ("single-threaded", "sync"),
        ("threading", "threads"),
        ("threads", "threads"),
        ("multiprocessing", "processes"),
        ("processes", "processes"),
    ],
)
def test_config_accepts_dasks_scheduler_names(dask_name, canonical):
    a = da.from_array(x, chunks=2)
    with brickwork.config.set(scheduler=dask_name):
        assert brickwork.config.get("scheduler") == canonical
        if canonical != "processes":  # the process pool is covered by test_mp_scheduler
            np.testing.assert_array_equal(da.map_blocks(np.negative, a).compute(), -x)
    np.testing.assert_array_equal(a.sum().compute(scheduler=dask_name), x.sum())


def test_config_refuses_unknown_scheduler_names_listing_the_known_ones():
    with pytest.raises(ValueError, match="synchronous"):
        brickwork.config.set(scheduler="gpu")
    with pytest.raises(ValueError, match="single-threaded"):
        da.zeros(2).compute(scheduler="distributed-ish")
