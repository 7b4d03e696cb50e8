//! Stages. Every array a computation writes — a compute output or a materialized
//! intermediate (a reduction result, a concatenation, a reshape's source, a
//! `map_blocks` result) — is a *target*, written by *writers*: a map stage for a fused
//! elementwise expression, a callback stage for a user function, one writer per part of
//! a concatenation, and for a reduction a partial stage (the fused program folded per
//! chunk) followed by a tree of combine stages whose last one writes the result.
//!
//! Sibling reductions — over the same axes of inputs with the same chunks, reading no
//! materialized result — share one partial stage: their inputs are fused into one
//! program (common subexpressions computed once per tile) and each output is folded into
//! its own state, so `compute(x.mean(), x.std())` reads `x` once.

use crate::expr::{Expr, Op};
use crate::optimize::cse::Canon;
use crate::optimize::fuse::{read_leaf, Fuser, Materialize};
use crate::optimize::reblock::partial_grid;
use crate::stage::{Callback, Combine, Contract, Final, Gather, Map, Partial, PartialOut};
use crate::stage::{Scan, Stage, StageKind, Store};
use crate::taskgraph::{Writer, Writers};
use crate::view::View;
use brickwork_core::{AxisChunks, Chunks, DType, Result};
use std::collections::HashMap;
use std::sync::Arc;

/// Where a planned reduction's result comes from.
#[derive(Clone, Copy)]
struct Planned {
    /// Its last stage.
    stage: usize,
    /// Its output number within that stage (partial stages have several).
    part: usize,
}

/// Builds the stages of a computation.
#[derive(Default)]
pub struct Planner {
    /// The number of compute outputs (targets `0..noutputs`).
    noutputs: usize,
    /// Intermediate arrays (targets `noutputs..`): shape and dtype.
    buffers: Vec<(Vec<usize>, DType)>,
    /// Canonical id of a materialized node -> its target and writers.
    materialized: HashMap<usize, (usize, Arc<Writers>)>,
    canon: Canon,
    stages: Vec<Stage>,
    /// Canonical id of a reduction node -> where its result comes from.
    reductions: HashMap<usize, Planned>,
    /// The fusers of partial stages, by stage (programs are written out at the end).
    fusers: HashMap<usize, Fuser>,
    /// Partial stages open to siblings, by (input chunks, axes).
    siblings: HashMap<String, usize>,
}

impl Materialize for Planner {
    fn canon_id(&mut self, e: &Expr) -> usize {
        self.canon.id(e)
    }

    fn materialize(&mut self, e: &Expr) -> Result<(usize, Arc<Writers>)> {
        let id = self.canon.id(e);
        if let Some(m) = self.materialized.get(&id) {
            return Ok(m.clone());
        }
        let target = self.noutputs + self.buffers.len();
        self.buffers.push((e.shape(), e.dtype()));
        let writers = Arc::new(Writers::new(self.write_to(e, target, vec![0; e.ndim()])?));
        self.materialized.insert(id, (target, writers.clone()));
        Ok((target, writers))
    }
}

/// True if `e` reads a materialized intermediate (so its program has a buffer leaf and
/// must come after the stages that write it).
fn reads_intermediate(e: &Expr, seen: &mut HashMap<u64, bool>) -> bool {
    if let Some(&r) = seen.get(&e.id()) {
        return r;
    }
    let r = match e.node().op {
        Op::Reduce(_)
        | Op::Concat { .. }
        | Op::Reshape
        | Op::MapBlocks(_)
        | Op::Scan { .. }
        | Op::Take { .. }
        | Op::MatMul => true,
        _ => e.node().inputs.iter().any(|i| reads_intermediate(i, seen)),
    };
    seen.insert(e.id(), r);
    r
}

/// What happens to reduction `e`'s result, for partial tasks over `grid`.
fn final_of(e: &Expr, grid: &Chunks) -> Final {
    let Op::Reduce(spec) = &e.node().op else {
        unreachable!("a reduction node")
    };
    let shape = e.node().inputs[0].shape();
    // The result's grid as the partial tasks produce it (re-blocking may have merged
    // kept blocks; the user-visible chunks of `e` do not change).
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
    Final {
        dtype: e.dtype(),
        n: spec.axes.iter().map(|&a| shape[a]).product::<usize>() as f64,
        grid: out_grid,
        targets: Vec::new(),
    }
}

impl Planner {
    /// A planner for `noutputs` compute outputs.
    pub fn new(noutputs: usize) -> Planner {
        Planner {
            noutputs,
            ..Planner::default()
        }
    }

    fn push(&mut self, kind: StageKind, ntasks: usize) -> usize {
        self.stages.push(Stage {
            kind,
            ntasks,
            first: 0,
        });
        self.stages.len() - 1
    }

    fn finish_mut(&mut self, p: Planned) -> &mut Final {
        self.stages[p.stage]
            .kind
            .op_mut()
            .finish_mut(p.part)
            .expect("the last stage of a reduction has a finish")
    }

    /// Plan compute output number `index`. A `map_blocks` result runs its function once
    /// even when other outputs read it too: they read it from this output (or, when it
    /// was materialized first, this output copies it).
    pub fn output(&mut self, e: &Expr, index: usize) -> Result<()> {
        if !matches!(e.node().op, Op::MapBlocks(_)) {
            return self.write_to(e, index, vec![0; e.ndim()]).map(|_| ());
        }
        let id = self.canon.id(e);
        if self.materialized.contains_key(&id) {
            return self.map_stage(e, index, vec![0; e.ndim()]).map(|_| ());
        }
        let writers = Arc::new(Writers::new(self.write_to(e, index, vec![0; e.ndim()])?));
        self.materialized.insert(id, (index, writers));
        Ok(())
    }

    /// A map stage writing `e`, through its fused program, into `target` at `offset`
    /// (for a materialized `e`, a copy of the array it is materialized into).
    fn map_stage(&mut self, e: &Expr, target: usize, offset: Vec<usize>) -> Result<Vec<Writer>> {
        let mut f = Fuser::over(e.chunks());
        let reg = f.emit(e, &View::identity(e.ndim()), self)?;
        f.program.outputs.push(reg);
        let grid = e.chunks().clone();
        let ntasks = if e.size() == 0 { 0 } else { grid.nblocks() };
        let stage = self.push(
            StageKind::Map(Map {
                program: f.program,
                leaves: f.leaves,
                grid: grid.clone(),
                target,
                offset: offset.clone(),
            }),
            ntasks,
        );
        Ok(vec![Writer {
            stage,
            grid,
            offset,
        }])
    }

    /// Plan the stage that writes `e` into `sink` (whose chunks are `e`'s).
    pub fn store(
        &mut self,
        e: &Expr,
        sink: Arc<dyn brickwork_kernels::io::BlockSink>,
    ) -> Result<()> {
        let mut f = Fuser::over(e.chunks());
        let reg = f.emit(e, &View::identity(e.ndim()), self)?;
        f.program.outputs.push(reg);
        let grid = e.chunks().clone();
        let ntasks = if e.size() == 0 { 0 } else { grid.nblocks() };
        self.push(
            StageKind::Store(Store {
                program: f.program,
                leaves: f.leaves,
                grid,
                sink,
            }),
            ntasks,
        );
        Ok(())
    }

    /// A leaf reading `input` in place through an identity view: a source as it is,
    /// anything else from the intermediate array it is materialized into.
    fn in_place(&mut self, input: &Expr) -> Result<crate::taskgraph::Leaf> {
        let kind = match &input.node().op {
            Op::Source(s) => crate::taskgraph::LeafKind::Source(s.clone()),
            _ => {
                let (target, writers) = self.materialize(input)?;
                crate::taskgraph::LeafKind::Buffer {
                    target,
                    writers,
                    reshaped: None,
                }
            }
        };
        Ok(crate::taskgraph::Leaf {
            kind,
            view: View::identity(input.ndim()),
        })
    }

    /// A leaf a map_blocks task reads its block from (see [`read_leaf`]): views are
    /// followed down to a source or a stored array, which is read per block through the
    /// composed view (a stored array decodes only the chunks the block reaches), a
    /// concatenation is read from the part each block lies in, and anything else is
    /// read from the intermediate array it is materialized into.
    fn per_block(&mut self, input: &Expr) -> Result<crate::taskgraph::Leaf> {
        read_leaf(
            input,
            &View::identity(input.ndim()),
            input.chunks(),
            true,
            self,
        )
    }

    /// A leaf reading regions of `input` that follow no grid: views followed down to a
    /// source, anything else (a stored array too: regions would decode its chunks
    /// several times) materialized.
    fn whole(&mut self, input: &Expr) -> Result<crate::taskgraph::Leaf> {
        let single = Chunks::single(&input.shape());
        read_leaf(input, &View::identity(input.ndim()), &single, false, self)
    }

    /// Plan the stages that write `e` into `target` at `offset`; returns them.
    fn write_to(&mut self, e: &Expr, target: usize, offset: Vec<usize>) -> Result<Vec<Writer>> {
        match &e.node().op {
            Op::Reduce(_) => {
                let p = self.reduction(e)?;
                let f = self.finish_mut(p);
                f.targets.push((target, offset.clone()));
                Ok(vec![Writer {
                    stage: p.stage,
                    grid: f.grid.clone(),
                    offset,
                }])
            }
            Op::MatMul => {
                let p = self.matmul(e)?;
                let f = self.finish_mut(p);
                f.targets.push((target, offset.clone()));
                Ok(vec![Writer {
                    stage: p.stage,
                    grid: f.grid.clone(),
                    offset,
                }])
            }
            Op::Take { axis, indices } => {
                let leaf = self.in_place(&e.node().inputs[0])?;
                let grid = e.chunks().clone();
                let ntasks = if e.size() == 0 { 0 } else { grid.nblocks() };
                let stage = self.push(
                    StageKind::Gather(Gather {
                        leaf,
                        axis: *axis,
                        indices: indices.clone(),
                        grid: grid.clone(),
                        target,
                        offset: offset.clone(),
                    }),
                    ntasks,
                );
                Ok(vec![Writer {
                    stage,
                    grid,
                    offset,
                }])
            }
            Op::Scan { op, axis } => {
                let input = &e.node().inputs[0];
                let mut f = Fuser::over(e.chunks());
                let reg = f.emit(input, &View::identity(input.ndim()), self)?;
                f.program.outputs.push(reg);
                let grid = e.chunks().clone();
                let ntasks = if e.size() == 0 { 0 } else { grid.nblocks() };
                let stage = self.push(
                    StageKind::Scan(Scan {
                        program: f.program,
                        leaves: f.leaves,
                        grid: grid.clone(),
                        axis: *axis,
                        op: *op,
                        target,
                        offset: offset.clone(),
                    }),
                    ntasks,
                );
                Ok(vec![Writer {
                    stage,
                    grid,
                    offset,
                }])
            }
            Op::MapBlocks(func) => {
                // Each input is read block by block: a source or stored array (through
                // views) directly, anything else from an intermediate array.
                let mut leaves = Vec::new();
                let mut in_grids = Vec::new();
                let mut gathers = Vec::new();
                for input in &e.node().inputs {
                    // Gathers (map_overlap's halos) run inside the task, from the
                    // array under them.
                    let mut under = input;
                    let mut taken = Vec::new();
                    while let Op::Take { axis, indices } = &under.node().op {
                        taken.push((*axis, indices.clone()));
                        under = &under.node().inputs[0];
                    }
                    taken.reverse();
                    leaves.push(if taken.is_empty() {
                        self.per_block(input)?
                    } else {
                        self.whole(under)?
                    });
                    gathers.push(taken);
                    in_grids.push(input.chunks().clone());
                }
                let grid = e.chunks().clone();
                let ntasks = if e.size() == 0 && in_grids.iter().all(|g| g.shape().contains(&0)) {
                    0
                } else {
                    grid.nblocks()
                };
                let stage = self.push(
                    StageKind::Callback(Callback {
                        func: func.clone(),
                        leaves,
                        gathers,
                        in_grids,
                        grid: grid.clone(),
                        target,
                        offset: offset.clone(),
                    }),
                    ntasks,
                );
                Ok(vec![Writer {
                    stage,
                    grid,
                    offset,
                }])
            }
            Op::Concat { axis } => {
                let mut writers = Vec::new();
                let mut at = offset;
                for input in &e.node().inputs {
                    writers.extend(self.write_to(input, target, at.clone())?);
                    at[*axis] += input.shape()[*axis];
                }
                Ok(writers)
            }
            _ => self.map_stage(e, target, offset),
        }
    }

    /// Plan the reduction `e` (once per canonical node).
    fn reduction(&mut self, e: &Expr) -> Result<Planned> {
        let id = self.canon.id(e);
        if let Some(&p) = self.reductions.get(&id) {
            return Ok(p);
        }
        let Op::Reduce(spec) = &e.node().op else {
            unreachable!("a reduction node")
        };
        let input = &e.node().inputs[0];
        let key = format!("{:?}|{:?}", input.chunks(), spec.axes);
        let sibling = if reads_intermediate(input, &mut HashMap::new()) {
            None
        } else {
            self.siblings.get(&key).copied()
        };
        let (stage, part) = match sibling {
            Some(stage) => {
                let mut f = self.fusers.remove(&stage).expect("an open partial stage");
                let reg = f.emit(input, &View::identity(input.ndim()), self)?;
                f.program.outputs.push(reg);
                self.fusers.insert(stage, f);
                (stage, self.add_output(stage, e)?)
            }
            None => {
                // Re-blocking only splits blocks of a program reading a concatenation
                // in place, so its blocks stay inside one part.
                let mut f = Fuser::over(input.chunks());
                let reg = f.emit(input, &View::identity(input.ndim()), self)?;
                f.program.outputs.push(reg);
                let grid = partial_grid(input.chunks(), &spec.axes, &f.leaves);
                let nb = grid.numblocks();
                let per_out: usize = spec.axes.iter().map(|&a| nb[a]).product();
                let kept: usize = (0..grid.ndim())
                    .filter(|a| !spec.axes.contains(a))
                    .map(|a| nb[a])
                    .product();
                let stage = self.push(
                    StageKind::Partial(Partial {
                        program: Default::default(),
                        leaves: Vec::new(),
                        grid,
                        axes: spec.axes.clone(),
                        per_out,
                        outputs: Vec::new(),
                    }),
                    kept * per_out,
                );
                if !reads_intermediate(input, &mut HashMap::new()) {
                    self.siblings.insert(key, stage);
                }
                self.fusers.insert(stage, f);
                (stage, self.add_output(stage, e)?)
            }
        };
        let planned = self.tree(e, stage, part);
        self.reductions.insert(id, planned);
        Ok(planned)
    }

    /// Add reduction `e` as an output of partial stage `stage`; returns its number.
    fn add_output(&mut self, stage: usize, e: &Expr) -> Result<usize> {
        let Op::Reduce(spec) = &e.node().op else {
            unreachable!("a reduction node")
        };
        let StageKind::Partial(Partial {
            grid,
            per_out,
            outputs,
            ..
        }) = &mut self.stages[stage].kind
        else {
            unreachable!("a partial stage")
        };
        let finish = (*per_out == 1).then(|| final_of(e, grid));
        outputs.push(PartialOut {
            reducer: spec.reducer,
            acc: spec.acc,
            finish,
        });
        Ok(outputs.len() - 1)
    }

    /// Plan the matrix product `e` (once per canonical node): a contract stage and the
    /// combine tree summing its block products.
    fn matmul(&mut self, e: &Expr) -> Result<Planned> {
        let id = self.canon.id(e);
        if let Some(&p) = self.reductions.get(&id) {
            return Ok(p);
        }
        // Operands are read in place through their views (a transposed source is
        // not copied), and a concatenation from its parts; a stored one is
        // materialized (its blocks are read by many products).
        let mut leaves = Vec::new();
        for input in &e.node().inputs {
            let identity = View::identity(input.ndim());
            leaves.push(read_leaf(input, &identity, input.chunks(), false, self)?);
        }
        let (a_grid, b_grid) = (
            e.node().inputs[0].chunks().clone(),
            e.node().inputs[1].chunks().clone(),
        );
        let per_out = a_grid.0[1].nblocks();
        let grid = e.chunks().clone();
        let out_blocks = grid.nblocks();
        let finish = Final {
            dtype: e.dtype(),
            n: 1.0,
            grid: grid.clone(),
            targets: Vec::new(),
        };
        let b = leaves.pop().expect("two operands");
        let a = leaves.pop().expect("two operands");
        let stage = self.push(
            StageKind::Contract(Contract {
                a,
                b,
                a_grid,
                b_grid,
                dtype: e.dtype(),
                per_out,
                grid,
                // An empty product has no tasks, so no tree either.
                finish: (per_out == 1 || e.size() == 0).then(|| finish.clone()),
            }),
            if e.size() == 0 {
                0
            } else {
                out_blocks * per_out
            },
        );
        let planned = if per_out == 1 || e.size() == 0 {
            Planned { stage, part: 0 }
        } else {
            self.combine_tree(
                stage,
                0,
                out_blocks,
                per_out,
                finish,
                brickwork_kernels::reduce::Reducer::Sum,
                crate::build::DEFAULT_SPLIT_EVERY,
            )
        };
        self.reductions.insert(id, planned);
        Ok(planned)
    }

    /// Plan the combine tree of output `part` of partial stage `stage`.
    fn tree(&mut self, e: &Expr, stage: usize, part: usize) -> Planned {
        let Op::Reduce(spec) = &e.node().op else {
            unreachable!("a reduction node")
        };
        let StageKind::Partial(Partial {
            grid,
            axes,
            per_out,
            ..
        }) = &self.stages[stage].kind
        else {
            unreachable!("a partial stage")
        };
        if *per_out == 1 {
            return Planned { stage, part };
        }
        let nb = grid.numblocks();
        let out_blocks: usize = (0..grid.ndim())
            .filter(|a| !axes.contains(a))
            .map(|a| nb[a])
            .product();
        let (per_out, finish) = (*per_out, final_of(e, grid));
        self.combine_tree(
            stage,
            part,
            out_blocks,
            per_out,
            finish,
            spec.reducer,
            spec.split_every,
        )
    }

    /// Combine stages over `per_out` states per output block of `stage`'s output `part`,
    /// with fan-in `split_every`; the last finishes with `finish`.
    #[allow(clippy::too_many_arguments)]
    fn combine_tree(
        &mut self,
        stage: usize,
        part: usize,
        out_blocks: usize,
        per_out: usize,
        finish: Final,
        reducer: brickwork_kernels::reduce::Reducer,
        split_every: usize,
    ) -> Planned {
        let mut finish = Some(finish);
        let mut count = per_out;
        let (mut last, mut part) = (stage, part);
        while count > 1 {
            let per = count.div_ceil(split_every);
            last = self.push(
                StageKind::Combine(Combine {
                    reducer,
                    prev: last,
                    part,
                    prev_per_out: count,
                    fan_in: split_every,
                    per_out: per,
                    finish: if per == 1 { finish.take() } else { None },
                }),
                out_blocks * per,
            );
            part = 0;
            count = per;
        }
        Planned {
            stage: last,
            part: 0,
        }
    }

    /// The stages, in dependency order, with the fused programs written in, and the
    /// shapes and dtypes of the intermediate arrays.
    pub fn into_stages(mut self) -> (Vec<Stage>, Vec<(Vec<usize>, DType)>) {
        for (stage, f) in self.fusers.drain() {
            if let StageKind::Partial(Partial {
                program, leaves, ..
            }) = &mut self.stages[stage].kind
            {
                *program = f.program;
                *leaves = f.leaves;
            }
        }
        (self.stages, self.buffers)
    }
}

#[cfg(test)]
mod tests {
    use crate::build::{binary, full, reduce, unary, Operand};
    use crate::optimize::{ntasks, task_graph};
    use crate::stage::{Partial, StageKind};
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
        let StageKind::Partial(Partial { program, .. }) = &g.stages[0].kind else {
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
    fn sibling_reductions_share_one_partial_pass() {
        // compute((x * 2).sum(), (x * 2).max()): one partial stage with two outputs whose
        // program computes x * 2 once.
        let x = ones(&[64, 64], 8);
        let y = binary(
            BinaryOp::Multiply,
            &Operand::Array(x),
            &Operand::Scalar(ScalarKind::Int(2)),
        )
        .unwrap();
        let a = reduce(&y, Reducer::Sum, None, false, None, None).unwrap();
        let b = reduce(&y, Reducer::Max, None, false, None, None).unwrap();
        let g = task_graph(&[a, b]).unwrap();
        let partials: Vec<_> = g
            .stages
            .iter()
            .filter_map(|s| match &s.kind {
                StageKind::Partial(Partial {
                    program, outputs, ..
                }) => Some((program, outputs.len())),
                _ => None,
            })
            .collect();
        assert_eq!(partials.len(), 1);
        let (program, n) = partials[0];
        assert_eq!(n, 2);
        let muls = program
            .instrs
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    Instr::Binary {
                        op: BinaryOp::Multiply,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(muls, 1);
    }

    #[test]
    fn tree_depth_follows_split_every() {
        let x = ones(&[64], 1);
        let s = reduce(&x, Reducer::Max, None, false, None, Some(2)).unwrap();
        // 64 partials, then 32 + 16 + 8 + 4 + 2 + 1 combines.
        assert_eq!(ntasks(&[s]).unwrap(), 64 + 63);
    }
}
