//! The lazy expression graph ([`Expr`]), the optimizer that turns it into fused
//! stages, and the chunk-level [`TaskGraph`] the executors run.
//!
//! ```text
//! Expr graph ──► optimize::ir (CSE) ──► optimize::rules (rewrites to a fixed point, cull)
//!            ──► optimize::stages (fuse, lower to stage::*) ──► TaskGraph (tasks as data)
//! ```
//!
//! Building an [`Expr`] validates shapes, dtypes and axes at once and costs O(1) in the
//! number of chunks. Chunk tasks are generated only when a computation starts.

mod build;
mod expr;
mod indices;
pub mod optimize;
pub mod stage;
mod taskgraph;
mod view;

pub use build::*;
pub use expr::{Expr, Node, Op, ReduceSpec, Source};
pub use indices::{Indices, Run};
pub use stage::{Final, Part, PartialOut, Stage, StageKind, StageOp, Task, TaskEnv};
pub use taskgraph::{
    block_offsets, gather_region, partial_coords, Leaf, LeafKind, TaskGraph, Writer, Writers,
};
pub use view::{AxisCoord, View};
