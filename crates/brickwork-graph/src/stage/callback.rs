//! Callback (`map_blocks`): call a user function on block `i` of every input to make
//! block `i` of a grid, written into a target. The one kernel that is not data.
//!
//! An input that is a gather (`map_overlap`'s halos: `take` along one axis after
//! another) is not materialized: the task gathers its block straight from the array
//! under the gathers into a fresh tile, which the function may then have without
//! another copy. The function's result is copied into the target from its own memory,
//! through its strides (a trimmed view needs no copy first).

use super::{block, blocks_text, largest_block, placed, target_name};
use super::{Stage, StageOp, Task, TaskEnv};
use crate::taskgraph::{block_offsets, Leaf, LeafKind, TaskGraph};
use crate::Indices;
use brickwork_core::{fmt_shape, Chunks, DType, Error, Result};
use brickwork_kernels::callback::{BlockArg, BlockFn, BlockInput};
use brickwork_kernels::program::{check_view, Input, InputView, Scratch};
use brickwork_kernels::{Instr, Program, Tile};
use std::sync::Arc;

/// Gathers along axes (`take`), applied to an array one after another.
pub type Gathers = Vec<(usize, Arc<Indices>)>;

/// Call a user function on block `i` of every input to make block `i` of `grid`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Callback {
    /// The function.
    #[serde(with = "super::remote::block_fn")]
    pub func: Arc<dyn BlockFn>,
    /// The inputs, read through identity views of their own grids (for a gathered
    /// input: the array under its gathers).
    pub leaves: Vec<Leaf>,
    /// For each input, the gathers that make it from its leaf (empty: none).
    pub gathers: Vec<Gathers>,
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
            .zip(&self.in_grids)
            .zip(&self.gathers)
            .map(|((l, g), gathers)| (l, gathers.is_empty().then_some(g)))
            .collect()
    }

    fn writes(&self) -> Vec<usize> {
        vec![self.target]
    }

    fn deps(&self, t: usize, _first: usize, stages: &[Stage], out: &mut Vec<u32>) {
        for ((l, g_in), gathers) in self.leaves.iter().zip(&self.in_grids).zip(&self.gathers) {
            let (_, offset, shape) = block(g_in, t);
            if gathers.is_empty() {
                l.producers(stages, &offset, &shape, out);
            } else {
                let (start, size, _) = gathered_region(gathers, &offset, &shape);
                l.producers(stages, &start, &size, out);
            }
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
        for ((leaf, g_in), gathers) in self.leaves.iter().zip(&self.in_grids).zip(&self.gathers) {
            let offset = block_offsets(g_in, &coords);
            let shape = g_in.block_shape(&coords);
            if !gathers.is_empty() {
                let tile = gather_block(env, leaf, gathers, &offset, &shape)?;
                args.push(BlockInput::Owned(tile, shape));
                continue;
            }
            let view = env
                .views(std::slice::from_ref(leaf), &offset, &shape)?
                .remove(0);
            let Input::Buffer(buffer) = view.input else {
                return Err(Error::Internal("map_blocks input is not in memory".into()));
            };
            check_view(view.base, &view.strides, &shape, buffer.len())?;
            args.push(BlockInput::Shared(BlockArg {
                buffer,
                base: view.base,
                strides: view.strides,
                shape,
            }));
        }
        let shape = self.grid.block_shape(&coords);
        let out = self.func.call_blocks(&coords, args, &shape)?;
        let dtype = env.target(self.target).1;
        if out.shape != shape || out.buffer.dtype() != dtype {
            return Err(Error::Value(format!(
                "{} returned a block of shape {} and dtype {} for block {coords:?}, expected \
                 shape {} and dtype {dtype}",
                self.func.name(),
                fmt_shape(&out.shape),
                out.buffer.dtype(),
                fmt_shape(&shape)
            )));
        }
        check_view(out.base, &out.strides, &shape, out.buffer.len())?;
        let offset = block_offsets(&self.grid, &coords);
        let placed = placed(&offset, &self.offset);
        if shape.contains(&0) {
            return Ok(());
        }
        // Copied from the function's memory straight into the target.
        let mut copy = Program::default();
        let reg = copy.push(dtype, |dst| Instr::Load { input: 0, dst });
        copy.outputs.push(reg);
        let view = InputView {
            input: Input::Buffer(out.buffer),
            base: out.base,
            strides: out.strides,
        };
        env.run_into(&copy, &[view], self.target, &placed, &shape, scratch)
    }
}

/// The coordinates of the array under `gathers` that the gathered block at `offset`
/// of `shape` reads: the region's start and size, and per axis the coordinates
/// relative to the start (None: the whole range, in order).
fn gathered_region(
    gathers: &Gathers,
    offset: &[usize],
    shape: &[usize],
) -> (Vec<usize>, Vec<usize>, Vec<Option<Vec<usize>>>) {
    let ndim = shape.len();
    let mut coords: Vec<Option<Vec<usize>>> = vec![None; ndim];
    // The last gather was applied last: undo them from the outside in.
    for (axis, indices) in gathers.iter().rev() {
        let a = *axis;
        let at: Vec<usize> = match &coords[a] {
            None => (offset[a]..offset[a] + shape[a]).collect(),
            Some(c) => c.clone(),
        };
        let mut mapped = Vec::with_capacity(at.len());
        for p in at {
            let (_, run) = indices.pieces(p, p + 1).next().expect("an index in range");
            mapped.push(run.start);
        }
        coords[a] = Some(mapped);
    }
    let mut start = offset.to_vec();
    let mut size = shape.to_vec();
    for a in 0..ndim {
        if let Some(c) = &mut coords[a] {
            let lo = c.iter().copied().min().unwrap_or(0);
            let hi = c.iter().copied().max().unwrap_or(0);
            start[a] = lo;
            size[a] = if c.is_empty() { 0 } else { hi - lo + 1 };
            c.iter_mut().for_each(|x| *x -= lo);
        }
    }
    (start, size, coords)
}

/// The gathered block at `offset` of `shape` as a fresh C-contiguous tile: the
/// region of `leaf` it reaches is viewed in place and its elements copied.
fn gather_block(
    env: &dyn TaskEnv,
    leaf: &Leaf,
    gathers: &Gathers,
    offset: &[usize],
    shape: &[usize],
) -> Result<Tile> {
    let (start, size, coords) = gathered_region(gathers, offset, shape);
    let n: usize = shape.iter().product();
    let view = env
        .views(std::slice::from_ref(leaf), &start, &size)?
        .remove(0);
    let Input::Buffer(buffer) = &view.input else {
        return Err(Error::Internal("a gathered input is not in memory".into()));
    };
    check_view(view.base, &view.strides, &size, buffer.len())?;
    let mut tile = Tile::new(buffer.dtype(), n);
    if n == 0 {
        return Ok(tile);
    }
    // Per axis, the element offsets (in the view) of each coordinate of the block.
    let steps: Vec<Vec<isize>> = (0..shape.len())
        .map(|a| {
            let s = view.strides[a];
            match &coords[a] {
                Some(c) => c.iter().map(|&x| x as isize * s).collect(),
                None => (0..shape[a] as isize).map(|x| x * s).collect(),
            }
        })
        .collect();
    let itemsize = buffer.dtype().itemsize();
    let src = buffer.as_ptr();
    let dst = crate::stage::callback::tile_ptr(&mut tile);
    let last = shape.len() - 1;
    let row = &steps[last];
    let unit = row.windows(2).all(|w| w[1] - w[0] == 1);
    let mut index = vec![0usize; last];
    let mut out = 0usize;
    loop {
        let base: isize = view.base + (0..last).map(|a| steps[a][index[a]]).sum::<isize>();
        // SAFETY: every address read is `view.base` plus coordinates inside the region
        // the view was checked for (`check_view` above); `out` stays below `n`, the
        // tile's length, and both pointers are valid for their dtype's itemsize.
        unsafe {
            if unit {
                std::ptr::copy_nonoverlapping(
                    src.offset((base + row[0]) * itemsize as isize),
                    dst.add(out * itemsize),
                    row.len() * itemsize,
                );
            } else {
                for (k, &r) in row.iter().enumerate() {
                    std::ptr::copy_nonoverlapping(
                        src.offset((base + r) * itemsize as isize),
                        dst.add((out + k) * itemsize),
                        itemsize,
                    );
                }
            }
        }
        out += row.len();
        // The next row in C order.
        let mut a = last;
        loop {
            if a == 0 {
                return Ok(tile);
            }
            a -= 1;
            index[a] += 1;
            if index[a] < shape[a] {
                break;
            }
            index[a] = 0;
        }
    }
}

/// The first byte of a tile's elements.
#[allow(clippy::unnecessary_cast)] // a cast for every dtype but u8
fn tile_ptr(tile: &mut Tile) -> *mut u8 {
    brickwork_kernels::with_tile!(tile, v => v.as_mut_ptr() as *mut u8)
}
