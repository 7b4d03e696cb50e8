//! Cumulative sums and products along an axis of a C-contiguous block.

use crate::{Tile, TileRef};
use brickwork_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// A scan operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScanOp {
    /// `cumsum` (integers wrap).
    Sum,
    /// `cumprod` (integers wrap).
    Prod,
}

impl ScanOp {
    /// NumPy's function name.
    pub fn name(self) -> &'static str {
        match self {
            ScanOp::Sum => "cumsum",
            ScanOp::Prod => "cumprod",
        }
    }
}

trait ScanNum: Copy {
    fn step(self, b: Self, op: ScanOp) -> Self;
}
macro_rules! scan_int {
    ($($t:ty),*) => {$(impl ScanNum for $t {
        #[inline(always)]
        fn step(self, b: Self, op: ScanOp) -> Self {
            match op { ScanOp::Sum => self.wrapping_add(b), ScanOp::Prod => self.wrapping_mul(b) }
        }
    })*};
}
scan_int!(i8, i16, i32, i64, u8, u16, u32, u64);
macro_rules! scan_float {
    ($($t:ty),*) => {$(impl ScanNum for $t {
        #[inline(always)]
        fn step(self, b: Self, op: ScanOp) -> Self {
            match op { ScanOp::Sum => self + b, ScanOp::Prod => self * b }
        }
    })*};
}
scan_float!(f32, f64);

fn scan_slice<T: ScanNum>(
    v: &mut [T],
    shape: &[usize],
    axis: usize,
    op: ScanOp,
    carry: Option<&[T]>,
) {
    let outer: usize = shape[..axis].iter().product();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    if n == 0 || inner == 0 {
        return;
    }
    for o in 0..outer {
        let base = o * n * inner;
        if let Some(c) = carry {
            let c = &c[o * inner..(o + 1) * inner];
            for (x, &p) in v[base..base + inner].iter_mut().zip(c) {
                *x = p.step(*x, op);
            }
        }
        for j in 1..n {
            let (prev, cur) = v[base + (j - 1) * inner..base + (j + 1) * inner].split_at_mut(inner);
            for (x, &p) in cur.iter_mut().zip(prev.iter()) {
                *x = p.step(*x, op);
            }
        }
    }
}

/// Scan `block` (C order, `shape`) along `axis` in place, starting from `carry` (the
/// last slice of the previous block along `axis`: `shape` with that axis of length 1).
pub fn scan(
    block: &mut Tile,
    shape: &[usize],
    axis: usize,
    op: ScanOp,
    carry: Option<TileRef>,
) -> Result<()> {
    macro_rules! arms {
        ($($v:ident),*) => {
            match block {
                $(Tile::$v(v) => {
                    let c = match carry {
                        None => None,
                        Some(TileRef::$v(c)) => Some(c),
                        Some(_) => return Err(Error::Internal("scan carry of another dtype".into())),
                    };
                    scan_slice(v, shape, axis, op, c);
                    Ok(())
                })*
                Tile::Bool(_) => Err(Error::Type(format!("{} of bool: cast to an integer first", op.name()))),
            }
        };
    }
    arms!(I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cumsum_along_each_axis_with_a_carry() {
        // [[1, 2, 3], [4, 5, 6]]
        let mut t = Tile::I64(vec![1, 2, 3, 4, 5, 6]);
        scan(
            &mut t,
            &[2, 3],
            0,
            ScanOp::Sum,
            Some(TileRef::I64(&[10, 20, 30])),
        )
        .unwrap();
        let Tile::I64(v) = &t else { unreachable!() };
        assert_eq!(v, &vec![11, 22, 33, 15, 27, 39]);
        let mut t = Tile::F64(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        scan(&mut t, &[2, 3], 1, ScanOp::Prod, None).unwrap();
        let Tile::F64(v) = &t else { unreachable!() };
        assert_eq!(v, &vec![1.0, 2.0, 6.0, 4.0, 20.0, 120.0]);
    }
}
