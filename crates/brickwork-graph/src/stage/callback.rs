//! Callback (`map_blocks`): call a user function on block `i` of every input to make
//! block `i` of a grid, written into a target. The one kernel that is not data.

use super::{block, blocks_text, largest_block, placed, target_name};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{block_offsets, Leaf, LeafKind, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Error, Result};
use brickwork_kernels::callback::{BlockArg, BlockFn};
use brickwork_kernels::program::{check_view, Input, Scratch};
use std::sync::Arc;

/// Call a user function on block `i` of every input to make block `i` of `grid`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Callback {
    /// The function.
    #[serde(with = "super::remote::block_fn")]
    pub func: Arc<dyn BlockFn>,
    /// The inputs, read through identity views of their own grids.
    pub leaves: Vec<Leaf>,
    /// The chunk grid of each input.
    pub in_grids: Vec<Chunks>,
    /// The output grid.
    pub grid: Chunks,
    /// The target written.
    pub target: usize,
    /// Where the grid's origin lies in the target.
    pub offset: Vec<usize>,
}

impl StageOp for Callback {
    fn name(&self) -> &'static str {
        "map_blocks"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        self.leaves
            .iter()
            .zip(self.in_grids.iter().map(Some))
            .collect()
    }

    fn writes(&self) -> Vec<usize> {
        vec![self.target]
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        for (l, g_in) in self.leaves.iter().zip(&self.in_grids) {
            let (_, offset, shape) = block(g_in, t);
            l.producers(stages, &offset, &shape, out);
        }
    }

    fn working_set(&self, targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        let item = targets[self.target].1.itemsize();
        // Each input block is copied for the function; a stored one is decoded into a
        // region first.
        let ins: usize = self
            .in_grids
            .iter()
            .zip(&self.leaves)
            .map(|(c, leaf)| {
                let copies = if matches!(leaf.kind, LeafKind::Stored(_)) {
                    2
                } else {
                    1
                };
                largest_block(c) * 8 * copies
            })
            .sum();
        (
            ins + 2 * largest_block(&self.grid) * item,
            format!(
                "the block function {} (blocks up to {})",
                self.func.name(),
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, g: &TaskGraph) -> String {
        format!(
            "map_blocks {} -> {}, {}",
            self.func.name(),
            target_name(g, self.target),
            blocks_text(&self.grid)
        )
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let mut coords = vec![0; self.grid.ndim()];
        self.grid.block_coords(task.index, &mut coords);
        let mut args = Vec::with_capacity(self.leaves.len());
        for (leaf, g_in) in self.leaves.iter().zip(&self.in_grids) {
            let offset = block_offsets(g_in, &coords);
            let shape = g_in.block_shape(&coords);
            let view = env
                .views(std::slice::from_ref(leaf), &offset, &shape)?
                .remove(0);
            let Input::Buffer(buffer) = view.input else {
                return Err(Error::Internal("map_blocks input is not in memory".into()));
            };
            check_view(view.base, &view.strides, &shape, buffer.len())?;
            args.push(BlockArg {
                buffer,
                base: view.base,
                strides: view.strides,
                shape,
            });
        }
        let shape = self.grid.block_shape(&coords);
        let values = self.func.call(&coords, &args, &shape)?;
        let expected: usize = shape.iter().product();
        let dtype = env.target(self.target).1;
        if values.len() != expected || values.dtype() != dtype {
            return Err(Error::Value(format!(
                "{} returned {} elements of {} for block {coords:?}, expected {expected} \
                 elements of {dtype} (shape {})",
                self.func.name(),
                values.len(),
                values.dtype(),
                fmt_shape(&shape)
            )));
        }
        let offset = block_offsets(&self.grid, &coords);
        let placed = placed(&offset, &self.offset);
        env.write_block(self.target, &values, &placed, &shape, scratch)
    }
}
