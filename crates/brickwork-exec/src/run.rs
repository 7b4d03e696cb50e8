//! Running one task: the executor's side of a computation ([`TaskEnv`]) that a stage's
//! task runs against: views of its leaves, its targets, and the states it hands on.

use crate::output::OutputTarget;
use crate::slots::Slots;
use brickwork_core::{c_strides, Buffer, DType, Error, Result};
use brickwork_graph::{Leaf, LeafKind, Part, Task, TaskEnv, TaskGraph};
use brickwork_kernels::block::evaluate;
use brickwork_kernels::program::{run_block, Input, InputView, Scratch};
use brickwork_kernels::{with_tile, Program, Tile};

/// What every task of one computation shares.
pub(crate) struct Ctx<'a> {
    pub graph: &'a TaskGraph,
    pub slots: &'a Slots,
    /// Write access to every target (compute outputs, then intermediate arrays).
    pub targets: &'a [OutputTarget],
    /// Read access to every target (outputs, then intermediate arrays), for the tasks
    /// that read what earlier tasks wrote.
    pub buffers: &'a [(Buffer, Vec<usize>)],
    /// The spill file of each intermediate array that has one.
    pub spills: &'a [Option<std::sync::Arc<crate::spill::SpillFile>>],
}

impl Ctx<'_> {
    /// The spill file of target `target`, if it is a spilled intermediate.
    fn spill_of(&self, target: usize) -> Option<&crate::spill::SpillFile> {
        let i = target.checked_sub(self.graph.noutputs)?;
        self.spills.get(i)?.as_deref()
    }
}

pub(crate) fn leaf_views(
    ctx: &Ctx,
    leaves: &[Leaf],
    offset: &[usize],
    shape: &[usize],
) -> Result<Vec<InputView>> {
    let ndim = shape.len();
    leaves
        .iter()
        .map(|leaf| {
            // A concatenation read in place: the part this block lies in.
            let leaf = leaf.part_for(offset, shape);
            Ok(match &leaf.kind {
                LeafKind::Source(s) => {
                    let origin = vec![0i64; s.strides.len()];
                    let (base, strides) = leaf.view.address(&s.strides, &origin, offset, ndim);
                    InputView {
                        input: Input::Buffer(s.buffer.clone()),
                        base: base + s.offset,
                        strides,
                    }
                }
                LeafKind::Stored(src) => {
                    // Read the region this block's view reaches, and view it from there.
                    let (start, size) = region(&leaf.view, offset, shape);
                    let tile = src.read(&start, &size)?;
                    let origin: Vec<i64> = start.iter().map(|&s| s as i64).collect();
                    let (base, strides) =
                        leaf.view.address(&c_strides(&size), &origin, offset, ndim);
                    InputView {
                        input: Input::Buffer(with_tile!(tile, v => Buffer::from_vec(v))),
                        base,
                        strides,
                    }
                }
                LeafKind::Generated(g) => {
                    let at = g.strides();
                    let origin = vec![0i64; at.len()];
                    let (base, strides) = leaf.view.address(&at, &origin, offset, ndim);
                    InputView {
                        input: Input::Generated(g.clone()),
                        base,
                        strides,
                    }
                }
                LeafKind::Buffer {
                    target,
                    reshaped: None,
                    ..
                } if ctx.spill_of(*target).is_some() => {
                    // A spilled intermediate: read the region this block's view reaches.
                    let spill = ctx.spill_of(*target).expect("spilled");
                    let (full, dtype) = &ctx.graph.targets[*target];
                    let (start, size) = region(&leaf.view, offset, shape);
                    let tile = spill.read_region(full, *dtype, &start, &size)?;
                    let origin: Vec<i64> = start.iter().map(|&s| s as i64).collect();
                    let (base, strides) =
                        leaf.view.address(&c_strides(&size), &origin, offset, ndim);
                    InputView {
                        input: Input::Buffer(with_tile!(tile, v => Buffer::from_vec(v))),
                        base,
                        strides,
                    }
                }
                LeafKind::Remote(key) => {
                    return Err(Error::Internal(format!(
                        "remote data #{key:x} reached the local executor"
                    )))
                }
                LeafKind::Select(_) => {
                    return Err(Error::Internal("a concatenation without parts".into()))
                }
                LeafKind::Buffer {
                    target, reshaped, ..
                } => {
                    let (buf, full) = &ctx.buffers[*target];
                    let seen = reshaped.as_ref().unwrap_or(full);
                    let origin = vec![0i64; seen.len()];
                    let (base, strides) =
                        leaf.view.address(&c_strides(seen), &origin, offset, ndim);
                    InputView {
                        input: Input::Buffer(buf.clone()),
                        base,
                        strides,
                    }
                }
            })
        })
        .collect()
}

/// The start and size of the region of a leaf that `view` reaches from the block at
/// `offset` of `shape`.
fn region(
    view: &brickwork_graph::View,
    offset: &[usize],
    shape: &[usize],
) -> (Vec<usize>, Vec<usize>) {
    let ranges: Vec<(i64, i64)> = (0..view.coords.len())
        .map(|a| view.range(a, offset, shape))
        .collect();
    let start = ranges.iter().map(|r| r.0.max(0) as usize).collect();
    let size = if shape.contains(&0) {
        vec![0; ranges.len()]
    } else {
        ranges.iter().map(|r| (r.1 - r.0 + 1) as usize).collect()
    };
    (start, size)
}

/// Run task `t`.
pub(crate) fn run_task(ctx: &Ctx, t: usize, scratch: &mut Scratch) -> Result<()> {
    let g = ctx.graph;
    let task = Task {
        id: t,
        index: g.index[t] as usize,
        deps: g.deps_of(t),
    };
    g.stages[g.stage_of[t] as usize]
        .kind
        .op()
        .run(task, ctx, scratch)
}

impl TaskEnv for Ctx<'_> {
    fn target(&self, target: usize) -> &(Vec<usize>, DType) {
        &self.graph.targets[target]
    }

    fn views(&self, leaves: &[Leaf], offset: &[usize], shape: &[usize]) -> Result<Vec<InputView>> {
        leaf_views(self, leaves, offset, shape)
    }

    fn run_into(
        &self,
        program: &Program,
        views: &[InputView],
        target: usize,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()> {
        if self.spill_of(target).is_some() {
            let dtype = self.graph.targets[target].1;
            let values = evaluate(program, views, dtype, shape, scratch)?;
            return self.write_block(target, &values, placed, shape, scratch);
        }
        let mut sink = self.targets[target].sink(placed, shape)?;
        run_block(program, views, shape, &mut sink, scratch)
    }

    fn write_block(
        &self,
        target: usize,
        values: &Tile,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()> {
        match self.spill_of(target) {
            Some(spill) => spill.write_region(&self.graph.targets[target].0, values, placed, shape),
            None => self.targets[target].write_block(values, placed, shape, scratch),
        }
    }

    fn read_block(
        &self,
        target: usize,
        placed: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<Tile> {
        match self.spill_of(target) {
            Some(spill) => {
                let (full, dtype) = &self.graph.targets[target];
                spill.read_region(full, *dtype, placed, shape)
            }
            None => self.targets[target].read_block(placed, shape, scratch),
        }
    }

    fn put(&self, task: usize, parts: Vec<Part>) -> Result<()> {
        self.slots.put(task, parts);
        Ok(())
    }

    fn with_part(&self, task: usize, part: usize, f: &mut dyn FnMut(Option<&Part>)) -> Result<()> {
        let slot = self.slots.get(task);
        f(slot.as_ref().and_then(|s| s.get(part)));
        Ok(())
    }
}
