//! Stages: groups of identical tasks. Each kind of stage is one module here, behind the
//! [`StageOp`] trait, which says everything the rest of the engine asks of a stage:
//!
//! - its tasks' dependencies ([`StageOp::deps`]), for the task arena;
//! - the working set of one task ([`StageOp::working_set`]), for the memory budget;
//! - what it reads and writes, and a line of text ([`StageOp::summary`]), for
//!   `explain` and `visualize`;
//! - how a task runs ([`StageOp::run`]), against the executor's side of a computation,
//!   the [`TaskEnv`] trait (reading leaves, writing targets, handing states on).
//!
//! [`StageKind`] lists the kinds, so that a plan stays plain data; it and its dispatch
//! ([`StageKind::op`]) are generated from one list of names (`stage_kinds!`). Adding a
//! kind of stage touches its module, that list and the planner that constructs it (see "How to add an operation" in ARCHITECTURE.md).

mod callback;
mod calls;
mod combine;
mod contract;
mod gather;
mod map;
mod partial;
pub mod remote;
mod scan;
mod store;

pub use callback::Callback;
pub use calls::{Calls, TaskFn};
pub use combine::Combine;
pub use contract::Contract;
pub use gather::Gather;
pub use map::Map;
pub use partial::{Partial, PartialOut};
pub use scan::Scan;
pub use store::Store;

use crate::taskgraph::{block_offsets, Leaf, LeafKind, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Result};
use brickwork_kernels::program::{InputView, Scratch};
use brickwork_kernels::reduce::{finalize, Reducer, State};
use brickwork_kernels::{Program, Tile};
use serde::{Deserialize, Serialize};

/// One task as its stage runs it.
#[derive(Debug, Clone, Copy)]
pub struct Task<'a> {
    /// Its id in the task arena.
    pub id: usize,
    /// Its index within its stage (its block, or its place in a tree).
    pub index: usize,
    /// The tasks it depends on, in the order [`StageOp::deps`] listed them.
    pub deps: &'a [u32],
}

/// One output of a finished task, kept for the tasks that read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Part {
    /// A partial reduction state.
    State(State),
    /// Nothing kept (a result written straight into its target arrays).
    Empty,
}

/// The executor's side of a running computation, as a task sees it.
pub trait TaskEnv {
    /// Shape and dtype of target `target` (compute outputs first, then intermediates).
    fn target(&self, target: usize) -> &(Vec<usize>, DType);

    /// Views of what `leaves` read for the iteration block at `offset` of `shape`.
    fn views(&self, leaves: &[Leaf], offset: &[usize], shape: &[usize]) -> Result<Vec<InputView>>;

    /// Evaluate `program` (one output) over a block of `shape` straight into target
    /// `target` at `placed`.
    fn run_into(
        &self,
        program: &Program,
        views: &[InputView],
        target: usize,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()>;

    /// Write the finished C-contiguous block `values` of `shape` into target `target`
    /// at `placed`.
    fn write_block(
        &self,
        target: usize,
        values: &Tile,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()>;

    /// Read back the region at `placed` of `shape` of target `target`, written by tasks
    /// this one depends on.
    fn read_block(
        &self,
        target: usize,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<Tile>;

    /// Keep task `task`'s parts for the tasks that depend on it.
    fn put(&self, task: usize, parts: Vec<Part>) -> Result<()>;

    /// Call `f` with part `part` of task `task`'s result (None when it is missing).
    fn with_part(&self, task: usize, part: usize, f: &mut dyn FnMut(Option<&Part>)) -> Result<()>;
}

/// What every kind of stage provides.
pub trait StageOp: std::fmt::Debug + Send + Sync {
    /// The kind's short name (`map`, `partial`, `combine`, ...), as `visualize` shows it.
    fn name(&self) -> &'static str;

    /// The blocks its tasks work on, if it has a grid.
    fn grid(&self) -> Option<&Chunks>;

    /// The leaves its tasks read, each with the grid whose whole blocks it is read in
    /// (None when reads are not whole blocks of one grid).
    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)>;

    /// The targets it writes.
    fn writes(&self) -> Vec<usize>;

    /// Whether its tasks produce a result of the computation (culling keeps them and
    /// what they need). By default: whether it writes a compute output.
    fn is_root(&self, noutputs: usize) -> bool {
        self.writes().iter().any(|&t| t < noutputs)
    }

    /// Push the ids of the tasks task `t` (of this stage, whose first task is
    /// `first`) depends on onto `out`.
    fn deps(&self, t: usize, first: usize, stages: &[Stage], out: &mut Vec<u32>);

    /// The largest working set of one task in bytes, and what the stage is in words
    /// (for the budget's error message). `targets` are the computation's targets.
    fn working_set(&self, targets: &[(Vec<usize>, DType)]) -> (usize, String);

    /// When the working set grows with the blocks, the grid whose blocks to make
    /// smaller for a task to fit a budget.
    fn resizable_grid(&self) -> Option<&Chunks> {
        None
    }

    /// Its line of `explain`, without the task count.
    fn summary(&self, g: &TaskGraph) -> String;

    /// Its fused program and the leaves it loads, if it has one.
    fn program(&self) -> Option<(&Program, &[Leaf])> {
        None
    }

    /// The finished reduction result `part` it writes, for the planner to add targets.
    fn finish_mut(&mut self, _part: usize) -> Option<&mut Final> {
        None
    }

    /// Run task `task`.
    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()>;
}

/// Declares [`StageKind`] with one variant per kind of stage (each holding the struct of
/// the same name) and its dispatch to [`StageOp`]: adding a kind is adding its name here.
macro_rules! stage_kinds {
    ($($kind:ident),* $(,)?) => {
        /// The kinds of stage. A plan holds one per stage, not per task, so variant sizes
        /// do not matter.
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum StageKind {
            $(
                #[doc = concat!("See [`", stringify!($kind), "`].")]
                $kind($kind),
            )*
        }

        impl StageKind {
            /// The stage's operations.
            pub fn op(&self) -> &dyn StageOp {
                match self {
                    $(StageKind::$kind(s) => s,)*
                }
            }

            /// The stage's operations, mutably (for the planner).
            pub fn op_mut(&mut self) -> &mut dyn StageOp {
                match self {
                    $(StageKind::$kind(s) => s,)*
                }
            }
        }
    };
}

stage_kinds!(Map, Partial, Combine, Store, Gather, Contract, Scan, Callback, Calls);

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

/// What happens to the finished value of a reduction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Final {
    /// The result dtype.
    pub dtype: DType,
    /// Elements reduced into each output (for mean).
    pub n: f64,
    /// The grid of the result.
    pub grid: Chunks,
    /// The targets (compute outputs or intermediate arrays) the result is written to,
    /// each with the offset of the result in it.
    pub targets: Vec<(usize, Vec<usize>)>,
}

/// The targets a reduction's last step writes.
fn final_targets(f: &Option<Final>) -> Vec<usize> {
    f.iter()
        .flat_map(|f| f.targets.iter().map(|(t, _)| *t))
        .collect()
}

/// " -> output 0, intermediate #2" for a reduction's last step; empty otherwise.
fn final_text(g: &TaskGraph, f: &Option<Final>) -> String {
    match f {
        Some(f) => {
            let t: Vec<String> = f.targets.iter().map(|(t, _)| target_name(g, *t)).collect();
            format!(" -> {}", t.join(", "))
        }
        None => String::new(),
    }
}

/// Hand on a reduction task's state for output block `o`: the state itself, or (for
/// the last step) the finished block, written into its target arrays.
fn deliver(
    env: &dyn TaskEnv,
    o: usize,
    reducer: Reducer,
    finish: &Option<Final>,
    state: State,
    scratch: &mut Scratch,
) -> Result<Part> {
    let Some(f) = finish else {
        return Ok(Part::State(state));
    };
    let values = finalize(reducer, state, f.dtype, f.n)?;
    let (_, offset, shape) = block(&f.grid, o);
    for (target, at) in &f.targets {
        env.write_block(*target, &values, &placed(&offset, at), &shape, scratch)?;
    }
    Ok(Part::Empty)
}

/// Grid coordinates, offsets and shape of block `i` of `grid`.
fn block(grid: &Chunks, i: usize) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut coords = vec![0; grid.ndim()];
    grid.block_coords(i, &mut coords);
    let offset = block_offsets(grid, &coords);
    let shape = grid.block_shape(&coords);
    (coords, offset, shape)
}

/// `offset` moved by `at` (a block's place in its target).
fn placed(offset: &[usize], at: &[usize]) -> Vec<usize> {
    offset.iter().zip(at).map(|(o, a)| o + a).collect()
}

/// The writers of what `leaves` read for block `i` of `grid`.
fn block_deps(leaves: &[Leaf], grid: &Chunks, i: usize, stages: &[Stage], out: &mut Vec<u32>) {
    if !leaves.iter().any(Leaf::reads_intermediate) {
        return;
    }
    let (_, offset, shape) = block(grid, i);
    for l in leaves {
        l.producers(stages, &offset, &shape, out);
    }
}

fn largest_block(grid: &Chunks) -> usize {
    grid.chunksize().iter().product()
}

/// "output 0" or "intermediate #3".
pub fn target_name(g: &TaskGraph, t: usize) -> String {
    if t < g.noutputs {
        format!("output {t}")
    } else {
        format!("intermediate #{t}")
    }
}

/// "blocks (1000, 1000)".
fn blocks_text(grid: &Chunks) -> String {
    format!("blocks {}", fmt_shape(&grid.chunksize()))
}

/// A leaf as `explain` names it.
pub fn leaf_name(l: &Leaf) -> String {
    match &l.kind {
        LeafKind::Source(s) => format!("source {:?} (in place)", s.strides),
        LeafKind::Generated(_) => "generated values".into(),
        LeafKind::Buffer { target, .. } => format!("intermediate #{target}"),
        LeafKind::Stored(src) => format!("{src:?} (read per block)"),
        LeafKind::Remote(key) => format!("remote data #{key:x}"),
        LeafKind::Select(s) => {
            let parts: Vec<String> = s.parts.iter().map(leaf_name).collect();
            format!(
                "concatenation of [{}] (each block from its part)",
                parts.join(", ")
            )
        }
    }
}

/// The working set of a task running `program` tile by tile.
fn program_bytes(program: &Program) -> usize {
    program.regs.len() * brickwork_kernels::TILE * 8
}
