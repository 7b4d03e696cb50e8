"""map_blocks compared with NumPy applied to the whole array."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

shapes = st.lists(st.integers(0, 7), min_size=1, max_size=3).map(tuple)

# Functions that act elementwise, so applying them per block equals applying them once.
FUNCS = {
    "double": lambda b: b * 2,
    "sqrt_abs": lambda b: np.sqrt(np.abs(b)),
    "greater": lambda b: b > 0.5,
    "astype32": lambda b: b.astype(np.float32),
}


@given(
    data=st.data(),
    name=st.sampled_from(sorted(FUNCS)),
    explicit_dtype=st.booleans(),
)
def test_elementwise_map_blocks_matches_numpy(data, name, explicit_dtype):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    func = FUNCS[name]
    with np.errstate(all="ignore"):
        expected = func(x)
    kwargs = {"dtype": expected.dtype} if explicit_dtype else {}
    got = da.from_array(x, chunks=chunks).map_blocks(func, **kwargs)
    assert got.dtype == expected.dtype
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(got.compute(), expected, strict=True)


@given(data=st.data())
def test_map_blocks_of_two_arrays_with_different_chunks(data):
    shape = data.draw(st.tuples(st.integers(1, 8), st.integers(1, 8)), label="shape")
    x = data.draw(arrays("float64", shape), label="x")
    y = data.draw(arrays("float64", shape[1:]), label="y")
    cx = data.draw(chunk_specs(shape, allow_auto=False), label="x chunks")
    cy = data.draw(chunk_specs(y.shape, allow_auto=False), label="y chunks")
    a, b = da.from_array(x, chunks=cx), da.from_array(y, chunks=cy)
    got = da.map_blocks(lambda p, q, k: p * q + k, a, b, 3.0)
    np.testing.assert_allclose(got.compute(), x * y + 3.0)


def test_block_id_and_changed_chunks():
    x = np.arange(24.0).reshape(4, 6)
    a = da.from_array(x, chunks=(2, 3))
    ids = a.map_blocks(lambda b, block_id=None: np.full(b.shape, 10 * block_id[0] + block_id[1]))
    np.testing.assert_array_equal(ids.compute()[::2, ::3], [[0, 1], [10, 11]])
    sums = a.map_blocks(lambda b: b.sum(axis=0, keepdims=True), chunks=((1, 1), (3, 3)))
    np.testing.assert_array_equal(sums.compute(), np.stack([x[:2].sum(0), x[2:].sum(0)]))


def test_map_blocks_feeds_lazy_operations():
    x = np.random.default_rng(2).random((30, 20))
    a = da.from_array(x, chunks=(7, 6))
    got = (a.map_blocks(np.sqrt) + 1).mean(axis=0)
    np.testing.assert_allclose(got.compute(), (np.sqrt(x) + 1).mean(axis=0))


def test_map_blocks_errors():
    a = da.ones((4, 4), chunks=2)
    with pytest.raises(ZeroDivisionError):
        a.map_blocks(lambda b: 1 / 0).compute()
    with pytest.raises(ValueError, match="expected shape"):
        a.map_blocks(lambda b: b[:1]).compute()
    with pytest.raises(ValueError, match="blocks per axis"):
        a.map_blocks(lambda b: b, chunks=((4,), (4,)))
    with pytest.raises(TypeError, match="at least one"):
        da.map_blocks(lambda b: b, np.ones(3))
    with pytest.raises(ValueError, match="drop_axis out of range"):
        a.map_blocks(lambda b: b.sum(0), drop_axis=2)
    # The array stays usable after a failed compute.
    np.testing.assert_array_equal(a.map_blocks(lambda b: b + 1).compute(), np.full((4, 4), 2.0))


def test_a_map_blocks_output_read_by_another_output_runs_once():
    import brickwork

    calls = []

    def double(b):
        calls.append(b.shape)
        return b * 2

    x = np.arange(24.0).reshape(4, 6)
    d = da.from_array(x, chunks=2).map_blocks(double, dtype=float)
    for outputs in ((d, d.mean()), (d.mean(), d), (d, d)):
        calls.clear()
        results = brickwork.compute(*outputs)
        assert len(calls) == 6  # one call per block
        for r, o in zip(results, outputs, strict=True):
            expected = (x * 2).mean() if o.ndim == 0 else x * 2
            np.testing.assert_allclose(r, expected)
