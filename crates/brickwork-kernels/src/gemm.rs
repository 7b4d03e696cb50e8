//! Block matrix products through a BLAS-class GEMM (the matrixmultiply crate: packed,
//! cache-blocked, SIMD kernels chosen at run time).

use crate::program::InputView;
use crate::{Input, Tile};
use brickwork_core::{DType, Error, Result};

fn operand<T>(v: &InputView, itemsize: usize) -> Result<(*const T, isize, isize)> {
    let Input::Buffer(buf) = &v.input else {
        return Err(Error::Internal(
            "a matrix product operand is not in memory".into(),
        ));
    };
    let ptr = buf.as_ptr().wrapping_offset(v.base * itemsize as isize) as *const T;
    Ok((ptr, v.strides[0], v.strides[1]))
}

/// `a @ b` for an `m x k` block and a `k x n` block read through strided views (their
/// bounds already checked), as a C-ordered float64 tile of `m x n`.
pub fn matmul(
    a: &InputView,
    b: &InputView,
    m: usize,
    k: usize,
    n: usize,
    dtype: DType,
) -> Result<Tile> {
    let mut c = vec![0.0f64; m * n];
    if m == 0 || n == 0 || k == 0 {
        return Ok(Tile::F64(c));
    }
    match dtype {
        DType::F64 => {
            let (pa, rsa, csa) = operand::<f64>(a, 8)?;
            let (pb, rsb, csb) = operand::<f64>(b, 8)?;
            // SAFETY: the views were bounds-checked for m x k and k x n by the caller,
            // the buffers outlive the call, and `c` holds m x n elements.
            unsafe {
                matrixmultiply::dgemm(
                    m,
                    k,
                    n,
                    1.0,
                    pa,
                    rsa,
                    csa,
                    pb,
                    rsb,
                    csb,
                    0.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
        }
        DType::F32 => {
            let (pa, rsa, csa) = operand::<f32>(a, 4)?;
            let (pb, rsb, csb) = operand::<f32>(b, 4)?;
            let mut c32 = vec![0.0f32; m * n];
            // SAFETY: as above, for float32.
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    pa,
                    rsa,
                    csa,
                    pb,
                    rsb,
                    csb,
                    0.0,
                    c32.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
            for (o, &v) in c.iter_mut().zip(&c32) {
                *o = v as f64;
            }
        }
        d => {
            return Err(Error::Type(format!(
                "matrix products of {d} are not supported yet (float32 and float64 are)"
            )))
        }
    }
    Ok(Tile::F64(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brickwork_core::Buffer;

    #[test]
    fn a_transposed_operand_is_read_in_place() {
        // a = [[1, 2], [3, 4]] stored transposed (column-major); b = identity.
        let a = InputView {
            input: Input::Buffer(Buffer::from_vec(vec![1.0f64, 3.0, 2.0, 4.0])),
            base: 0,
            strides: vec![1, 2],
        };
        let b = InputView {
            input: Input::Buffer(Buffer::from_vec(vec![1.0f64, 0.0, 0.0, 1.0])),
            base: 0,
            strides: vec![2, 1],
        };
        let Tile::F64(c) = matmul(&a, &b, 2, 2, 2, DType::F64).unwrap() else {
            unreachable!()
        };
        assert_eq!(c, vec![1.0, 2.0, 3.0, 4.0]);
    }
}
