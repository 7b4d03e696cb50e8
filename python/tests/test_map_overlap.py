"""overlap, trim_internal, map_overlap and sliding_window_view against NumPy on the
whole (padded) array and against dask.array.overlap."""

from __future__ import annotations

import dask.array as dask_array
import dask.array.overlap as dask_overlap
import numpy as np
import pytest
from _support import arrays, assert_values, chunk_specs, dtypes, numpy_error_class
from hypothesis import given
from hypothesis import strategies as st

import brickwork.array as da

shapes = st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple)
KINDS = ("reflect", "periodic", "nearest", "none", 0, 7)
PAD_MODE = {"reflect": "symmetric", "periodic": "wrap", "nearest": "edge"}


def _case(data, dtype=None, values=None):
    shape = data.draw(shapes, label="shape")
    x = data.draw(arrays(dtype or data.draw(dtypes, label="dtype"), shape, values), label="x")
    chunks = data.draw(chunk_specs(shape, allow_auto=False), label="chunks")
    a = da.from_array(x, chunks=chunks)
    return x, a, dask_array.from_array(x, chunks=a.chunks)


def _depth_and_boundary(data, shape, *, symmetric_only=False):
    depth = {
        ax: data.draw(st.integers(0, min(n, 3)), label=f"depth {ax}") for ax, n in enumerate(shape)
    }
    boundary = {ax: data.draw(st.sampled_from(KINDS), label=f"boundary {ax}") for ax in depth}
    if not symmetric_only:
        for ax, n in enumerate(shape):
            if boundary[ax] == "none" and data.draw(st.booleans(), label=f"asymmetric {ax}"):
                depth[ax] = (
                    data.draw(st.integers(0, min(n, 3))),
                    data.draw(st.integers(0, min(n, 3))),
                )
    return depth, boundary


@given(data=st.data())
def test_overlap_matches_dask(data):
    x, a, d = _case(data)
    depth, boundary = _depth_and_boundary(data, x.shape)
    try:
        theirs = dask_overlap.overlap(d, depth=depth, boundary=boundary)
        expected = theirs.compute()
    except (TypeError, ValueError, OverflowError, IndexError) as exc:
        with pytest.raises(numpy_error_class(exc)):
            da.overlap.overlap(a, depth=depth, boundary=boundary).compute()
        return
    got = da.overlap.overlap(a, depth=depth, boundary=boundary)
    assert got.chunks == theirs.chunks
    assert got.dtype == theirs.dtype
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


def _moving_sum(block, depth):
    """The sum over a (2d+1)-wide window along every axis; wrong within d of the block's
    edges, which map_overlap trims away."""
    out = block.astype(np.float64)
    for ax, d in enumerate(depth):
        out = sum(np.roll(out, k, axis=ax) for k in range(-d, d + 1))
    return out


def _reference_moving_sum(x, depth, boundary):
    """The same moving sum computed with NumPy on the whole padded array."""
    padded = x.astype(np.float64)
    for ax, d in enumerate(depth):
        width = [(0, 0)] * x.ndim
        width[ax] = (d, d)
        kind = boundary[ax]
        if isinstance(kind, str):
            padded = np.pad(padded, width, mode=PAD_MODE[kind])
        else:
            padded = np.pad(padded, width, mode="constant", constant_values=kind)
    windows = np.lib.stride_tricks.sliding_window_view(padded, [2 * d + 1 for d in depth])
    return windows.sum(axis=tuple(range(x.ndim, 2 * x.ndim)))


@given(data=st.data())
def test_map_overlap_moving_sum_matches_numpy_on_the_padded_array(data):
    x, a, d = _case(data, "float64", st.integers(-20, 20).map(float))
    depth = [
        data.draw(st.integers(0, min(n, 3)), label=f"depth {i}") for i, n in enumerate(x.shape)
    ]
    kinds = [k for k in KINDS if k != "none"]
    boundary = [data.draw(st.sampled_from(kinds), label=f"boundary {i}") for i in range(x.ndim)]
    got = a.map_overlap(
        lambda b: _moving_sum(b, depth),
        depth=tuple(depth),
        boundary=tuple(boundary),
        dtype=np.float64,
    )
    expected = _reference_moving_sum(x, depth, boundary)
    assert_values(got.compute(), expected)
    theirs = d.map_overlap(
        lambda b: _moving_sum(b, depth),
        depth=tuple(depth),
        boundary=tuple(boundary),
        dtype=np.float64,
    )
    assert got.chunks == theirs.chunks


@given(data=st.data(), trim=st.booleans())
def test_map_overlap_matches_dask_for_block_dependent_functions(data, trim):
    """x + block size depends on the extended blocks' shapes: the same in both only if
    the blocks are the same (boundary "none" and asymmetric depths included)."""
    x, a, d = _case(data, "int64", st.integers(-100, 100))
    depth, boundary = _depth_and_boundary(data, x.shape)
    if trim:
        func = lambda b: b + b.size  # noqa: E731
    else:

        def func(b, block_info=None):
            return b[tuple(slice(0, n) for n in block_info[None]["chunk-shape"])] + b.size

    try:
        theirs = dask_array.map_overlap(
            func, d, depth=depth, boundary=boundary, trim=trim, dtype=np.int64
        )
        expected = theirs.compute()
    except (TypeError, ValueError, NotImplementedError) as exc:
        with pytest.raises(
            type(exc) if isinstance(exc, NotImplementedError) else numpy_error_class(exc)
        ):
            da.map_overlap(
                func, a, depth=depth, boundary=boundary, trim=trim, dtype=np.int64
            ).compute()
        return
    got = da.map_overlap(func, a, depth=depth, boundary=boundary, trim=trim, dtype=np.int64)
    assert got.chunks == theirs.chunks
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@given(data=st.data())
def test_trim_internal_matches_dask(data):
    x, a, d = _case(data)
    depth, boundary = _depth_and_boundary(data, x.shape)
    try:
        theirs_overlapped = dask_overlap.overlap(d, depth=depth, boundary=boundary)
        theirs = dask_overlap.trim_internal(theirs_overlapped, depth, boundary)
        expected = theirs.compute()
    except (TypeError, ValueError, OverflowError, IndexError):
        return
    got = da.overlap.trim_internal(da.overlap.overlap(a, depth, boundary), depth, boundary)
    assert got.chunks == theirs.chunks
    np.testing.assert_array_equal(got.compute(), expected, strict=True)
    np.testing.assert_array_equal(got.compute(), x, strict=True)


def test_map_overlap_dask_examples():
    x = np.array([1, 1, 2, 3, 3, 3, 2, 1, 1])
    got = da.from_array(x, chunks=5).map_overlap(lambda v: v - np.roll(v, 1), depth=1, boundary=0)
    np.testing.assert_array_equal(got.compute(), [1, 0, 1, 1, 0, 0, -1, -1, 0])
    y = da.from_array(np.arange(16).reshape(4, 4), chunks=(2, 2))
    got = y.map_overlap(
        lambda v: v + v.size, depth={0: 1, 1: 1}, boundary={0: "reflect", 1: "none"}
    )
    np.testing.assert_array_equal(
        got.compute(), np.arange(16).reshape(4, 4) + np.array([[12], [12], [12], [12]])
    )
    p = da.arange(8).reshape(2, 4).rechunk((1, 2))
    q = da.arange(4).rechunk(2)
    np.testing.assert_array_equal(
        da.map_overlap(lambda u, v: u + v, p, q, depth=1, boundary="reflect").compute(),
        [[0, 2, 4, 6], [4, 6, 8, 10]],
    )
    ones = da.ones(10, dtype="int", chunks=5)
    total = da.map_overlap(
        lambda v: v.sum(), ones, depth=1, boundary="reflect", chunks=(), drop_axis=0
    )
    theirs = dask_array.map_overlap(
        lambda v: v.sum(),
        dask_array.ones(10, dtype="int", chunks=5),
        depth=1,
        boundary="reflect",
        chunks=(),
        drop_axis=0,
    )
    assert total.compute() == theirs.compute() == 14


def test_map_overlap_in_worker_processes_and_errors():
    x = np.arange(40.0).reshape(5, 8)
    a = da.from_array(x, chunks=(2, 3))
    got = a.map_overlap(lambda b: _moving_sum(b, (1, 2)), depth=(1, 2), boundary="periodic")
    np.testing.assert_array_equal(
        got.compute(scheduler="processes", num_threads=2),
        _reference_moving_sum(x, (1, 2), ("periodic", "periodic")),
    )
    with pytest.raises(NotImplementedError, match="Asymmetric"):
        da.map_overlap(lambda b: b, a, depth={0: (1, 2)}, boundary="reflect")
    with pytest.raises(ValueError, match="larger than your array"):
        da.map_overlap(lambda b: b, a, depth=6, boundary="reflect")
    with pytest.raises(ValueError, match="allow_rechunk"):
        da.map_overlap(lambda b: b, a, depth=3, boundary="reflect", allow_rechunk=False)
    with pytest.raises(TypeError):
        da.map_overlap(lambda b: b, x, depth=1)
    with pytest.raises(ValueError, match="not understood"):
        da.overlap.overlap(a, depth=1, boundary="mirror")


@given(data=st.data())
def test_sliding_window_view_matches_numpy(data):
    x, a, _ = _case(data)
    window = tuple(data.draw(st.integers(1, n), label="window") for n in x.shape)
    got = da.overlap.sliding_window_view(a, window)
    expected = np.lib.stride_tricks.sliding_window_view(x, window)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.compute(), expected, strict=True)


@given(data=st.data())
def test_map_overlap_gathers_halos_inside_the_task_like_dask(data):
    # The halos are gathered straight from the source into the block handed to the
    # function (no overlapped intermediate); the function owns that block: writing into
    # it changes neither the source nor the neighbours' blocks, as in Dask.
    x, a, d = _case(data, dtype="float64", values=st.floats(-100, 100))
    depth, boundary = _depth_and_boundary(data, x.shape, symmetric_only=True)
    original = x.copy()

    def scale_in_place(b):
        b *= 3
        return b

    got = a.map_overlap(scale_in_place, depth=depth, boundary=boundary)
    # (Dask hands blocks without a halo over as views of the source: its reference
    # function must not write.)
    expected = d.map_overlap(lambda b: b * 3, depth=depth, boundary=boundary)
    if all(isinstance(k, str) for k in boundary.values()):
        # No gather stage (the last line of explain names the rewrite rules that fired).
        assert "take" not in got.explain().rsplit("rewrites:", 1)[0]
    assert_values(got.compute(), expected.compute())
    assert_values(got.sum().compute(), expected.sum().compute(), rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x, original)


@given(data=st.data())
def test_map_blocks_results_with_any_strides_are_written_like_dask(data):
    # A block function may return a transposed, reversed or strided view: its values
    # are read through its strides.
    x, a, d = _case(data, dtype="float64", values=st.floats(-100, 100))

    def reversed_view(b):
        return np.flip(b * 2)

    def strided(b):
        big = np.repeat(b, 2, axis=-1) if b.ndim else b
        return big[..., ::2] if b.ndim else big

    for f in (reversed_view, strided):
        assert_values(a.map_blocks(f).compute(), d.map_blocks(f).compute())
        assert_values(a.map_blocks(f).sum().compute(), d.map_blocks(f).sum().compute(), rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(a.compute()), x)
