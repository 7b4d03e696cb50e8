//! Scan (`cumsum`, `cumprod`): task `i` evaluates block `i` of a grid, continues it
//! from the last slice of the block before it along the axis (read back from the
//! target), and writes it into the target.

use super::{block, blocks_text, largest_block, placed, target_name};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{Leaf, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Result};
use brickwork_kernels::block::evaluate;
use brickwork_kernels::program::Scratch;
use brickwork_kernels::scan::{scan, ScanOp};
use brickwork_kernels::Program;

/// A scan along `axis`, block after block.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Scan {
    /// The fused kernel producing the values scanned.
    pub program: Program,
    /// Its inputs.
    pub leaves: Vec<Leaf>,
    /// The grid.
    pub grid: Chunks,
    /// The scanned axis.
    pub axis: usize,
    /// The operation.
    pub op: ScanOp,
    /// The target written.
    pub target: usize,
    /// Where the grid's origin lies in the target.
    pub offset: Vec<usize>,
}

impl StageOp for Scan {
    fn name(&self) -> &'static str {
        "scan"
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

    fn deps(&self, t: usize, first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        let (coords, offset, shape) = block(&self.grid, t);
        for l in &self.leaves {
            l.producers(stages, &offset, &shape, out);
        }
        if coords[self.axis] > 0 {
            // The block before along the axis: its last slice is the carry.
            let stride: usize = self.grid.numblocks()[self.axis + 1..].iter().product();
            out.push((first + t - stride) as u32);
        }
    }

    fn working_set(&self, targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        let item = targets[self.target].1.itemsize();
        (
            2 * largest_block(&self.grid) * item,
            format!(
                "a {} (blocks up to {})",
                self.op.name(),
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, g: &TaskGraph) -> String {
        format!(
            "{} along axis {} -> {}, {}",
            self.op.name(),
            self.axis,
            target_name(g, self.target),
            blocks_text(&self.grid)
        )
    }

    fn program(&self) -> Option<(&brickwork_kernels::Program, &[Leaf])> {
        Some((&self.program, &self.leaves))
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let axis = self.axis;
        let (_, offset, shape) = block(&self.grid, task.index);
        let placed = placed(&offset, &self.offset);
        let dtype = env.target(self.target).1;
        let views = env.views(&self.leaves, &offset, &shape)?;
        let mut values = evaluate(&self.program, &views, dtype, &shape, scratch)?;
        // Continue from the element before the block (the blocks before it may be
        // empty: look at the position, not the block's number).
        let carry = if offset[axis] > 0 {
            let mut from = placed.clone();
            from[axis] -= 1;
            let mut slice = shape.clone();
            slice[axis] = 1;
            Some(env.read_block(self.target, &from, &slice, scratch)?)
        } else {
            None
        };
        let n = carry.as_ref().map_or(0, |c| c.len());
        scan(
            &mut values,
            &shape,
            axis,
            self.op,
            carry.as_ref().map(|c| c.as_ref(n)),
        )?;
        env.write_block(self.target, &values, &placed, &shape, scratch)
    }
}
