//! The chunk-level plan: stages of identical tasks, and the task arena generated from
//! them when a computation starts. A task is data (a stage id and a block index); its
//! kernel is the stage's serializable description.

use crate::expr::Source;
use crate::view::View;
use brickwork_core::{Chunks, DType};
use brickwork_kernels::program::Generator;
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::Program;

/// What a leaf of a fused program reads.
#[derive(Debug, Clone)]
pub enum LeafKind {
    /// An array in memory, read in place.
    Source(Source),
    /// Values computed from the index.
    Generated(Generator),
    /// The chunks produced by the final tasks of another stage.
    Stage {
        /// The stage whose task `i` produces block `i` of `grid`.
        stage: usize,
        /// Which of the stage's outputs.
        part: usize,
        /// The chunk grid of the materialized array.
        grid: Chunks,
    },
}

/// An input of a fused program: what it reads and through which view of the stage's
/// iteration space.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The data read.
    pub kind: LeafKind,
    /// Iteration coordinates to leaf coordinates.
    pub view: View,
}

/// What happens to the finished value of a reduction.
#[derive(Debug, Clone)]
pub struct Final {
    /// The result dtype.
    pub dtype: DType,
    /// Elements reduced into each output (for mean).
    pub n: f64,
    /// The grid of the result.
    pub grid: Chunks,
    /// The compute outputs the result is written to.
    pub output: Vec<usize>,
    /// Whether other stages read the result (so it is kept as a chunk).
    pub keep: bool,
}

/// One reduction computed by a partial stage.
#[derive(Debug, Clone)]
pub struct PartialOut {
    /// The reduction.
    pub reducer: Reducer,
    /// The dtype folded (the program output's dtype).
    pub acc: DType,
    /// Set when there is no combine stage after the partial one.
    pub finish: Option<Final>,
}

/// The kind of work every task of a stage does.
#[derive(Debug, Clone)]
pub enum StageKind {
    /// Evaluate a program over block `i` of `grid` and write it to a compute output.
    Map {
        /// The fused kernel.
        program: Program,
        /// Its inputs.
        leaves: Vec<Leaf>,
        /// The iteration grid (the output's chunks).
        grid: Chunks,
        /// The compute output written.
        output: usize,
    },
    /// Evaluate a program over one block of `grid` and fold each of its outputs into a
    /// partial state (sibling reductions over the same blocks share one pass). Task
    /// `o * per_out + r` handles the `r`-th block (in C order over the reduced axes) of
    /// output block `o`.
    Partial {
        /// The fused kernel (one output register per reduction).
        program: Program,
        /// Its inputs.
        leaves: Vec<Leaf>,
        /// The iteration grid (the reduced array's chunks, possibly re-blocked).
        grid: Chunks,
        /// The reduced axes of `grid`.
        axes: Vec<usize>,
        /// Partial tasks per output block.
        per_out: usize,
        /// One entry per program output.
        outputs: Vec<PartialOut>,
    },
    /// Combine groups of up to `fan_in` states of the previous stage.
    Combine {
        /// The reduction.
        reducer: Reducer,
        /// The stage combined.
        prev: usize,
        /// Which of the previous stage's states (its output number) is combined.
        part: usize,
        /// Tasks of `prev` per output block.
        prev_per_out: usize,
        /// The tree's fan-in.
        fan_in: usize,
        /// Tasks of this stage per output block.
        per_out: usize,
        /// Set for the last level.
        finish: Option<Final>,
    },
}

/// A group of identical tasks.
#[derive(Debug, Clone)]
pub struct Stage {
    /// What each task does.
    pub kind: StageKind,
    /// The number of tasks.
    pub ntasks: usize,
    /// The id of the first task.
    pub first: usize,
}

/// The plan and its tasks: `deps[deps_start[t]..deps_start[t + 1]]` are the tasks whose
/// chunks task `t` reads, in the order its program's stage leaves (or the combined
/// states) are listed.
#[derive(Debug, Default)]
pub struct TaskGraph {
    /// The stages, in an order where dependencies come first.
    pub stages: Vec<Stage>,
    /// The stage of each task.
    pub stage_of: Vec<u32>,
    /// The index of each task within its stage (its block, or its place in the tree).
    pub index: Vec<u32>,
    /// CSR offsets into `deps`.
    pub deps_start: Vec<u32>,
    /// Dependency task ids.
    pub deps: Vec<u32>,
    /// Shape and dtype of each compute output.
    pub outputs: Vec<(Vec<usize>, DType)>,
}

impl TaskGraph {
    /// The number of tasks.
    pub fn ntasks(&self) -> usize {
        self.stage_of.len()
    }

    /// The dependencies of task `t`.
    pub fn deps_of(&self, t: usize) -> &[u32] {
        &self.deps[self.deps_start[t] as usize..self.deps_start[t + 1] as usize]
    }
}

impl Leaf {
    /// For a `Stage` leaf, the block of the materialized grid that an iteration block
    /// (offsets and shape) reads — one block by construction of the chunks — as its
    /// linear index and its grid coordinates.
    pub fn stage_block(&self, offset: &[usize], shape: &[usize]) -> Option<(usize, Vec<usize>)> {
        let LeafKind::Stage { grid, .. } = &self.kind else {
            return None;
        };
        let mut linear = 0usize;
        let mut coords = Vec::with_capacity(grid.ndim());
        for (a, c) in grid.0.iter().enumerate() {
            let (lo, hi) = self.view.range(a, offset, shape);
            let b = c.block_of(lo.max(0) as usize);
            debug_assert!(shape.contains(&0) || c.block_of(hi.max(0) as usize) == b);
            coords.push(b);
            linear = linear * c.nblocks() + b;
        }
        Some((linear, coords))
    }
}

/// The grid coordinates of partial task `t` (output block `t / per_out`, reduced block
/// `t % per_out`) of a reduction over `axes` of `grid`.
pub fn partial_coords(grid: &Chunks, axes: &[usize], t: usize, per_out: usize, out: &mut [usize]) {
    let (mut o, mut r) = (t / per_out, t % per_out);
    for (a, c) in grid.0.iter().enumerate().rev() {
        let n = c.nblocks();
        if axes.contains(&a) {
            out[a] = r % n;
            r /= n;
        } else {
            out[a] = o % n;
            o /= n;
        }
    }
}

/// The offsets of block `coords` of `grid`.
pub fn block_offsets(grid: &Chunks, coords: &[usize]) -> Vec<usize> {
    grid.0
        .iter()
        .zip(coords)
        .map(|(c, &i)| c.offset(i))
        .collect()
}
