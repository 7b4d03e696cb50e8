//! Culling: only what the outputs need is planned.
//!
//! The arena is built by walking from the outputs, so nothing they never read enters
//! it; but a rewrite leaves the node it replaced behind (a view composed away, a gather
//! turned into a view). This pass drops every node the outputs no longer reach and
//! renumbers the rest, inputs first. It is a whole-graph pass, not a [`super::Rule`]:
//! it runs once, after the fixed point. (Culling *tasks* — the blocks of a stage no
//! output block needs — happens later, in `optimize::tasks`.)

use crate::optimize::ir::Ir;

/// Drop the nodes `ir`'s roots do not reach; returns how many were dropped.
pub fn cull(ir: &mut Ir) -> usize {
    ir.retain_reachable()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::rules::testing::{source, view_of};
    use crate::optimize::rules::{all, rewrite, Report};

    #[test]
    fn nodes_replaced_by_a_rewrite_are_dropped() {
        // x[1:][::2]: the inner slice is composed away and no longer reached.
        let x = source(&[10], &[3]);
        let y = view_of(&view_of(&x, 1, 1), 0, 2);
        let mut ir = Ir::from_exprs(&[y]);
        assert_eq!(ir.len(), 3);
        rewrite(&mut ir, &all(), &mut Report::default());
        assert_eq!(
            ir.len(),
            4,
            "the composed view is added beside the old ones"
        );
        assert_eq!(cull(&mut ir), 2, "both old views go");
        assert_eq!(ir.len(), 2);
        assert_eq!(ir.post_order().len(), 2);
    }

    #[test]
    fn nothing_is_dropped_when_nothing_changed() {
        let x = source(&[10], &[3]);
        let mut ir = Ir::from_exprs(&[view_of(&x, 1, 1)]);
        assert_eq!(cull(&mut ir), 0);
        assert_eq!(ir.len(), 2);
    }
}
