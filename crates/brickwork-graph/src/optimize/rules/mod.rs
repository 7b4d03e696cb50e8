//! Rewrite rules over the [`Ir`], one per file, applied to a fixed point.
//!
//! A [`Rule`] looks at one node and, when it applies, returns a node computing the same
//! array — same values, same dtype, same chunks — built with [`Ir::add`] (so it is
//! hash-consed: a rewrite that produces an existing node finds it). The passes, in the
//! order they run:
//!
//! 1. CSE: hash-consing itself, when the arena is built ([`Ir::from_exprs`]) and for
//!    every node a rule adds; reported as `cse` (nodes merged).
//! 2. The rules of [`all`], to a fixed point by [`rewrite`]:
//!    - [`views::Views`] (`views`): a view of a view composes into one view; an
//!      identity view with its input's chunks disappears. A rechunk is an identity view
//!      with new chunks, so a rechunk of a rechunk keeps only the last.
//!    - [`take::TakeAsView`] (`take-as-view`): a gather whose coordinates are one
//!      arithmetic progression is a strided view (no gather stage, no copy).
//! 3. [`cull::cull`] (`cull`): nodes the outputs no longer reach are dropped.
//!
//! Adding a rule: a new file here with a unit struct implementing [`Rule`], listed in
//! [`all`], with tests that check the rewritten IR and that the plan computes the same
//! values (`crates/brickwork/tests/rules.rs` compares random expressions against
//! `ndarray`).

pub mod cull;
pub mod take;
pub mod views;

use super::ir::{Ir, NodeId};
use crate::expr::Expr;

/// One rewrite of the IR.
pub trait Rule {
    /// The rule's name, as reports show it.
    fn name(&self) -> &'static str;

    /// A node computing the same array as `node` (same values, dtype and chunks), or
    /// None when the rule does not apply. `node`'s inputs are already rewritten.
    fn rewrite(&self, ir: &mut Ir, node: NodeId) -> Option<NodeId>;
}

/// The rules the optimizer runs, in the order they are tried on each node.
pub fn all() -> Vec<Box<dyn Rule>> {
    vec![Box::new(views::Views), Box::new(take::TakeAsView)]
}

/// How many times each pass changed the graph (passes that changed nothing are left
/// out), and whether the rewrite budget ran out before the fixed point.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// `(pass, count)` in the order the passes ran.
    pub fired: Vec<(&'static str, usize)>,
    /// True when [`rewrite`] stopped at its bound (the graph is still correct, only
    /// maybe not fully rewritten).
    pub bounded: bool,
}

impl Report {
    fn add(&mut self, name: &'static str, count: usize) {
        if count == 0 {
            return;
        }
        match self.fired.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += count,
            None => self.fired.push((name, count)),
        }
    }

    /// How many times pass `name` changed the graph.
    pub fn count(&self, name: &str) -> usize {
        self.fired
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |&(_, c)| c)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .fired
            .iter()
            .map(|(n, c)| format!("{n} x{c}"))
            .collect();
        if parts.is_empty() {
            write!(f, "rewrites: none")?;
        } else {
            write!(f, "rewrites: {}", parts.join(", "))?;
        }
        if self.bounded {
            write!(f, " (stopped at the rewrite bound)")?;
        }
        Ok(())
    }
}

/// Rewrites allowed per node of the arena before the driver stops (a guard against two
/// rules undoing each other; real graphs need about one).
const REWRITES_PER_NODE: usize = 8;

/// The optimized form of `outputs`: CSE, the rules of `rules` to a fixed point, culling.
pub fn optimize(outputs: &[Expr], rules: &[Box<dyn Rule>]) -> (Vec<Expr>, Report) {
    let mut ir = Ir::from_exprs(outputs);
    let mut report = Report::default();
    report.add("cse", ir.merged);
    rewrite(&mut ir, rules, &mut report);
    report.add("cull", cull::cull(&mut ir));
    (ir.to_exprs(), report)
}

/// What the driver does next.
enum Step {
    /// Rewrite the inputs of a node, then come back to it.
    Visit(NodeId),
    /// The inputs are rewritten: rebuild the node over them and apply the rules.
    Finish(NodeId),
    /// `from` rewrites to what `to` rewrites to (which is done by now).
    Alias { from: NodeId, to: NodeId },
}

/// Apply `rules` to every node the roots reach until none applies: the fixed point.
///
/// The walk is bottom-up and memoized: a node is *done* when its inputs are done and no
/// rule applies to it (a rule's result is itself walked), so once the roots are done
/// the whole graph is a fixed point in one pass — the repeated sweeps of Polars'
/// optimizer loop are not needed. Each node is finished once unless a rule fires on it;
/// the total number of rewrites is bounded by [`REWRITES_PER_NODE`] per node.
pub fn rewrite(ir: &mut Ir, rules: &[Box<dyn Rule>], report: &mut Report) {
    let mut budget = REWRITES_PER_NODE * ir.len() + 16;
    let mut done: Vec<Option<NodeId>> = vec![None; ir.len()];
    let mut counts = vec![0usize; rules.len()];
    let roots = ir.roots.clone();
    let mut stack: Vec<Step> = roots.iter().rev().map(|&r| Step::Visit(r)).collect();
    while let Some(step) = stack.pop() {
        done.resize(ir.len(), None);
        match step {
            Step::Visit(id) => {
                if done[id.index()].is_some() {
                    continue;
                }
                stack.push(Step::Finish(id));
                for &i in ir.node(id).inputs.iter().rev() {
                    if done[i.index()].is_none() {
                        stack.push(Step::Visit(i));
                    }
                }
            }
            Step::Finish(id) => {
                if done[id.index()].is_some() {
                    continue;
                }
                let n = ir.node(id);
                let inputs: Vec<NodeId> = n
                    .inputs
                    .iter()
                    .map(|i| done[i.index()].expect("inputs are done first"))
                    .collect();
                let cur = if inputs == n.inputs {
                    id
                } else {
                    let n = n.clone();
                    ir.add(n.op, n.dtype, n.chunks, inputs)
                };
                done.resize(ir.len(), None);
                if let Some(d) = done[cur.index()] {
                    done[id.index()] = Some(d);
                    continue;
                }
                let fired = if budget == 0 {
                    report.bounded = true;
                    None
                } else {
                    rules.iter().enumerate().find_map(|(k, r)| {
                        r.rewrite(ir, cur).filter(|&to| to != cur).map(|to| (k, to))
                    })
                };
                match fired {
                    None => {
                        done[cur.index()] = Some(cur);
                        done[id.index()] = Some(cur);
                    }
                    Some((k, to)) => {
                        debug_assert_eq!(
                            ir.node(to).dtype,
                            ir.node(cur).dtype,
                            "{}",
                            rules[k].name()
                        );
                        debug_assert_eq!(
                            ir.node(to).chunks,
                            ir.node(cur).chunks,
                            "{}",
                            rules[k].name()
                        );
                        budget -= 1;
                        counts[k] += 1;
                        stack.push(Step::Alias { from: id, to });
                        stack.push(Step::Alias { from: cur, to });
                        stack.push(Step::Visit(to));
                    }
                }
            }
            Step::Alias { from, to } => {
                done[from.index()] = done[to.index()];
            }
        }
    }
    ir.roots = roots
        .iter()
        .map(|r| done[r.index()].expect("roots are done"))
        .collect();
    for (r, c) in rules.iter().zip(counts) {
        report.add(r.name(), c);
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::{slice, source};
    use super::*;
    use crate::expr::Op;

    /// Wraps every source in an identity view: the `views` rule undoes it, forever.
    struct WrapSources;

    impl Rule for WrapSources {
        fn name(&self) -> &'static str {
            "wrap"
        }

        fn rewrite(&self, ir: &mut Ir, node: NodeId) -> Option<NodeId> {
            let n = ir.node(node);
            if !matches!(n.op, Op::Source(_)) {
                return None;
            }
            let view = crate::View::identity(n.ndim());
            let (dtype, chunks) = (n.dtype, n.chunks.clone());
            Some(ir.add(Op::View(view), dtype, chunks, vec![node]))
        }
    }

    fn mixed() -> Vec<Expr> {
        let x = source(&[12, 8], &[5, 3]);
        let a = slice(&slice(&x, 0, 1, 2), 1, 2, 1);
        let t =
            crate::build::take(&crate::build::transpose(&a, None).unwrap(), &[0, 2, 4], 1).unwrap();
        let s = crate::build::reduce(
            &t,
            brickwork_kernels::reduce::Reducer::Sum,
            Some(&[0]),
            false,
            None,
            None,
        )
        .unwrap();
        vec![a, slice(&s, 0, 1, 1)]
    }

    #[test]
    fn the_result_is_a_fixed_point() {
        let mut ir = Ir::from_exprs(&mixed());
        let mut first = Report::default();
        rewrite(&mut ir, &all(), &mut first);
        assert!(first.count("views") >= 2 && first.count("take-as-view") == 1);
        let mut second = Report::default();
        rewrite(&mut ir, &all(), &mut second);
        assert_eq!(second, Report::default());
    }

    #[test]
    fn rules_that_undo_each_other_stop_at_the_bound() {
        let rules: Vec<Box<dyn Rule>> = vec![Box::new(WrapSources), Box::new(views::Views)];
        let (out, report) = optimize(&mixed(), &rules);
        assert!(report.bounded, "{report}");
        // Still the same arrays.
        assert_eq!(out[0].shape(), vec![6, 6]);
        assert_eq!(out[1].shape(), vec![2]);
    }

    #[test]
    fn the_report_names_the_passes_that_changed_something() {
        let x = source(&[10], &[4]);
        let a = slice(&slice(&x, 0, 1, 1), 0, 1, 1);
        let b = slice(&slice(&x, 0, 1, 1), 0, 1, 1);
        let (_, report) = optimize(&[a, b], &all());
        assert_eq!(report.fired, vec![("cse", 2), ("views", 1), ("cull", 2)]);
        assert_eq!(report.to_string(), "rewrites: cse x2, views x1, cull x2");
    }
}
