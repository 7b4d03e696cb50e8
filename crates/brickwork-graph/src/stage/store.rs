//! Store: evaluate a fused program over block `i` of a grid and write it to a sink on
//! storage (a Zarr array).

use super::{block, block_deps, blocks_text, largest_block, program_bytes};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{Leaf, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Result};
use brickwork_kernels::block::evaluate;
use brickwork_kernels::io::BlockSink;
use brickwork_kernels::program::Scratch;
use brickwork_kernels::Program;
use std::sync::Arc;

/// Evaluate a program over block `i` of `grid` and write it to a sink on storage, at
/// the block's offset.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Store {
    /// The fused kernel.
    pub program: Program,
    /// Its inputs.
    pub leaves: Vec<Leaf>,
    /// The grid (the sink's chunks, so each block is whole chunks).
    pub grid: Chunks,
    /// Where the blocks go.
    #[serde(with = "super::remote::block_sink")]
    pub sink: Arc<dyn BlockSink>,
}

impl StageOp for Store {
    fn name(&self) -> &'static str {
        "store"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        self.leaves.iter().map(|l| (l, Some(&self.grid))).collect()
    }

    fn writes(&self) -> Vec<usize> {
        Vec::new()
    }

    fn is_root(&self, _noutputs: usize) -> bool {
        true
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        block_deps(&self.leaves, &self.grid, t, stages, out);
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        (
            2 * largest_block(&self.grid) * 8 + program_bytes(&self.program),
            format!(
                "a store of blocks up to {}",
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, _g: &TaskGraph) -> String {
        format!("store -> {}, {}", self.sink.name(), blocks_text(&self.grid))
    }

    fn program(&self) -> Option<(&Program, &[Leaf])> {
        Some((&self.program, &self.leaves))
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let (_, offset, shape) = block(&self.grid, task.index);
        let views = env.views(&self.leaves, &offset, &shape)?;
        let dtype = self.program.regs[self.program.outputs[0] as usize];
        let values = evaluate(&self.program, &views, dtype, &shape, scratch)?;
        self.sink.write(&offset, &shape, &values)
    }
}
