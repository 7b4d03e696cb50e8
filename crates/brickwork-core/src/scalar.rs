//! Scalars: Python's weakly typed bool / int / float, and typed constants.

use crate::{DType, Error, Result};
use serde::{Deserialize, Serialize};

/// A Python scalar before it meets an array: its kind decides promotion (NEP 50).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ScalarKind {
    /// A Python `bool`.
    Bool(bool),
    /// A Python `int` (wide enough for every int64 and uint64 value).
    Int(i128),
    /// A Python `float`.
    Float(f64),
}

/// A constant of a known dtype, stored widely; [`Scalar::get`] gives the element.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scalar {
    /// The dtype of the constant.
    pub dtype: DType,
    /// The value as f64 (floats), or as i128 (bool, integers).
    pub value: ScalarValue,
}

/// The stored value of a [`Scalar`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ScalarValue {
    /// Integers and bools.
    Int(i128),
    /// Floats.
    Float(f64),
}

impl ScalarKind {
    /// The dtype NumPy gives this Python scalar on its own (`np.asarray(v).dtype`).
    pub fn default_dtype(self) -> DType {
        match self {
            ScalarKind::Bool(_) => DType::Bool,
            ScalarKind::Int(_) => DType::I64,
            ScalarKind::Float(_) => DType::F64,
        }
    }

    /// The dtype of `array_dtype op scalar` under NEP 50 (the weak scalar adopts the
    /// array's dtype when the kinds allow it).
    pub fn promote_with(self, array: DType) -> DType {
        match self {
            ScalarKind::Bool(_) => array,
            ScalarKind::Int(_) => {
                if array == DType::Bool {
                    DType::I64
                } else {
                    array
                }
            }
            ScalarKind::Float(_) => {
                if array.is_float() {
                    array
                } else {
                    DType::F64
                }
            }
        }
    }

    /// The scalar as a constant of `dtype`; a Python int that does not fit an integer
    /// dtype is an [`Error::Overflow`], as in NumPy 2.
    pub fn to_scalar(self, dtype: DType) -> Result<Scalar> {
        let value = match self {
            ScalarKind::Bool(b) => ScalarValue::Int(b as i128),
            ScalarKind::Int(i) => {
                if dtype.is_int() {
                    let (lo, hi) = int_range(dtype);
                    if i < lo || i > hi {
                        return Err(Error::Overflow(format!(
                            "Python integer {i} out of bounds for {dtype}"
                        )));
                    }
                }
                if dtype.is_float() {
                    ScalarValue::Float(i as f64)
                } else if dtype == DType::Bool {
                    ScalarValue::Int((i != 0) as i128)
                } else {
                    ScalarValue::Int(i)
                }
            }
            ScalarKind::Float(f) => {
                if dtype.is_float() {
                    ScalarValue::Float(f)
                } else if dtype == DType::Bool {
                    ScalarValue::Int((f != 0.0) as i128)
                } else {
                    return Err(Error::Type(format!(
                        "cannot use the float {f} as a {dtype} constant"
                    )));
                }
            }
        };
        Ok(Scalar { dtype, value })
    }
}

/// The inclusive range of an integer dtype.
pub fn int_range(dtype: DType) -> (i128, i128) {
    use DType::*;
    match dtype {
        I8 => (i8::MIN as i128, i8::MAX as i128),
        I16 => (i16::MIN as i128, i16::MAX as i128),
        I32 => (i32::MIN as i128, i32::MAX as i128),
        I64 => (i64::MIN as i128, i64::MAX as i128),
        U8 => (0, u8::MAX as i128),
        U16 => (0, u16::MAX as i128),
        U32 => (0, u32::MAX as i128),
        U64 => (0, u64::MAX as i128),
        Bool => (0, 1),
        F32 | F64 => (i128::MIN, i128::MAX),
    }
}

impl Scalar {
    /// The value as f64 (exact for floats, rounded for wide integers).
    pub fn as_f64(&self) -> f64 {
        match self.value {
            ScalarValue::Int(i) => i as f64,
            ScalarValue::Float(f) => f,
        }
    }

    /// The value as i128, wrapping floats toward zero (NumPy's float-to-int cast).
    pub fn as_i128(&self) -> i128 {
        match self.value {
            ScalarValue::Int(i) => i,
            ScalarValue::Float(f) => f as i128,
        }
    }
}
