//! Stages: one map stage per non-reduction output, and for each reduction a partial
//! stage (the fused program folded per chunk) followed by a tree of combine stages.

use crate::expr::{Expr, Op};
use crate::optimize::cse::Canon;
use crate::optimize::fuse::{Fuser, Materialize};
use crate::optimize::reblock::partial_grid;
use crate::taskgraph::{Final, Stage, StageKind};
use crate::view::View;
use brickwork_core::{AxisChunks, Chunks, Result};
use std::collections::HashMap;

/// Builds the stages of a computation.
#[derive(Default)]
pub struct Planner {
    canon: Canon,
    stages: Vec<Stage>,
    /// Canonical id of a reduction node -> its last stage.
    reductions: HashMap<usize, usize>,
}

impl Materialize for Planner {
    fn canon_id(&mut self, e: &Expr) -> usize {
        self.canon.id(e)
    }

    fn materialize(&mut self, e: &Expr) -> Result<(usize, Chunks)> {
        let s = self.reduction(e)?;
        let f = self.finish_mut(s);
        f.keep = true;
        Ok((s, f.grid.clone()))
    }
}

impl Planner {
    fn push(&mut self, kind: StageKind, ntasks: usize) -> usize {
        self.stages.push(Stage {
            kind,
            ntasks,
            first: 0,
        });
        self.stages.len() - 1
    }

    fn finish_mut(&mut self, stage: usize) -> &mut Final {
        match &mut self.stages[stage].kind {
            StageKind::Partial {
                finish: Some(f), ..
            }
            | StageKind::Combine {
                finish: Some(f), ..
            } => f,
            _ => unreachable!("the last stage of a reduction has a finish"),
        }
    }

    /// Plan compute output number `index`.
    pub fn output(&mut self, e: &Expr, index: usize) -> Result<()> {
        if let Op::Reduce(_) = e.node().op {
            let s = self.reduction(e)?;
            self.finish_mut(s).output.push(index);
            return Ok(());
        }
        let mut f = Fuser::default();
        let reg = f.emit(e, &View::identity(e.ndim()), self)?;
        f.program.outputs.push(reg);
        let grid = e.chunks().clone();
        let ntasks = if e.size() == 0 { 0 } else { grid.nblocks() };
        self.push(
            StageKind::Map {
                program: f.program,
                leaves: f.leaves,
                grid,
                output: index,
            },
            ntasks,
        );
        Ok(())
    }

    /// Plan the reduction `e` (once per canonical node); returns its last stage.
    fn reduction(&mut self, e: &Expr) -> Result<usize> {
        let id = self.canon.id(e);
        if let Some(&s) = self.reductions.get(&id) {
            return Ok(s);
        }
        let Op::Reduce(spec) = &e.node().op else {
            unreachable!("a reduction node")
        };
        let input = &e.node().inputs[0];
        let mut f = Fuser::default();
        let reg = f.emit(input, &View::identity(input.ndim()), self)?;
        f.program.outputs.push(reg);
        let grid = partial_grid(input.chunks(), &spec.axes, &f.leaves);
        let nb = grid.numblocks();
        let shape = input.shape();
        let per_out: usize = spec.axes.iter().map(|&a| nb[a]).product();
        // The result's grid as the partial tasks produce it (re-blocking may have
        // merged kept blocks; the user-visible chunks of `e` do not change).
        let out_grid = Chunks(
            grid.0
                .iter()
                .enumerate()
                .filter_map(|(a, c)| match (spec.axes.contains(&a), spec.keepdims) {
                    (false, _) => Some(c.clone()),
                    (true, true) => Some(AxisChunks::regular(1, 1)),
                    (true, false) => None,
                })
                .collect(),
        );
        let out_blocks = out_grid.nblocks();
        let finish = Final {
            dtype: e.dtype(),
            n: spec.axes.iter().map(|&a| shape[a]).product::<usize>() as f64,
            grid: out_grid,
            output: Vec::new(),
            keep: false,
        };
        let tree = per_out > 1;
        let mut last = self.push(
            StageKind::Partial {
                program: f.program,
                leaves: f.leaves,
                grid,
                reducer: spec.reducer,
                acc: spec.acc,
                axes: spec.axes.clone(),
                per_out,
                finish: if tree { None } else { Some(finish.clone()) },
            },
            out_blocks * per_out,
        );
        let mut count = per_out;
        while count > 1 {
            let per = count.div_ceil(spec.split_every);
            last = self.push(
                StageKind::Combine {
                    reducer: spec.reducer,
                    prev: last,
                    prev_per_out: count,
                    fan_in: spec.split_every,
                    per_out: per,
                    finish: if per == 1 { Some(finish.clone()) } else { None },
                },
                out_blocks * per,
            );
            count = per;
        }
        self.reductions.insert(id, last);
        Ok(last)
    }

    /// The stages, in dependency order.
    pub fn into_stages(self) -> Vec<Stage> {
        self.stages
    }
}

#[cfg(test)]
mod tests {
    use crate::build::{binary, full, reduce, unary, Operand};
    use crate::optimize::{ntasks, task_graph};
    use crate::taskgraph::StageKind;
    use brickwork_core::{AxisChunks, Chunks, DType, ScalarKind};
    use brickwork_kernels::reduce::Reducer;
    use brickwork_kernels::{BinaryOp, Instr, UnaryOp};

    fn ones(shape: &[usize], chunk: usize) -> crate::Expr {
        let grid = Chunks(
            shape
                .iter()
                .map(|&n| AxisChunks::regular(chunk, n))
                .collect(),
        );
        full(ScalarKind::Float(1.0).to_scalar(DType::F64).unwrap(), grid)
    }

    #[test]
    fn elementwise_chain_and_reduction_fuse_into_one_partial_stage() {
        // sqrt(x * 2 + 1).sum() over 4 x 4 chunks: one partial stage (16 tasks) whose
        // program holds the whole chain, then one combine level (fan-in 16).
        let x = ones(&[8, 8], 2);
        let y = binary(
            BinaryOp::Multiply,
            &Operand::Array(x),
            &Operand::Scalar(ScalarKind::Int(2)),
        )
        .unwrap();
        let y = binary(
            BinaryOp::Add,
            &Operand::Array(y),
            &Operand::Scalar(ScalarKind::Int(1)),
        )
        .unwrap();
        let y = unary(UnaryOp::Sqrt, &y).unwrap();
        let s = reduce(&y, Reducer::Sum, None, false, None, None).unwrap();
        let g = task_graph(&[s]).unwrap();
        assert_eq!(g.stages.len(), 2);
        let StageKind::Partial { program, .. } = &g.stages[0].kind else {
            panic!("partial first")
        };
        let ops = program
            .instrs
            .iter()
            .filter(|i| matches!(i, Instr::Binary { .. } | Instr::Unary { .. }))
            .count();
        assert_eq!(ops, 3);
        assert_eq!(g.ntasks(), 16 + 1);
    }

    #[test]
    fn shared_reductions_are_planned_once() {
        let x = ones(&[100], 10);
        let a = reduce(&x, Reducer::Sum, None, false, None, Some(4)).unwrap();
        let b = reduce(&x, Reducer::Sum, None, false, None, Some(4)).unwrap();
        // x.sum() - x.sum(): both operands are the same canonical reduction, so d
        // adds only its own map task.
        let d = binary(
            BinaryOp::Subtract,
            &Operand::Array(a.clone()),
            &Operand::Array(b),
        )
        .unwrap();
        assert_eq!(ntasks(&[a.clone(), d]).unwrap(), ntasks(&[a]).unwrap() + 1);
    }

    #[test]
    fn tasks_outside_a_slice_of_a_reduction_are_culled() {
        // x.sum(axis=1)[:5] over 1000 row blocks needs one partial task and the map task.
        let x = ones(&[100_000, 10], 100);
        let s = reduce(&x, Reducer::Sum, Some(&[1]), false, None, None).unwrap();
        let head = crate::build::getitem(
            &s,
            &[crate::build::Index::Slice {
                start: None,
                stop: Some(5),
                step: 1,
            }],
        )
        .unwrap();
        let g = task_graph(&[head]).unwrap();
        assert_eq!(g.ntasks(), 2);
    }

    #[test]
    fn tree_depth_follows_split_every() {
        let x = ones(&[64], 1);
        let s = reduce(&x, Reducer::Max, None, false, None, Some(2)).unwrap();
        // 64 partials, then 32 + 16 + 8 + 4 + 2 + 1 combines.
        assert_eq!(ntasks(&[s]).unwrap(), 64 + 63);
    }
}
