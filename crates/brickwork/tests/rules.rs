//! The optimizer's rewrite rules keep every value: random small expressions — slices,
//! transposes, new axes, integer indices, rechunks, gathers (scattered and evenly
//! spaced), elementwise operations with broadcasting, sums — are computed with all the
//! rules and with none, and both are compared element by element with the same
//! expression evaluated by `ndarray` (NumPy's semantics, written out independently).
//! Values are small integers in float64, so every sum is exact.

use brickwork::layers::graph::{self as graph, optimize, Expr, Index, Operand};
use brickwork::{AxisChunks, BinaryOp, Chunks, Executor, LocalExecutor, Reducer, UnaryOp};
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;

/// A small deterministic generator (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chunks(&mut self, shape: &[usize]) -> Chunks {
        Chunks(
            shape
                .iter()
                .map(|&n| AxisChunks::regular(1 + self.below(n.max(1)), n))
                .collect(),
        )
    }
}

/// An expression and its value.
#[derive(Clone)]
struct Pair {
    expr: Expr,
    value: ArrayD<f64>,
}

fn leaf(rng: &mut Rng, shape: &[usize]) -> Pair {
    let n: usize = shape.iter().product();
    let data: Vec<f64> = (0..n).map(|_| rng.below(10) as f64).collect();
    let value = ArrayD::from_shape_vec(IxDyn(shape), data.clone()).unwrap();
    let strides = brickwork::layers::core::c_strides(shape);
    let chunks = rng.chunks(shape);
    let expr = graph::from_buffer(
        brickwork::Buffer::from_vec(data),
        shape,
        &strides,
        0,
        chunks,
    )
    .unwrap();
    Pair { expr, value }
}

/// Python's `range(start, stop, step)` over an axis of `n`, with `stop` None meaning
/// "to the end" (0 included for negative steps).
fn python_slice(start: usize, stop: Option<usize>, step: i64, n: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = start as i64;
    let stop = stop.map(|s| s as i64);
    while (0..n as i64).contains(&i) && stop.is_none_or(|s| if step > 0 { i < s } else { i > s }) {
        out.push(i as usize);
        i += step;
    }
    out
}

/// One random operation on `x` (or `x` unchanged when none fits).
fn step(rng: &mut Rng, x: Pair) -> Pair {
    let shape = x.value.shape().to_vec();
    let ndim = shape.len();
    let nonempty = shape.iter().all(|&n| n > 0);
    match rng.below(14) {
        // A slice on one axis.
        0 | 1 if ndim > 0 && nonempty => {
            let axis = rng.below(ndim);
            let n = shape[axis];
            let s = [-3, -2, -1, 1, 2, 3][rng.below(6)];
            let start = rng.below(n);
            let stop = (rng.below(3) > 0).then(|| rng.below(n + 1));
            let index: Vec<Index> = (0..ndim)
                .map(|a| Index::Slice {
                    start: (a == axis).then_some(start as i64),
                    stop: if a == axis {
                        stop.map(|v| v as i64)
                    } else {
                        None
                    },
                    step: if a == axis { s } else { 1 },
                })
                .collect();
            let expr = graph::getitem(&x.expr, &index).unwrap();
            let value = x.value.select(Axis(axis), &python_slice(start, stop, s, n));
            Pair { expr, value }
        }
        // An integer index (keeps at least one axis) or a new axis.
        2 if ndim > 1 && nonempty => {
            let axis = rng.below(ndim);
            let i = rng.below(shape[axis]);
            let index: Vec<Index> = (0..ndim)
                .map(|a| match a == axis {
                    true => Index::Int(i as i64),
                    false => Index::Slice {
                        start: None,
                        stop: None,
                        step: 1,
                    },
                })
                .collect();
            let expr = graph::getitem(&x.expr, &index).unwrap();
            let value = x.value.index_axis(Axis(axis), i).to_owned();
            Pair { expr, value }
        }
        2 if ndim < 3 => {
            let mut index = vec![
                Index::Slice {
                    start: None,
                    stop: None,
                    step: 1,
                };
                ndim
            ];
            let at = rng.below(ndim + 1);
            index.insert(at, Index::NewAxis);
            let expr = graph::getitem(&x.expr, &index).unwrap();
            let value = x.value.insert_axis(Axis(at));
            Pair { expr, value }
        }
        3 if ndim > 1 => Pair {
            expr: graph::transpose(&x.expr, None).unwrap(),
            value: x.value.reversed_axes(),
        },
        4 => Pair {
            expr: graph::rechunk(&x.expr, rng.chunks(&shape)).unwrap(),
            value: x.value,
        },
        // A gather: scattered coordinates (negative ones too), or evenly spaced ones
        // given as runs that continue each other.
        5 | 6 if ndim > 0 && nonempty => {
            let axis = rng.below(ndim);
            let n = shape[axis];
            let scattered = rng.below(2) == 0;
            let positions: Vec<usize> = if scattered {
                (0..rng.below(6)).map(|_| rng.below(n)).collect()
            } else {
                let step = [-2i64, -1, 0, 1, 2][rng.below(5)];
                let start = rng.below(n) as i64;
                let fits = |len: i64| (0..n as i64).contains(&(start + (len - 1) * step));
                let mut len = 1 + rng.below(n) as i64;
                while !fits(len) {
                    len -= 1;
                }
                (0..len).map(|k| (start + k * step) as usize).collect()
            };
            let expr = if scattered || rng.below(2) == 0 || positions.len() < 2 {
                let signed: Vec<i64> = positions
                    .iter()
                    .map(|&p| {
                        if rng.below(2) == 0 {
                            p as i64
                        } else {
                            p as i64 - n as i64
                        }
                    })
                    .collect();
                graph::take(&x.expr, &signed, axis as i64).unwrap()
            } else {
                // The same progression split into two runs.
                let half = positions.len() / 2;
                let step = positions[1] as isize - positions[0] as isize;
                let runs = [
                    (positions[0], step, half),
                    (positions[half], step, positions.len() - half),
                ];
                graph::take_runs(&x.expr, &runs, axis as i64, None).unwrap()
            };
            Pair {
                expr,
                value: x.value.select(Axis(axis), &positions),
            }
        }
        7 => Pair {
            expr: graph::binary(
                BinaryOp::Multiply,
                &Operand::Array(x.expr.clone()),
                &Operand::Scalar(brickwork::ScalarKind::Int(2)),
            )
            .unwrap(),
            value: x.value.mapv(|v| v * 2.0),
        },
        8 => Pair {
            expr: graph::unary(UnaryOp::Negative, &x.expr).unwrap(),
            value: x.value.mapv(|v| -v),
        },
        // x plus itself, or plus a new array of its shape (other chunks) or of its last
        // axis only (broadcast).
        9 => {
            let other = match rng.below(3) {
                0 => x.clone(),
                1 => leaf(rng, &shape),
                _ => leaf(rng, &shape[ndim.saturating_sub(1)..]),
            };
            let expr = graph::binary(
                BinaryOp::Add,
                &Operand::Array(x.expr.clone()),
                &Operand::Array(other.expr),
            )
            .unwrap();
            Pair {
                expr,
                value: &x.value + &other.value,
            }
        }
        10 if ndim > 0 => {
            let axis = rng.below(ndim);
            let expr = graph::reduce(
                &x.expr,
                Reducer::Sum,
                Some(&[axis as i64]),
                false,
                None,
                Some(2),
            )
            .unwrap();
            Pair {
                expr,
                value: x.value.sum_axis(Axis(axis)),
            }
        }
        // Nodes whose input is materialized or read per block: a concatenation with
        // itself or a new array, a running sum, a flattening reshape.
        11 if ndim > 0 => {
            let axis = rng.below(ndim);
            let other = if rng.below(2) == 0 {
                x.clone()
            } else {
                leaf(rng, &shape)
            };
            let expr = graph::concatenate(&[x.expr.clone(), other.expr], axis as i64).unwrap();
            let value =
                ndarray::concatenate(Axis(axis), &[x.value.view(), other.value.view()]).unwrap();
            Pair { expr, value }
        }
        12 if ndim > 0 => {
            let axis = rng.below(ndim);
            let expr = graph::cumulative(
                &x.expr,
                brickwork::layers::kernels::scan::ScanOp::Sum,
                Some(axis as i64),
                None,
            )
            .unwrap();
            let mut value = x.value;
            value.accumulate_axis_inplace(Axis(axis), |&prev, cur| *cur += prev);
            Pair { expr, value }
        }
        13 => {
            let value =
                ArrayD::from_shape_vec(IxDyn(&[x.value.len()]), x.value.iter().copied().collect())
                    .unwrap();
            Pair {
                expr: graph::reshape(&x.expr, &[-1]).unwrap(),
                value,
            }
        }
        _ => x,
    }
}

fn compute(g: &graph::TaskGraph) -> Vec<f64> {
    let exec = LocalExecutor {
        num_threads: 2,
        ..LocalExecutor::default()
    };
    let out = exec.execute(g, &mut |_| false).unwrap();
    match &out[0].data {
        brickwork::layers::kernels::Tile::F64(v) => v.clone(),
        _ => panic!("a float64 result"),
    }
}

/// The expression `seed` and `nops` draw.
fn random_pair(seed: u64, nops: usize) -> Pair {
    let mut rng = Rng(seed);
    let ndim = 1 + rng.below(3);
    let shape: Vec<usize> = (0..ndim).map(|_| 1 + rng.below(6)).collect();
    let mut x = leaf(&mut rng, &shape);
    for _ in 0..nops {
        x = step(&mut rng, x);
    }
    x
}

#[test]
fn the_random_expressions_exercise_every_rule() {
    let mut fired = std::collections::HashMap::new();
    for seed in 0..300 {
        let x = random_pair(seed, 6);
        for (name, count) in optimize::rewrite(std::slice::from_ref(&x.expr)).1.fired {
            *fired.entry(name).or_insert(0) += count;
        }
    }
    // Duplicates are rare here (a scalar constant met twice, say): at least a few.
    let at_least = [
        ("cse", 5),
        ("views", 100),
        ("take-as-view", 50),
        ("cull", 100),
    ];
    for (name, n) in at_least {
        assert!(
            fired.get(name).copied().unwrap_or(0) >= n,
            "{name}: {fired:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rewritten_expressions_compute_numpys_values(seed in any::<u64>(), nops in 1usize..8) {
        let x = random_pair(seed, nops);
        let want: Vec<f64> = x.value.iter().copied().collect();
        prop_assert_eq!(x.expr.shape(), x.value.shape().to_vec());
        let plain = optimize::task_graph_with(std::slice::from_ref(&x.expr), &[]).unwrap();
        prop_assert_eq!(&compute(&plain), &want, "without rules");
        let rewritten = optimize::task_graph(std::slice::from_ref(&x.expr)).unwrap();
        prop_assert_eq!(&compute(&rewritten), &want, "with rules: {}", optimize::rewrite(std::slice::from_ref(&x.expr)).1);
    }
}

#[test]
fn a_gather_of_a_range_runs_no_gather_stage() {
    // x.take(range(100, 0, -1)) is x[100:0:-1]: one map stage, the same values.
    let data: Vec<f64> = (0..1000).map(|i| i as f64).collect();
    let x = graph::from_buffer(
        brickwork::Buffer::from_vec(data),
        &[1000],
        &[1],
        0,
        Chunks(vec![AxisChunks::regular(64, 1000)]),
    )
    .unwrap();
    let t = graph::take_runs(&x, &[(100, -1, 100)], 0, None).unwrap();
    let plain = optimize::task_graph_with(std::slice::from_ref(&t), &[]).unwrap();
    let rewritten = optimize::task_graph(std::slice::from_ref(&t)).unwrap();
    assert!(matches!(plain.stages[0].kind, graph::StageKind::Gather(_)));
    assert_eq!(rewritten.stages.len(), 1);
    assert!(matches!(rewritten.stages[0].kind, graph::StageKind::Map(_)));
    let want: Vec<f64> = (1..=100).rev().map(|i| i as f64).collect();
    assert_eq!(compute(&rewritten), want);
    assert_eq!(compute(&plain), want);
}
