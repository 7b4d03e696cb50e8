"""Chunk specs and chunk attributes compared with dask.array on the same inputs."""

from __future__ import annotations

import math

import dask
import dask.array
import numpy as np
import pytest
from dask.array.core import normalize_chunks
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork
import brickwork.array as da
from _support import DTYPES, explicit_chunks

chunk_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=20)
limits = st.sampled_from([64, 100, 1000, 4096, 10_000])


@st.composite
def axis_spec(draw, n, allow_auto=True):
    options = [
        st.integers(1, n + 3),
        st.just(-1),
        st.just(None),
        explicit_chunks(n, allow_empty_chunks=True),
    ]
    if allow_auto:
        options.append(st.just("auto"))
    return draw(st.one_of(options))


@st.composite
def specs(draw, shape):
    """Every form of Dask chunk spec: int, -1, None, "auto", per-axis tuple, dict, and
    explicit tuples of tuples."""
    ndim = len(shape)
    forms = [
        st.integers(1, 25),
        st.just(-1),
        st.just(None),
        st.just("auto"),
        st.tuples(*(axis_spec(n) for n in shape)),
        st.tuples(*(explicit_chunks(n) for n in shape)),
    ]
    if ndim:
        forms.append(st.dictionaries(st.integers(0, ndim - 1), st.integers(1, 25) | st.just(-1)))
    return draw(st.one_of(forms))


def _dask_spec(spec):
    # Dask spells "the whole array" as -1 at the top level (None is an error there).
    return -1 if spec is None else spec


@given(shape=chunk_shapes, dtype=st.sampled_from(DTYPES), data=st.data(), limit=limits)
def test_from_array_chunks_match_dask_normalize_chunks(shape, dtype, data, limit):
    spec = data.draw(specs(shape), label="spec")
    x = np.zeros(shape, dtype=dtype)
    with brickwork.config.set(chunk_size=limit):
        arr = da.from_array(x, chunks=spec)
    assert tuple(sum(c) for c in arr.chunks) == shape
    try:
        expected = normalize_chunks(_dask_spec(spec), shape, limit=limit, dtype=np.dtype(dtype))
    except ZeroDivisionError:
        # dask 2026.8 cannot apply "auto" to an array with an empty axis; brickwork only
        # has to produce a valid chunking there.
        assume(False)
    assert tuple(tuple(c) for c in arr.chunks) == expected
    with dask.config.set({"array.chunk-size": limit}):
        reference = dask.array.from_array(x, chunks=_dask_spec(spec))
    assert tuple(arr.chunksize) == tuple(reference.chunksize)
    assert tuple(arr.numblocks) == tuple(reference.numblocks)
    assert arr.npartitions == reference.npartitions
    assert tuple(arr.shape) == reference.shape
    assert arr.ndim == reference.ndim
    assert arr.size == reference.size
    assert arr.nbytes == reference.nbytes


@given(shape=chunk_shapes, data=st.data(), limit=limits)
def test_creation_functions_chunk_like_dask(shape, data, limit):
    spec = data.draw(specs(shape), label="spec")
    for name in ("zeros", "ones", "empty"):
        with brickwork.config.set(chunk_size=limit):
            ours = getattr(da, name)(shape, chunks=spec)
        try:
            with dask.config.set({"array.chunk-size": limit}):
                theirs = getattr(dask.array, name)(shape, chunks=_dask_spec(spec))
        except ZeroDivisionError:
            # dask cannot apply "auto" to an empty axis (see above).
            assert tuple(sum(c) for c in ours.chunks) == shape
            continue
        assert tuple(tuple(c) for c in ours.chunks) == theirs.chunks, name


@pytest.mark.parametrize(
    ("shape", "spec"),
    [
        ((10,), 3),
        ((10,), (3,)),
        ((10,), ((3, 3, 4),)),
        ((10,), ((1, 9),)),
        ((10, 7), (4, -1)),
        ((10, 7), (None, 2)),
        ((10, 7), {0: 5}),
        ((10, 7), {1: 3}),
        ((10, 7), {0: -1, 1: 2}),
        ((10, 7), ((5, 5), (7,))),
        ((10, 7), 100),
        ((0, 4), 2),
        ((0, 4), ((0,), (2, 2))),
        ((), ()),
        ((), 5),
        ((5,), ((0, 5, 0),)),
    ],
)
def test_explicit_chunk_specs_match_dask(shape, spec):
    x = np.zeros(shape)
    arr = da.from_array(x, chunks=spec)
    reference = dask.array.from_array(x, chunks=spec)
    assert tuple(tuple(c) for c in arr.chunks) == reference.chunks
    assert tuple(arr.chunksize) == reference.chunksize
    assert tuple(arr.numblocks) == reference.numblocks
    assert arr.npartitions == reference.npartitions


def test_default_chunks_are_auto_with_128_mib(tiny_chunks):
    if tiny_chunks:
        pytest.skip("the session runs with tiny default chunks")
    limit = 128 * 2**20
    for shape, dtype in [((10**8,), "uint8"), ((3 * 10**8,), "uint8"), ((40_000, 40_000), "f8")]:
        expected = normalize_chunks("auto", shape, limit=limit, dtype=np.dtype(dtype))
        assert tuple(tuple(c) for c in da.zeros(shape, dtype=dtype).chunks) == expected
        assert tuple(tuple(c) for c in da.ones(shape, dtype=dtype, chunks="auto").chunks) == (
            expected
        )


def test_tiny_chunks_option_applies_to_default_chunks(tiny_chunks):
    from conftest import TINY_CHUNK_BYTES

    x = np.zeros((40, 30))
    chunks = tuple(tuple(c) for c in da.from_array(x).chunks)
    if tiny_chunks:
        assert chunks == normalize_chunks("auto", x.shape, limit=TINY_CHUNK_BYTES, dtype=x.dtype)
        assert math.prod(len(c) for c in chunks) > 1
    else:
        assert chunks == ((40,), (30,))


def test_chunk_attributes_on_irregular_chunks():
    arr = da.from_array(np.zeros((10, 7), dtype=np.int16), chunks=((1, 2, 7), (3, 4)))
    assert arr.chunks == ((1, 2, 7), (3, 4))
    assert tuple(arr.chunksize) == (7, 4)
    assert tuple(arr.numblocks) == (3, 2)
    assert arr.npartitions == 6
    assert arr.shape == (10, 7)
    assert arr.ndim == 2
    assert arr.size == 70
    assert arr.nbytes == 140
    assert len(arr) == 10
    assert isinstance(arr.dtype, np.dtype) and arr.dtype == np.int16


def test_len_of_0d_array_raises_type_error():
    with pytest.raises(TypeError):
        len(da.from_array(np.float64(1.0)))


def test_chunks_are_tuples_of_python_ints():
    arr = da.from_array(np.zeros((5, 4)), chunks=(2, 3))
    assert isinstance(arr.chunks, tuple)
    assert all(isinstance(c, tuple) for c in arr.chunks)
    assert all(type(v) is int for c in arr.chunks for v in c)
    assert all(type(v) is int for v in arr.shape)


def test_repr_shows_shape_dtype_chunks_bytes_and_tasks():
    arr = da.from_array(np.zeros((1000, 300), dtype=np.float32), chunks=(100, 150))
    text = repr(arr)
    assert "1000" in text and "300" in text, text
    assert "float32" in text, text
    assert "100" in text and "150" in text, text
    assert "task" in text.lower(), text
    assert any(unit in text for unit in ("MiB", "MB", "kiB", "KiB", "kB", "bytes")), text
    html = arr._repr_html_()
    assert isinstance(html, str) and "<" in html
    assert "float32" in html and "1000" in html, html
