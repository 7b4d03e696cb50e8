//! The optimizer: from output expressions to a [`TaskGraph`], one pass per file:
//! `Expr` → [`ir::Ir`] → rules → `Expr` → stages → tasks.
//!
//! - [`ir`]: the outputs' nodes in an arena, hash-consed by their structural key
//!   ([`cse`]), so shared work is done once and only nodes the outputs reach are kept;
//! - [`rules`]: rewrite rules, one per file, applied to the arena to a fixed point (a
//!   view of a view is one view, a gather of a range is a view, …), then culling; the
//!   result goes back to `Expr`s and is *lowered* to stages by the passes below;
//! - [`fuse`]: every elementwise chain, with the views (slices, transposes,
//!   broadcasts) pushed down to its leaves, becomes one [`Program`] per stage;
//! - [`reblock`]: partial tasks of reductions take a memory-friendly shape;
//! - [`stages`]: reductions become a partial stage and a tree of combine stages;
//! - [`budget`]: the plan's memory, checked against a budget before it runs;
//! - [`explain`]: the optimized plan as text;
//! - [`tasks`]: the task arena and its dependency lists, generated at compute time.
//!
//! [`Program`]: brickwork_kernels::Program

pub mod budget;
pub mod cse;
pub mod explain;
pub mod fuse;
pub mod ir;
pub mod reblock;
pub mod rules;
pub mod stages;
pub mod tasks;

use crate::expr::Expr;
use crate::taskgraph::TaskGraph;
use brickwork_core::Result;

/// The rewritten form of `outputs` (CSE, the rules of [`rules::all`] to a fixed point,
/// culling) and what each pass did.
pub fn rewrite(outputs: &[Expr]) -> (Vec<Expr>, rules::Report) {
    rules::optimize(outputs, &rules::all())
}

/// Plan the computation of `outputs` and generate its tasks.
pub fn task_graph(outputs: &[Expr]) -> Result<TaskGraph> {
    task_graph_with(outputs, &rules::all())
}

/// As [`task_graph`], with only the rewrite rules `rules` (CSE and culling always run):
/// `&[]` plans the expressions as they were built.
pub fn task_graph_with(outputs: &[Expr], rules: &[Box<dyn rules::Rule>]) -> Result<TaskGraph> {
    let (outputs, _) = rules::optimize(outputs, rules);
    let mut planner = stages::Planner::new(outputs.len());
    for (i, e) in outputs.iter().enumerate() {
        planner.output(e, i)?;
    }
    let (stages, buffers) = planner.into_stages();
    let mut targets: Vec<(Vec<usize>, brickwork_core::DType)> =
        outputs.iter().map(|e| (e.shape(), e.dtype())).collect();
    targets.extend(buffers);
    Ok(tasks::generate(stages, targets, outputs.len()))
}

/// Plan writing each expression into its sink (e.g. a Zarr array whose chunks are the
/// expression's) in one task graph, and generate its tasks. Shared work runs once.
pub fn store_graph(
    pairs: &[(Expr, std::sync::Arc<dyn brickwork_kernels::io::BlockSink>)],
) -> Result<TaskGraph> {
    let exprs: Vec<Expr> = pairs.iter().map(|(e, _)| e.clone()).collect();
    let (exprs, _) = rewrite(&exprs);
    let mut planner = stages::Planner::new(0);
    for (e, (_, sink)) in exprs.iter().zip(pairs) {
        planner.store(e, sink.clone())?;
    }
    let (stages, buffers) = planner.into_stages();
    Ok(tasks::generate(stages, buffers, 0))
}

/// The number of tasks computing `outputs` runs (plans, but generates no tasks).
pub fn ntasks(outputs: &[Expr]) -> Result<usize> {
    let (outputs, _) = rewrite(outputs);
    let mut planner = stages::Planner::new(outputs.len());
    for (i, e) in outputs.iter().enumerate() {
        planner.output(e, i)?;
    }
    Ok(planner.into_stages().0.iter().map(|s| s.ntasks).sum())
}
