"""Repros of defects found by differential testing (issue 10), each checked against
NumPy or Dask, and the class of each defect checked beyond its first sample.

- assignment casts the value to the array's dtype (never promotes the array);
- scalar ``True`` / ``False`` index as NumPy (a new axis of length 1 / 0);
- a NumPy boolean mask assigns NumPy's way (one value per True element);
- a block function's exception reaches its own compute, whatever runs beside it;
- var / std of data far from zero are as accurate as NumPy's;
- a Python int is checked against the loop it is cast to (``uint8 / 300`` is float);
- ``bool ** 2`` is ``square`` (int8); ``mean(dtype=<int>)`` is NumPy's.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from _support import DTYPES, INT_DTYPES, explicit_chunks
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

# ----------------------------------------------------------------- assignment casts


@pytest.mark.parametrize(
    "key",
    [1, slice(1, 2), [1], np.array([False, True]), (Ellipsis, 1)],
    ids=["int", "slice", "list", "mask", "ellipsis"],
)
def test_setitem_leaves_large_uint64_elements_exact(key):
    base = np.array([2**63 + 1, 5], dtype=np.uint64)
    a = da.from_array(base.copy(), chunks=1)
    a[key] = 7
    expected = base.copy()
    expected[key] = 7
    np.testing.assert_array_equal(a.compute(), expected)
    assert a.dtype == expected.dtype


@pytest.mark.parametrize("value", [7.0, np.float32(7), np.array(7.5), [7.9]])
def test_setitem_of_float_into_int64_casts_the_value_not_the_array(value):
    base = np.array([2**53 + 1, 5])
    a = da.from_array(base.copy(), chunks=1)
    a[1:] = value
    expected = base.copy()
    expected[1:] = value
    np.testing.assert_array_equal(a.compute(), expected)
    assert a.dtype == np.int64


def test_setitem_with_brickwork_mask_and_value_keeps_dtype():
    base = np.array([2**63 + 1, 5, 2**64 - 1], dtype=np.uint64)
    a = da.from_array(base.copy(), chunks=2)
    a[a < 10] = da.from_array(np.array([1.5, 2.5, 3.5]), chunks=2)
    expected = base.copy()
    expected[expected < 10] = 2  # NumPy casts 2.5 to uint64
    np.testing.assert_array_equal(a.compute(), expected)


def test_setitem_python_int_out_of_range_raises_overflow_as_numpy():
    a = da.from_array(np.array([1, 2], dtype=np.uint8))
    with pytest.raises(OverflowError):
        np.array([1, 2], dtype=np.uint8)[0] = 300
    with pytest.raises(OverflowError):
        a[0] = 300


@given(
    dtype=st.sampled_from(DTYPES),
    value_dtype=st.sampled_from(DTYPES),
    data=st.data(),
)
def test_setitem_matches_numpy_for_every_dtype_pair(dtype, value_dtype, data):
    n = data.draw(st.integers(1, 7))
    base = np.arange(n).astype(dtype)
    if np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        base = np.array(
            data.draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=n, max_size=n)),
            dtype=dtype,
        )
    chunks = data.draw(explicit_chunks(n))
    start = data.draw(st.integers(0, n - 1))
    stop = data.draw(st.integers(start, n))
    value = np.arange(stop - start).astype(value_dtype)
    expected = base.copy()
    with np.errstate(all="ignore"):
        expected[start:stop] = value
    a = da.from_array(base.copy(), chunks=(chunks,))
    a[start:stop] = value
    np.testing.assert_array_equal(a.compute(), expected)


# ------------------------------------------------------------- scalar bool indices


@pytest.mark.parametrize(
    "key",
    [True, False, np.True_, np.False_, (True, 0), (slice(None), True), (Ellipsis, False)],
)
def test_getitem_with_scalar_bool_is_a_new_axis_as_numpy(key):
    x = np.arange(6.0).reshape(2, 3)
    got = da.from_array(x, chunks=1)[key]
    expected = x[key]
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.compute(), expected)


def test_getitem_with_two_scalar_bools_as_numpy():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(da.from_array(x)[True, :, False].compute(), x[True, :, False])
    np.testing.assert_array_equal(da.from_array(x)[[0, 1], True].compute(), x[[0, 1], True])


@pytest.mark.parametrize(
    "key, value",
    [
        (True, 5),
        (False, 9),
        (np.True_, [1, 2, 3, 4]),
        (False, [1, 2, 3, 4]),
        ((Ellipsis, True), [[1], [2], [3], [4]]),
    ],
)
def test_setitem_with_scalar_bool_as_numpy(key, value):
    expected = np.arange(4.0)
    expected[key] = value
    a = da.from_array(np.arange(4.0), chunks=3)
    a[key] = value
    np.testing.assert_array_equal(a.compute(), expected)


def test_setitem_with_scalar_bool_and_bad_value_raises_as_numpy():
    with pytest.raises(ValueError):
        np.arange(4.0)[False] = [1, 2, 3]
    a = da.from_array(np.arange(4.0))
    with pytest.raises(ValueError, match="could not broadcast"):
        a[False] = [1, 2, 3]


# ---------------------------------------------------------- NumPy mask assignment


def test_numpy_mask_assignment_takes_one_value_per_true_element():
    mask = np.array([1, 1, 1, 0], bool)
    expected = np.ones(4)
    expected[mask] = [7, 8, 9]
    y = da.ones(4, chunks=2)
    y[mask] = [7, 8, 9]
    np.testing.assert_array_equal(y.compute(), expected)


def test_numpy_mask_assignment_with_too_many_values_raises_as_numpy():
    mask = np.array([1, 1, 1, 0], bool)
    with pytest.raises(ValueError):
        np.ones(4)[mask] = [1, 2, 3, 4]
    y = da.ones(4, chunks=2)
    with pytest.raises(ValueError, match="cannot assign 4 input values"):
        y[mask] = [1, 2, 3, 4]


@given(data=st.data())
def test_numpy_mask_assignment_matches_numpy_on_2d(data):
    shape = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
    mask = np.array(
        data.draw(st.lists(st.booleans(), min_size=shape[0] * shape[1], max_size=shape[0] * shape[1]))
    ).reshape(shape)
    kind = data.draw(st.sampled_from(["scalar", "one", "each"]))
    value = {"scalar": -1.5, "one": [-2.0], "each": -np.arange(mask.sum(), dtype=float)}[kind]
    expected = np.arange(float(shape[0] * shape[1])).reshape(shape)
    a = da.from_array(expected.copy(), chunks=(data.draw(explicit_chunks(shape[0])), 2))
    expected[mask] = value
    a[mask] = value
    np.testing.assert_array_equal(a.compute(), expected)


# ------------------------------------------------------ exceptions per computation


class _ThreadError(Exception):
    pass


def test_block_function_exceptions_reach_their_own_compute():
    """8 threads compute at once; the odd ones' block functions raise their own id."""
    rounds = 25
    errors: list[str] = []

    def work(tid: int) -> None:
        def f(block):
            if tid % 2:
                raise _ThreadError(tid)
            return block + tid

        x = da.ones(64, chunks=4)
        for _ in range(rounds):
            y = x.map_blocks(f, dtype=x.dtype)
            try:
                got = y.compute(num_threads=2)
            except _ThreadError as e:
                if tid % 2 == 0 or e.args != (tid,):
                    errors.append(f"thread {tid} got {e.args}")
            else:
                if tid % 2 or not np.array_equal(got, np.ones(64) + tid):
                    errors.append(f"thread {tid} got a result")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


# --------------------------------------------------------------- variance accuracy


def test_var_of_int64_with_large_offset_is_exact():
    x = np.array([2**31, 2**31, 2**31 + 1, 2**31], dtype="int64")
    got = da.var(da.from_array(x, chunks=(3, 1)), ddof=1).compute()
    assert got == np.var(x, ddof=1) == 0.25


def test_var_and_std_of_large_offset_data_as_accurate_as_numpy():
    rng = np.random.default_rng(0)
    x = 1e9 + rng.standard_normal(10**6)
    # The reference: the variance of the stored values, in exact rational-free terms:
    # deviations from 1e9 are exact in float64, so NumPy's result on them is the truth.
    truth = np.var(x - 1e9)
    for chunks in (1000, 7, 100_003):
        got = da.var(da.from_array(x, chunks=chunks)).compute()
        assert abs(got - truth) / truth <= max(abs(np.var(x) - truth) / truth, 1e-15)
        got = da.std(da.from_array(x, chunks=chunks), axis=0).compute()
        assert abs(got - np.sqrt(truth)) / np.sqrt(truth) <= 1e-14


@given(data=st.data())
def test_var_along_axes_of_offset_data_matches_numpy(data):
    rows, cols = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    offset = data.draw(st.sampled_from([0.0, 1e6, -1e9, 2.0**40]))
    x = offset + np.arange(rows * cols, dtype=float).reshape(rows, cols) % 7
    a = da.from_array(x, chunks=(data.draw(explicit_chunks(rows)), data.draw(explicit_chunks(cols))))
    axis = data.draw(st.sampled_from([None, 0, 1]))
    ddof = data.draw(st.integers(0, 1))
    # offset + (small ints) is exact in float64, so the variance of the small ints is
    # the exact answer (NumPy's own np.var(x) is off by up to 1e-8 at offset 2**40).
    with np.errstate(all="ignore"):
        truth = np.var(x - offset, axis=axis, ddof=ddof)
    np.testing.assert_allclose(
        da.var(a, axis=axis, ddof=ddof).compute(), truth, rtol=1e-13, atol=1e-13
    )


# ------------------------------------------------- Python ints and loop dtypes


@pytest.mark.parametrize(
    "dtype, scalar",
    [("uint8", 300), ("int8", -129), ("uint16", 70000), ("int32", 2**40), ("uint64", -1)],
)
def test_true_divide_by_an_out_of_range_python_int_is_float_as_numpy(dtype, scalar):
    x = np.array([3, 1], dtype=dtype)
    a = da.from_array(x)
    np.testing.assert_array_equal((a / scalar).compute(), x / scalar)
    np.testing.assert_array_equal((scalar / a).compute(), scalar / x)
    assert (a / scalar).dtype == (x / scalar).dtype


@pytest.mark.parametrize("op", ["__floordiv__", "__mod__", "__add__", "__pow__"])
def test_integer_loops_still_refuse_out_of_range_python_ints(op):
    x = np.array([3], np.uint8)
    with pytest.raises(OverflowError):
        getattr(x, op)(300)
    with pytest.raises(OverflowError):
        getattr(da.from_array(x), op)(300)


@pytest.mark.parametrize("exponent", [2, 3, 1, 0, True, 2.0, 0.5])
def test_bool_power_dtype_as_numpy(exponent):
    x = np.array([True, False])
    got = da.from_array(x) ** exponent
    expected = x**exponent
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.compute(), expected)


@pytest.mark.parametrize("dtype", [d for d in INT_DTYPES if np.dtype(d).itemsize < 8])
@pytest.mark.parametrize("axis", [None, 0])
def test_mean_with_small_int_dtype_as_numpy(dtype, axis):
    info = np.iinfo(dtype)
    x = np.array([info.max, info.max, info.max, info.min + 1, 3], dtype=dtype)
    got = da.from_array(x, chunks=2).mean(axis=axis, dtype=dtype)
    expected = x.mean(axis=axis, dtype=dtype)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.compute(), expected)
    np.testing.assert_array_equal(da.mean(da.from_array(x, chunks=2), dtype=dtype).compute(),
                                  np.mean(x, dtype=dtype))


def test_scheduler_processes_does_not_leak_into_a_concurrent_threads_compute():
    """A compute on the process scheduler runs beside one on threads: the threads
    compute's block function runs in this process (it sees this process's pid)."""
    import os

    pids: set[int] = set()

    def record(block):
        pids.add(os.getpid())
        return block

    slow = da.ones(8, chunks=1).map_blocks(lambda b: (__import__("time").sleep(0.1), b)[1])
    done = threading.Event()

    def background() -> None:
        try:
            slow.compute(scheduler="processes", num_threads=2)
        finally:
            done.set()

    t = threading.Thread(target=background)
    t.start()
    overlapped = 0
    try:
        while not done.is_set():
            da.ones(4, chunks=1).map_blocks(record).compute(scheduler="threads")
            overlapped += not done.is_set()
    finally:
        t.join(timeout=120)
    assert overlapped > 0  # the two computes really ran at the same time
    assert pids == {os.getpid()}


def test_from_array_reads_in_place_unless_copy_is_asked_for():
    """brickwork reads sources in place (documented); ``copy=True`` snapshots them,
    as ``dask.array.from_array`` does by default."""
    import dask.array as dask_array

    x = np.arange(4.0)
    in_place = da.from_array(x)
    snapshot = da.from_array(x, copy=True)
    reference = dask_array.from_array(x)
    x[0] = -5
    np.testing.assert_array_equal(snapshot.compute(), reference.compute())
    np.testing.assert_array_equal(in_place.compute(), x)


def test_zero_chunk_size_on_an_empty_axis_as_dask():
    import dask.array as dask_array

    assert da.zeros(0, chunks=(0,)).chunks == dask_array.zeros(0, chunks=(0,)).chunks
    assert da.zeros((0, 3), chunks=(0, 3)).chunks == dask_array.zeros((0, 3), chunks=(0, 3)).chunks
    with pytest.raises(ValueError):
        da.zeros(3, chunks=0)


@pytest.mark.parametrize("position", [3, -1, 0])
def test_zero_d_brickwork_integer_index_is_like_an_int(position):
    x = np.arange(12).reshape(3, 4)
    a = da.from_array(x, chunks=2)
    i = da.from_array(np.array(position))
    np.testing.assert_array_equal(a[:, i].compute(), x[:, position])
    if position < 3:
        np.testing.assert_array_equal(a[i].compute(), x[position])


def test_storage_errors_keep_the_os_error_number(tmp_path):
    """Error::Io keeps its source: Python gets the OSError subclass and errno, as
    open() would raise for the same path."""
    import errno

    blocker = tmp_path / "afile"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError) as caught:
        da.to_zarr(da.ones(4), str(blocker / "sub.zarr"))
    assert caught.value.errno == errno.ENOTDIR
    with pytest.raises(NotADirectoryError):
        open(blocker / "sub.zarr", "w")
