"""The Array API namespace ``brickwork.array_api`` compared with NumPy's own namespace
(NumPy 2 is itself an Array API 2024.12 namespace).

Arrays, dtypes and shapes are drawn by ``hypothesis.extra.array_api`` through the
brickwork namespace, then cut into random chunkings (chunks of size 1 and irregular
ones included); every result is computed and compared with NumPy's function on the
same data. Float tolerances follow _support (n * eps * max|x| for sums).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.errors import HypothesisWarning
from hypothesis.extra.array_api import make_strategies_namespace

import brickwork.array_api as xp
from _support import (
    assert_matches,
    assert_values,
    check_like_numpy,
    chunk_specs,
    elements,
    numpy_ref,
)

with warnings.catch_warnings():
    warnings.simplefilter("error", HypothesisWarning)
    xps = make_strategies_namespace(xp, api_version="2024.12")

SHAPES = xps.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
NONEMPTY = xps.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5)
REAL = xps.real_dtypes()
NUMERIC = st.one_of(xps.integer_dtypes(), xps.unsigned_integer_dtypes(), xps.floating_dtypes())
INTEGRAL = st.one_of(xps.integer_dtypes(), xps.unsigned_integer_dtypes())
FLOATS = xps.floating_dtypes()
ANY = st.one_of(xps.boolean_dtypes(), REAL)


def _draw_value(draw, spec):
    return draw(spec) if isinstance(spec, st.SearchStrategy) else spec


@st.composite
def arrays(draw, dtype=ANY, shape=SHAPES, elements_=None):
    """(brickwork array in a random chunking, the same data in NumPy); ``elements_`` is
    a strategy or a function of the dtype giving one (default: _support's)."""
    dt = _draw_value(draw, dtype)
    shp = _draw_value(draw, shape)
    values = elements if elements_ is None else elements_
    if not isinstance(values, st.SearchStrategy):
        values = values(dt)
    x = draw(xps.arrays(dt, shp, elements=values))
    expected = np.asarray(x)
    return x.rechunk(draw(chunk_specs(x.shape))), expected


def rechunked(draw, x):
    """``x`` (a brickwork array) in a random chunking (``draw`` as ``data.draw``)."""
    return x.rechunk(draw(chunk_specs(x.shape)))


def axis_of(ndim):
    return st.integers(-ndim, ndim - 1)


def reduce_axes(ndim):
    """None, an int or a tuple of distinct axes of an array with ``ndim`` axes."""
    if ndim == 0:
        return st.none()
    return st.one_of(
        st.none(),
        axis_of(ndim),
        st.lists(st.integers(0, ndim - 1), unique=True, max_size=ndim).map(tuple),
    )


def _sum_atol(x, axis=None, power=1):
    """n * eps * max|x|**power over the finite values: the rounding of another summation
    order (for variances, of squared deviations)."""
    if x.dtype.kind != "f":
        return 0.0
    finite = np.abs(x[np.isfinite(x)]).astype(np.float64)
    big = float(finite.max(initial=0.0)) if finite.size else 0.0
    axes = range(x.ndim) if axis is None else np.atleast_1d(np.asarray(axis, dtype=int))
    n = math.prod(x.shape[a] for a in axes)
    eps = float(np.finfo(x.dtype).eps)
    return 16 * max(n, 1) * eps * (2 * big) ** power


# --------------------------------------------------------------------------- namespace


def test_version_and_namespace():
    x = xp.asarray([1.0, 2.0])
    assert xp.__array_api_version__ == "2024.12"
    assert x.__array_namespace__() is xp
    assert x.__array_namespace__(api_version="2024.12") is xp
    assert x.__array_namespace__(api_version="2023.12") is xp
    with pytest.raises(ValueError, match="2099.01"):
        x.__array_namespace__(api_version="2099.01")
    assert x.device == "cpu" == xp.__array_namespace_info__().default_device()
    assert x.to_device("cpu") is x
    with pytest.raises(ValueError, match="gpu"):
        x.to_device("gpu")
    with pytest.raises(ValueError, match="gpu"):
        xp.zeros(3, device="gpu")


def test_namespace_has_the_standard_names_numpy_has():
    """Every function and constant of NumPy's 2024.12 namespace is here, except the
    complex ones brickwork lacks and the fft extension."""
    absent = {"complex64", "complex128", "imag", "fft"}
    names = [
        "e inf nan newaxis pi",
        "arange asarray empty empty_like eye from_dlpack full full_like linspace meshgrid",
        "ones ones_like tril triu zeros zeros_like",
        "astype can_cast finfo iinfo isdtype result_type",
        "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64",
        "take take_along_axis matmul matrix_transpose tensordot vecdot",
        "broadcast_arrays broadcast_to concat expand_dims flip moveaxis permute_dims repeat",
        "reshape roll squeeze stack tile unstack",
        "argmax argmin count_nonzero nonzero searchsorted where",
        "unique_all unique_counts unique_inverse unique_values argsort sort",
        "cumulative_prod cumulative_sum max mean min prod std sum var all any diff",
    ]
    elementwise = (
        "abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift "
        "bitwise_invert bitwise_or bitwise_right_shift bitwise_xor ceil clip conj copysign "
        "cos cosh divide equal exp expm1 floor floor_divide greater greater_equal hypot "
        "isfinite isinf isnan less less_equal log log1p log2 log10 logaddexp logical_and "
        "logical_not logical_or logical_xor maximum minimum multiply negative nextafter "
        "not_equal positive pow real reciprocal remainder round sign signbit sin sinh square "
        "sqrt subtract tan tanh trunc"
    )
    required = " ".join([*names, elementwise]).split()
    for name in required:
        assert hasattr(np, name), name
        assert hasattr(xp, name), name
    for name in absent:
        assert not hasattr(xp, name), name
    linalg = (
        "cholesky cross det diagonal eigh eigvalsh inv matmul matrix_norm matrix_power "
        "matrix_rank matrix_transpose outer pinv qr slogdet solve svd svdvals tensordot "
        "trace vecdot vector_norm"
    ).split()
    for name in linalg:
        assert hasattr(xp.linalg, name), name
    assert xp.e == np.e and xp.pi == np.pi and xp.inf == np.inf and math.isnan(xp.nan)
    assert xp.newaxis is None


def test_numpy_names_beyond_the_standard_are_answered_like_numpy():
    """NumPy-only names resolve to brickwork.array's lazy functions, else to NumPy's
    (dispatching through __array_function__); scalar types, imag and fft do not."""
    import brickwork.array as da

    a = np.arange(12.0).reshape(3, 4) ** 2
    x = xp.asarray(a, chunks=2)
    assert xp.cumsum is da.cumsum and xp.median is da.median and xp.pad is da.pad
    assert_matches(xp.cumsum(x, axis=1), np.cumsum(a, axis=1))
    assert_values(np.asarray(xp.gradient(x, axis=0)), np.gradient(a, axis=0))
    assert xp.lib is np.lib
    for name in ("float16", "complex64", "complex128", "bool_", "imag", "fft", "_secret"):
        assert not hasattr(xp, name), name
    with pytest.raises(AttributeError, match="no_such_function"):
        xp.no_such_function  # noqa: B018
    assert_matches(xp.std(x, axis=0, ddof=1), np.std(a, axis=0, ddof=1))
    assert_matches(xp.var(x, ddof=1.5), np.var(a, ddof=1.5))
    with pytest.raises(ValueError, match="ddof"):
        xp.var(x, ddof=1, correction=1)
    assert xp.result_type(np.float32(1), np.int16(2)) == np.result_type(np.float32, np.int16)


def test_info_matches_numpy_without_complex():
    info = xp.__array_namespace_info__()
    ref = np.__array_namespace_info__()
    caps = info.capabilities()
    assert set(caps) == {"boolean indexing", "data-dependent shapes", "max dimensions"}
    assert caps["boolean indexing"] and caps["data-dependent shapes"]
    a = np.arange(10.0)
    x = xp.asarray(a, chunks=3)
    assert_values(np.asarray(x[x % 2 == 0]), a[a % 2 == 0])
    assert caps["max dimensions"] == ref.capabilities()["max dimensions"]
    assert info.devices() == ["cpu"]
    want = {k: v for k, v in ref.default_dtypes().items() if k != "complex floating"}
    assert info.default_dtypes() == want
    assert info.default_dtypes(device="cpu") == want
    kinds = ["bool", "signed integer", "unsigned integer", "integral", "real floating"]
    kinds += ["complex floating", "numeric", ("bool", "real floating"), None]
    for kind in kinds:
        expected = {k: v for k, v in ref.dtypes(kind=kind).items() if "complex" not in k}
        assert info.dtypes(kind=kind) == expected, kind
    with pytest.raises(ValueError, match="kind"):
        info.dtypes(kind="text")
    with pytest.raises(ValueError, match="gpu"):
        info.dtypes(device="gpu")


# --------------------------------------------------------------------------- data types

DTYPE_NAMES = "bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64".split()


def test_dtype_objects_equal_numpy():
    for name in DTYPE_NAMES:
        assert getattr(xp, name) == getattr(np, name)
        assert xp.asarray([0], dtype=getattr(xp, name)).dtype == getattr(xp, name)


def test_can_cast_result_type_isdtype_match_numpy():
    kinds = [
        "bool",
        "signed integer",
        "unsigned integer",
        "integral",
        "real floating",
        "complex floating",
        "numeric",
        ("bool", "integral"),
    ]
    for a in DTYPE_NAMES:
        da_, na = getattr(xp, a), np.dtype(a)
        for b in DTYPE_NAMES:
            db_, nb = getattr(xp, b), np.dtype(b)
            assert xp.can_cast(da_, db_) == np.can_cast(na, nb), (a, b)
            assert xp.can_cast(xp.zeros(1, dtype=da_), db_) == np.can_cast(na, nb)
            assert xp.result_type(da_, db_) == np.result_type(na, nb), (a, b)
            assert xp.result_type(xp.zeros(2, dtype=da_), db_) == np.result_type(na, nb)
            assert xp.isdtype(da_, db_) == np.isdtype(na, nb)
        for kind in kinds:
            assert xp.isdtype(da_, kind) == np.isdtype(na, kind), (a, kind)
        for scalar in (True, 1, 2.5):
            try:
                expected = np.result_type(na, scalar)
            except (TypeError, OverflowError):
                continue
            assert xp.result_type(xp.zeros(1, dtype=da_), scalar) == expected


def test_finfo_iinfo_match_numpy():
    for name in ("float32", "float64"):
        got, want = xp.finfo(getattr(xp, name)), np.finfo(np.dtype(name))
        for attr in ("bits", "eps", "max", "min", "smallest_normal", "dtype"):
            assert getattr(got, attr) == getattr(want, attr), (name, attr)
        assert xp.finfo(xp.zeros(1, dtype=getattr(xp, name))).bits == want.bits
    for name in DTYPE_NAMES[1:9]:
        got, want = xp.iinfo(getattr(xp, name)), np.iinfo(np.dtype(name))
        for attr in ("bits", "max", "min", "dtype"):
            assert getattr(got, attr) == getattr(want, attr), (name, attr)
    with pytest.raises(ValueError, match="int64"):
        xp.finfo(xp.int64)
    with pytest.raises(ValueError, match="float32"):
        xp.iinfo(xp.float32)
    with pytest.raises(TypeError, match="complex"):
        xp.finfo(np.complex128)


@given(data=st.data(), pair=arrays(), to=ANY)
def test_astype_matches_numpy(data, pair, to):
    x, a = pair
    if a.dtype.kind == "f" and np.dtype(to).kind in "iu":
        # NaN, infinities and out-of-range floats cast to integers are undefined.
        info = np.iinfo(to)
        assume(np.all(np.isfinite(a)) and np.all((a > info.min - 1) & (a < info.max + 1)))
    out = xp.astype(x, to)
    assert_matches(out, a.astype(to))
    assert xp.astype(x, x.dtype, copy=False) is x
    assert xp.astype(x, x.dtype) is not x


# --------------------------------------------------------------------------- creation


@given(
    start=st.integers(-20, 20),
    stop=st.none() | st.integers(-20, 20),
    step=st.integers(-4, 4).filter(bool),
    floats=st.booleans(),
)
def test_arange_matches_numpy(start, stop, step, floats):
    if floats:
        start, step = start / 2, step / 4
    assert_matches(xp.arange(start, stop, step), np.arange(start, stop, step))


@given(pair=arrays(), data=st.data())
def test_asarray_from_numpy_lists_and_scalars(pair, data):
    _, a = pair
    assert_matches(xp.asarray(a), a)
    assert_matches(xp.asarray(a.tolist(), dtype=a.dtype), np.asarray(a.tolist(), dtype=a.dtype))
    to = data.draw(ANY)
    if a.dtype.kind != "f" or np.dtype(to).kind == "f":
        assert_matches(xp.asarray(a, dtype=to), np.asarray(a, dtype=to))
    scalar = data.draw(st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats())
    assert_matches(xp.asarray(scalar), np.asarray(scalar))


def test_asarray_copy_semantics():
    src = np.arange(6.0)
    shared, copied = xp.asarray(src), xp.asarray(src, copy=True)
    src[0] = 100.0
    assert np.asarray(shared)[0] == 100.0  # read in place, as numpy.asarray
    assert np.asarray(copied)[0] == 0.0
    with pytest.raises(ValueError):
        xp.asarray(src, dtype=xp.float32, copy=False)
    with pytest.raises(ValueError):
        xp.asarray([1, 2], copy=False)
    with pytest.raises(TypeError, match="complex"):
        xp.asarray([1j])
    x = xp.asarray(src)
    assert xp.asarray(x) is x
    assert_matches(xp.asarray(x, dtype=xp.int16), src.astype(np.int16))
    with pytest.raises(ValueError, match="copy"):
        xp.asarray(x, dtype=xp.int16, copy=False)
    # A copy is a separate array: assigning into it leaves the original alone.
    for copied in (xp.asarray(x, copy=True), xp.astype(x, x.dtype), xp.reshape(x, (6,), copy=True)):
        copied[1] = -1.0
        assert np.asarray(x)[1] == 1.0 and np.asarray(copied)[1] == -1.0


@given(shape=SHAPES, dtype=st.none() | ANY, data=st.data())
def test_filled_creation_matches_numpy(shape, dtype, data):
    chunks = data.draw(chunk_specs(shape))
    assert_matches(xp.zeros(shape, dtype=dtype, chunks=chunks), np.zeros(shape, dtype=dtype))
    assert_matches(xp.ones(shape, dtype=dtype), np.ones(shape, dtype=dtype))
    blank, want = xp.empty(shape, dtype=dtype), np.empty(shape, dtype=dtype)
    assert blank.shape == want.shape and blank.dtype == want.dtype
    fill = data.draw(st.booleans() | st.integers(-100, 100) | st.floats(-1e3, 1e3))
    assert_matches(xp.full(shape, fill), np.full(shape, fill))
    if dtype is not None:
        value = data.draw(xps.from_dtype(dtype))
        assert_matches(xp.full(shape, value, dtype=dtype), np.full(shape, value, dtype=dtype))


@given(pair=arrays(), dtype=st.none() | ANY)
def test_like_creation_matches_numpy(pair, dtype):
    x, a = pair
    assert_matches(xp.zeros_like(x, dtype=dtype), np.zeros_like(a, dtype=dtype))
    assert_matches(xp.ones_like(x, dtype=dtype), np.ones_like(a, dtype=dtype))
    assert_matches(xp.full_like(x, 1, dtype=dtype), np.full_like(a, 1, dtype=dtype))
    out = xp.empty_like(x, dtype=dtype)
    assert out.shape == a.shape and out.dtype == np.empty_like(a, dtype=dtype).dtype
    assert xp.zeros_like(x).chunks == x.chunks


@given(
    n_rows=st.integers(0, 6),
    n_cols=st.none() | st.integers(0, 6),
    k=st.integers(-7, 7),
    dtype=st.none() | ANY,
    chunk=st.integers(1, 4),
)
def test_eye_matches_numpy(n_rows, n_cols, k, dtype, chunk):
    assert_matches(
        xp.eye(n_rows, n_cols, k=k, dtype=dtype, chunks=chunk),
        np.eye(n_rows, n_cols, k=k, dtype=dtype),
    )


@given(
    start=st.floats(-100, 100),
    stop=st.integers(-100, 100),
    num=st.integers(0, 12),
    endpoint=st.booleans(),
    dtype=st.none() | FLOATS,
)
def test_linspace_matches_numpy(start, stop, num, endpoint, dtype):
    assert_matches(
        xp.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
        np.linspace(start, stop, num, endpoint=endpoint, dtype=dtype),
    )


@given(
    data=st.data(),
    count=st.integers(0, 3),
    indexing=st.sampled_from(["xy", "ij"]),
)
def test_meshgrid_matches_numpy(data, count, indexing):
    pairs = [
        data.draw(arrays(dtype=REAL, shape=st.integers(0, 4).map(lambda n: (n,))))
        for _ in range(count)
    ]
    got = xp.meshgrid(*(x for x, _ in pairs), indexing=indexing)
    want = np.meshgrid(*(a for _, a in pairs), indexing=indexing)
    assert isinstance(got, list) and len(got) == len(want)
    for g, w in zip(got, want):
        assert_matches(g, w)


@given(
    pair=arrays(shape=xps.array_shapes(min_dims=2, max_dims=3, max_side=5)), k=st.integers(-6, 6)
)
def test_tril_triu_match_numpy(pair, k):
    x, a = pair
    assert_matches(xp.tril(x, k=k), np.tril(a, k=k))
    assert_matches(xp.triu(x, k=k), np.triu(a, k=k))


@given(pair=arrays(dtype=REAL))
def test_dlpack_round_trips_through_numpy(pair):
    x, a = pair
    assert x.__dlpack_device__() == a.__dlpack_device__()
    assert_values(np.from_dlpack(x), a)
    assert_matches(xp.from_dlpack(a), a)
    assert_matches(xp.from_dlpack(x), a)


# --------------------------------------------------------------------------- elementwise

UNARY_NUMERIC = "abs negative positive square sign ceil floor trunc round conj real".split()
UNARY_FLOAT = (
    "acos acosh asin asinh atan atanh cos cosh exp expm1 log log1p log2 log10 sin sinh "
    "sqrt tan tanh reciprocal isfinite isinf isnan signbit"
).split()


@pytest.mark.parametrize("name", UNARY_NUMERIC + UNARY_FLOAT)
@given(data=st.data())
def test_unary_elementwise_matches_numpy(name, data):
    x, a = data.draw(arrays(dtype=NUMERIC if name in UNARY_NUMERIC else FLOATS))
    check_like_numpy(lambda: numpy_ref(getattr(np, name), a), lambda: getattr(xp, name)(x))


@given(pair=arrays(dtype=xps.boolean_dtypes()), ints=arrays(dtype=INTEGRAL))
def test_logical_not_and_bitwise_invert_match_numpy(pair, ints):
    x, a = pair
    assert_matches(xp.logical_not(x), np.logical_not(a))
    assert_matches(xp.bitwise_invert(x), np.bitwise_invert(a))
    y, b = ints
    assert_matches(xp.bitwise_invert(y), np.bitwise_invert(b))


@st.composite
def two_arrays(draw, dtype=REAL, first=None, second=None):
    """Two arrays of one dtype with mutually broadcastable shapes, in random chunkings."""
    dt = _draw_value(draw, dtype)
    shapes = draw(xps.mutually_broadcastable_shapes(2, min_dims=0, max_dims=3, max_side=4))
    x1, a1 = draw(arrays(dt, shapes.input_shapes[0], first))
    x2, a2 = draw(arrays(dt, shapes.input_shapes[1], second))
    return x1, a1, x2, a2


BINARY_NUMERIC = (
    "add subtract multiply floor_divide remainder maximum minimum equal not_equal less "
    "less_equal greater greater_equal"
).split()
BINARY_FLOAT = "divide atan2 hypot copysign logaddexp nextafter pow".split()


@pytest.mark.parametrize("name", BINARY_NUMERIC + BINARY_FLOAT)
@given(data=st.data())
def test_binary_elementwise_matches_numpy(name, data):
    x1, a1, x2, a2 = data.draw(two_arrays(NUMERIC if name in BINARY_NUMERIC else FLOATS))
    check_like_numpy(
        lambda: numpy_ref(getattr(np, name), a1, a2), lambda: getattr(xp, name)(x1, x2)
    )


@pytest.mark.parametrize("name", ["add", "multiply", "maximum", "logaddexp", "nextafter"])
@given(data=st.data())
def test_binary_elementwise_with_a_python_scalar(name, data):
    dtype = data.draw(FLOATS if name in ("logaddexp", "nextafter") else NUMERIC)
    x, a = data.draw(arrays(dtype=dtype))
    if np.dtype(dtype).kind == "f":
        scalar = data.draw(st.floats(-100, 100))
    else:
        info = np.iinfo(dtype)
        scalar = data.draw(st.integers(max(int(info.min), -100), min(int(info.max), 100)))
    fn, ref = getattr(xp, name), getattr(np, name)
    check_like_numpy(lambda: numpy_ref(ref, a, scalar), lambda: fn(x, scalar))
    check_like_numpy(lambda: numpy_ref(ref, scalar, a), lambda: fn(scalar, x))


@given(data=st.data())
def test_integer_power_and_shifts_match_numpy(data):
    dtype = data.draw(INTEGRAL)
    bits = np.iinfo(dtype).bits
    small = st.integers(0, min(bits - 1, 6))
    x1, a1, x2, a2 = data.draw(two_arrays(dtype, second=small))
    assert_matches(xp.pow(x1, x2), numpy_ref(np.pow, a1, a2))
    assert_matches(xp.bitwise_left_shift(x1, x2), np.bitwise_left_shift(a1, a2))
    assert_matches(xp.bitwise_right_shift(x1, x2), np.bitwise_right_shift(a1, a2))


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor"])
@given(data=st.data())
def test_bitwise_match_numpy(name, data):
    dtype = data.draw(st.one_of(xps.boolean_dtypes(), INTEGRAL))
    x1, a1, x2, a2 = data.draw(two_arrays(dtype))
    assert_matches(getattr(xp, name)(x1, x2), getattr(np, name)(a1, a2))


@pytest.mark.parametrize("name", ["logical_and", "logical_or", "logical_xor"])
@given(data=st.data())
def test_logical_match_numpy(name, data):
    x1, a1, x2, a2 = data.draw(two_arrays(xps.boolean_dtypes()))
    assert_matches(getattr(xp, name)(x1, x2), getattr(np, name)(a1, a2))


@given(data=st.data())
def test_mixed_dtypes_promote_as_numpy(data):
    d1, d2 = data.draw(REAL), data.draw(REAL)
    x1, a1 = data.draw(arrays(d1))
    x2, a2 = data.draw(arrays(d2, shape=a1.shape))
    check_like_numpy(lambda: numpy_ref(np.add, a1, a2), lambda: xp.add(x1, x2))
    check_like_numpy(lambda: numpy_ref(np.less, a1, a2), lambda: xp.less(x1, x2))


@given(data=st.data())
def test_clip_matches_numpy_and_keeps_the_dtype(data):
    dtype = data.draw(REAL)
    x, a = data.draw(arrays(dtype))
    kind = st.sampled_from(["none", "scalar", "array"])
    bounds = []
    for _ in range(2):
        how = data.draw(kind)
        if how == "none":
            bounds.append((None, None))
        elif how == "scalar":
            value = data.draw(xps.from_dtype(dtype, allow_nan=False))
            bounds.append((value, value))
        else:
            shape = data.draw(xps.broadcastable_shapes(a.shape, max_dims=a.ndim, min_side=0))
            bounds.append(data.draw(arrays(dtype, shape)))
    (lo, lo_np), (hi, hi_np) = bounds
    expected = a if lo_np is None and hi_np is None else numpy_ref(np.clip, a, lo_np, hi_np)
    assert_matches(xp.clip(x, lo, hi), expected.astype(dtype))


# --------------------------------------------------------------------------- indexing


@given(pair=arrays(shape=NONEMPTY), data=st.data())
def test_take_matches_numpy(pair, data):
    x, a = pair
    axis = data.draw(axis_of(a.ndim))
    n = a.shape[axis]
    indices = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.int64)
    idx = rechunked(data.draw, xp.asarray(indices))
    assert_matches(xp.take(x, idx, axis=axis), np.take(a, indices, axis=axis))
    if a.ndim == 1:
        assert_matches(xp.take(x, idx), np.take(a, indices))


@given(data=st.data())
def test_take_along_axis_matches_numpy(data):
    x, a = data.draw(arrays(shape=NONEMPTY))
    axis = data.draw(axis_of(a.ndim))
    n = a.shape[axis]
    shape = list(data.draw(xps.broadcastable_shapes(a.shape, min_dims=a.ndim, max_dims=a.ndim)))
    shape[axis] = data.draw(st.integers(0, 5))
    i, indices = data.draw(arrays(xp.int64, tuple(shape), st.integers(-n, n - 1)))
    assert_matches(xp.take_along_axis(x, i, axis=axis), np.take_along_axis(a, indices, axis))


# --------------------------------------------------------------------------- manipulation


@given(data=st.data())
def test_broadcast_arrays_and_broadcast_to_match_numpy(data):
    shapes = data.draw(xps.mutually_broadcastable_shapes(3, max_dims=3, max_side=4))
    pairs = [data.draw(arrays(shape=s)) for s in shapes.input_shapes]
    got = xp.broadcast_arrays(*(x for x, _ in pairs))
    want = np.broadcast_arrays(*(a for _, a in pairs))
    assert isinstance(got, list)
    for g, w in zip(got, want):
        assert_matches(g, w)
    x, a = pairs[0]
    assert_matches(xp.broadcast_to(x, shapes.result_shape), np.broadcast_to(a, shapes.result_shape))
    with pytest.raises(ValueError):
        xp.broadcast_to(xp.zeros((2,)), (3,))


@given(data=st.data(), count=st.integers(1, 3))
def test_concat_and_stack_match_numpy(data, count):
    shape = data.draw(SHAPES)
    dtypes = [data.draw(REAL) for _ in range(count)]
    if shape:
        axis = data.draw(axis_of(len(shape)))
        parts = []
        for dt in dtypes:
            s = list(shape)
            s[axis] = data.draw(st.integers(0, 3))
            parts.append(data.draw(arrays(dt, tuple(s))))
        check_like_numpy(
            lambda: np.concat([a for _, a in parts], axis=axis),
            lambda: xp.concat([x for x, _ in parts], axis=axis),
        )
    parts = [data.draw(arrays(dt, shape)) for dt in dtypes]
    check_like_numpy(
        lambda: np.concat([a for _, a in parts], axis=None),
        lambda: xp.concat(tuple(x for x, _ in parts), axis=None),
    )
    axis = data.draw(axis_of(len(shape) + 1))
    check_like_numpy(
        lambda: np.stack([a for _, a in parts], axis=axis),
        lambda: xp.stack([x for x, _ in parts], axis=axis),
    )


@given(pair=arrays(), data=st.data())
def test_axis_manipulation_matches_numpy(pair, data):
    x, a = pair
    axis = data.draw(axis_of(a.ndim + 1))
    assert_matches(xp.expand_dims(x, axis=axis), np.expand_dims(a, axis))
    with pytest.raises(IndexError):
        xp.expand_dims(x, axis=a.ndim + 1)
    perm = data.draw(st.permutations(range(a.ndim)))
    assert_matches(xp.permute_dims(x, tuple(perm)), np.permute_dims(a, perm))
    if a.ndim >= 2:
        assert_matches(xp.matrix_transpose(x), np.matrix_transpose(a))
        assert_matches(x.mT, a.mT)
    else:
        with pytest.raises(ValueError):
            xp.matrix_transpose(x)
    flip_axis = data.draw(reduce_axes(a.ndim))
    assert_matches(xp.flip(x, axis=flip_axis), np.flip(a, axis=flip_axis))
    if a.ndim:
        src = data.draw(axis_of(a.ndim))
        dst = data.draw(axis_of(a.ndim))
        assert_matches(xp.moveaxis(x, src, dst), np.moveaxis(a, src, dst))
        ones = tuple(i for i, n in enumerate(a.shape) if n == 1)
        if ones:
            assert_matches(xp.squeeze(x, axis=ones), np.squeeze(a, axis=ones))
        unstack_axis = data.draw(axis_of(a.ndim))
        got, want = xp.unstack(x, axis=unstack_axis), np.unstack(a, axis=unstack_axis)
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_matches(g, w)


@given(pair=arrays(), data=st.data())
def test_reshape_roll_tile_match_numpy(pair, data):
    x, a = pair
    factors = [d for d in range(1, a.size + 1) if a.size % d == 0] or [0]
    first = data.draw(st.sampled_from(factors))
    new_shape = (first, -1) if a.size else (0, data.draw(st.integers(0, 3)))
    assert_matches(xp.reshape(x, new_shape), np.reshape(a, new_shape))
    shift = data.draw(st.integers(-7, 7))
    axis = data.draw(st.none() | (axis_of(a.ndim) if a.ndim else st.none()))
    assert_matches(xp.roll(x, shift, axis=axis), np.roll(a, shift, axis=axis))
    reps = tuple(data.draw(st.lists(st.integers(0, 2), max_size=4)))
    assert_matches(xp.tile(x, reps), np.tile(a, reps))


@given(pair=arrays(), data=st.data())
def test_repeat_matches_numpy(pair, data):
    x, a = pair
    axis = data.draw(st.none() | (axis_of(a.ndim) if a.ndim else st.none()))
    count = data.draw(st.integers(0, 3))
    assert_matches(xp.repeat(x, count, axis=axis), np.repeat(a, count, axis=axis))
    n = a.size if axis is None else a.shape[axis]
    r, counts = data.draw(
        arrays(xp.int64, data.draw(st.sampled_from([(n,), (1,)])), st.integers(0, 3))
    )
    assert_matches(xp.repeat(x, r, axis=axis), np.repeat(a, counts, axis=axis))


# --------------------------------------------------------------------------- searching


@given(pair=arrays(dtype=REAL, shape=NONEMPTY), data=st.data(), keepdims=st.booleans())
def test_argmax_argmin_match_numpy(pair, data, keepdims):
    x, a = pair
    axis = data.draw(st.none() | axis_of(a.ndim))
    for name in ("argmax", "argmin"):
        got = getattr(xp, name)(x, axis=axis, keepdims=keepdims)
        assert_matches(got, getattr(np, name)(a, axis=axis, keepdims=keepdims))


@given(pair=arrays(), data=st.data(), keepdims=st.booleans())
def test_count_nonzero_matches_numpy(pair, data, keepdims):
    x, a = pair
    axis = data.draw(reduce_axes(a.ndim))
    got = xp.count_nonzero(x, axis=axis, keepdims=keepdims)
    assert_matches(got, np.asarray(np.count_nonzero(a, axis=axis, keepdims=keepdims), np.int64))


@given(pair=arrays(shape=NONEMPTY))
def test_nonzero_matches_numpy(pair):
    x, a = pair
    got, want = xp.nonzero(x), np.nonzero(a)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_matches(g, w)
    with pytest.raises(ValueError):
        xp.nonzero(xp.asarray(1))


@given(data=st.data(), side=st.sampled_from(["left", "right"]), use_sorter=st.booleans())
def test_searchsorted_matches_numpy(data, side, use_sorter):
    dtype = data.draw(REAL)
    x1, a1 = data.draw(arrays(dtype, st.integers(0, 6).map(lambda n: (n,))))
    x2, a2 = data.draw(arrays(dtype))
    sorter = np.argsort(a1, kind="stable")
    if use_sorter:
        got = xp.searchsorted(x1, x2, side=side, sorter=xp.asarray(sorter))
        want = np.searchsorted(a1, a2, side=side, sorter=sorter)
    else:
        x1 = xp.sort(x1)
        got, want = xp.searchsorted(x1, x2, side=side), np.searchsorted(np.sort(a1), a2, side=side)
    assert_matches(got, want)


@given(data=st.data())
def test_where_matches_numpy(data):
    shapes = data.draw(xps.mutually_broadcastable_shapes(3, max_dims=3, max_side=4))
    c, cond = data.draw(arrays(xp.bool, shapes.input_shapes[0]))
    dtype = data.draw(REAL)
    x1, a1 = data.draw(arrays(dtype, shapes.input_shapes[1]))
    x2, a2 = data.draw(arrays(data.draw(REAL), shapes.input_shapes[2]))
    check_like_numpy(lambda: np.where(cond, a1, a2), lambda: xp.where(c, x1, x2))
    scalar = 3 if np.dtype(dtype).kind in "iu" else 2.5
    check_like_numpy(lambda: np.where(cond, a1, scalar), lambda: xp.where(c, x1, scalar))


# --------------------------------------------------------------------------- sets


@given(pair=arrays(dtype=REAL))
def test_unique_functions_match_numpy(pair):
    x, a = pair
    got, want = xp.unique_all(x), np.unique_all(a)
    assert got._fields == want._fields
    assert_matches(got.values, want.values)
    for field in ("indices", "inverse_indices", "counts"):
        assert_matches(getattr(got, field), getattr(want, field).astype(np.int64))
    assert got.inverse_indices.chunks == x.chunks
    counts, want_counts = xp.unique_counts(x), np.unique_counts(a)
    assert counts._fields == want_counts._fields
    assert_matches(counts.values, want_counts.values)
    assert_matches(counts.counts, want_counts.counts.astype(np.int64))
    inverse, want_inverse = xp.unique_inverse(x), np.unique_inverse(a)
    assert inverse._fields == want_inverse._fields
    assert_matches(inverse.values, want_inverse.values)
    assert_matches(inverse.inverse_indices, want_inverse.inverse_indices.astype(np.int64))
    assert_matches(xp.unique_values(x), np.unique_values(a))


# --------------------------------------------------------------------------- sorting


def _sorted_order(lane, descending):
    """Stable sort positions of a 1-d lane by Python's sorted (NaNs last ascending, first
    descending, as NumPy's sort reversed)."""
    key = [(bool(v != v), v if v == v else 0) for v in lane.tolist()]
    return sorted(range(len(key)), key=key.__getitem__, reverse=descending)


@given(pair=arrays(dtype=REAL, shape=NONEMPTY), data=st.data(), descending=st.booleans())
def test_sort_and_argsort_are_stable_and_match_numpy(pair, data, descending):
    x, a = pair
    axis = data.draw(axis_of(a.ndim))
    order = np.apply_along_axis(
        lambda lane: np.array(_sorted_order(lane, descending), dtype=np.int64), axis, a
    )
    got = xp.argsort(x, axis=axis, descending=descending)
    assert_matches(got, order)
    assert_matches(xp.sort(x, axis=axis, descending=descending), np.take_along_axis(a, order, axis))
    if not descending:
        assert_matches(xp.sort(x, axis=axis), np.sort(a, axis=axis, stable=True))
        assert_matches(xp.argsort(x, axis=axis), np.argsort(a, axis=axis, stable=True))


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("name", ["max", "min", "sum", "prod", "mean", "all", "any"])
@given(data=st.data(), keepdims=st.booleans())
def test_reductions_match_numpy(name, data, keepdims):
    dtype = data.draw(REAL if name in ("max", "min", "sum", "prod") else ANY)
    if name == "mean":
        dtype = data.draw(FLOATS)
    shape = NONEMPTY if name in ("max", "min") else SHAPES
    x, a = data.draw(arrays(dtype, shape))
    axis = data.draw(reduce_axes(a.ndim))
    ref = getattr(np, name)
    check_like_numpy(
        lambda: numpy_ref(ref, a, axis=axis, keepdims=keepdims),
        lambda: getattr(xp, name)(x, axis=axis, keepdims=keepdims),
        atol=_sum_atol(a, axis) if name in ("sum", "mean") else 0.0,
    )


@pytest.mark.parametrize("name", ["sum", "prod"])
@given(data=st.data())
def test_sum_prod_dtype_matches_numpy(name, data):
    x, a = data.draw(arrays(INTEGRAL))
    dtype = data.draw(st.sampled_from([None, xp.int64, xp.uint64, xp.float64]))
    assert_matches(getattr(xp, name)(x, dtype=dtype), getattr(np, name)(a, dtype=dtype))


@pytest.mark.parametrize("name", ["var", "std"])
@given(data=st.data(), keepdims=st.booleans())
def test_var_std_with_correction_match_numpy(name, data, keepdims):
    x, a = data.draw(arrays(FLOATS))
    axis = data.draw(reduce_axes(a.ndim))
    correction = data.draw(st.sampled_from([0, 1, 0.0, 1.0, 0.5, 2.5]))
    atol = _sum_atol(a, axis, power=2)
    check_like_numpy(
        lambda: numpy_ref(
            getattr(np, name), a, axis=axis, correction=correction, keepdims=keepdims
        ),
        lambda: getattr(xp, name)(x, axis=axis, correction=correction, keepdims=keepdims),
        rtol=1e-4 if a.dtype == np.float32 else 1e-10,
        atol=math.sqrt(atol) if name == "std" else atol,
    )


@pytest.mark.parametrize("name", ["cumulative_sum", "cumulative_prod"])
@given(data=st.data(), include_initial=st.booleans())
def test_cumulative_match_numpy(name, data, include_initial):
    x, a = data.draw(arrays(ANY, xps.array_shapes(min_dims=1, max_dims=3, max_side=5)))
    axis = data.draw(axis_of(a.ndim)) if a.ndim > 1 else data.draw(st.none() | st.just(0))
    dtype = None if a.dtype.kind == "b" else data.draw(st.none() | st.just(a.dtype))
    check_like_numpy(
        lambda: numpy_ref(
            getattr(np, name), a, axis=axis, dtype=dtype, include_initial=include_initial
        ),
        lambda: getattr(xp, name)(x, axis=axis, dtype=dtype, include_initial=include_initial),
        atol=_sum_atol(a) if name == "cumulative_sum" else 0.0,
    )
    if a.ndim > 1:
        with pytest.raises(ValueError, match="axis"):
            getattr(xp, name)(x)


@given(data=st.data(), n=st.integers(1, 3))
def test_diff_matches_numpy(data, n):
    x, a = data.draw(arrays(REAL, NONEMPTY))
    axis = data.draw(axis_of(a.ndim))
    edges = {}
    for side in ("prepend", "append"):
        kind = data.draw(st.sampled_from(["none", "array", "scalar"]))
        if kind == "array":
            shape = list(a.shape)
            shape[axis] = data.draw(st.integers(0, 2))
            edges[side] = data.draw(arrays(a.dtype, tuple(shape)))
        elif kind == "scalar":
            edges[side] = (1, 1)
    got_kwargs = {k: v[0] for k, v in edges.items()}
    want_kwargs = {k: v[1] for k, v in edges.items()}
    check_like_numpy(
        lambda: numpy_ref(np.diff, a, n=n, axis=axis, **want_kwargs),
        lambda: xp.diff(x, n=n, axis=axis, **got_kwargs),
    )


def test_diff_of_order_zero_keeps_prepend_and_append():
    """The standard's length rule M + N1 + N2 - n holds for n = 0 too (NumPy returns x
    unchanged there, ignoring prepend and append)."""
    a, pre, app = np.arange(6).reshape(2, 3), np.zeros((2, 1), int), np.ones((2, 2), int)
    got = xp.diff(xp.asarray(a, chunks=1), axis=1, n=0, prepend=xp.asarray(pre), append=app)
    assert_matches(got, np.concatenate([pre, a, app], axis=1))


# --------------------------------------------------------------------------- linear algebra


def _small(dtype):
    """Small values: exact integer products, well-scaled float products."""
    if np.dtype(dtype).kind == "b":
        return st.booleans()
    if np.dtype(dtype).kind == "f":
        return st.floats(-8, 8, width=np.dtype(dtype).itemsize * 8)
    info = np.iinfo(dtype)
    return st.integers(max(int(info.min), -8), min(int(info.max), 8))


@given(data=st.data())
def test_matmul_matches_numpy(data):
    dtype = data.draw(ANY)
    m, k, n = (data.draw(st.integers(1, 4)) for _ in range(3))
    batch = data.draw(xps.mutually_broadcastable_shapes(2, max_dims=2, max_side=3))
    left = data.draw(st.sampled_from([(k,), (*batch.input_shapes[0], m, k)]))
    right = data.draw(st.sampled_from([(k,), (*batch.input_shapes[1], k, n)]))
    x1, a1 = data.draw(arrays(dtype, left, _small(dtype)))
    x2, a2 = data.draw(arrays(dtype, right, _small(dtype)))
    check_like_numpy(lambda: np.matmul(a1, a2), lambda: xp.matmul(x1, x2))
    check_like_numpy(lambda: a1 @ a2, lambda: x1 @ x2)


@given(data=st.data())
def test_vecdot_and_tensordot_match_numpy(data):
    dtype = data.draw(NUMERIC)
    shapes = data.draw(xps.mutually_broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    x1, a1 = data.draw(arrays(dtype, shapes.input_shapes[0], _small(dtype)))
    n = a1.shape[-1]
    shape2 = (*shapes.input_shapes[1][:-1], n) if shapes.input_shapes[1] else (n,)
    x2, a2 = data.draw(arrays(dtype, shape2, _small(dtype)))
    assert_matches(xp.vecdot(x1, x2), np.vecdot(a1, a2), rtol=1e-5)
    assert_matches(xp.linalg.vecdot(x1, x2, axis=-1), np.linalg.vecdot(a1, a2, axis=-1), rtol=1e-5)
    axes = data.draw(st.integers(0, min(a1.ndim, 1)))
    y2, b2 = data.draw(arrays(dtype, a1.shape[a1.ndim - axes :] + (2,), _small(dtype)))
    assert_matches(xp.tensordot(x1, y2, axes=axes), np.tensordot(a1, b2, axes=axes), rtol=1e-5)
    with pytest.raises(ValueError):
        xp.vecdot(xp.zeros((2, 3)), xp.zeros((2, 2)))


MATRICES = st.tuples(
    xps.array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3),
    st.integers(1, 4),
    st.integers(1, 4),
)


@st.composite
def matrices(draw, square=False, spd=False, dtype=FLOATS):
    """A (stack of) float matrices in a random chunking, and the NumPy data."""
    batch, m, n = draw(MATRICES)
    n = m if square else n
    dt = _draw_value(draw, dtype)
    a = draw(xps.arrays(dt, (*batch, m, n), elements=_small(dt)))
    data = np.asarray(a)
    if spd:
        data = (data @ np.swapaxes(data, -1, -2) + m * np.eye(m)).astype(dt)
    x = rechunked(draw, xp.asarray(data))
    return x, data


def _tol(dtype):
    return (1e-3, 1e-3) if np.dtype(dtype) == np.float32 else (1e-9, 1e-9)


@given(pair=matrices(square=True, spd=True), upper=st.booleans())
def test_linalg_symmetric_positive_definite_functions_match_numpy(pair, upper):
    x, a = pair
    rtol, atol = _tol(a.dtype)
    assert_matches(
        xp.linalg.cholesky(x, upper=upper), np.linalg.cholesky(a, upper=upper), rtol=rtol, atol=atol
    )
    assert_matches(xp.linalg.eigvalsh(x), np.linalg.eigvalsh(a), rtol=rtol, atol=atol)
    values, vectors = xp.linalg.eigh(x)
    want = np.linalg.eigh(a)
    assert_matches(values, want.eigenvalues, rtol=rtol, atol=atol)
    assert vectors.shape == want.eigenvectors.shape and vectors.dtype == a.dtype
    assert_matches(xp.linalg.inv(x), np.linalg.inv(a), rtol=rtol, atol=atol)
    assert_matches(xp.linalg.det(x), np.linalg.det(a), rtol=rtol, atol=atol)
    sign, logabsdet = xp.linalg.slogdet(x)
    want_sign, want_log = np.linalg.slogdet(a)
    assert_matches(sign, want_sign)
    assert_matches(logabsdet, want_log, rtol=rtol, atol=atol)
    assert_matches(xp.linalg.matrix_power(x, 2), np.linalg.matrix_power(a, 2), rtol=rtol)
    assert_matches(
        xp.linalg.matrix_power(x, -1), np.linalg.matrix_power(a, -1), rtol=rtol, atol=atol
    )
    b = np.arange(a.shape[-1], dtype=a.dtype)
    assert_matches(xp.linalg.solve(x, xp.asarray(b)), np.linalg.solve(a, b), rtol=rtol, atol=atol)
    rhs = np.ones(a.shape[-1:] + (2,), dtype=a.dtype)
    assert_matches(
        xp.linalg.solve(x, xp.asarray(rhs)), np.linalg.solve(a, rhs), rtol=rtol, atol=atol
    )


@given(pair=matrices(), full=st.booleans(), mode=st.sampled_from(["reduced", "complete"]))
def test_linalg_decompositions_match_numpy(pair, full, mode):
    x, a = pair
    rtol, atol = _tol(a.dtype)
    u, s, vh = xp.linalg.svd(x, full_matrices=full)
    want = np.linalg.svd(a, full_matrices=full)
    assert u.shape == want.U.shape and vh.shape == want.Vh.shape
    assert_matches(s, want.S, rtol=rtol, atol=atol)
    assert_matches(xp.linalg.svdvals(x), np.linalg.svdvals(a), rtol=rtol, atol=atol)
    q, r = xp.linalg.qr(x, mode=mode)
    want_q, want_r = np.linalg.qr(a, mode=mode)
    assert_matches(q, want_q, rtol=rtol, atol=atol)
    assert_matches(r, want_r, rtol=rtol, atol=atol)
    assert_matches(xp.linalg.pinv(x), np.linalg.pinv(a, rtol=None), rtol=rtol, atol=atol)
    assert_matches(xp.linalg.matrix_rank(x), np.linalg.matrix_rank(a).astype(np.int64))
    tols = np.full(a.shape[:-2], 0.5)
    assert_matches(
        xp.linalg.matrix_rank(x, rtol=xp.asarray(tols)),
        np.asarray(np.linalg.matrix_rank(a, rtol=tols), dtype=np.int64),
    )
    for order in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        assert_matches(
            xp.linalg.matrix_norm(x, ord=order, keepdims=True),
            np.linalg.matrix_norm(a, ord=order, keepdims=True),
            rtol=rtol,
            atol=atol,
        )


@given(data=st.data())
def test_linalg_lazy_functions_match_numpy(data):
    x, a = data.draw(arrays(NUMERIC, xps.array_shapes(min_dims=2, max_dims=3, max_side=4)))
    offset = data.draw(st.integers(-4, 4))
    dtype = data.draw(st.none() | st.sampled_from([xp.int64, xp.float64]))
    if a.dtype.kind == "f":
        dtype = data.draw(st.none() | st.just(xp.float64))
    assert_matches(
        xp.linalg.trace(x, offset=offset, dtype=dtype),
        np.linalg.trace(a, offset=offset, dtype=dtype),
        atol=_sum_atol(a),
    )
    assert_matches(xp.linalg.diagonal(x, offset=offset), np.linalg.diagonal(a, offset=offset))
    assert_matches(xp.linalg.matrix_transpose(x), np.linalg.matrix_transpose(a))
    y, b = data.draw(arrays(FLOATS, NONEMPTY))
    axis = data.draw(reduce_axes(b.ndim))
    order = data.draw(st.sampled_from([1, 2, 3, 0, math.inf, -math.inf, 0.5]))
    keepdims = data.draw(st.booleans())
    check_like_numpy(
        lambda: numpy_ref(np.linalg.vector_norm, b, axis=axis, keepdims=keepdims, ord=order),
        lambda: xp.linalg.vector_norm(y, axis=axis, keepdims=keepdims, ord=order),
        rtol=1e-4 if b.dtype == np.float32 else 1e-10,
    )
    vector_dtype = data.draw(NUMERIC)
    vector = st.integers(0, 4).map(lambda n: (n,))
    u, c = data.draw(arrays(vector_dtype, vector, _small(vector_dtype)))
    v, d = data.draw(arrays(vector_dtype, vector, _small(vector_dtype)))
    assert_matches(xp.linalg.outer(u, v), np.linalg.outer(c, d))


@given(data=st.data())
def test_linalg_cross_matches_numpy(data):
    dtype = data.draw(st.sampled_from([xp.int64, xp.float32, xp.float64]))
    shapes = data.draw(xps.mutually_broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    axis = -data.draw(st.integers(1, min(len(s) for s in shapes.input_shapes)))
    s1, s2 = (list(s) for s in shapes.input_shapes)
    s1[axis] = s2[axis] = 3
    x1, a1 = data.draw(arrays(dtype, tuple(s1), _small(dtype)))
    x2, a2 = data.draw(arrays(dtype, tuple(s2), _small(dtype)))
    assert_matches(
        xp.linalg.cross(x1, x2, axis=axis), np.linalg.cross(a1, a2, axis=axis), rtol=1e-5
    )
    with pytest.raises(ValueError, match="3"):
        xp.linalg.cross(xp.zeros((2,)), xp.zeros((2,)))


@given(pair=arrays(INTEGRAL, st.tuples(st.integers(1, 3), st.just(2), st.just(2)), _small))
def test_linalg_integer_matrices_follow_numpy(pair):
    """Integer matrices: powers stay integer (wrapping as NumPy), the rest is float64."""
    x, a = pair
    assert_matches(xp.linalg.matrix_power(x, 3), np.linalg.matrix_power(a, 3))
    assert_matches(xp.linalg.matrix_power(x, 0), np.linalg.matrix_power(a, 0))
    assert_matches(xp.linalg.det(x), np.linalg.det(a), rtol=1e-9, atol=1e-9)
    assert_matches(xp.linalg.svdvals(x), np.linalg.svdvals(a), rtol=1e-9, atol=1e-9)


def test_linalg_rejects_non_matrices_with_numpys_error():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        xp.linalg.inv(xp.zeros((2, 3)))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        xp.linalg.det(xp.zeros(3))
    with pytest.raises(ValueError, match="order"):
        xp.linalg.matrix_norm(xp.zeros((2, 2)), ord=3)
    with pytest.raises(ValueError, match="mode"):
        xp.linalg.qr(xp.zeros((2, 2)), mode="r")
    with pytest.raises(np.linalg.LinAlgError):
        xp.linalg.inv(xp.zeros((2, 2))).compute()
