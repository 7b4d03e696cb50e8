//! A gather along one axis whose coordinates are one arithmetic progression
//! `start, start + step, …` is a strided view: `x.take(range(2, 10, 3))` is `x[2:10:3]`.
//!
//! The gather would copy every element into an intermediate array in a stage of its
//! own; the view is read in place by whatever fused program reads the node. The check
//! walks the coordinates' runs (O(runs), never the coordinates themselves), so a gather
//! of 10^8 coordinates stored as a few runs costs a few comparisons. A step of 0 (one
//! coordinate repeated) is a view too: the same input element for every output
//! position, as a broadcast. An empty gather is left alone.

use super::Rule;
use crate::expr::Op;
use crate::indices::Indices;
use crate::optimize::ir::{Ir, NodeId};
use crate::view::View;

/// Turn a gather of evenly spaced coordinates into a view.
pub struct TakeAsView;

/// `(start, step)` when `indices` are `start + k * step` for `k` in `0..len`.
fn progression(indices: &Indices) -> Option<(i64, i64)> {
    let runs = indices.runs();
    let first = runs.first()?;
    let step = if first.len > 1 {
        first.step as i64
    } else {
        runs.get(1)
            .map_or(1, |r| r.start as i64 - first.start as i64)
    };
    let start = first.start as i64;
    let mut at = 0i64;
    for r in runs {
        if r.start as i64 != start + at * step || (r.len > 1 && r.step as i64 != step) {
            return None;
        }
        at += r.len as i64;
    }
    Some((start, step))
}

impl Rule for TakeAsView {
    fn name(&self) -> &'static str {
        "take-as-view"
    }

    fn rewrite(&self, ir: &mut Ir, node: NodeId) -> Option<NodeId> {
        let n = ir.node(node);
        let Op::Take { axis, indices } = &n.op else {
            return None;
        };
        let (start, step) = progression(indices)?;
        let mut view = View::identity(n.ndim());
        view.coords[*axis].start = start;
        view.coords[*axis].step = step;
        let (dtype, chunks, input) = (n.dtype, n.chunks.clone(), n.inputs[0]);
        Some(ir.add(Op::View(view), dtype, chunks, vec![input]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indices::Run;
    use crate::optimize::rules::optimize;
    use crate::optimize::rules::testing::source;
    use crate::view::AxisCoord;

    fn runs(list: &[(usize, isize, usize)]) -> Indices {
        Indices::from_runs(
            list.iter()
                .map(|&(start, step, len)| Run { start, step, len }),
        )
    }

    #[test]
    fn progressions_are_found_from_the_runs() {
        assert_eq!(progression(&runs(&[(2, 3, 4)])), Some((2, 3)));
        assert_eq!(progression(&runs(&[(9, -1, 10)])), Some((9, -1)));
        // Two runs that continue each other, and single coordinates that do.
        assert_eq!(progression(&runs(&[(0, 1, 4), (4, 1, 4)])), Some((0, 1)));
        assert_eq!(
            progression(&runs(&[(5, 1, 1), (7, 1, 1), (9, 2, 3)])),
            Some((5, 2))
        );
        assert_eq!(progression(&runs(&[(4, 1, 1)])), Some((4, 1)));
        assert_eq!(progression(&runs(&[(3, 0, 5)])), Some((3, 0)));
        // A halo (a repeated edge), a jump, an empty gather.
        assert_eq!(progression(&runs(&[(0, 0, 2), (1, 1, 3)])), None);
        assert_eq!(progression(&runs(&[(0, 1, 4), (5, 1, 4)])), None);
        assert_eq!(progression(&runs(&[])), None);
    }

    #[test]
    fn a_huge_gather_of_one_range_is_checked_in_o_runs() {
        let n = 100_000_000;
        assert_eq!(
            progression(&runs(&[(0, 1, n / 2), (n / 2, 1, n / 2)])),
            Some((0, 1))
        );
    }

    #[test]
    fn an_evenly_spaced_take_becomes_a_view_with_the_same_chunks() {
        // x.take([1, 3, 5, 7], axis=1) is x[:, 1:8:2].
        let x = source(&[4, 10], &[2, 4]);
        let t = crate::build::take(&x, &[1, 3, 5, 7], 1).unwrap();
        let (out, report) = optimize(std::slice::from_ref(&t), &[Box::new(TakeAsView)]);
        assert_eq!(report.count("take-as-view"), 1);
        let ir = Ir::from_exprs(&out);
        let root = ir.node(ir.roots[0]);
        let Op::View(v) = &root.op else {
            panic!("a view")
        };
        assert_eq!(
            v.coords[1],
            AxisCoord {
                from: Some(1),
                start: 1,
                step: 2
            }
        );
        assert_eq!(v.coords[0], View::identity(2).coords[0]);
        assert_eq!(&root.chunks, t.chunks());
        // No gather stage is planned: one map stage reads x in place.
        let g = crate::optimize::task_graph(&[t]).unwrap();
        assert_eq!(g.stages.len(), 1);
        assert!(matches!(g.stages[0].kind, crate::StageKind::Map(_)));
    }

    #[test]
    fn a_scattered_take_stays_a_gather() {
        let x = source(&[10], &[4]);
        let t = crate::build::take(&x, &[3, 1, 4, 1, 5], 0).unwrap();
        let (out, report) = optimize(&[t], &[Box::new(TakeAsView)]);
        assert_eq!(report.count("take-as-view"), 0);
        assert!(matches!(out[0].node().op, Op::Take { .. }));
    }
}
