"""Differential fuzzing against NumPy (issue 10): random expression trees built over
brickwork and NumPy in lockstep (see fuzz_expressions.py), with a fixed number of
examples; ``python scripts/fuzz.py --examples 20000`` runs the same fuzzer for longer.

The defects the fuzzer found and that are not fixed yet each have a minimal regression
test below, marked ``xfail(strict=True)``: when one is fixed its test passes, the strict
xfail fails, and the fix removes the marker and its entry in ``KNOWN_DEFECTS`` (the
fuzz test skips a node showing a known defect, so that it keeps looking for new ones).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pytest
from fuzz_expressions import FuzzFailure, Node, Program, array_literal, programs, run_program
from hypothesis import HealthCheck, given, settings

import brickwork.array as da

# ----------------------------------------------------------------------------- known


@dataclass(frozen=True)
class Known:
    """A known defect: the failures it explains, and its regression test."""

    test: str
    op: str = ".*"  # regexes, matched against the failure's op, kind, detail and code
    kind: str = ".*"
    detail: str = ".*"
    code: str = ".*"

    def matches(self, f: FuzzFailure) -> bool:
        return bool(
            re.fullmatch(self.op, f.op)
            and re.search(self.kind, f.kind)
            and re.search(self.detail, f.detail, re.S)
            and re.search(self.code, f.code, re.S)
        )


KNOWN_DEFECTS: list[Known] = [
    Known("test_scalar_bools_around_an_empty_ellipsis", op="getitem|setitem",
          kind="shape differs|values differ|raises ValueError \\(NumPy does not\\)", code=r"(True|False).*\.\.\.|\.\.\..*(True|False)"),
    Known("test_assignment_reports_the_error_numpy_reports_first", op="setitem",
          kind="raises IndexError where NumPy raises OverflowError"
               "|raises (OverflowError|ValueError) where NumPy raises IndexError"),
]


def known_defect(failure: FuzzFailure) -> Known | None:
    return next((k for k in KNOWN_DEFECTS if k.matches(failure)), None)


# ------------------------------------------------------------------------ the fuzzer

# Examples per run: the default profile ("brickwork", 30 examples elsewhere) gives 1500
# here, about 11 s on two cores (as much with --tiny-chunks); --hypothesis-profile=thorough
# / quick scale it.
FUZZ_EXAMPLES = settings.default.max_examples * 50


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
@given(program=programs())
def test_brickwork_matches_numpy_on_random_expressions(program):
    run_program(program, known=known_defect)


def _program(x, *ops):
    """A hand-written program: a leaf ``x`` then ``(op, brickwork, numpy, params)``."""
    leaf = Node(0, "from_array", (), "da.from_array(x0, chunks=1)", array_literal(x),
                leaf_value=x, value=x)
    nodes = [leaf]
    for i, (op, bw, np_, params) in enumerate(ops, start=1):
        check = "reduce" if params else "exact"
        nodes.append(Node(i, op, (i - 1,), bw, np_, check=check, params=params))
    return Program(nodes)


def test_the_fuzzer_sees_a_wrong_value(monkeypatch):
    """The checks are not vacuous: a nansum that forgets NaNs is caught, with a repro."""
    x = np.array([1.0, np.nan, 2.0])
    program = _program(x, ("nansum", "da.nansum(@0)", "np.nansum(@0)",
                           {"name": "nansum", "axis": None}))
    run_program(program)
    monkeypatch.setattr(da, "nansum", da.sum)
    with pytest.raises(FuzzFailure, match="nansum: values differ") as info:
        run_program(program)
    assert "a1 = da.nansum(a0)" in info.value.repro
    assert "x1 = np.nansum(x0)" in info.value.repro


def test_the_fuzzer_sees_a_missing_error_and_a_wrong_dtype(monkeypatch):
    x = np.array([1, 2], dtype=np.int8)
    run_program(_program(x, ("getitem", "@0[5]", "@0[5]", {})))
    monkeypatch.setattr(da, "negative", lambda a: -(a.astype(np.int16)))
    with pytest.raises(FuzzFailure, match="negative: dtype differs"):
        run_program(_program(x, ("negative", "da.negative(@0)", "np.negative(@0)", {})))
    with pytest.raises(FuzzFailure, match="no error where NumPy raises TypeError"):
        run_program(_program(x, ("add", "@0.astype(np.float64) + 1", "@0 + 'a'", {})))


# ------------------------------------------------------------- known defects (xfail)
#
# Each test is the minimal repro of one class of failures the fuzzer found, compared with
# NumPy (or Dask, for Dask's API).


def _bw(x, chunks=-1):
    return da.from_array(x, chunks=chunks)


@pytest.mark.xfail(strict=True, reason="two scalar bools apart by an Ellipsis that stands for "
                   "no axis are not moved to the front as NumPy moves advanced indices")
def test_scalar_bools_around_an_empty_ellipsis():
    x = np.arange(4.0)
    got = _bw(x, 2)[::-1, True, ..., True]
    assert got.shape == x[::-1, True, ..., True].shape == (1, 4)
    np.testing.assert_array_equal(got.compute(), x[::-1, True, ..., True])
    expected = x.copy()
    expected[:, True, ..., True] = [7.0, 8.0, 9.0, 10.0]  # the region is (1, 4)
    a = _bw(x, 2)
    a[:, True, ..., True] = [7.0, 8.0, 9.0, 10.0]
    np.testing.assert_array_equal(a.compute(), expected)


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax"])
def test_nanargmax_over_an_empty_axis_with_an_empty_result_raises(name):
    x = np.zeros((0, 0))
    with pytest.raises(ValueError):
        getattr(np, name)(x, axis=0)
    with pytest.raises(ValueError):
        getattr(da, name)(_bw(x), axis=0).compute()


@pytest.mark.parametrize("call", [
    lambda m, x: m.logical_and(x, 2**64),
    lambda m, x: m.logical_or(-(2**63) - 1, x),
])
def test_python_int_beyond_int64_in_logical_ufuncs_raises(call):
    x = np.arange(3)
    with pytest.raises(OverflowError):
        call(np, x)
    with pytest.raises(OverflowError):
        call(da, _bw(x)).compute()


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("shape, key, value, error", [
    ((0,), slice(None), np.int16(300), OverflowError),
    ((3, 0), (), np.int16(300), OverflowError),
    ((0,), Ellipsis, np.float32("nan"), ValueError),
    ((0, 3), Ellipsis, np.float32(-1e19), OverflowError),
])
def test_setitem_of_a_numpy_scalar_into_an_array_without_elements_is_checked(shape, key, value,
                                                                              error):
    x = np.zeros(shape, dtype=np.int8)
    with pytest.raises(error):
        x[key] = value
    a = _bw(x)
    with pytest.raises(error):
        a[key] = value
        a.compute()


# Found in the code of de93d88 / 9877b01 / 242bfa2 (this session's fixes of the defects
# below).


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("value, dtype, key", [
    (np.int8(-128), "uint8", 0),
    (np.int16(-300), "uint8", 0),
    (np.int64(-1), "uint64", 0),
    (np.int16(16384), "uint8", 0),
    (np.uint16(300), "uint8", 0),
    (np.float32("inf"), "uint8", slice(0, 0)),  # no element: no undefined value either
])
def test_setitem_of_a_numpy_scalar_into_unsigned_is_not_checked(value, dtype, key):
    x = np.zeros(2, dtype=dtype)
    expected = x.copy()
    expected[key] = value
    a = _bw(x)
    a[key] = value
    np.testing.assert_array_equal(a.compute(), expected)


def test_setitem_empty_mask_on_an_axis_of_length_one():
    x = np.zeros(1)
    mask = np.zeros(0, bool)
    np.testing.assert_array_equal(_bw(x)[mask].compute(), x[mask])
    expected = x.copy()
    expected[mask] = 5
    a = _bw(x)
    a[mask] = 5
    np.testing.assert_array_equal(a.compute(), expected)


@pytest.mark.parametrize("key, value", [
    ([True, False, False], _bw(np.array([[1.0]]))),
    ((np.array([True, False, False]),), np.array([[1.0, 2.0]])),
    ([True, False, False], np.array([[1.0, 2.0]])),
])
def test_mask_assignment_of_a_2d_value_raises_type_error(key, value):
    with pytest.raises(TypeError):
        np.zeros(3)[key] = np.asarray(value)
    a = _bw(np.zeros(3))
    with pytest.raises(TypeError):
        a[key] = value
        a.compute()


@pytest.mark.xfail(strict=True, reason="which error first, when both the key and the value are "
                   "wrong: NumPy converts the value before an index array is checked "
                   "(OverflowError), but checks a boolean mask's shape first (IndexError); "
                   "brickwork does the opposite (242bfa2)")
@pytest.mark.parametrize("shape, key, value, error", [
    ((3, 0), (slice(None), [0]), 300, OverflowError),
    ((3,), [5], 300, OverflowError),
    ((3, 3), np.zeros((4, 3), bool), 300, IndexError),
    ((1,), np.zeros(2, bool), float("nan"), IndexError),
])
def test_assignment_reports_the_error_numpy_reports_first(shape, key, value, error):
    x = np.zeros(shape, dtype=np.int8)
    with pytest.raises(error):
        x.copy()[key] = value
    a = _bw(x)
    with pytest.raises(error):
        a[key] = value
        a.compute()


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 2**70])
def test_where_with_a_python_int_beyond_64_bits_raises(value):
    c, x = np.array([True, False]), np.array([1, 2], dtype=np.int8)
    with pytest.raises(OverflowError):
        np.where(c, x, value)
    with pytest.raises(OverflowError):
        da.where(_bw(c), _bw(x), value).compute()


@pytest.mark.parametrize("lo, hi", [(None, 300), (-300, None), (None, 2**70)])
def test_clip_with_one_bound_and_a_python_int_out_of_range(lo, hi):
    x = np.array([0, 5, -3], dtype=np.int8)
    expected = np.clip(x, lo, hi)
    got = da.clip(_bw(x), lo, hi)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got.compute(), expected)


# ------------------------------------------- defects found by the fuzzer, since fixed
#
# Found by this fuzzer and fixed during the same session (de93d88, 9877b01, 242bfa2,
# 2393fa4): kept as regression tests.


@pytest.mark.parametrize("ufunc", [np.add, np.minimum, np.hypot, np.less, np.logical_and])
def test_numpy_ufunc_with_a_list_operand(ufunc):
    """Was: np.<ufunc>(array, list) returns NotImplemented from __array_ufunc__ (a list
    operand is not handled): TypeError."""
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(ufunc(_bw(x), [0, 5]).compute(), ufunc(x, [0, 5]))
    np.testing.assert_array_equal(ufunc([0, 5], _bw(x)).compute(), ufunc([0, 5], x))


@pytest.mark.parametrize("key", [(3, False), (False, 3), (0, 7, False), (5, []), ([], 7)])
def test_int_index_out_of_bounds_beside_an_empty_selection_raises(key):
    """Was: an int index out of bounds is not checked when the selection is empty: a scalar
    False or an empty index array in the key."""
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError):
        x[key]
    with pytest.raises(IndexError):
        _bw(x)[key]
    with pytest.raises(IndexError):
        x.copy()[key] = 1
    a = _bw(x)
    with pytest.raises(IndexError):
        a[key] = 1
        a.compute()


def test_setitem_checks_the_key_before_the_value():
    """Was: assignment checks the value's cast before the key: OverflowError where NumPy
    raises IndexError for the index."""
    x = np.zeros(2, dtype=np.uint8)
    with pytest.raises(IndexError):
        x[5] = -1
    a = _bw(x)
    with pytest.raises(IndexError):
        a[5] = -1


def test_astype_copy_is_a_new_array():
    """Was: astype to the same dtype returns the array itself even with copy=True: assigning
    into the 'copy' changes the original."""
    x = np.arange(3.0)
    a = _bw(x)
    b = a.astype(np.float64, copy=True)
    b[0] = 9.0
    expected = x.copy()
    np.testing.assert_array_equal(a.compute(), expected)


@pytest.mark.parametrize("base, key, value", [
    (np.arange(4.0), slice(0, 2), np.array([[7.0, 8.0]])),
    (np.array(3.0), Ellipsis, np.array([7.0])),
])
def test_setitem_value_with_extra_leading_unit_axes(base, key, value):
    """Was: assignment refuses a value with extra leading axes of length 1, which NumPy drops
    (x[0:2] = [[7, 8]])."""
    expected = base.copy()
    expected[key] = value
    a = _bw(base.copy())
    a[key] = value
    np.testing.assert_array_equal(a.compute(), expected)


@pytest.mark.parametrize("value", [np.zeros(0), da.zeros(0)])
def test_numpy_mask_selecting_nothing_takes_an_empty_value(value):
    """Was: x[mask] = value with a NumPy mask selecting nothing and an empty value raises
    IndexError; NumPy assigns nothing."""
    base = np.arange(4.0)
    mask = np.zeros(4, bool)
    expected = base.copy()
    expected[mask] = np.zeros(0)
    a = _bw(base.copy(), 1)
    a[mask] = value
    np.testing.assert_array_equal(a.compute(), expected)


@pytest.mark.parametrize("key", [0, slice(0, 1), (), Ellipsis, slice(0, 0)])
def test_setitem_of_an_out_of_range_numpy_int_scalar_raises(key):
    """Was: x[basic key] = <NumPy int scalar out of x's range> wrapped; NumPy 2 range-checks
    it as a Python int (OverflowError)."""
    x = np.zeros(2, dtype=np.int8)
    with pytest.raises(OverflowError):
        x[key] = np.int16(300)
    a = _bw(x)
    with pytest.raises(OverflowError):
        a[key] = np.int16(300)
        a.compute()


def test_setitem_int_and_array_apart_put_the_advanced_axes_first():
    """Was: x[0, :, [0, 1, 2]] = v: the int and the index array are both advanced indices
    apart (NumPy puts their axis first); assignment lays the region out slice-axis first,
    so v is written transposed."""
    base = np.zeros((2, 3, 3))
    value = np.arange(9.0).reshape(3, 3)
    expected = base.copy()
    expected[0, :, [0, 1, 2]] = value
    a = _bw(base.copy(), 1)
    a[0, :, [0, 1, 2]] = value
    np.testing.assert_array_equal(a.compute(), expected)


def test_too_many_indices_is_reported_before_a_zero_step():
    """Was: a key with too many indices and a zero slice step raises ValueError (the step)
    where NumPy raises IndexError (the count)."""
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError):
        x[0, 0, ::0]
    with pytest.raises(IndexError):
        _bw(x)[0, 0, ::0]


def test_numpy_mask_assignment_of_a_2d_value_raises_type_error():
    """Was: x[numpy_mask] = <2-d value that does not fit> raises ValueError; NumPy raises
    TypeError (a 0 or 1-d input is required)."""
    mask = np.array([True, True, False, True])
    value = np.ones((2, 2))
    with pytest.raises(TypeError):
        np.zeros(4)[mask] = value
    a = da.zeros(4, chunks=2)
    with pytest.raises(TypeError):
        a[mask] = value
        a.compute()


@pytest.mark.parametrize("shape, mask_shape, true_at", [
    ((3, 2), (2, 2), (1, 1)),
    ((3, 2), (3, 3), (0, 1)),
    ((3, 2), (4, 2), None),
    ((3, 0), (4, 0), None),
])
def test_nd_boolean_mask_of_another_shape_raises(shape, mask_shape, true_at):
    """Was: x[mask] with an N-d NumPy mask of another shape is not checked: its True positions
    inside x are taken (or an empty array); NumPy raises IndexError."""
    x, mask = np.arange(math.prod(shape), dtype=float).reshape(shape), np.zeros(mask_shape, bool)
    if true_at is not None:
        mask[true_at] = True
    with pytest.raises(IndexError):
        x[mask]
    with pytest.raises(IndexError):
        _bw(x)[mask]


@pytest.mark.parametrize("name", ["nanargmin", "nanargmax"])
def test_nanargmin_nanargmax_accept_split_every(name):
    """Was: nanargmin / nanargmax do not take split_every (Dask's do, as brickwork's argmin /
    argmax)."""
    x = np.array([3.0, np.nan, 1.0, 7.0])
    got = getattr(da, name)(_bw(x, 1), split_every=2)
    assert got.compute() == getattr(np, name)(x)


def test_clip_with_python_int_bounds_out_of_range():
    """Was: clip with a Python int bound out of the array's range raises OverflowError; NumPy 2
    clips (the bound is no limit)."""
    x = np.arange(3, dtype=np.int8)
    for lo, hi in [(-1000, 1), (1, 1000), (-1, 300)]:
        expected = np.clip(x, lo, hi)
        got = da.clip(_bw(x), lo, hi)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got.compute(), expected)


def test_where_with_a_python_int_out_of_the_other_operands_range():
    """Was: where(c, x, <Python int out of x's range>) raises OverflowError; NumPy 2 casts the
    int to x's dtype (weak scalar)."""
    c = np.array([True, False])
    x = np.arange(2, dtype=np.uint16)
    expected = np.where(c, x, -1)
    got = da.where(_bw(c), _bw(x), -1)
    assert got.dtype == expected.dtype == np.uint16
    np.testing.assert_array_equal(got.compute(), expected)


def test_clip_of_bool_without_bounds_raises():
    """Was: clip(bool_array, None, None) returns the array; NumPy raises TypeError (no
    'positive' loop for bool)."""
    x = np.array([True, False])
    with pytest.raises(TypeError):
        np.clip(x, None, None)
    with pytest.raises(TypeError):
        da.clip(_bw(x), None, None).compute()


def test_clip_promotes_its_three_operands_together():
    """Was: clip(int8, <Python float>, <float32>) is float64: the bounds are applied one after
    the other (maximum, then minimum) instead of promoting the three operands together
    (NumPy: float32)."""
    x = np.array([0, 1, 100], dtype=np.int8)
    expected = np.clip(x, 0.5, np.float32(1.0))
    got = da.clip(_bw(x), 0.5, np.float32(1.0))
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_array_equal(got.compute(), expected)


def test_nanmean_with_an_integer_dtype_accumulates_in_it():
    """Was: nanmean(int array, dtype=<int>) computes a float mean and casts it; NumPy (and
    brickwork's mean) sum in the integer dtype, wrapping, then divide."""
    x = np.array([491, 2**63 + 1, 2**64 - 2, 0, 0], dtype=np.uint64)
    expected = np.nanmean(x, dtype=np.int64)
    assert da.mean(_bw(x, 2), dtype=np.int64).compute() == np.mean(x, dtype=np.int64)
    got = da.nanmean(_bw(x, 2), dtype=np.int64)
    assert got.dtype == expected.dtype
    assert got.compute() == expected


def test_concatenate_axis_none():
    """Was: concatenate(axis=None) of arrays that are not all 1-d raises NotImplementedError
    (NumPy and Dask flatten them)."""
    x, y = np.arange(6.0).reshape(2, 3), np.array(7.0)
    expected = np.concatenate([x, y], axis=None)
    np.testing.assert_array_equal(da.concatenate([_bw(x), _bw(y)], axis=None).compute(),
                                  expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["arcsinh", "arccosh"])
def test_arcsinh_arccosh_near_the_largest_float(name, dtype):
    """Was: arcsinh / arccosh overflow to inf for |x| near the largest float (NumPy: 89.4 in
    float32, 710.5 in float64)."""
    x = np.array([np.finfo(dtype).max, 1e30], dtype=dtype)
    expected = getattr(np, name)(x)
    np.testing.assert_allclose(getattr(da, name)(_bw(x)).compute(), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype, value", [("int64", 2**63), ("int64", -(2**63) - 1),
                                          ("uint64", 2**64)])
def test_comparison_with_a_python_int_just_beyond_64_bits(dtype, value):
    """Was: int64 / uint64 compared with a Python int just beyond their range are compared in
    float64 (2**63 - 1 == 2**63 is True); NumPy compares exactly."""
    info = np.iinfo(dtype)
    x = np.array([info.max, info.min, 5], dtype=dtype)
    for op in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]:
        expected = getattr(np, op)(x, value)
        np.testing.assert_array_equal(getattr(da, op)(_bw(x), value).compute(), expected,
                                      err_msg=op)


def test_comparison_of_bool_with_a_python_int_beyond_int64_raises():
    """Was: comparisons with a bool array took a Python int beyond int64 (fixed in 242bfa2)."""
    x = np.array([True, False])
    with pytest.raises(OverflowError):
        np.less(2**64, x)
    with pytest.raises(OverflowError):
        da.less(2**64, _bw(x)).compute()


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("key", [0, slice(0, 1), (), slice(0, 0)])
def test_setitem_of_a_numpy_nan_scalar_into_ints_raises(key):
    """Was: x[basic key] = np.float32('nan') into an integer array cast NaN (an undefined
    value); NumPy 2 converts it as a Python float: ValueError (fixed in 242bfa2)."""
    x = np.zeros(2, dtype=np.int8)
    with pytest.raises(ValueError):
        x[key] = np.float32("nan")
    a = _bw(x)
    with pytest.raises(ValueError):
        a[key] = np.float32("nan")
        a.compute()


@pytest.mark.parametrize("module", [np, da])
def test_power_of_bool_by_two_as_a_function_is_int64(module):
    """Was: power(bool_array, 2) (da.power, np.power) was int8; NumPy gives int8 only for
    the ** operator (its square shortcut), int64 for the ufunc."""
    x = np.array([True, False])
    expected = np.power(x, 2)
    got = module.power(_bw(x), 2)
    assert got.dtype == expected.dtype == np.int64
    assert (_bw(x) ** 2).dtype == (x**2).dtype == np.int8
