//! Gather (`take`, `x[[3, 1]]`, `x[:, mask]`): block `i` of a grid takes, along an
//! axis, the input's slices at a list of coordinates, and is written into a target.

use super::{block, blocks_text, largest_block, placed, target_name};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{gather_region, Leaf, TaskGraph};
use crate::Indices;
use brickwork_core::{fmt_shape, Chunks, DType, Error, Result};
use brickwork_kernels::block::contiguous;
use brickwork_kernels::program::Scratch;
use brickwork_kernels::Tile;
use std::sync::Arc;

/// Block `i` of `grid` takes, along `axis`, the input's slices at `indices` (the input
/// read in place through `leaf`), written into a target.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Gather {
    /// The input, through an identity view of its own coordinates.
    pub leaf: Leaf,
    /// The axis.
    pub axis: usize,
    /// The coordinates taken along it, in output order.
    pub indices: Arc<Indices>,
    /// The output grid.
    pub grid: Chunks,
    /// The target written.
    pub target: usize,
    /// Where the grid's origin lies in the target.
    pub offset: Vec<usize>,
}

impl StageOp for Gather {
    fn name(&self) -> &'static str {
        "take"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        vec![(&self.leaf, None)]
    }

    fn writes(&self) -> Vec<usize> {
        vec![self.target]
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        let (_, offset, shape) = block(&self.grid, t);
        let (start, size) = gather_region(&self.indices, self.axis, &offset, &shape);
        self.leaf.producers(stages, &start, &size, out);
    }

    fn working_set(&self, targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        (
            2 * largest_block(&self.grid) * targets[self.target].1.itemsize(),
            format!(
                "a gather along axis {} (blocks up to {})",
                self.axis,
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, g: &TaskGraph) -> String {
        format!(
            "take {} indices along axis {} -> {}, {}",
            self.indices.len(),
            self.axis,
            target_name(g, self.target),
            blocks_text(&self.grid)
        )
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let axis = self.axis;
        let (_, offset, shape) = block(&self.grid, task.index);
        let dtype = env.target(self.target).1;
        let mut values = Tile::new(dtype, shape.iter().product());
        let outer: usize = shape[..axis].iter().product();
        let inner: usize = shape[axis + 1..].iter().product();
        let begin = offset[axis];
        for (at, run) in self.indices.pieces(begin, begin + shape[axis]) {
            // A run counting up is one region of the input; any other run is read
            // slice by slice.
            let (count, each) = if run.step == 1 {
                (1, run.len)
            } else {
                (run.len, 1)
            };
            let mut region = shape.clone();
            region[axis] = each;
            for k in 0..count {
                let mut from = offset.clone();
                from[axis] = run.at(k);
                let view = env
                    .views(std::slice::from_ref(&self.leaf), &from, &region)?
                    .remove(0);
                let part = contiguous(&view, dtype, &region, scratch)?;
                let j = at - begin + k;
                place(&mut values, &part, outer, shape[axis], inner, j, each)?;
            }
        }
        let placed = placed(&offset, &self.offset);
        env.write_block(self.target, &values, &placed, &shape, scratch)
    }
}

/// Copy `slice` (outer x m x inner, C order) to positions `j..j + m` of `block`
/// (outer x n x inner).
fn place(
    block: &mut Tile,
    slice: &Tile,
    outer: usize,
    n: usize,
    inner: usize,
    j: usize,
    m: usize,
) -> Result<()> {
    let w = m * inner;
    macro_rules! arms {
        ($($v:ident),*) => {
            match (block, slice) {
                $((Tile::$v(b), Tile::$v(s)) => {
                    for o in 0..outer {
                        let at = (o * n + j) * inner;
                        b[at..at + w].copy_from_slice(&s[o * w..(o + 1) * w]);
                    }
                    Ok(())
                })*
                _ => Err(Error::Internal("gather of another dtype".into())),
            }
        };
    }
    arms!(Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64)
}
