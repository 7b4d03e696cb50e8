//! Map: evaluate a fused program over block `i` of a grid and write it into a target.

use super::{block, block_deps, blocks_text, placed, program_bytes, target_name};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{Leaf, TaskGraph};
use brickwork_core::{Chunks, DType, Result};
use brickwork_kernels::program::Scratch;
use brickwork_kernels::Program;

/// Evaluate a program over block `i` of `grid` and write it into a target.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Map {
    /// The fused kernel.
    pub program: Program,
    /// Its inputs.
    pub leaves: Vec<Leaf>,
    /// The iteration grid.
    pub grid: Chunks,
    /// The target written (a compute output or an intermediate array).
    pub target: usize,
    /// Where the grid's origin lies in the target.
    pub offset: Vec<usize>,
}

impl StageOp for Map {
    fn name(&self) -> &'static str {
        "map"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        self.leaves.iter().map(|l| (l, Some(&self.grid))).collect()
    }

    fn writes(&self) -> Vec<usize> {
        vec![self.target]
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        block_deps(&self.leaves, &self.grid, t, stages, out);
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        (
            program_bytes(&self.program),
            "an elementwise task".to_string(),
        )
    }

    fn summary(&self, g: &TaskGraph) -> String {
        format!(
            "map -> {}, {}",
            target_name(g, self.target),
            blocks_text(&self.grid)
        )
    }

    fn program(&self) -> Option<(&Program, &[Leaf])> {
        Some((&self.program, &self.leaves))
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let (_, offset, shape) = block(&self.grid, task.index);
        let views = env.views(&self.leaves, &offset, &shape)?;
        let placed = placed(&offset, &self.offset);
        env.run_into(&self.program, &views, self.target, &placed, &shape, scratch)
    }
}
