//! Views: a view of a view is one view, and an identity view that keeps its input's
//! chunks is its input.
//!
//! A view maps output coordinates to input coordinates axis by axis (`View::then`
//! composes two, as fusion does when it walks a program down to its leaves). A rechunk
//! is an identity view with new chunks, so `x.rechunk(a).rechunk(b)` becomes one
//! rechunk of `x` to `b` (and nothing at all when `b` is `x`'s chunks). The rewritten
//! node keeps the outer view's chunks, which are what its readers see.

use super::Rule;
use crate::expr::Op;
use crate::optimize::ir::{Ir, NodeId};

/// Compose nested views; drop identity views.
pub struct Views;

impl Rule for Views {
    fn name(&self) -> &'static str {
        "views"
    }

    fn rewrite(&self, ir: &mut Ir, node: NodeId) -> Option<NodeId> {
        let n = ir.node(node);
        let Op::View(outer) = &n.op else {
            return None;
        };
        let input = ir.node(n.inputs[0]);
        if let Op::View(inner) = &input.op {
            let view = outer.then(inner);
            let (dtype, chunks, below) = (n.dtype, n.chunks.clone(), input.inputs[0]);
            return Some(ir.add(Op::View(view), dtype, chunks, vec![below]));
        }
        (outer.is_identity() && n.chunks == input.chunks).then_some(n.inputs[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::rules::testing::{slice, source, view_of};
    use crate::optimize::rules::{optimize, Report};
    use crate::view::AxisCoord;
    use brickwork_core::{AxisChunks, Chunks};

    fn run(e: &crate::Expr) -> (Ir, Report) {
        let (out, report) = optimize(std::slice::from_ref(e), &[Box::new(Views)]);
        (Ir::from_exprs(&out), report)
    }

    #[test]
    fn a_slice_of_a_slice_is_one_slice() {
        // x[2::3][1::2] is x[5::6], as NumPy.
        let x = source(&[40], &[7]);
        let y = view_of(&view_of(&x, 2, 3), 1, 2);
        let (ir, report) = run(&y);
        assert_eq!(report.count("views"), 1);
        assert_eq!(ir.len(), 2);
        let root = ir.node(ir.roots[0]);
        let Op::View(v) = &root.op else {
            panic!("a view")
        };
        assert_eq!(
            v.coords,
            vec![AxisCoord {
                from: Some(0),
                start: 5,
                step: 6
            }]
        );
        assert_eq!(&root.chunks, y.chunks(), "the outer view's chunks stay");
        assert!(matches!(ir.node(root.inputs[0]).op, Op::Source(_)));
    }

    #[test]
    fn a_transpose_of_a_transpose_disappears() {
        let x = source(&[4, 6], &[2, 3]);
        let t = crate::build::transpose(&x, None).unwrap();
        let tt = crate::build::transpose(&t, None).unwrap();
        let (ir, report) = run(&tt);
        assert_eq!(report.count("views"), 2, "compose, then drop the identity");
        assert_eq!(ir.len(), 1);
        assert!(matches!(ir.node(ir.roots[0]).op, Op::Source(_)));
    }

    #[test]
    fn a_rechunk_of_a_rechunk_keeps_only_the_last() {
        let x = source(&[12, 12], &[4, 4]);
        let grid = |c: usize| Chunks(vec![AxisChunks::regular(c, 12); 2]);
        let a = crate::build::rechunk(&x, grid(3)).unwrap();
        let b = crate::build::rechunk(&a, grid(6)).unwrap();
        let (ir, _) = run(&b);
        assert_eq!(ir.len(), 2);
        let root = ir.node(ir.roots[0]);
        assert_eq!(root.chunks, grid(6));
        assert!(matches!(&root.op, Op::View(v) if v.is_identity()));
        // Back to the original chunks: nothing is left but x.
        let c = crate::build::rechunk(&a, grid(4)).unwrap();
        let (ir, _) = run(&c);
        assert_eq!(ir.len(), 1);
    }

    #[test]
    fn a_view_that_changes_the_chunks_stays() {
        let x = source(&[12], &[4]);
        let r = crate::build::rechunk(&x, Chunks(vec![AxisChunks::regular(5, 12)])).unwrap();
        let (ir, report) = run(&r);
        assert_eq!(report.count("views"), 0);
        assert_eq!(ir.len(), 2);
    }

    #[test]
    fn a_shared_inner_view_stays_for_its_other_reader() {
        // y = x[1:] is read by y[::2] (composed) and by y + 1 (kept).
        let x = source(&[20], &[5]);
        let y = view_of(&x, 1, 1);
        let z = view_of(&y, 0, 2);
        let w = crate::build::unary(brickwork_kernels::UnaryOp::Negative, &y).unwrap();
        let (out, _) = optimize(&[z, w], &[Box::new(Views)]);
        let ir = Ir::from_exprs(&out);
        let z = ir.node(ir.roots[0]);
        let w = ir.node(ir.roots[1]);
        assert!(matches!(ir.node(z.inputs[0]).op, Op::Source(_)));
        assert!(matches!(ir.node(w.inputs[0]).op, Op::View(_)));
        assert_eq!(ir.len(), 4);
    }

    #[test]
    fn a_deep_chain_of_slices_composes_into_one_view() {
        let x = source(&[3000], &[100]);
        let mut y = x.clone();
        for _ in 0..2000 {
            y = slice(&y, 0, 1, 1);
        }
        let (ir, report) = run(&y);
        assert_eq!(report.count("views"), 1999);
        assert_eq!(ir.len(), 2);
        let Op::View(v) = &ir.node(ir.roots[0]).op else {
            panic!("a view")
        };
        assert_eq!(v.coords[0].start, 2000);
    }
}
