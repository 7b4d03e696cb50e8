//! Partial: the first step of a reduction. A task evaluates a fused program over one
//! block and folds each of its outputs into a partial state (sibling reductions over the
//! same blocks share one pass).

use super::{blocks_text, deliver, final_targets, program_bytes, Final};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{block_offsets, partial_coords, Leaf, TaskGraph};
use brickwork_core::{c_strides, fmt_shape, Chunks, DType, Result};
use brickwork_kernels::program::{run_block, Scratch};
use brickwork_kernels::reduce::{ReduceSink, ReduceSinks, Reducer, State};
use brickwork_kernels::Program;

/// One reduction computed by a partial stage.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PartialOut {
    /// The reduction.
    pub reducer: Reducer,
    /// The dtype folded (the program output's dtype).
    pub acc: DType,
    /// Set when there is no combine stage after the partial one.
    pub finish: Option<Final>,
}

/// Evaluate a program over one block of `grid` and fold each of its outputs into a
/// partial state. Task `o * per_out + r` handles the `r`-th block (in C order over the
/// reduced axes) of output block `o`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Partial {
    /// The fused kernel (one output register per reduction).
    pub program: Program,
    /// Its inputs.
    pub leaves: Vec<Leaf>,
    /// The iteration grid (the reduced array's chunks, possibly re-blocked).
    pub grid: Chunks,
    /// The reduced axes of `grid`.
    pub axes: Vec<usize>,
    /// Partial tasks per output block.
    pub per_out: usize,
    /// One entry per program output.
    pub outputs: Vec<PartialOut>,
}

impl Partial {
    /// Offsets and shape of the block task `t` folds.
    fn block_of(&self, t: usize) -> (Vec<usize>, Vec<usize>) {
        let mut coords = vec![0; self.grid.ndim()];
        partial_coords(&self.grid, &self.axes, t, self.per_out, &mut coords);
        (
            block_offsets(&self.grid, &coords),
            self.grid.block_shape(&coords),
        )
    }
}

impl StageOp for Partial {
    fn name(&self) -> &'static str {
        "partial"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        self.leaves.iter().map(|l| (l, Some(&self.grid))).collect()
    }

    fn writes(&self) -> Vec<usize> {
        self.outputs
            .iter()
            .flat_map(|o| final_targets(&o.finish))
            .collect()
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        if !self.leaves.iter().any(Leaf::reads_intermediate) {
            return;
        }
        let (offset, shape) = self.block_of(t);
        for l in &self.leaves {
            l.producers(stages, &offset, &shape, out);
        }
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        let kept: usize = (0..self.grid.ndim())
            .filter(|a| !self.axes.contains(a))
            .map(|a| self.grid.0[a].max_size().max(1))
            .product();
        // value, count, m2 / index, compensation: at most 4 f64 per output.
        let states = kept * 32 * self.outputs.len();
        let names: Vec<&str> = self.outputs.iter().map(|o| o.reducer.name()).collect();
        (
            states + program_bytes(&self.program),
            format!(
                "a {} over axes {:?} (blocks up to {})",
                names.join(" + "),
                self.axes,
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, _g: &TaskGraph) -> String {
        let names: Vec<&str> = self.outputs.iter().map(|o| o.reducer.name()).collect();
        format!(
            "partial {} over axes {:?}, {}",
            names.join(" + "),
            self.axes,
            blocks_text(&self.grid)
        )
    }

    fn program(&self) -> Option<(&Program, &[Leaf])> {
        Some((&self.program, &self.leaves))
    }

    fn finish_mut(&mut self, part: usize) -> Option<&mut Final> {
        self.outputs.get_mut(part)?.finish.as_mut()
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let (offset, shape) = self.block_of(task.index);
        let views = env.views(&self.leaves, &offset, &shape)?;
        let ndim = self.grid.ndim();
        let mut acc_strides = vec![0isize; ndim];
        let mut n_out = 1usize;
        for a in (0..ndim).rev() {
            if !self.axes.contains(&a) {
                acc_strides[a] = n_out as isize;
                n_out *= shape[a];
            }
        }
        let mut states: Vec<State> = self
            .outputs
            .iter()
            .map(|o| State::new(o.reducer, o.acc, n_out))
            .collect();
        let any_arg = self.outputs.iter().any(|o| o.reducer.is_arg());
        let (index_strides, index_base) = arg_index(&self.grid, &self.axes, &offset, any_arg);
        let mut sink = ReduceSinks(
            self.outputs
                .iter()
                .zip(states.iter_mut())
                .map(|(o, state)| ReduceSink {
                    reducer: o.reducer,
                    state,
                    acc_strides: acc_strides.clone(),
                    index_strides: index_strides.clone(),
                    index_base,
                })
                .collect(),
        );
        run_block(&self.program, &views, &shape, &mut sink, scratch)?;
        let o = task.index / self.per_out;
        let parts = self
            .outputs
            .iter()
            .zip(states)
            .map(|(out, state)| deliver(env, o, out.reducer, &out.finish, state, scratch))
            .collect::<Result<Vec<_>>>()?;
        env.put(task.id, parts)
    }
}

/// Index strides and base for argmin / argmax: flat C-order indices over the whole
/// array when every axis is reduced, the coordinate along the axis otherwise.
fn arg_index(grid: &Chunks, axes: &[usize], offset: &[usize], arg: bool) -> (Vec<isize>, i64) {
    let ndim = grid.ndim();
    if !arg {
        return (Vec::new(), 0);
    }
    if axes.len() == ndim {
        let strides = c_strides(&grid.shape());
        let base = offset
            .iter()
            .zip(&strides)
            .map(|(&o, &s)| o as i64 * s as i64)
            .sum();
        (strides, base)
    } else {
        let mut strides = vec![0isize; ndim];
        strides[axes[0]] = 1;
        (strides, offset[axes[0]] as i64)
    }
}
