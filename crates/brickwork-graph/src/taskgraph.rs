//! The chunk-level plan: stages of identical tasks, and the task arena generated from
//! them when a computation starts. A task is data (a stage id and a block index); its
//! kernel is the stage's serializable description.

use crate::expr::Source;
use crate::stage::Stage;
use crate::view::View;
use brickwork_core::{Chunks, DType};
use brickwork_kernels::program::Generator;
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
    /// Data that stays with the client of a remote executor (memory or storage),
    /// fetched by this key through the task's wire (see [`crate::stage::remote`]).
    Remote(u64),
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
    /// A concatenation read in place: every block its reader reads lies inside one
    /// part (the planner checked), and is read from that part's own leaf. The leaf's
    /// view maps iteration coordinates to the concatenation's.
    Select(Arc<Select>),
}

/// The parts of a concatenation read in place (see [`LeafKind::Select`]).
#[derive(Debug, Clone)]
pub struct Select {
    /// The concatenated axis.
    pub axis: usize,
    /// Where each part starts along the axis, in order (no empty parts).
    pub starts: Vec<usize>,
    /// Each part, read through a view from the reader's iteration coordinates.
    pub parts: Vec<Leaf>,
}

/// An input of a fused program: what it reads and through which view of the stage's
/// iteration space.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Leaf {
    /// The data read.
    #[serde(
        serialize_with = "crate::stage::remote::serialize_leaf_kind",
        deserialize_with = "crate::stage::remote::deserialize_leaf_kind"
    )]
    pub kind: LeafKind,
    /// Iteration coordinates to leaf coordinates.
    pub view: View,
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
    /// The leaf that the iteration block at `offset` of `shape` reads: for a
    /// concatenation read in place ([`LeafKind::Select`]), the part holding the block;
    /// this leaf otherwise.
    pub fn part_for(&self, offset: &[usize], shape: &[usize]) -> &Leaf {
        let LeafKind::Select(s) = &self.kind else {
            return self;
        };
        let (lo, _) = self.view.range(s.axis, offset, shape);
        let p = s
            .starts
            .partition_point(|&start| start as i64 <= lo)
            .saturating_sub(1);
        s.parts[p].part_for(offset, shape)
    }

    /// This leaf, or for a concatenation read in place the leaves of its parts: the
    /// data it may read.
    pub fn flat(&self) -> Vec<&Leaf> {
        match &self.kind {
            LeafKind::Select(s) => s.parts.iter().flat_map(|p| p.flat()).collect(),
            _ => vec![self],
        }
    }

    /// Whether it reads an intermediate array (so its tasks wait for writers).
    pub fn reads_intermediate(&self) -> bool {
        self.flat()
            .iter()
            .any(|l| matches!(l.kind, LeafKind::Buffer { .. }))
    }

    /// For a `Buffer` leaf (or a part of a concatenation that is one), the tasks that write the elements an iteration block
    /// (offsets and shape) reads.
    pub fn producers(
        &self,
        stages: &[Stage],
        offset: &[usize],
        shape: &[usize],
        out: &mut Vec<u32>,
    ) {
        if let LeafKind::Select(_) = &self.kind {
            return self
                .part_for(offset, shape)
                .producers(stages, offset, shape, out);
        }
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
