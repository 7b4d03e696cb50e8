//! Scratch timing loop (not committed).
use brickwork::Array;
use ndarray::{Array2, Axis};
use std::time::Instant;
fn main() {
    let n = 10_000;
    let x = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 13) % 1000) as f64).into_dyn();
    let data = Array::from_ndarray(x.clone(), &[1000, 1000]).unwrap();
    let mut best = f64::MAX;
    let mut bestnd = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        let _ = data.mean(Some(&[0])).unwrap().compute::<f64>().unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let _ = x.sum_axis(Axis(0));
        bestnd = bestnd.min(t.elapsed().as_secs_f64());
    }
    println!(
        "bw {:.1} ms  ndarray sum_axis {:.1} ms",
        best * 1e3,
        bestnd * 1e3
    );
}
