"""A brickwork Array where NumPy expects a NumPy array or a scalar parameter (issue 10).

``quantile(x, q)`` with ``q`` a brickwork Array recursed forever: the implementation
asked NumPy for the result dtype with ``np.quantile(probe, q)``, which dispatched back to
brickwork's ``quantile`` through ``__array_function__``. Now ``q`` is computed first (its
values fix the result's shape), as every other form of ``q`` is compared with NumPy.
The class: a brickwork Array as any parameter gives NumPy's result or a clear
TypeError / ValueError / NotImplementedError, never a RecursionError or a crash.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import brickwork.array as da

X = np.arange(24.0).reshape(4, 6) % 7 - 2.5
A = da.from_array(X, chunks=(3, 4))
XI = np.arange(24).reshape(4, 6) % 5
AI = da.from_array(XI, chunks=(3, 4))


def bw(value):
    """A brickwork Array of ``value`` (0-d for a scalar)."""
    return da.from_array(np.asarray(value))


def _plain(q):
    """``q`` with brickwork Arrays computed: what NumPy is given for the expectation."""
    if isinstance(q, da.Array):
        return np.asarray(q)
    if isinstance(q, list | tuple) and any(isinstance(v, da.Array) for v in q):
        return np.asarray([np.asarray(v) for v in q])
    return q


def _check(got, expected):
    got = got.compute() if isinstance(got, da.Array) else got
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)


QS = {
    "float": 0.25,
    "int": 1,
    "np.float64": np.float64(0.75),
    "np.float32": np.float32(0.5),
    "list": [0.1, 0.5, 0.9],
    "tuple": (0.0, 1.0),
    "np 1-d": np.array([0.2, 0.4]),
    "np 0-d": np.array(0.3),
    "np 2-d": np.array([[0.1, 0.2], [0.3, 0.4]]),
    "bw 1-d": bw([0.2, 0.4]),
    "bw 0-d": bw(0.3),
    "bw 2-d": bw([[0.1, 0.2], [0.3, 0.4]]),
    "list of bw": [bw(0.1), bw(0.6)],
}


# --------------------------------------------------------------------------- the repro


def test_quantile_with_a_brickwork_q_is_computed_not_recursion():
    x = np.arange(10.0)
    a = da.from_array(x, chunks=3)
    q = da.from_array(np.array([0.25, 0.5]))
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # a recursion fails fast
    try:
        _check(da.quantile(a, q), np.quantile(x, [0.25, 0.5]))
        _check(np.quantile(a, q), np.quantile(x, [0.25, 0.5]))
        _check(np.quantile(x, q), np.quantile(x, [0.25, 0.5]))  # dispatched on q
        exact = da.percentile(a, q * 100, internal_method="exact")
        _check(exact, np.percentile(x, [25.0, 50.0]))
    finally:
        sys.setrecursionlimit(limit)


@pytest.mark.parametrize("name", list(QS))
@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_quantile_and_percentile_take_every_form_of_q(name, axis, keepdims):
    q = QS[name]
    plain = _plain(q)
    _check(
        da.quantile(A, q, axis=axis, keepdims=keepdims),
        np.quantile(X, plain, axis=axis, keepdims=keepdims),
    )
    _check(
        np.quantile(A, q, axis=axis, keepdims=keepdims),
        np.quantile(X, plain, axis=axis, keepdims=keepdims),
    )
    _check(
        da.nanquantile(A, q, axis=axis) if hasattr(da, "nanquantile") else np.nanquantile(A, q),
        np.nanquantile(X, plain, axis=axis if hasattr(da, "nanquantile") else None),
    )
    _check(np.nanquantile(A, q, axis=axis), np.nanquantile(X, plain, axis=axis))
    p = q * 100 if not isinstance(q, list | tuple) else [v * 100 for v in q]
    plain_p = _plain(p)
    for lazy in (
        da.percentile(A, p, axis=axis, keepdims=keepdims, internal_method="exact"),
        np.percentile(A, p, axis=axis, keepdims=keepdims),
        np.nanpercentile(A, p, axis=axis, keepdims=keepdims),
    ):
        _check(lazy, np.percentile(X, plain_p, axis=axis, keepdims=keepdims))


def test_percentile_with_a_brickwork_q_on_one_dimension_is_dasks_approximation():
    dask_array = pytest.importorskip("dask.array")
    x = np.arange(40.0) % 11
    q = bw([10.0, 50.0, 90.0])
    got = da.percentile(da.from_array(x, chunks=7), q).compute()
    expected = dask_array.percentile(dask_array.from_array(x, chunks=7), [10.0, 50.0, 90.0])
    np.testing.assert_allclose(got, expected.compute())


def test_percentile_of_float32_interpolates_as_numpy():
    """NumPy 2.4 divides q by 100 in float64 and interpolates with that; dividing in the
    array's float32 (as before) moved an interpolated value by 1e-5 relative."""
    x = np.array([[1.0, 168.0], [1.0, -283.0], [1.0, -283.0]], dtype=np.float32).T
    for q in (80.75165127749784, [80.75165127749784], np.float32(33.3)):
        expected = np.percentile(x, q, axis=1)
        got = np.asarray(da.percentile(da.from_array(x, chunks=1), q, axis=1).compute())
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "q, error",
    [
        ("a", TypeError),
        (0.5j, TypeError),
        ([0.5, None], TypeError),
        (np.nan, ValueError),
        (1.5, ValueError),
        (bw([0.5, 1.5]), ValueError),
    ],
)
def test_a_bad_q_is_refused_clearly(q, error):
    with pytest.raises(error, match="q must be|range"):
        da.quantile(A, q)
    with pytest.raises(error, match="q must be|range"):
        da.percentile(A, q * 100 if isinstance(q, float | da.Array) else q)


def test_median_of_empty_lanes_is_nan_as_numpy():
    x = np.zeros((0, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _check(da.median(da.from_array(x), axis=0), np.median(x, axis=0))
        _check(da.median(da.from_array(x)), np.median(x))
        _check(da.median(da.from_array(XI, chunks=2), axis=1), np.median(XI, axis=1))


@given(
    x=hnp.arrays(np.float32, (3, 5), elements=st.floats(-300, 300, width=32)),
    q=st.floats(0, 100),
)
def test_exact_percentile_matches_numpy_bit_for_bit(x, q):
    got = da.percentile(da.from_array(x, chunks=2), q, axis=1).compute()
    np.testing.assert_array_equal(got, np.percentile(x, q, axis=1))
    got = da.quantile(da.from_array(x, chunks=2), q / 100, axis=0).compute()
    np.testing.assert_array_equal(got, np.quantile(x, q / 100, axis=0))


# --------------------------------------------------------------------------- the class


# (name, call with brickwork Arrays as parameters, NumPy's result)
CASES = [
    (
        "histogram bins=Array",
        lambda: da.histogram(A, bins=bw([-3.0, 0.0, 4.0]))[0],
        lambda: np.histogram(X, bins=[-3.0, 0.0, 4.0])[0],
    ),
    (
        "histogram bins=0-d Array",
        lambda: da.histogram(A, bins=bw(3))[0],
        lambda: np.histogram(X, bins=3)[0],
    ),
    (
        "histogram range=Array",
        lambda: da.histogram(A, bins=3, range=bw([-3, 4]))[0],
        lambda: np.histogram(X, bins=3, range=(-3, 4))[0],
    ),
    (
        "histogram range=(Array, Array)",
        lambda: da.histogram(A, bins=3, range=(bw(-3), bw(4)))[0],
        lambda: np.histogram(X, bins=3, range=(-3, 4))[0],
    ),
    (
        "histogram weights=Array",
        lambda: da.histogram(A, bins=3, range=(-3, 4), weights=A)[0],
        lambda: np.histogram(X, bins=3, range=(-3, 4), weights=X)[0],
    ),
    (
        "np.histogram bins=Array",
        lambda: np.histogram(A, bins=bw([-3.0, 0.0, 4.0]))[0],
        lambda: np.histogram(X, bins=[-3.0, 0.0, 4.0])[0],
    ),
    (
        "digitize bins=Array",
        lambda: da.digitize(A, bw([-1.0, 2.0])),
        lambda: np.digitize(X, [-1.0, 2.0]),
    ),
    (
        "np.digitize(numpy, bins=Array)",
        lambda: np.digitize(X, bw([-1.0, 2.0])),
        lambda: np.digitize(X, [-1.0, 2.0]),
    ),
    (
        "digitize right=Array",
        lambda: da.digitize(A, [-1.0, 2.0], right=bw(True)),
        lambda: np.digitize(X, [-1.0, 2.0], right=True),
    ),
    (
        "searchsorted a=Array",
        lambda: da.searchsorted(bw([-1.0, 2.0]), A),
        lambda: np.searchsorted([-1.0, 2.0], X),
    ),
    (
        "np.searchsorted(numpy, v=Array)",
        lambda: np.searchsorted(np.array([-1.0, 2.0]), A),
        lambda: np.searchsorted([-1.0, 2.0], X),
    ),
    (
        "np.searchsorted(Array, v=numpy)",
        lambda: np.searchsorted(bw([-1.0, 2.0]), X),
        lambda: np.searchsorted([-1.0, 2.0], X),
    ),
    (
        "bincount minlength=Array",
        lambda: da.bincount(AI.ravel(), minlength=bw(8)),
        lambda: np.bincount(XI.ravel(), minlength=8),
    ),
    (
        "bincount weights=Array",
        lambda: da.bincount(AI.ravel(), weights=A.ravel()),
        lambda: np.bincount(XI.ravel(), weights=X.ravel()),
    ),
    (
        "np.bincount(numpy, minlength=Array)",
        lambda: np.bincount(XI.ravel(), minlength=bw(8)),
        lambda: np.bincount(XI.ravel(), minlength=8),
    ),
    (
        "isin test_elements=Array",
        lambda: da.isin(A, bw([0.5, 1.5])),
        lambda: np.isin(X, [0.5, 1.5]),
    ),
    ("np.isin(numpy, Array)", lambda: np.isin(X, bw([0.5, 1.5])), lambda: np.isin(X, [0.5, 1.5])),
    ("topk k=0-d Array", lambda: da.topk(A, bw(2), axis=0), lambda: -np.sort(-X, axis=0)[:2]),
    ("sort axis=0-d Array", lambda: da.sort(A, axis=bw(0)), lambda: np.sort(X, axis=0)),
    ("median axis=0-d Array", lambda: da.median(A, axis=bw(1)), lambda: np.median(X, axis=1)),
    (
        "repeat repeats=0-d Array",
        lambda: da.repeat(A, bw(2), axis=0),
        lambda: np.repeat(X, 2, axis=0),
    ),
    (
        "repeat repeats=Array",
        lambda: da.repeat(A, bw([1, 0, 2, 1]), axis=0),
        lambda: np.repeat(X, [1, 0, 2, 1], axis=0),
    ),
    ("np.repeat(numpy, Array)", lambda: np.repeat(X, bw(2)), lambda: np.repeat(X, 2)),
    (
        "take indices=Array",
        lambda: da.take(A, bw([3, 0]), axis=0),
        lambda: np.take(X, [3, 0], axis=0),
    ),
    ("take indices=0-d Array", lambda: da.take(A, bw(2), axis=1), lambda: np.take(X, 2, axis=1)),
    (
        "np.take(numpy, Array)",
        lambda: np.take(X, bw([3, 0]), axis=1),
        lambda: np.take(X, [3, 0], axis=1),
    ),
    ("take axis=Array", lambda: da.take(A, [1], axis=bw(1)), lambda: np.take(X, [1], axis=1)),
    ("round decimals=Array", lambda: da.round(A / 7, decimals=bw(2)), lambda: np.round(X / 7, 2)),
    ("np.round(numpy, Array)", lambda: np.round(X / 7, bw(2)), lambda: np.round(X / 7, 2)),
    ("clip bounds=Array", lambda: da.clip(A, bw(-1.0), bw(2.0)), lambda: np.clip(X, -1.0, 2.0)),
    (
        "clip bounds=1-d Array",
        lambda: da.clip(A, bw(np.arange(6.0) - 3), 2),
        lambda: np.clip(X, np.arange(6.0) - 3, 2),
    ),
    (
        "np.clip(numpy, Array, Array)",
        lambda: np.clip(X, bw(-1.0), bw(2.0)),
        lambda: np.clip(X, -1.0, 2.0),
    ),
    ("full fill_value=Array", lambda: da.full((2, 3), bw(1.5)), lambda: np.full((2, 3), 1.5)),
    ("full_like fill_value=Array", lambda: da.full_like(A, bw(1.5)), lambda: np.full_like(X, 1.5)),
    ("full shape=Array", lambda: da.full(bw(3), 1.5), lambda: np.full(3, 1.5)),
    ("zeros shape=Array", lambda: da.zeros(bw([2, 3])), lambda: np.zeros((2, 3))),
    ("arange stop=0-d Array", lambda: da.arange(bw(5)), lambda: np.arange(5)),
    (
        "arange start, stop, step=Arrays",
        lambda: da.arange(bw(1), bw(7), bw(2)),
        lambda: np.arange(1, 7, 2),
    ),
    ("linspace start=Array", lambda: da.linspace(bw(0.0), 1.0, 5), lambda: np.linspace(0, 1, 5)),
    ("linspace num=Array", lambda: da.linspace(0.0, 1.0, bw(5)), lambda: np.linspace(0, 1, 5)),
    ("pad pad_width=Array", lambda: da.pad(A, bw(1)), lambda: np.pad(X, 1)),
    (
        "pad constant_values=Array",
        lambda: da.pad(A, 1, constant_values=bw(7.0)),
        lambda: np.pad(X, 1, constant_values=7.0),
    ),
    (
        "np.pad(numpy, constant_values=Array)",
        lambda: np.pad(X, 1, constant_values=bw(7.0)),
        lambda: np.pad(X, 1, constant_values=7.0),
    ),
    ("tile reps=Array", lambda: da.tile(A, bw([2, 1])), lambda: np.tile(X, [2, 1])),
    ("roll shift=Array", lambda: da.roll(A, bw(2), axis=1), lambda: np.roll(X, 2, axis=1)),
    ("roll axis=Array", lambda: da.roll(A, 2, axis=bw(1)), lambda: np.roll(X, 2, axis=1)),
    ("diff n=Array", lambda: da.diff(A, n=bw(2)), lambda: np.diff(X, n=2)),
    ("tril k=Array", lambda: da.tril(A, bw(1)), lambda: np.tril(X, 1)),
    ("reshape shape=Array", lambda: da.reshape(A, bw([6, 4])), lambda: X.reshape(6, 4)),
    (
        "broadcast_to shape=Array",
        lambda: da.broadcast_to(A[0], bw([2, 6])),
        lambda: np.broadcast_to(X[0], (2, 6)),
    ),
    ("transpose axes=Array", lambda: da.transpose(A, bw([1, 0])), lambda: X.T),
    (
        "concatenate axis=Array",
        lambda: da.concatenate([A, A], axis=bw(1)),
        lambda: np.concatenate([X, X], axis=1),
    ),
    ("cumsum axis=Array", lambda: da.cumsum(A, axis=bw(1)), lambda: np.cumsum(X, axis=1)),
    ("sum axis=Array", lambda: A.sum(axis=bw(0)), lambda: X.sum(axis=0)),
    ("std ddof=Array", lambda: A.std(ddof=bw(1)), lambda: X.std(ddof=1)),
    (
        "average weights=Array",
        lambda: da.average(A, axis=0, weights=bw([1.0, 2, 3, 4])),
        lambda: np.average(X, axis=0, weights=[1.0, 2, 3, 4]),
    ),
    (
        "isclose rtol=Array",
        lambda: da.isclose(A, A + 1e-3, rtol=bw(1e-2)),
        lambda: np.isclose(X, X + 1e-3, rtol=1e-2),
    ),
    (
        "tensordot axes=Array",
        lambda: da.tensordot(A, A.T, axes=bw(1)),
        lambda: np.tensordot(X, X.T, axes=1),
    ),
    ("rechunk chunks=Array", lambda: A.rechunk(bw(2)), lambda: X),
    ("map_overlap depth=Array", lambda: A.map_overlap(lambda b: b, depth=bw(1)), lambda: X),
    ("getitem index=0-d Array", lambda: A[bw(1)], lambda: X[1]),
    ("getitem slice of Arrays", lambda: A[bw(1) : bw(3)], lambda: X[1:3]),
    ("power exponent=Array", lambda: A ** bw(2), lambda: X**2),
    ("where x=0-d Array", lambda: da.where(A > 0, bw(1.0), 0.0), lambda: np.where(X > 0, 1.0, 0)),
]


@pytest.mark.parametrize("name, call, expected", CASES, ids=[c[0] for c in CASES])
def test_a_brickwork_array_as_a_parameter_gives_numpys_result_or_a_clear_error(
    name, call, expected
):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)  # a recursion fails fast
    try:
        try:
            got = call()
            if isinstance(got, da.Array):
                got = got.compute()
        except (TypeError, ValueError, NotImplementedError) as error:
            # A refusal must say which argument it refuses.
            message = str(error)
            assert len(message) > 10 and (
                "Array" in message or "must" in message or "support" in message
            ), message
            return
    finally:
        sys.setrecursionlimit(limit)
    want = expected()
    np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float))
