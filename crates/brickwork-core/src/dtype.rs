//! Element types and NumPy 2's promotion rules.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};

/// The element type of an array: NumPy's bool, integer and floating dtypes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DType {
    /// `bool`, one byte.
    Bool,
    /// `int8`.
    I8,
    /// `int16`.
    I16,
    /// `int32`.
    I32,
    /// `int64`.
    I64,
    /// `uint8`.
    U8,
    /// `uint16`.
    U16,
    /// `uint32`.
    U32,
    /// `uint64`.
    U64,
    /// `float32`.
    F32,
    /// `float64`.
    F64,
}

/// Every dtype, in NumPy's order.
pub const ALL: [DType; 11] = [
    DType::Bool,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
    DType::U64,
    DType::F32,
    DType::F64,
];

impl DType {
    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        use DType::*;
        match self {
            Bool | I8 | U8 => 1,
            I16 | U16 => 2,
            I32 | U32 | F32 => 4,
            I64 | U64 | F64 => 8,
        }
    }

    /// NumPy's name for the dtype (`"float64"`, ...).
    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            Bool => "bool",
            I8 => "int8",
            I16 => "int16",
            I32 => "int32",
            I64 => "int64",
            U8 => "uint8",
            U16 => "uint16",
            U32 => "uint32",
            U64 => "uint64",
            F32 => "float32",
            F64 => "float64",
        }
    }

    /// Parse a NumPy dtype name.
    pub fn from_name(name: &str) -> Result<DType> {
        ALL.iter()
            .copied()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                Error::Type(format!(
                    "unsupported dtype {name:?}: expected one of bool, int8, int16, int32, \
                     int64, uint8, uint16, uint32, uint64, float32, float64"
                ))
            })
    }

    /// True for `float32` and `float64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// True for the signed integers.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// True for the unsigned integers.
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// True for signed and unsigned integers (not bool).
    pub fn is_int(self) -> bool {
        self.is_signed_int() || self.is_unsigned_int()
    }

    fn signed_of_size(bytes: usize) -> DType {
        match bytes {
            1 => DType::I8,
            2 => DType::I16,
            4 => DType::I32,
            _ => DType::I64,
        }
    }

    /// NumPy's `result_type` for two array dtypes (`np.promote_types`).
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        if a == b {
            return a;
        }
        match (a, b) {
            (Bool, x) | (x, Bool) => x,
            (F64, _) | (_, F64) => F64,
            (F32, x) | (x, F32) => {
                if x.itemsize() <= 2 {
                    F32
                } else {
                    F64
                }
            }
            (x, y) if x.is_signed_int() == y.is_signed_int() => {
                if x.itemsize() >= y.itemsize() {
                    x
                } else {
                    y
                }
            }
            (x, y) => {
                let (s, u) = if x.is_signed_int() { (x, y) } else { (y, x) };
                if s.itemsize() > u.itemsize() {
                    s
                } else if u == U64 {
                    F64
                } else {
                    DType::signed_of_size(u.itemsize() * 2)
                }
            }
        }
    }

    /// NumPy's `result_type` of several dtypes. It is not a fold of [`DType::promote`]:
    /// NumPy first takes the highest category present, so int8, uint16 and float32 give
    /// float32 (pairwise they would give float64).
    pub fn promote_all(dtypes: &[DType]) -> Option<DType> {
        let (&first, rest) = dtypes.split_first()?;
        let floats: Vec<DType> = dtypes.iter().copied().filter(|d| d.is_float()).collect();
        Some(match floats.split_first() {
            Some((&f, more)) => {
                let f = more.iter().fold(f, |a, &b| DType::promote(a, b));
                dtypes.iter().fold(f, |a, &b| DType::promote(a, b))
            }
            None => rest.iter().fold(first, |a, &b| DType::promote(a, b)),
        })
    }

    /// The float dtype NumPy computes a float ufunc (sqrt, exp, true_divide, ...) in
    /// for inputs of this dtype. NumPy uses float16 for bool/int8/uint8; brickwork has
    /// no float16 and uses float32 there (documented deviation).
    pub fn float_compute(self) -> DType {
        use DType::*;
        match self {
            F32 | Bool | I8 | U8 | I16 | U16 => F32,
            _ => F64,
        }
    }

    /// The float dtype NumPy's `true_divide` returns for integer inputs (always float64
    /// for integers, the float itself for floats).
    pub fn divide_result(self) -> DType {
        if self == DType::F32 {
            DType::F32
        } else {
            DType::F64
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that is the storage of a [`DType`].
pub trait Element: Copy + Send + Sync + PartialOrd + Default + std::fmt::Debug + 'static {
    /// The dtype this type stores.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}
element!(bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16,
         u32 => U32, u64 => U64, f32 => F32, f64 => F64);

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn promotion_matches_numpy_table() {
        // Values from numpy.promote_types.
        assert_eq!(DType::promote(I8, U8), I16);
        assert_eq!(DType::promote(I16, U16), I32);
        assert_eq!(DType::promote(I32, U32), I64);
        assert_eq!(DType::promote(I64, U64), F64);
        assert_eq!(DType::promote(I64, U32), I64);
        assert_eq!(DType::promote(U8, I64), I64);
        assert_eq!(DType::promote(I16, F32), F32);
        assert_eq!(DType::promote(I32, F32), F64);
        assert_eq!(DType::promote(U64, F32), F64);
        assert_eq!(DType::promote(Bool, U16), U16);
        assert_eq!(DType::promote(F32, F64), F64);
        // np.result_type(int8, uint16, float32)
        assert_eq!(DType::promote_all(&[I8, U16, F32]), Some(F32));
        assert_eq!(DType::promote_all(&[U8, I8, U16]), Some(I32));
    }

    #[test]
    fn names_round_trip() {
        for d in ALL {
            assert_eq!(DType::from_name(d.name()).unwrap(), d);
        }
        assert!(DType::from_name("object").is_err());
    }
}
