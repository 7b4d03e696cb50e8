//! Helpers for the rules' tests.

use crate::build::{from_buffer, getitem, Index};
use crate::expr::Expr;
use brickwork_core::{AxisChunks, Buffer, Chunks};

/// A float64 array of `shape` holding 0, 1, 2, … in C order, cut into chunks of
/// `chunk[a]` along axis `a`.
pub fn source(shape: &[usize], chunk: &[usize]) -> Expr {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let grid = Chunks(
        shape
            .iter()
            .zip(chunk)
            .map(|(&len, &c)| AxisChunks::regular(c, len))
            .collect(),
    );
    let strides = brickwork_core::c_strides(shape);
    from_buffer(Buffer::from_vec(data), shape, &strides, 0, grid).unwrap()
}

/// `x[..., start::step, ...]` on `axis`.
pub fn slice(x: &Expr, axis: usize, start: i64, step: i64) -> Expr {
    let index: Vec<Index> = (0..x.ndim())
        .map(|a| Index::Slice {
            start: (a == axis).then_some(start),
            stop: None,
            step: if a == axis { step } else { 1 },
        })
        .collect();
    getitem(x, &index).unwrap()
}

/// `x[start::step]` of a 1-d array.
pub fn view_of(x: &Expr, start: i64, step: i64) -> Expr {
    slice(x, 0, start, step)
}
