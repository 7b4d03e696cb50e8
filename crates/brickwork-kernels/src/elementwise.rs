//! Elementwise loops over tiles, with NumPy's results for every dtype: integers wrap,
//! integer division by zero gives 0, floats follow IEEE 754 and NumPy's divmod.

use crate::cast::{cast_slice, Num};
use crate::ops::{BinaryOp, UnaryOp};
use crate::{Tile, TileRef};
use brickwork_core::{Error, Result};
use num_traits::Float;
use std::f64::consts::LN_2;

/// Integer arithmetic as NumPy defines it.
pub trait IntOps: Num + Ord {
    /// Wrapping add.
    fn add(self, b: Self) -> Self;
    /// Wrapping subtract.
    fn sub(self, b: Self) -> Self;
    /// Wrapping multiply.
    fn mul(self, b: Self) -> Self;
    /// Floor division; 0 when dividing by 0.
    fn floor_div(self, b: Self) -> Self;
    /// Remainder with the sign of the divisor; 0 when dividing by 0.
    fn rem(self, b: Self) -> Self;
    /// Wrapping power; `None` for a negative exponent.
    fn pow(self, b: Self) -> Option<Self>;
    /// Wrapping negation.
    fn neg(self) -> Self;
    /// Wrapping absolute value.
    fn abs(self) -> Self;
    /// -1, 0 or 1.
    fn sign(self) -> Self;
    /// 1/x in integers (0 for x = 0).
    fn reciprocal(self) -> Self;
    /// Bitwise and.
    fn and(self, b: Self) -> Self;
    /// Bitwise or.
    fn or(self, b: Self) -> Self;
    /// Bitwise xor.
    fn xor(self, b: Self) -> Self;
    /// Bitwise not.
    fn not(self) -> Self;
    /// Left shift; 0 when shifting by the bit width or more.
    fn shl(self, b: Self) -> Self;
    /// Arithmetic right shift; saturating to 0 or -1 past the bit width.
    fn shr(self, b: Self) -> Self;
    /// True if negative.
    fn negative(self) -> bool;
}

macro_rules! int_ops {
    ($($t:ty, $signed:expr);*) => {$(
        impl IntOps for $t {
            #[inline(always)] fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)] fn sub(self, b: Self) -> Self { self.wrapping_sub(b) }
            #[inline(always)] fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
            #[inline(always)]
            fn floor_div(self, b: Self) -> Self {
                if b == 0 { return 0; }
                let q = self.wrapping_div(b);
                #[allow(unused_comparisons)]
                if $signed && self.wrapping_rem(b) != 0 && ((self < 0) != (b < 0)) { q.wrapping_sub(1) } else { q }
            }
            #[inline(always)]
            fn rem(self, b: Self) -> Self {
                if b == 0 { return 0; }
                let r = self.wrapping_rem(b);
                #[allow(unused_comparisons)]
                if $signed && r != 0 && ((r < 0) != (b < 0)) { r.wrapping_add(b) } else { r }
            }
            #[inline(always)]
            fn pow(self, b: Self) -> Option<Self> {
                #[allow(unused_comparisons)]
                if b < 0 { return None; }
                // Square-and-multiply over the full 64-bit exponent, wrapping.
                let (mut base, mut e, mut acc) = (self, b as u64, 1 as $t);
                while e > 0 {
                    if e & 1 == 1 { acc = acc.wrapping_mul(base); }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                Some(acc)
            }
            #[inline(always)] fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[inline(always)]
            fn abs(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 { (0 as $t).wrapping_sub(self) } else { self }
            }
            #[inline(always)]
            fn sign(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 { (0 as $t).wrapping_sub(1) } else if self > 0 { 1 } else { 0 }
            }
            #[inline(always)]
            fn reciprocal(self) -> Self { if self == 0 { 0 } else { (1 as $t).wrapping_div(self) } }
            #[inline(always)] fn and(self, b: Self) -> Self { self & b }
            #[inline(always)] fn or(self, b: Self) -> Self { self | b }
            #[inline(always)] fn xor(self, b: Self) -> Self { self ^ b }
            #[inline(always)] fn not(self) -> Self { !self }
            #[inline(always)]
            fn shl(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                if b < 0 || (b as u64) >= <$t>::BITS as u64 { 0 } else { self << (b as u32) }
            }
            #[inline(always)]
            fn shr(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                if b < 0 || (b as u64) >= <$t>::BITS as u64 {
                    if self < 0 { (0 as $t).wrapping_sub(1) } else { 0 }
                } else { self >> (b as u32) }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn negative(self) -> bool { self < 0 }
        }
    )*};
}
int_ops!(i8, true; i16, true; i32, true; i64, true; u8, false; u16, false; u32, false; u64, false);

/// Float arithmetic as NumPy defines it.
pub trait FloatOps: Num + Float {
    /// Round half to even.
    fn rint(self) -> Self;
}
impl FloatOps for f32 {
    #[inline(always)]
    fn rint(self) -> Self {
        self.round_ties_even()
    }
}
impl FloatOps for f64 {
    #[inline(always)]
    fn rint(self) -> Self {
        self.round_ties_even()
    }
}

/// NumPy's `npy_divmod`: (floor quotient, remainder with the divisor's sign).
#[inline(always)]
pub fn divmod<T: Float>(a: T, b: T) -> (T, T) {
    let zero = T::zero();
    let mut m = a % b;
    if b == zero {
        return (a / b, m);
    }
    let mut div = (a - m) / b;
    if m != zero {
        if (b < zero) != (m < zero) {
            m = m + b;
            div = div - T::one();
        }
    } else {
        m = zero.copysign(b);
    }
    let q = if div != zero {
        let f = div.floor();
        if div - f > T::from(0.5).unwrap() {
            f + T::one()
        } else {
            f
        }
    } else {
        zero.copysign(a / b)
    };
    (q, m)
}

macro_rules! map2 {
    ($a:expr, $b:expr, $o:expr, |$x:ident, $y:ident| $e:expr) => {
        for ((o, &$x), &$y) in $o.iter_mut().zip($a.iter()).zip($b.iter()) {
            *o = $e;
        }
    };
}

macro_rules! map1 {
    ($a:expr, $o:expr, |$x:ident| $e:expr) => {
        for (o, &$x) in $o.iter_mut().zip($a.iter()) {
            *o = $e;
        }
    };
}

fn float_binary<T: FloatOps>(op: BinaryOp, a: &[T], b: &[T], o: &mut [T]) -> Result<()> {
    use BinaryOp::*;
    match op {
        Add => map2!(a, b, o, |x, y| x + y),
        Subtract => map2!(a, b, o, |x, y| x - y),
        Multiply => map2!(a, b, o, |x, y| x * y),
        TrueDivide => map2!(a, b, o, |x, y| x / y),
        FloorDivide => map2!(a, b, o, |x, y| divmod(x, y).0),
        Remainder => map2!(a, b, o, |x, y| divmod(x, y).1),
        Power => map2!(a, b, o, |x, y| x.powf(y)),
        Maximum => map2!(a, b, o, |x, y| if x.is_nan() || x >= y { x } else { y }),
        Minimum => map2!(a, b, o, |x, y| if x.is_nan() || x <= y { x } else { y }),
        Fmax => map2!(a, b, o, |x, y| x.max(y)),
        Fmin => map2!(a, b, o, |x, y| x.min(y)),
        Arctan2 => map2!(a, b, o, |x, y| x.atan2(y)),
        Hypot => map2!(a, b, o, |x, y| x.hypot(y)),
        Copysign => map2!(a, b, o, |x, y| x.copysign(y)),
        _ => return Err(Error::Internal(format!("{} has no float loop", op.name()))),
    }
    Ok(())
}

fn int_binary<T: IntOps>(op: BinaryOp, a: &[T], b: &[T], o: &mut [T]) -> Result<()> {
    use BinaryOp::*;
    match op {
        Add => map2!(a, b, o, |x, y| x.add(y)),
        Subtract => map2!(a, b, o, |x, y| x.sub(y)),
        Multiply => map2!(a, b, o, |x, y| x.mul(y)),
        FloorDivide => map2!(a, b, o, |x, y| x.floor_div(y)),
        Remainder => map2!(a, b, o, |x, y| x.rem(y)),
        Power => {
            for ((o, &x), &y) in o.iter_mut().zip(a).zip(b) {
                *o = x.pow(y).ok_or_else(|| {
                    Error::Value("Integers to negative integer powers are not allowed.".into())
                })?;
            }
        }
        Maximum | Fmax => map2!(a, b, o, |x, y| x.max(y)),
        Minimum | Fmin => map2!(a, b, o, |x, y| x.min(y)),
        BitwiseAnd => map2!(a, b, o, |x, y| x.and(y)),
        BitwiseOr => map2!(a, b, o, |x, y| x.or(y)),
        BitwiseXor => map2!(a, b, o, |x, y| x.xor(y)),
        LeftShift => map2!(a, b, o, |x, y| x.shl(y)),
        RightShift => map2!(a, b, o, |x, y| x.shr(y)),
        _ => {
            return Err(Error::Internal(format!(
                "{} has no integer loop",
                op.name()
            )))
        }
    }
    Ok(())
}

fn bool_binary(op: BinaryOp, a: &[bool], b: &[bool], o: &mut [bool]) -> Result<()> {
    use BinaryOp::*;
    match op {
        Add | Maximum | Fmax | LogicalOr | BitwiseOr => map2!(a, b, o, |x, y| x | y),
        Multiply | Minimum | Fmin | LogicalAnd | BitwiseAnd => map2!(a, b, o, |x, y| x & y),
        LogicalXor | BitwiseXor => map2!(a, b, o, |x, y| x ^ y),
        _ => return Err(Error::Internal(format!("{} has no bool loop", op.name()))),
    }
    Ok(())
}

fn compare<T: PartialOrd + Copy>(op: BinaryOp, a: &[T], b: &[T], o: &mut [bool]) -> Result<()> {
    use BinaryOp::*;
    match op {
        Equal => map2!(a, b, o, |x, y| x == y),
        NotEqual => map2!(a, b, o, |x, y| x != y),
        Less => map2!(a, b, o, |x, y| x < y),
        LessEqual => map2!(a, b, o, |x, y| x <= y),
        Greater => map2!(a, b, o, |x, y| x > y),
        GreaterEqual => map2!(a, b, o, |x, y| x >= y),
        _ => {
            return Err(Error::Internal(format!(
                "{} is not a comparison",
                op.name()
            )))
        }
    }
    Ok(())
}

fn mismatch(what: &str) -> Error {
    Error::Internal(format!("register dtypes do not match the {what} loop"))
}

/// `out[..n] = op(a[..n], b[..n])`; `a` and `b` have the loop's input dtype and `out`
/// its output dtype (see [`BinaryOp::signature`]).
pub fn binary(op: BinaryOp, a: TileRef, b: TileRef, out: &mut Tile, n: usize) -> Result<()> {
    use TileRef::*;
    if op.is_comparison() {
        let Tile::Bool(o) = out else {
            return Err(mismatch(op.name()));
        };
        let o = &mut o[..n];
        return match (a, b) {
            (Bool(a), Bool(b)) => compare(op, &a[..n], &b[..n], o),
            (I8(a), I8(b)) => compare(op, &a[..n], &b[..n], o),
            (I16(a), I16(b)) => compare(op, &a[..n], &b[..n], o),
            (I32(a), I32(b)) => compare(op, &a[..n], &b[..n], o),
            (I64(a), I64(b)) => compare(op, &a[..n], &b[..n], o),
            (U8(a), U8(b)) => compare(op, &a[..n], &b[..n], o),
            (U16(a), U16(b)) => compare(op, &a[..n], &b[..n], o),
            (U32(a), U32(b)) => compare(op, &a[..n], &b[..n], o),
            (U64(a), U64(b)) => compare(op, &a[..n], &b[..n], o),
            (F32(a), F32(b)) => compare(op, &a[..n], &b[..n], o),
            (F64(a), F64(b)) => compare(op, &a[..n], &b[..n], o),
            _ => Err(mismatch(op.name())),
        };
    }
    match (a, b, out) {
        (Bool(a), Bool(b), Tile::Bool(o)) => bool_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (I8(a), I8(b), Tile::I8(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (I16(a), I16(b), Tile::I16(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (I32(a), I32(b), Tile::I32(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (I64(a), I64(b), Tile::I64(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (U8(a), U8(b), Tile::U8(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (U16(a), U16(b), Tile::U16(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (U32(a), U32(b), Tile::U32(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (U64(a), U64(b), Tile::U64(o)) => int_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (F32(a), F32(b), Tile::F32(o)) => float_binary(op, &a[..n], &b[..n], &mut o[..n]),
        (F64(a), F64(b), Tile::F64(o)) => float_binary(op, &a[..n], &b[..n], &mut o[..n]),
        _ => Err(mismatch(op.name())),
    }
}

fn float_unary<T: FloatOps>(op: UnaryOp, a: &[T], o: &mut [T]) -> Result<()> {
    use UnaryOp::*;
    let zero = T::zero();
    match op {
        Negative => map1!(a, o, |x| -x),
        Positive => map1!(a, o, |x| x),
        Absolute => map1!(a, o, |x| x.abs()),
        Sqrt => map1!(a, o, |x| x.sqrt()),
        Exp => map1!(a, o, |x| x.exp()),
        Exp2 => map1!(a, o, |x| x.exp2()),
        Expm1 => map1!(a, o, |x| x.exp_m1()),
        Log => map1!(a, o, |x| x.ln()),
        Log1p => map1!(a, o, |x| x.ln_1p()),
        Log2 => map1!(a, o, |x| x.log2()),
        Log10 => map1!(a, o, |x| x.log10()),
        Sin => map1!(a, o, |x| x.sin()),
        Cos => map1!(a, o, |x| x.cos()),
        Tan => map1!(a, o, |x| x.tan()),
        Arcsin => map1!(a, o, |x| x.asin()),
        Arccos => map1!(a, o, |x| x.acos()),
        Arctan => map1!(a, o, |x| x.atan()),
        Sinh => map1!(a, o, |x| x.sinh()),
        Cosh => map1!(a, o, |x| x.cosh()),
        Tanh => map1!(a, o, |x| x.tanh()),
        // Beyond 2^28, asinh(x) = sign(x) (ln|x| + ln 2) and acosh(x) = ln x + ln 2 to
        // the last bit; the library forms square x and overflow near the largest float.
        Arcsinh => {
            let (big, ln2) = (T::from(268_435_456.0).unwrap(), T::from(LN_2).unwrap());
            map1!(a, o, |x| if x.abs() > big {
                (x.abs().ln() + ln2).copysign(x)
            } else {
                x.asinh()
            })
        }
        Arccosh => {
            let (big, ln2) = (T::from(268_435_456.0).unwrap(), T::from(LN_2).unwrap());
            map1!(a, o, |x| if x > big { x.ln() + ln2 } else { x.acosh() })
        }
        // Accurate near ±1, where 0.5 * ln1p(2x / (1 - x)) loses digits.
        Arctanh => map1!(a, o, |x| (x.ln_1p() - (-x).ln_1p()) * T::from(0.5).unwrap()),
        Floor => map1!(a, o, |x| x.floor()),
        Ceil => map1!(a, o, |x| x.ceil()),
        Trunc => map1!(a, o, |x| x.trunc()),
        Rint => map1!(a, o, |x| x.rint()),
        Sign => map1!(a, o, |x| if x.is_nan() {
            x
        } else if x > zero {
            T::one()
        } else if x < zero {
            -T::one()
        } else {
            zero
        }),
        Square => map1!(a, o, |x| x * x),
        Reciprocal => map1!(a, o, |x| T::one() / x),
        Deg2rad => map1!(a, o, |x| x.to_radians()),
        Rad2deg => map1!(a, o, |x| x.to_degrees()),
        Cbrt => map1!(a, o, |x| x.cbrt()),
        _ => return Err(Error::Internal(format!("{} has no float loop", op.name()))),
    }
    Ok(())
}

fn int_unary<T: IntOps>(op: UnaryOp, a: &[T], o: &mut [T]) -> Result<()> {
    use UnaryOp::*;
    match op {
        Negative => map1!(a, o, |x| x.neg()),
        Positive | Floor | Ceil | Trunc => map1!(a, o, |x| x),
        Absolute => map1!(a, o, |x| x.abs()),
        Sign => map1!(a, o, |x| x.sign()),
        Square => map1!(a, o, |x| x.mul(x)),
        Reciprocal => map1!(a, o, |x| x.reciprocal()),
        Invert => map1!(a, o, |x| x.not()),
        _ => {
            return Err(Error::Internal(format!(
                "{} has no integer loop",
                op.name()
            )))
        }
    }
    Ok(())
}

fn predicate<T: Num>(op: UnaryOp, a: &[T], o: &mut [bool]) -> Result<()> {
    use UnaryOp::*;
    match op {
        IsNan => map1!(a, o, |x| T::FLOAT && x.to_f64().is_nan()),
        IsInf => map1!(a, o, |x| T::FLOAT && x.to_f64().is_infinite()),
        IsFinite => map1!(a, o, |x| !T::FLOAT || x.to_f64().is_finite()),
        Signbit => map1!(a, o, |x| x.to_f64().is_sign_negative()),
        _ => return Err(Error::Internal(format!("{} is not a predicate", op.name()))),
    }
    Ok(())
}

/// `out[..n] = op(a[..n])` with the dtypes of [`UnaryOp::signature`].
pub fn unary(op: UnaryOp, a: TileRef, out: &mut Tile, n: usize) -> Result<()> {
    use TileRef::*;
    use UnaryOp::*;
    if matches!(op, IsNan | IsInf | IsFinite | Signbit) {
        let Tile::Bool(o) = out else {
            return Err(mismatch(op.name()));
        };
        let o = &mut o[..n];
        return crate::with_ref!(a, a => predicate(op, &a[..n], o));
    }
    match (a, out) {
        (Bool(a), Tile::Bool(o)) => {
            match op {
                Absolute | Floor | Ceil | Trunc => o[..n].copy_from_slice(&a[..n]),
                LogicalNot | Invert => map1!(a[..n], o[..n], |x| !x),
                _ => return Err(mismatch(op.name())),
            }
            Ok(())
        }
        (I8(a), Tile::I8(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (I16(a), Tile::I16(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (I32(a), Tile::I32(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (I64(a), Tile::I64(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (U8(a), Tile::U8(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (U16(a), Tile::U16(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (U32(a), Tile::U32(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (U64(a), Tile::U64(o)) => int_unary(op, &a[..n], &mut o[..n]),
        (F32(a), Tile::F32(o)) => float_unary(op, &a[..n], &mut o[..n]),
        (F64(a), Tile::F64(o)) => float_unary(op, &a[..n], &mut o[..n]),
        _ => Err(mismatch(op.name())),
    }
}

/// `out[..n] = where(cond, a, b)`.
pub fn select(cond: TileRef, a: TileRef, b: TileRef, out: &mut Tile, n: usize) -> Result<()> {
    let TileRef::Bool(c) = cond else {
        return Err(mismatch("where"));
    };
    macro_rules! sel {
        ($($v:ident),*) => {
            match (a, b, out) {
                $((TileRef::$v(a), TileRef::$v(b), Tile::$v(o)) => {
                    for (((o, &c), &x), &y) in o[..n].iter_mut().zip(&c[..n]).zip(&a[..n]).zip(&b[..n]) {
                        *o = if c { x } else { y };
                    }
                    Ok(())
                })*
                _ => Err(mismatch("where")),
            }
        };
    }
    sel!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

/// `out[..n] = a[..n] as out.dtype`.
pub fn cast(a: TileRef, out: &mut Tile, n: usize) {
    crate::with_ref!(a, a => crate::with_tile!(out, o => cast_slice(&a[..n], &mut o[..n])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_division_matches_numpy() {
        assert_eq!(7i32.floor_div(-2), -4);
        assert_eq!((-7i32).rem(2), 1);
        assert_eq!(7i32.rem(-2), -1);
        assert_eq!(5i32.floor_div(0), 0);
        assert_eq!(i8::MIN.floor_div(-1), i8::MIN);
        assert_eq!(IntOps::pow(2i64, -1), None);
        assert_eq!(IntOps::pow(-1i8, 1i8 << 6), Some(1));
        assert_eq!(IntOps::pow(-1i64, 1i64 << 32), Some(1));
        assert_eq!(IntOps::pow(3u8, 5), Some(243));
        assert_eq!(1u8.shl(9), 0);
        assert_eq!((-8i16).shr(20), -1);
    }

    #[test]
    fn float_divmod_matches_numpy() {
        assert_eq!(divmod(7.0f64, -2.0), (-4.0, -1.0));
        assert_eq!(divmod(-7.5f64, 2.0), (-4.0, 0.5));
        let (q, r) = divmod(1.0f64, 0.0);
        assert!(q.is_infinite() && r.is_nan());
    }

    #[test]
    fn maximum_propagates_nan_fmax_ignores_it() {
        let a = Tile::F64(vec![f64::NAN, 1.0]);
        let b = Tile::F64(vec![0.0, f64::NAN]);
        let mut o = Tile::F64(vec![0.0; 2]);
        binary(BinaryOp::Maximum, a.as_ref(2), b.as_ref(2), &mut o, 2).unwrap();
        let Tile::F64(v) = &o else { unreachable!() };
        assert!(v[0].is_nan() && v[1].is_nan());
        binary(BinaryOp::Fmax, a.as_ref(2), b.as_ref(2), &mut o, 2).unwrap();
        let Tile::F64(v) = &o else { unreachable!() };
        assert_eq!(v, &vec![0.0, 1.0]);
    }

    #[test]
    fn rint_rounds_half_to_even() {
        let a = Tile::F64(vec![0.5, 1.5, 2.5, -0.5]);
        let mut o = Tile::F64(vec![0.0; 4]);
        unary(UnaryOp::Rint, a.as_ref(4), &mut o, 4).unwrap();
        let Tile::F64(v) = &o else { unreachable!() };
        assert_eq!(v, &vec![0.0, 2.0, 2.0, -0.0]);
    }
}
