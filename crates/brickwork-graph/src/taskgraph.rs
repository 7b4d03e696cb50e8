//! The chunk-level plan: stages of identical tasks, and the task arena generated from
//! them when a computation starts. A task is data (a stage id and a block index); its
//! kernel is the stage's serializable description.

use crate::expr::Source;
use crate::view::View;
use brickwork_core::{Chunks, DType};
use brickwork_kernels::program::Generator;
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::Program;
use std::sync::Arc;

/// A stage whose tasks write a region of a target array: task `i` writes block `i` of
/// `grid`, placed at `offset` in the target.
#[derive(Debug, Clone)]
pub struct Writer {
    /// The writing stage.
    pub stage: usize,
    /// The blocks it writes.
    pub grid: Chunks,
    /// Where the region starts in the target.
    pub offset: Vec<usize>,
}

/// The stages writing an intermediate array, with an index for finding the ones a
/// read overlaps: when the writers' regions are disjoint and ordered along one axis (a
/// concatenation), a read finds its writers by binary search instead of a scan.
#[derive(Debug, Clone)]
pub struct Writers {
    list: Vec<Writer>,
    /// The axis along which the writers follow each other without overlapping.
    sorted_axis: Option<usize>,
}

impl Writers {
    /// Index `list`.
    pub fn new(list: Vec<Writer>) -> Writers {
        let ndim = list.first().map_or(0, |w| w.offset.len());
        let sorted_axis = (list.len() > 8).then_some(()).and_then(|()| {
            (0..ndim).find(|&a| {
                list.windows(2)
                    .all(|p| p[0].offset[a] + p[0].grid.0[a].len() <= p[1].offset[a])
            })
        });
        Writers { list, sorted_axis }
    }

    /// The writers, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Writer> {
        self.list.iter()
    }

    /// The writers whose range along the sorted axis meets `lo..=hi` there (all of
    /// them when there is no sorted axis).
    fn candidates(&self, view: &View, offset: &[usize], shape: &[usize]) -> &[Writer] {
        let Some(a) = self.sorted_axis else {
            return &self.list;
        };
        let (lo, hi) = view.range(a, offset, shape);
        let first = self
            .list
            .partition_point(|w| ((w.offset[a] + w.grid.0[a].len()) as i64) <= lo);
        let end = self.list.partition_point(|w| (w.offset[a] as i64) <= hi);
        &self.list[first..end.max(first)]
    }
}

/// The input region a gather block reads: the block's ranges on every axis but `axis`,
/// and the span of its indices along `axis`.
pub fn gather_region(
    indices: &crate::Indices,
    axis: usize,
    offset: &[usize],
    shape: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let span = indices.span(offset[axis], offset[axis] + shape[axis]);
    let mut start = offset.to_vec();
    let mut size = shape.to_vec();
    start[axis] = span.map_or(0, |(lo, _)| lo);
    size[axis] = span.map_or(0, |(lo, hi)| hi - lo + 1);
    (start, size)
}

/// What a leaf of a fused program reads.
#[derive(Debug, Clone)]
pub enum LeafKind {
    /// An array in memory, read in place.
    Source(Source),
    /// Values computed from the index.
    Generated(Generator),
    /// An array on storage: each task reads the region its view reaches.
    Stored(Arc<dyn brickwork_kernels::io::BlockSource>),
    /// A materialized intermediate array (a reduction result, a concatenation), read in
    /// place like a source once its writers have run.
    Buffer {
        /// The target number of the array (see [`TaskGraph::targets`]).
        target: usize,
        /// The stages writing it.
        writers: Arc<Writers>,
        /// Read with this shape instead of the array's own (a reshape: the same
        /// elements in C order).
        reshaped: Option<Vec<usize>>,
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
    /// The targets (compute outputs or intermediate arrays) the result is written to,
    /// each with the offset of the result in it.
    pub targets: Vec<(usize, Vec<usize>)>,
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
///
/// A plan holds one of these per stage (not per task), so variant sizes do not matter.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum StageKind {
    /// Evaluate a program over block `i` of `grid` and write it into a target.
    Map {
        /// The fused kernel.
        program: Program,
        /// Its inputs.
        leaves: Vec<Leaf>,
        /// The iteration grid.
        grid: Chunks,
        /// The target written (a compute output or an intermediate array).
        target: usize,
        /// Where the grid's origin lies in the target.
        offset: Vec<usize>,
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
    /// Evaluate a program over block `i` of `grid` and write it to a sink on storage
    /// (a Zarr array), at the block's offset.
    Store {
        /// The fused kernel.
        program: Program,
        /// Its inputs.
        leaves: Vec<Leaf>,
        /// The grid (the sink's chunks, so each block is whole chunks).
        grid: Chunks,
        /// Where the blocks go.
        sink: Arc<dyn brickwork_kernels::io::BlockSink>,
    },
    /// Gather: block `i` of `grid` takes, along `axis`, the input's slices at
    /// `indices` (the input read in place through `leaf`), written into a target.
    Gather {
        /// The input, through an identity view of its own coordinates.
        leaf: Leaf,
        /// The axis.
        axis: usize,
        /// The coordinates taken along it, in output order.
        indices: Arc<crate::Indices>,
        /// The output grid.
        grid: Chunks,
        /// The target written.
        target: usize,
        /// Where the grid's origin lies in the target.
        offset: Vec<usize>,
    },
    /// Block matrix products: task `o * per_out + r` multiplies block `(i, r)` of `a`
    /// by block `(r, j)` of `b`, where `(i, j)` is output block `o`; the products are
    /// summed by the combine stages after it (or finished here when `per_out` is 1).
    Contract {
        /// The left operand, read in place.
        a: Leaf,
        /// The right operand, read in place.
        b: Leaf,
        /// The left operand's grid (m x k).
        a_grid: Chunks,
        /// The right operand's grid (k x n).
        b_grid: Chunks,
        /// The operands' dtype.
        dtype: DType,
        /// Blocks along the contracted axis (tasks per output block).
        per_out: usize,
        /// The output grid.
        grid: Chunks,
        /// Set when there is no combine stage after this one.
        finish: Option<Final>,
    },
    /// A scan along `axis`: task `i` evaluates block `i` of `grid`, continues it from
    /// the last slice of the block before it along the axis (read back from the
    /// target), and writes it into the target.
    Scan {
        /// The fused kernel producing the values scanned.
        program: Program,
        /// Its inputs.
        leaves: Vec<Leaf>,
        /// The grid.
        grid: Chunks,
        /// The scanned axis.
        axis: usize,
        /// The operation.
        op: brickwork_kernels::scan::ScanOp,
        /// The target written.
        target: usize,
        /// Where the grid's origin lies in the target.
        offset: Vec<usize>,
    },
    /// Call a user function on block `i` of every input to make block `i` of `grid`,
    /// written into a target.
    Callback {
        /// The function.
        func: Arc<dyn brickwork_kernels::callback::BlockFn>,
        /// The inputs, read through identity views of their own grids.
        leaves: Vec<Leaf>,
        /// The chunk grid of each input.
        in_grids: Vec<Chunks>,
        /// The output grid.
        grid: Chunks,
        /// The target written.
        target: usize,
        /// Where the grid's origin lies in the target.
        offset: Vec<usize>,
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
    /// Shape and dtype of each target array: the compute outputs first, then the
    /// intermediate arrays that stages materialize.
    pub targets: Vec<(Vec<usize>, DType)>,
    /// How many of the targets are compute outputs.
    pub noutputs: usize,
    /// For each intermediate array (target `noutputs + i`), whether it is spilled: kept
    /// in a temporary file rather than in memory (decided by [`crate::optimize::budget::fit`]).
    pub spilled: Vec<bool>,
    /// For each spilled intermediate, the block grid its file is laid out in when every
    /// reader reads whole blocks of one grid: the blocks one after another in C order,
    /// each in C order, so that a block is one contiguous read. None: the array in C order.
    pub layouts: Vec<Option<brickwork_core::Chunks>>,
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
    /// For a `Buffer` leaf, the tasks that write the elements an iteration block
    /// (offsets and shape) reads.
    pub fn producers(
        &self,
        stages: &[crate::Stage],
        offset: &[usize],
        shape: &[usize],
        out: &mut Vec<u32>,
    ) {
        let LeafKind::Buffer {
            writers, reshaped, ..
        } = &self.kind
        else {
            return;
        };
        if shape.contains(&0) {
            return;
        }
        if reshaped.is_some() {
            // A reshaped read touches a range of the C order, not a box: wait for all.
            for w in writers.iter() {
                let s = &stages[w.stage];
                out.extend((s.first..s.first + s.ntasks).map(|t| t as u32));
            }
            return;
        }
        let ndim = self.view.coords.len();
        'writers: for w in writers.candidates(&self.view, offset, shape) {
            // The block range of this writer's grid that the read range overlaps.
            let mut ranges = Vec::with_capacity(ndim);
            for (a, c) in w.grid.0.iter().enumerate() {
                let (lo, hi) = self.view.range(a, offset, shape);
                let (start, end) = (w.offset[a] as i64, (w.offset[a] + c.len()) as i64);
                let (lo, hi) = (lo.max(start), hi.min(end - 1));
                if lo > hi {
                    continue 'writers;
                }
                ranges.push((
                    c.block_of((lo - start) as usize),
                    c.block_of((hi - start) as usize),
                ));
            }
            let first = stages[w.stage].first;
            let mut coords: Vec<usize> = ranges.iter().map(|r| r.0).collect();
            loop {
                let linear = coords
                    .iter()
                    .zip(&w.grid.0)
                    .fold(0usize, |acc, (&b, c)| acc * c.nblocks() + b);
                out.push((first + linear) as u32);
                // Next block in C order over the ranges.
                let mut a = ndim;
                loop {
                    if a == 0 {
                        continue 'writers;
                    }
                    a -= 1;
                    if coords[a] < ranges[a].1 {
                        coords[a] += 1;
                        break;
                    }
                    coords[a] = ranges[a].0;
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use brickwork_core::AxisChunks;

    #[test]
    fn writers_of_a_concatenation_are_found_by_binary_search() {
        // 20 writers of 3 rows each, stacked along axis 0.
        let list: Vec<Writer> = (0..20)
            .map(|i| Writer {
                stage: i,
                grid: Chunks(vec![AxisChunks::regular(3, 3), AxisChunks::regular(4, 4)]),
                offset: vec![3 * i, 0],
            })
            .collect();
        let writers = Writers::new(list);
        assert_eq!(writers.sorted_axis, Some(0));
        let view = View::identity(2);
        let stages = |ws: &[Writer]| ws.iter().map(|w| w.stage).collect::<Vec<_>>();
        assert_eq!(
            stages(writers.candidates(&view, &[7, 0], &[6, 4])),
            vec![2, 3, 4]
        );
        assert_eq!(stages(writers.candidates(&view, &[0, 0], &[1, 4])), vec![0]);
        assert_eq!(
            stages(writers.candidates(&view, &[59, 0], &[1, 4])),
            vec![19]
        );
        // Overlapping regions are not indexed.
        let mut overlapping = writers.list.clone();
        overlapping[1].offset[0] = 1;
        assert_eq!(Writers::new(overlapping).sorted_axis, None);
    }
}
