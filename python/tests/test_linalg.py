"""matmul / @ / dot against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import arrays, chunk_specs
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da


@given(data=st.data(), dtype=st.sampled_from(["float32", "float64"]))
def test_matmul_matches_numpy_over_chunkings(data, dtype):
    m, k, n = (data.draw(st.integers(1, 9), label=name) for name in "mkn")
    # Finite values: NaN and inf propagate through GEMM in an order-dependent way.
    a = np.nan_to_num(data.draw(arrays(dtype, (m, k)), label="a"), posinf=0, neginf=0)
    b = np.nan_to_num(data.draw(arrays(dtype, (k, n)), label="b"), posinf=0, neginf=0)
    ca = data.draw(chunk_specs((m, k), allow_auto=False), label="a chunks")
    cb = data.draw(chunk_specs((k, n), allow_auto=False), label="b chunks")
    x, y = da.from_array(a, chunks=ca), da.from_array(b, chunks=cb)
    expected = a @ b
    got = x @ y
    assert got.shape == expected.shape and got.dtype == expected.dtype
    scale = float(np.abs(a).max(initial=0) * np.abs(b).max(initial=0) * k)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got.compute(), expected, rtol=tol, atol=tol * scale)


def test_vectors_transposes_and_fused_operands():
    rng = np.random.default_rng(6)
    a, b, v = rng.random((30, 20)), rng.random((20, 10)), rng.random(20)
    x, y = da.from_array(a, chunks=(7, 6)), da.from_array(b, chunks=(5, 4))
    np.testing.assert_allclose((x @ v).compute(), a @ v)
    np.testing.assert_allclose(da.dot(v, y).compute(), v @ b)
    np.testing.assert_allclose(da.matmul(x.T, x).compute(), a.T @ a)
    np.testing.assert_allclose(((x * 2 + 1) @ y).mean(axis=0).compute(), ((a * 2 + 1) @ b).mean(0))
    np.testing.assert_allclose(np.matmul(x, y).compute(), a @ b)


def test_matmul_errors():
    x = da.ones((3, 4), chunks=2)
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        x @ da.ones((3, 4), chunks=2)
    # Integer products are supported (test_einsum.py checks them against NumPy).
    ints = da.ones((2, 2), dtype="int64", chunks=1)
    np.testing.assert_array_equal((ints @ ints).compute(), np.full((2, 2), 2))


@pytest.mark.parametrize(
    ("sa", "sb"), [((0, 2), (2, 0)), ((3, 2), (2, 0)), ((0, 2), (2, 3)), ((3, 0), (0, 4))]
)
def test_empty_float_products_match_numpy(sa, sb):
    a, b = np.ones(sa), np.ones(sb)
    got = (da.from_array(a, chunks=1) @ da.from_array(b, chunks=1)).compute()
    np.testing.assert_array_equal(got, a @ b, strict=True)
