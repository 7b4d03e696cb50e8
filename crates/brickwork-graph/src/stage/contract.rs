//! Contract: block matrix products. Task `o * per_out + r` multiplies block `(i, r)`
//! of `a` by block `(r, j)` of `b`, where `(i, j)` is output block `o`; the products
//! are summed by the combine stages after it (or finished here when `per_out` is 1).

use super::{block, blocks_text, deliver, final_targets, largest_block, leaf_name, Final};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{block_offsets, Leaf, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Result};
use brickwork_kernels::gemm::matmul;
use brickwork_kernels::program::{check_view, Input, Scratch};
use brickwork_kernels::reduce::{Reducer, State};

/// Block matrix products, summed by the combine stages after it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Contract {
    /// The left operand, read in place.
    pub a: Leaf,
    /// The right operand, read in place.
    pub b: Leaf,
    /// The left operand's grid (m x k).
    pub a_grid: Chunks,
    /// The right operand's grid (k x n).
    pub b_grid: Chunks,
    /// The operands' dtype.
    pub dtype: DType,
    /// Blocks along the contracted axis (tasks per output block).
    pub per_out: usize,
    /// The output grid.
    pub grid: Chunks,
    /// Set when there is no combine stage after this one.
    pub finish: Option<Final>,
}

impl Contract {
    /// The grid coordinates of the blocks of `a` and `b` task `t` multiplies.
    fn operands(&self, t: usize) -> ([usize; 2], [usize; 2]) {
        let (o, r) = (t / self.per_out, t % self.per_out);
        let mut out = [0; 2];
        self.grid.block_coords(o, &mut out);
        ([out[0], r], [r, out[1]])
    }
}

impl StageOp for Contract {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn reads(&self) -> Vec<(&Leaf, Option<&Chunks>)> {
        vec![(&self.a, Some(&self.a_grid)), (&self.b, Some(&self.b_grid))]
    }

    fn writes(&self) -> Vec<usize> {
        final_targets(&self.finish)
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        let (ca, cb) = self.operands(t);
        for (leaf, grid, c) in [(&self.a, &self.a_grid, ca), (&self.b, &self.b_grid, cb)] {
            leaf.producers(stages, &block_offsets(grid, &c), &grid.block_shape(&c), out);
        }
    }

    fn working_set(&self, _targets: &[(Vec<usize>, DType)]) -> (usize, String) {
        (
            // The product block (float64) plus GEMM's packing of both operands.
            largest_block(&self.grid) * 8
                + (largest_block(&self.a_grid) + largest_block(&self.b_grid)) * 8,
            format!(
                "a matrix-product task (output blocks up to {})",
                fmt_shape(&self.grid.chunksize())
            ),
        )
    }

    fn resizable_grid(&self) -> Option<&Chunks> {
        Some(&self.grid)
    }

    fn summary(&self, _g: &TaskGraph) -> String {
        format!(
            "matmul {} @ {} ({} block products per output block), {}",
            leaf_name(&self.a),
            leaf_name(&self.b),
            self.per_out,
            blocks_text(&self.grid)
        )
    }

    fn finish_mut(&mut self, _part: usize) -> Option<&mut Final> {
        self.finish.as_mut()
    }

    fn run(&self, task: Task<'_>, env: &dyn TaskEnv, scratch: &mut Scratch) -> Result<()> {
        let o = task.index / self.per_out;
        let (_, _, shape) = block(&self.grid, o);
        let (ca, cb) = self.operands(task.index);
        let (oa, sa) = (
            block_offsets(&self.a_grid, &ca),
            self.a_grid.block_shape(&ca),
        );
        let (ob, sb) = (
            block_offsets(&self.b_grid, &cb),
            self.b_grid.block_shape(&cb),
        );
        let va = env
            .views(std::slice::from_ref(&self.a), &oa, &sa)?
            .remove(0);
        let vb = env
            .views(std::slice::from_ref(&self.b), &ob, &sb)?
            .remove(0);
        for (v, s) in [(&va, &sa), (&vb, &sb)] {
            if let Input::Buffer(buf) = &v.input {
                check_view(v.base, &v.strides, s, buf.len())?;
            }
        }
        let product = matmul(&va, &vb, shape[0], sa[1], shape[1], self.dtype)?;
        let mut state = State::new(Reducer::Sum, DType::F64, shape[0] * shape[1]);
        state.vals = product;
        let part = deliver(env, o, Reducer::Sum, &self.finish, state, scratch)?;
        env.put(task.id, vec![part])
    }
}
