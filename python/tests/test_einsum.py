"""einsum, tensordot and N-d / integer matmul against NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from _support import DTYPES, array_type, check_like_numpy, chunk_specs
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

# Subscripts with the letters whose lengths are drawn; "..." takes 0-2 drawn axes.
PATTERNS = [
    "ij,jk->ik",
    "ij,jk",
    "ba,ac",
    "ii",
    "ii->i",
    "iij->j",
    "iii",
    "i,j->ij",
    "ab,cd->abcd",
    "bij,bjk->bik",
    "bi,bi->b",
    "ij->",
    "ij->ji",
    "ji",
    "i->",
    "i,i",
    "ij,j",
    "ij,ij->ij",
    "ijk,jl->ikl",
    "ijkl,jk->il",
    "ij,jk,kl->il",
    "i,i,i->",
    ",i->i",
    "...ij,...jk",
    "...i,...i->...",
    "i...->...",
]


def _shapes(pattern, sizes, ellipsis):
    terms = pattern.split("->")[0].split(",")
    out = []
    for t in terms:
        left, _, right = t.partition("...")
        shape = [sizes[c] for c in left]
        if "..." in t:
            shape += ellipsis
        shape += [sizes[c] for c in right]
        out.append(tuple(shape))
    return out


def _operand(data, dtype, shape, label):
    """Small integer values (exact products and sums in every dtype) or bools."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed"))
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    if info is not None and data.draw(st.booleans(), label=f"{label} full range"):
        # Full-range integers: products and sums wrap around, as in NumPy.
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    low = 0 if np.dtype(dtype).kind == "u" else -9
    return rng.integers(low, 10, shape).astype(dtype)


@given(data=st.data(), pattern=st.sampled_from(PATTERNS), dtype=st.sampled_from(DTYPES))
def test_einsum_matches_numpy(data, pattern, dtype):
    sizes = {c: data.draw(st.integers(0, 4), label=f"len {c}") for c in "abcdijkl"}
    ellipsis = data.draw(st.lists(st.integers(1, 3), max_size=2), label="... shape")
    operands = [
        _operand(data, dtype, s, f"op{i}") for i, s in enumerate(_shapes(pattern, sizes, ellipsis))
    ]
    chunks = [data.draw(chunk_specs(op.shape, allow_auto=False), label="chunks") for op in operands]
    arrays = [da.from_array(op, chunks=c) for op, c in zip(operands, chunks)]
    # Integer-valued floats: every summation order gives NumPy's exact result.
    check_like_numpy(
        lambda: np.einsum(pattern, *operands), lambda: da.einsum(pattern, *arrays), rtol=0
    )


@given(
    data=st.data(),
    pattern=st.sampled_from(["ij,jk->ik", "bij,bjk->bik", "ijk,kj->i", "ij,ij->"]),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_einsum_float_values(data, pattern, dtype):
    sizes = {c: data.draw(st.integers(1, 7), label=f"len {c}") for c in "bijk"}
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    operands = [rng.standard_normal(s).astype(dtype) for s in _shapes(pattern, sizes, [])]
    arrays = [
        da.from_array(op, chunks=data.draw(chunk_specs(op.shape, allow_auto=False)))
        for op in operands
    ]
    got = da.einsum(pattern, *arrays)
    expected = np.einsum(pattern, *operands)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(got.compute(), expected, rtol=tol, atol=tol * 10)


def test_einsum_forms_and_dispatch():
    a = np.arange(12.0).reshape(3, 4)
    b = np.arange(20.0).reshape(4, 5)
    x, y = da.from_array(a, chunks=2), da.from_array(b, chunks=(3, 2))
    expected = a @ b
    for got in (
        da.einsum(x, [0, 1], y, [1, 2], [0, 2]),
        da.einsum(x, [0, 1], y, [1, 2]),
        da.einsum(" ij , jk -> ik ", x, y),
        np.einsum("ij,jk->ik", x, y),
        da.einsum("ij,jk->ik", a, y),
    ):
        assert isinstance(got, array_type())
        np.testing.assert_array_equal(got.compute(), expected)
    np.testing.assert_array_equal(
        da.einsum(x, [Ellipsis, 1]).compute(), np.einsum(a, [Ellipsis, 1])
    )
    # dtype= casts the operands first; a cast that breaks `casting` raises TypeError.
    i8 = np.full((3, 3), 100, dtype="int8")
    got = da.einsum("ij,jk", da.from_array(i8, chunks=2), i8, dtype="int64")
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.compute(), np.einsum("ij,jk", i8, i8, dtype="int64"))
    with pytest.raises(TypeError):
        np.einsum("ij,jk", a, a.T, dtype="int64")
    with pytest.raises(TypeError):
        da.einsum("ij,jk", x, x.T, dtype="int64")
    assert da.einsum("ij,jk", x, x.T, dtype="int64", casting="unsafe").dtype == np.int64


@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("ij,jk", [(2, 3), (4, 3)]),
        ("ii", [(2, 3)]),
        ("ij,jk->iz", [(2, 3), (3, 3)]),
        ("ij,jk", [(2, 3)]),
        ("ij", [(2, 3), (3,)]),
        ("i->ii", [(3,)]),
        ("i1", [(3, 2)]),
        ("ij->i", [(2, 3, 4)]),
        ("...ij->i", [(2, 3, 4)]),
        ("ijk", [(2, 3)]),
        ("i.j", [(2, 3)]),
        ("i->j->k", [(2,)]),
    ],
)
def test_einsum_errors_like_numpy(subscripts, shapes):
    operands = [np.ones(s) for s in shapes]
    arrays = [da.from_array(op, chunks=2) for op in operands]
    check_like_numpy(
        lambda: np.einsum(subscripts, *operands), lambda: da.einsum(subscripts, *arrays)
    )


# ---------------------------------------------------------------------------------
# tensordot


@st.composite
def tensordot_case(draw):
    nfree_a, nfree_b, nsum = (draw(st.integers(0, 2)) for _ in range(3))
    free_a = [draw(st.integers(0, 4)) for _ in range(nfree_a)]
    free_b = [draw(st.integers(0, 4)) for _ in range(nfree_b)]
    summed = [draw(st.integers(0, 4)) for _ in range(nsum)]
    if draw(st.booleans()):
        # The int form: the last nsum axes of a and the first of b.
        return tuple(free_a + summed), tuple(summed + free_b), nsum
    perm_a = draw(st.permutations(range(nfree_a + nsum)))
    perm_b = draw(st.permutations(range(nfree_b + nsum)))
    shape_a = [0] * (nfree_a + nsum)
    shape_b = [0] * (nfree_b + nsum)
    for n, p in zip(free_a + summed, perm_a):
        shape_a[p] = n
    for n, p in zip(summed + free_b, perm_b):
        shape_b[p] = n
    axes_a = [perm_a[nfree_a + i] for i in range(nsum)]
    axes_b = [perm_b[i] for i in range(nsum)]
    if draw(st.booleans()):
        axes_a = [ax - len(shape_a) for ax in axes_a]
    return tuple(shape_a), tuple(shape_b), (axes_a, axes_b)


@given(data=st.data(), case=tensordot_case(), dtype=st.sampled_from(DTYPES))
def test_tensordot_matches_numpy(data, case, dtype):
    shape_a, shape_b, axes = case
    a = _operand(data, dtype, shape_a, "a")
    b = _operand(data, dtype, shape_b, "b")
    x = da.from_array(a, chunks=data.draw(chunk_specs(a.shape, allow_auto=False)))
    y = da.from_array(b, chunks=data.draw(chunk_specs(b.shape, allow_auto=False)))
    check_like_numpy(lambda: np.tensordot(a, b, axes), lambda: da.tensordot(x, y, axes), rtol=0)
    got = np.tensordot(x, y, axes)
    assert isinstance(got, array_type())


def test_tensordot_errors():
    x, y = da.ones((2, 3), chunks=1), da.ones((3, 4), chunks=2)
    with pytest.raises(ValueError, match="shape-mismatch"):
        da.tensordot(x, y, axes=([0], [0]))
    with pytest.raises(ValueError, match="shape-mismatch"):
        da.tensordot(x, y, axes=([0, 1], [0]))
    with pytest.raises(np.exceptions.AxisError):
        da.tensordot(x, y, axes=([2], [0]))
    np.testing.assert_array_equal(da.tensordot(x, y, axes=1).compute(), np.full((2, 4), 3.0))


# ---------------------------------------------------------------------------------
# matmul and dot beyond 2-d floats


@st.composite
def matmul_shapes(draw):
    m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    batch_a = [1 if draw(st.booleans()) else b for b in batch]
    batch_b = [1 if draw(st.booleans()) else b for b in batch]
    batch_a = batch_a[draw(st.integers(0, len(batch_a))) :]
    batch_b = batch_b[draw(st.integers(0, len(batch_b))) :]
    shape_a = (k,) if draw(st.integers(0, 4)) == 0 else (*batch_a, m, k)
    shape_b = (k,) if draw(st.integers(0, 4)) == 0 else (*batch_b, k, n)
    if draw(st.integers(0, 9)) == 0:
        shape_b = (*shape_b[:-2], k + 1, n) if len(shape_b) > 1 else (k + 1,)
    return shape_a, shape_b


@given(data=st.data(), shapes=matmul_shapes(), dtype=st.sampled_from(DTYPES))
def test_matmul_nd_and_integer_dtypes_match_numpy(data, shapes, dtype):
    a = _operand(data, dtype, shapes[0], "a")
    b = _operand(data, dtype, shapes[1], "b")
    x = da.from_array(a, chunks=data.draw(chunk_specs(a.shape, allow_auto=False)))
    y = da.from_array(b, chunks=data.draw(chunk_specs(b.shape, allow_auto=False)))
    check_like_numpy(lambda: np.matmul(a, b), lambda: x @ y, rtol=0)
    if a.ndim and b.ndim:
        check_like_numpy(lambda: np.dot(a, b), lambda: da.dot(x, y), rtol=0)


def test_batched_float_matmul_paths():
    rng = np.random.default_rng(3)
    # A small stack runs one GEMM per matrix, a large one the fused multiply-and-sum.
    for batch in [(3,), (70,)]:
        a = rng.standard_normal((*batch, 5, 4))
        b = rng.standard_normal((4, 6))
        x = da.from_array(a, chunks=(2, 3, 3))
        got = x @ da.from_array(b, chunks=2)
        assert got.chunks[0] == x.chunks[0]
        np.testing.assert_allclose(got.compute(), a @ b, rtol=1e-12, atol=1e-12)
    # Mixed dtypes promote as NumPy does.
    i = np.arange(12, dtype="int64").reshape(3, 4)
    f = rng.standard_normal((4, 2)).astype("float32")
    got = da.from_array(i, chunks=2) @ da.from_array(f, chunks=3)
    assert got.dtype == (i @ f).dtype
    np.testing.assert_allclose(got.compute(), i @ f, rtol=1e-12)


def test_contractions_build_lazily():
    calls = []

    def source(block):
        calls.append(1)
        return block

    x = da.ones((6, 4), chunks=(2, 4)).map_blocks(source, dtype="float64")
    y = da.ones((4, 3), chunks=2, dtype="int64").map_blocks(source, dtype="int64")
    exprs = [
        da.einsum("ij,jk->ik", x, y),
        da.einsum("ij,ij->i", x, x),
        da.tensordot(x, y, 1),
        y.astype("int32") @ y.T,
        da.ones((2, 3, 4), chunks=1) @ x.T,
    ]
    assert calls == []
    assert all(isinstance(e, array_type()) for e in exprs)
    np.testing.assert_array_equal(exprs[0].compute(), np.full((6, 3), 4.0))
