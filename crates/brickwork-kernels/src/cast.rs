//! Conversions between element types with NumPy's unsafe-casting results.

use brickwork_core::Element;

/// An element that converts to and from the wide intermediate types used by casts,
/// generators and constants.
pub trait Num: Element {
    /// The value as f64.
    fn to_f64(self) -> f64;
    /// The value as i128 (floats truncate toward zero).
    fn to_i128(self) -> i128;
    /// From f64 (float-to-int saturates; NaN becomes 0).
    fn from_f64(v: f64) -> Self;
    /// From i128, wrapping as C casts do (bool: nonzero is true).
    fn from_i128(v: i128) -> Self;
    /// True for float types.
    const FLOAT: bool;
}

macro_rules! num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn to_i128(self) -> i128 { self as i128 }
            #[inline(always)] fn from_f64(v: f64) -> Self { v as $t }
            #[inline(always)] fn from_i128(v: i128) -> Self { v as $t }
            const FLOAT: bool = false;
        }
    )*};
}
num_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! num_float {
    ($($t:ty),*) => {$(
        impl Num for $t {
            #[inline(always)] fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)] fn to_i128(self) -> i128 { self as i128 }
            #[inline(always)] fn from_f64(v: f64) -> Self { v as $t }
            #[inline(always)] fn from_i128(v: i128) -> Self { v as $t }
            const FLOAT: bool = true;
        }
    )*};
}
num_float!(f32, f64);

impl Num for bool {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn to_i128(self) -> i128 {
        self as i128
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn from_i128(v: i128) -> Self {
        v != 0
    }
    const FLOAT: bool = false;
}

/// Convert one element.
#[inline(always)]
pub fn convert<S: Num, D: Num>(x: S) -> D {
    if S::FLOAT || D::FLOAT {
        D::from_f64(x.to_f64())
    } else {
        D::from_i128(x.to_i128())
    }
}

/// Convert a slice elementwise into `out` (same length).
pub fn cast_slice<S: Num, D: Num>(src: &[S], out: &mut [D]) {
    for (o, &x) in out.iter_mut().zip(src) {
        *o = convert(x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_c_semantics() {
        assert_eq!(convert::<i32, i8>(300), 44);
        assert_eq!(convert::<f64, i32>(-2.7), -2);
        assert!(convert::<f64, bool>(0.5));
        assert_eq!(convert::<u64, f64>(u64::MAX), 18446744073709551615.0);
        assert_eq!(convert::<bool, f32>(true), 1.0);
        assert_eq!(convert::<i8, u8>(-1), 255);
    }
}
