//! The foundation of brickwork: element types ([`DType`]), chunk grids ([`Chunks`]),
//! reference-counted chunk buffers ([`Buffer`]), scalars and the error type.
//!
//! Nothing here knows about graphs, threads or Python.

mod buffer;
mod chunks;
mod dtype;
mod error;
pub mod scalar;

pub use buffer::Buffer;
pub use chunks::{AxisChunks, ChunkSpec, Chunks, DEFAULT_CHUNK_BYTES};
pub use dtype::{DType, Element};
pub use error::{Error, Result};
pub use scalar::{Scalar, ScalarKind};

/// The shape of an array: one length per axis.
pub type Shape = Vec<usize>;

/// Normalise a possibly negative `axis` against `ndim`, as NumPy does.
pub fn normalize_axis(axis: i64, ndim: usize) -> Result<usize> {
    let n = ndim as i64;
    if axis < -n || axis >= n {
        return Err(Error::Axis { axis, ndim });
    }
    Ok(if axis < 0 {
        (axis + n) as usize
    } else {
        axis as usize
    })
}

/// A shape as Python prints a tuple: `(3, 4)`, `(5,)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Row-major (C order) element strides of `shape`.
pub fn c_strides(shape: &[usize]) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for (s, &n) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= n.max(1) as isize;
    }
    strides
}
