//! The elementwise operations and NumPy's type resolution for each.

use brickwork_core::{DType, Error, Result};
use serde::{Deserialize, Serialize};

macro_rules! named_ops {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* $v),* }

        impl $name {
            /// Every operation of this family.
            pub const ALL: &'static [$name] = &[$($name::$v),*];

            /// NumPy's ufunc name.
            pub fn name(self) -> &'static str {
                match self { $($name::$v => $s),* }
            }

            /// The operation named `name` (a NumPy ufunc name).
            pub fn from_name(name: &str) -> Result<$name> {
                match name {
                    $($s => Ok($name::$v),)*
                    _ => Err(Error::Value(format!(
                        "unknown {} operation {name:?}", stringify!($name)))),
                }
            }
        }
    };
}

named_ops!(
    /// A one-operand elementwise operation (a NumPy ufunc).
    UnaryOp {
        /// `-x`
        Negative = "negative",
        /// `+x`
        Positive = "positive",
        /// `abs(x)`
        Absolute = "absolute",
        /// square root
        Sqrt = "sqrt",
        /// e**x
        Exp = "exp",
        /// 2**x
        Exp2 = "exp2",
        /// e**x - 1
        Expm1 = "expm1",
        /// natural log
        Log = "log",
        /// log(1 + x)
        Log1p = "log1p",
        /// base-2 log
        Log2 = "log2",
        /// base-10 log
        Log10 = "log10",
        /// sine
        Sin = "sin",
        /// cosine
        Cos = "cos",
        /// tangent
        Tan = "tan",
        /// inverse sine
        Arcsin = "arcsin",
        /// inverse cosine
        Arccos = "arccos",
        /// inverse tangent
        Arctan = "arctan",
        /// hyperbolic sine
        Sinh = "sinh",
        /// hyperbolic cosine
        Cosh = "cosh",
        /// hyperbolic tangent
        Tanh = "tanh",
        /// inverse hyperbolic sine
        Arcsinh = "arcsinh",
        /// inverse hyperbolic cosine
        Arccosh = "arccosh",
        /// inverse hyperbolic tangent
        Arctanh = "arctanh",
        /// round down
        Floor = "floor",
        /// round up
        Ceil = "ceil",
        /// round toward zero
        Trunc = "trunc",
        /// round half to even
        Rint = "rint",
        /// -1, 0 or 1 (NaN for NaN)
        Sign = "sign",
        /// x*x
        Square = "square",
        /// 1/x
        Reciprocal = "reciprocal",
        /// x is NaN
        IsNan = "isnan",
        /// x is ±inf
        IsInf = "isinf",
        /// x is neither NaN nor ±inf
        IsFinite = "isfinite",
        /// the sign bit is set
        Signbit = "signbit",
        /// not x (as bool)
        LogicalNot = "logical_not",
        /// bitwise not (logical not for bool)
        Invert = "invert",
        /// degrees to radians
        Deg2rad = "deg2rad",
        /// radians to degrees
        Rad2deg = "rad2deg",
        /// cube root
        Cbrt = "cbrt",
    }
);

named_ops!(
    /// A two-operand elementwise operation (a NumPy ufunc).
    BinaryOp {
        /// `a + b`
        Add = "add",
        /// `a - b`
        Subtract = "subtract",
        /// `a * b`
        Multiply = "multiply",
        /// `a / b`
        TrueDivide = "true_divide",
        /// `a // b`
        FloorDivide = "floor_divide",
        /// `a % b` (sign of b)
        Remainder = "remainder",
        /// `a ** b`
        Power = "power",
        /// larger, NaN-propagating
        Maximum = "maximum",
        /// smaller, NaN-propagating
        Minimum = "minimum",
        /// larger, NaN-ignoring
        Fmax = "fmax",
        /// smaller, NaN-ignoring
        Fmin = "fmin",
        /// atan(a / b) by quadrant
        Arctan2 = "arctan2",
        /// sqrt(a*a + b*b)
        Hypot = "hypot",
        /// |a| with the sign of b
        Copysign = "copysign",
        /// `a == b`
        Equal = "equal",
        /// `a != b`
        NotEqual = "not_equal",
        /// `a < b`
        Less = "less",
        /// `a <= b`
        LessEqual = "less_equal",
        /// `a > b`
        Greater = "greater",
        /// `a >= b`
        GreaterEqual = "greater_equal",
        /// both true
        LogicalAnd = "logical_and",
        /// either true
        LogicalOr = "logical_or",
        /// exactly one true
        LogicalXor = "logical_xor",
        /// `a & b`
        BitwiseAnd = "bitwise_and",
        /// `a | b`
        BitwiseOr = "bitwise_or",
        /// `a ^ b`
        BitwiseXor = "bitwise_xor",
        /// `a << b`
        LeftShift = "left_shift",
        /// `a >> b`
        RightShift = "right_shift",
    }
);

fn no_loop(op: &str, d: DType) -> Error {
    Error::Type(format!(
        "ufunc '{op}' not supported for the input dtype {d}: the operation has no {d} loop"
    ))
}

impl UnaryOp {
    /// NumPy's loop for input dtype `d`: (the dtype the input is cast to, the output
    /// dtype). Float functions of bool/int8/uint8/int16/uint16 compute in float32 (NumPy
    /// uses float16 for bool/int8/uint8, which brickwork does not have).
    pub fn signature(self, d: DType) -> Result<(DType, DType)> {
        use UnaryOp::*;
        let same = Ok((d, d));
        match self {
            Negative | Positive | Sign if d == DType::Bool => Err(no_loop(self.name(), d)),
            Negative | Positive | Absolute | Sign => same,
            Floor | Ceil | Trunc if !d.is_float() => same,
            Square | Reciprocal if d == DType::Bool => Ok((DType::I8, DType::I8)),
            Square | Reciprocal => same,
            IsNan | IsInf | IsFinite | Signbit => Ok((d, DType::Bool)),
            LogicalNot => Ok((DType::Bool, DType::Bool)),
            Invert if d.is_float() => Err(no_loop(self.name(), d)),
            Invert => same,
            _ => {
                let f = d.float_compute();
                Ok((f, f))
            }
        }
    }
}

impl BinaryOp {
    /// True for the operations whose output is bool whatever the input.
    pub fn is_comparison(self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual
        )
    }

    /// NumPy's loop for operands already promoted to the common dtype `d`: (the dtype
    /// both operands are cast to, the output dtype).
    pub fn signature(self, d: DType) -> Result<(DType, DType)> {
        use BinaryOp::*;
        let same = Ok((d, d));
        match self {
            Add | Multiply | Maximum | Minimum | Fmax | Fmin => same,
            Subtract if d == DType::Bool => Err(Error::Type(
                "numpy boolean subtract, the `-` operator, is not supported, use the \
                 bitwise_xor, the `^` operator, or the logical_xor function instead"
                    .into(),
            )),
            Subtract => same,
            TrueDivide => Ok((d.divide_result(), d.divide_result())),
            FloorDivide | Remainder | Power | LeftShift | RightShift if d == DType::Bool => {
                Ok((DType::I8, DType::I8))
            }
            FloorDivide | Remainder | Power => same,
            Arctan2 | Hypot | Copysign => Ok((d.float_compute(), d.float_compute())),
            Equal | NotEqual | Less | LessEqual | Greater | GreaterEqual => Ok((d, DType::Bool)),
            LogicalAnd | LogicalOr | LogicalXor => Ok((DType::Bool, DType::Bool)),
            BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift if d.is_float() => {
                Err(no_loop(self.name(), d))
            }
            BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift => same,
        }
    }
}
