//! Re-blocking a reduction's partial tasks for memory locality and parallelism.
//!
//! A partial task reads its block wherever the user's chunks put it, but when the
//! program reads memory in place (NumPy sources) the task shape is ours to choose: the
//! output chunks do not depend on it. Two rules:
//!
//! - along the last axis, when it is kept and every source is contiguous along it,
//!   neighbouring blocks merge (up to a partial state of [`STATE_CAP`] elements), so a
//!   task streams whole rows instead of short runs that defeat the hardware prefetcher;
//! - along the outermost reduced axis, blocks split so that there are at least
//!   [`MIN_TASKS`] tasks to share among the threads, as long as each keeps at least
//!   [`MIN_TASK_ELEMENTS`] elements.
//!

use crate::taskgraph::{Leaf, LeafKind};
use brickwork_core::{AxisChunks, Chunks};

/// The most elements a merged partial state holds.
pub const STATE_CAP: usize = 1 << 17;
/// The fewest partial tasks re-blocking aims for.
pub const MIN_TASKS: usize = 16;
/// The fewest elements a task made by splitting keeps (smaller work is not worth a task).
pub const MIN_TASK_ELEMENTS: usize = 1 << 16;

fn contiguous_along(leaves: &[Leaf], axis: usize) -> bool {
    leaves.iter().all(|l| match &l.kind {
        LeafKind::Source(s) => l.view.coords.iter().enumerate().all(|(a, c)| match c.from {
            Some(k) if k == axis => c.step == 1 && s.strides[a] == 1,
            _ => true,
        }),
        LeafKind::Generated(_) => true,
        LeafKind::Buffer { .. }
        | LeafKind::Stored(_)
        | LeafKind::Remote(_)
        | LeafKind::Select(_) => false,
    })
}

/// The grid partial tasks iterate over, for a reduction over `axes` of `grid`.
pub fn partial_grid(grid: &Chunks, axes: &[usize], leaves: &[Leaf]) -> Chunks {
    let ndim = grid.ndim();
    if ndim == 0 {
        return grid.clone();
    }
    let mut out = grid.clone();
    let last = ndim - 1;
    if !axes.contains(&last) && contiguous_along(leaves, last) {
        let c = &grid.0[last];
        let other: usize = (0..last)
            .filter(|a| !axes.contains(a))
            .map(|a| grid.0[a].max_size().max(1))
            .product();
        let size = c.max_size().max(1);
        let width = (STATE_CAP / other).max(size) / size * size;
        if width > size && matches!(c, AxisChunks::Regular { .. }) {
            out.0[last] = AxisChunks::regular(width, c.len());
        }
    }
    if let Some(&first) = axes.first() {
        let tasks = out.nblocks();
        let elements: usize = out.shape().iter().product();
        let affordable = (elements / MIN_TASK_ELEMENTS).max(1);
        if tasks < MIN_TASKS.min(affordable) {
            let split = MIN_TASKS.min(affordable).div_ceil(tasks);
            let c = &out.0[first];
            let sizes: Vec<usize> = c
                .sizes()
                .into_iter()
                .flat_map(|s| {
                    let k = split.min(s.max(1));
                    (0..k).map(move |i| s / k + usize::from(i < s % k))
                })
                .collect();
            out.0[first] = AxisChunks::from_sizes(&sizes);
        }
    }
    out
}
