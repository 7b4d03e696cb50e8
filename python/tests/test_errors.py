"""Errors are raised when the expression is built (never at compute), with NumPy's
exception types, and their messages name the offending value."""

from __future__ import annotations

import re

import numpy as np
import pytest
from numpy.exceptions import AxisError

import brickwork.array as da


@pytest.fixture
def x():
    return da.from_array(np.zeros((3, 4)), chunks=2)


# ------------------------------------------------------------------------ shape errors


def test_shape_mismatch_raises_value_error_naming_both_shapes(x):
    y = da.from_array(np.zeros(5), chunks=2)
    with pytest.raises(ValueError) as info:
        x + y
    message = str(info.value)
    assert re.search(r"\(3, ?4\)", message), message
    assert re.search(r"\(5,?\)", message), message


def test_shape_mismatch_in_where_raises_value_error(x):
    with pytest.raises(ValueError, match=r"\(2, ?3\)|\(3, ?4\)"):
        da.where(da.from_array(np.ones((2, 3), bool), chunks=2), x, 0)


# ------------------------------------------------------------------------- axis errors


@pytest.mark.parametrize("name", ["sum", "mean", "max", "any", "std", "argmin", "nanmean"])
@pytest.mark.parametrize("axis", [2, -3, 7])
def test_bad_axis_raises_axis_error_naming_it(x, name, axis):
    with pytest.raises(AxisError, match=str(axis)):
        getattr(da, name)(x, axis=axis)


def test_bad_axis_in_tuple_raises_axis_error(x):
    with pytest.raises(AxisError, match="5"):
        x.sum(axis=(0, 5))


def test_axis_error_is_a_value_error_and_an_index_error(x):
    with pytest.raises(ValueError):
        x.sum(axis=9)
    with pytest.raises(IndexError):
        x.sum(axis=9)


def test_argmin_with_tuple_axis_raises(x):
    with pytest.raises((TypeError, ValueError)):
        da.argmin(x, axis=(0, 1))


# ------------------------------------------------------------------------ chunk errors


@pytest.mark.parametrize(
    ("chunks", "pattern"),
    [
        (-2, r"-2"),
        (0, r"\b0\b"),
        (((2, 2), (4,)), r"\(2, 2\)|\b4\b|\b3\b"),
        ((2, 2, 2), r"\(2, 2, 2\)|\b3\b"),
        ("bogus", r"bogus"),
        ((2.5, 2), r"2\.5"),
        (((1, 1, 1), (5,)), r"\(5,\)|\b5\b"),
        (((3,), (2, -1, 3)), r"-1"),
        ({0: -7}, r"-7"),
        ({5: 2}, r"\b5\b"),
    ],
)
def test_bad_chunk_spec_raises_value_error_naming_it(chunks, pattern):
    with pytest.raises(ValueError, match=pattern):
        da.from_array(np.zeros((3, 4)), chunks=chunks)


def test_bad_chunk_spec_in_creation_functions_raises_value_error():
    with pytest.raises(ValueError, match="-5"):
        da.zeros((3, 4), chunks=-5)
    with pytest.raises(ValueError, match="bogus"):
        da.ones(10, chunks="bogus")


# ------------------------------------------------------------------------ dtype errors


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (np.array(["a", "b"]), r"<U1|U1|str"),
        (np.array([b"a"]), r"S1|bytes"),
        (np.array([object(), 1], dtype=object), r"object"),
        (np.array([1 + 2j]), r"complex128"),
        (np.array([1.0], dtype=np.float16), r"float16"),
        (np.array(["2024-01-01"], dtype="datetime64[D]"), r"datetime64"),
    ],
)
def test_unsupported_dtype_raises_type_error_naming_it(value, pattern):
    with pytest.raises(TypeError, match=pattern):
        da.from_array(value)
    with pytest.raises(TypeError, match=pattern):
        da.asarray(value)


@pytest.mark.parametrize("dtype", ["object", "U3", "complex64", "float16"])
def test_unsupported_dtype_in_creation_and_astype_raises_type_error(x, dtype):
    name = np.dtype(dtype).name
    pattern = re.escape(name) + "|" + re.escape(str(np.dtype(dtype)))
    with pytest.raises(TypeError, match=pattern):
        da.zeros(3, dtype=dtype)
    with pytest.raises(TypeError, match=pattern):
        x.astype(dtype)


@pytest.mark.parametrize(
    ("value", "pattern"), [({"a": 1}, "dict"), ({1, 2}, "set"), (object(), "object")]
)
def test_non_array_input_raises_type_error_naming_its_type(value, pattern):
    with pytest.raises(TypeError, match=pattern):
        da.from_array(value)


def test_operand_of_unsupported_type_raises_type_error(x):
    with pytest.raises(TypeError, match="str"):
        x + "a"
    with pytest.raises(TypeError):
        x * {"a": 1}


def test_operation_undefined_for_dtype_raises_type_error_when_built(x):
    with pytest.raises(TypeError, match="float64"):
        x & x
    with pytest.raises(TypeError, match="float64"):
        da.invert(x)
    b = da.from_array(np.ones(3, bool), chunks=2)
    with pytest.raises(TypeError):
        b - b
    with pytest.raises(TypeError):
        -b


def test_python_int_out_of_range_raises_overflow_error_naming_it():
    u8 = da.from_array(np.zeros(3, np.uint8), chunks=2)
    with pytest.raises(OverflowError, match="256"):
        u8 + 256
    with pytest.raises(OverflowError, match="-1"):
        da.full(3, -1, dtype="uint8")


# -------------------------------------------------------------------------- index errors


def test_index_out_of_range_raises_index_error_naming_it(x):
    with pytest.raises(IndexError, match="3"):
        x[3]
    with pytest.raises(IndexError, match="-5"):
        x[:, -5]


def test_unsupported_index_types_raise_type_error_or_index_error(x):
    with pytest.raises((TypeError, IndexError)):
        x[1.5]
    with pytest.raises((TypeError, IndexError)):
        x["a"]


# ------------------------------------------------------------------------- argument errors


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="-3|negative"):
        da.zeros((2, -3))
    with pytest.raises(ValueError, match="-1"):
        da.linspace(0, 1, -1)
    with pytest.raises((ValueError, TypeError)):
        da.from_array(np.zeros(4), chunks=2).sum(split_every=1)


def test_a_panic_inside_a_task_is_a_python_exception_and_the_process_stays_usable():
    from brickwork import _core

    with pytest.raises(_core.PanicError, match="deliberate panic"):
        _core._panic_in_task()
    assert isinstance(_core.PanicError("x"), RuntimeError)
    # The scheduler and the interpreter still work.
    np.testing.assert_array_equal(da.ones(5, chunks=2).cumsum().compute(), np.arange(1.0, 6.0))


def test_shapes_past_the_address_space_raise_value_error_not_a_crash():
    with pytest.raises(ValueError, match="too big"):
        da.zeros((2**40, 2**40), chunks=2**20)
    with pytest.raises(ValueError, match="cannot reshape"):
        da.ones(4, chunks=2).reshape(2**40, 2**40)
