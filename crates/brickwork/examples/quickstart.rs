//! The quick start in Rust: the mean over axis 0 of a 10000 x 10000 array in chunks of
//! 1000 x 1000, beside ndarray's own mean.
//!
//! Run with `cargo run --release -p brickwork --example quickstart`.

use brickwork::Array;
use ndarray::{Array2, Axis};
use std::time::Instant;

fn main() -> brickwork::Result<()> {
    let n = 10_000;
    let x = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 13) % 1000) as f64 / 1000.0)
        .into_dyn();

    let t = Instant::now();
    let expected = x.mean_axis(Axis(0)).expect("non-empty");
    let reference = t.elapsed();

    let data = Array::from_ndarray(x, &[1000, 1000])?;
    let t = Instant::now();
    let result = data.mean(Some(&[0]))?.compute::<f64>()?;
    let ours = t.elapsed();

    let max_err = (&result - &expected)
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    println!("brickwork: {ours:?}  ndarray: {reference:?}  max |difference|: {max_err:e}");
    assert!(max_err < 1e-9);
    Ok(())
}
