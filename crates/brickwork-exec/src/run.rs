//! Running one task: gather its inputs' views, run its kernel, hand on its result.

use crate::output::{evaluate, OutputTarget};
use crate::slots::{Part, Slot, Slots};
use brickwork_core::{c_strides, Buffer, Chunks, DType, Error, Result};
use brickwork_graph::{
    block_offsets, partial_coords, Leaf, LeafKind, PartialOut, StageKind, TaskGraph,
};
use brickwork_kernels::callback::BlockArg;
use brickwork_kernels::gemm::matmul;
use brickwork_kernels::program::{check_view, run_block, Input, InputView, Scratch};
use brickwork_kernels::reduce::Reducer;
use brickwork_kernels::reduce::{combine, finalize, ReduceSink, ReduceSinks, State};
use brickwork_kernels::scan::scan;
use brickwork_kernels::with_tile;
use brickwork_kernels::Tile;

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

    /// Write a finished block into target `target`: with `pwrite` when it is spilled
    /// (writing through the mapping would map whole neighbouring pages of the file).
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
}

fn leaf_views(
    ctx: &Ctx,
    leaves: &[Leaf],
    offset: &[usize],
    shape: &[usize],
) -> Result<Vec<InputView>> {
    let ndim = shape.len();
    leaves
        .iter()
        .map(|leaf| {
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

fn missing(dep: usize) -> Error {
    Error::Internal(format!("the result of task {dep} is missing"))
}

/// Grid coordinates, offsets and shape of block `i` of `grid`.
fn block(grid: &Chunks, i: usize) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut coords = vec![0; grid.ndim()];
    grid.block_coords(i, &mut coords);
    let offset = block_offsets(grid, &coords);
    let shape = grid.block_shape(&coords);
    (coords, offset, shape)
}

/// `offset` moved by `at` (a block's place in its target).
fn placed(offset: &[usize], at: &[usize]) -> Vec<usize> {
    offset.iter().zip(at).map(|(o, a)| o + a).collect()
}

/// Run task `t`.
pub(crate) fn run_task(ctx: &Ctx, t: usize, scratch: &mut Scratch) -> Result<()> {
    let g = ctx.graph;
    let stage = &g.stages[g.stage_of[t] as usize];
    let i = g.index[t] as usize;
    let deps = g.deps_of(t);
    match &stage.kind {
        StageKind::Map {
            program,
            leaves,
            grid,
            target,
            offset: at,
        } => {
            let (_, offset, shape) = block(grid, i);
            let views = leaf_views(ctx, leaves, &offset, &shape)?;
            let placed = placed(&offset, at);
            if ctx.spill_of(*target).is_some() {
                let dtype = ctx.graph.targets[*target].1;
                let block = evaluate(program, &views, dtype, &shape, scratch)?;
                return ctx.write_block(*target, &block, &placed, &shape, scratch);
            }
            let mut sink = ctx.targets[*target].sink(&placed, &shape)?;
            run_block(program, &views, &shape, &mut sink, scratch)
        }
        StageKind::Partial {
            program,
            leaves,
            grid,
            axes,
            per_out,
            outputs,
        } => {
            let ndim = grid.ndim();
            let mut coords = vec![0; ndim];
            partial_coords(grid, axes, i, *per_out, &mut coords);
            let offset = block_offsets(grid, &coords);
            let shape = grid.block_shape(&coords);
            let views = leaf_views(ctx, leaves, &offset, &shape)?;
            let mut acc_strides = vec![0isize; ndim];
            let mut n_out = 1usize;
            for a in (0..ndim).rev() {
                if !axes.contains(&a) {
                    acc_strides[a] = n_out as isize;
                    n_out *= shape[a];
                }
            }
            let mut states: Vec<State> = outputs
                .iter()
                .map(|o| State::new(o.reducer, o.acc, n_out))
                .collect();
            let any_arg = outputs.iter().any(|o| o.reducer.is_arg());
            let (index_strides, index_base) = arg_index(grid, axes, &offset, any_arg);
            let mut sink = ReduceSinks(
                outputs
                    .iter()
                    .zip(states.iter_mut())
                    .map(|(o, state)| ReduceSink {
                        reducer: o.reducer,
                        state,
                        acc_strides: acc_strides.clone(),
                        index_strides: index_strides.clone(),
                        index_base,
                    })
                    .collect(),
            );
            run_block(program, &views, &shape, &mut sink, scratch)?;
            let parts = outputs
                .iter()
                .zip(states)
                .map(|(o, state)| deliver(ctx, i / per_out, o, state, scratch))
                .collect::<Result<Vec<Part>>>()?;
            ctx.slots.put(t, Slot(parts));
            Ok(())
        }
        StageKind::Store {
            program,
            leaves,
            grid,
            sink,
        } => {
            let (_, offset, shape) = block(grid, i);
            let views = leaf_views(ctx, leaves, &offset, &shape)?;
            let dtype = program.regs[program.outputs[0] as usize];
            let block = evaluate(program, &views, dtype, &shape, scratch)?;
            sink.write(&offset, &shape, &block)
        }
        StageKind::Contract {
            a,
            b,
            a_grid,
            b_grid,
            dtype,
            per_out,
            grid,
            finish,
        } => {
            let (o, r) = (i / per_out, i % per_out);
            let (out, _, shape) = block(grid, o);
            let (ca, cb) = ([out[0], r], [r, out[1]]);
            let (oa, sa) = (block_offsets(a_grid, &ca), a_grid.block_shape(&ca));
            let (ob, sb) = (block_offsets(b_grid, &cb), b_grid.block_shape(&cb));
            let va = leaf_views(ctx, std::slice::from_ref(a), &oa, &sa)?.remove(0);
            let vb = leaf_views(ctx, std::slice::from_ref(b), &ob, &sb)?.remove(0);
            for (v, s) in [(&va, &sa), (&vb, &sb)] {
                if let Input::Buffer(buf) = &v.input {
                    check_view(v.base, &v.strides, s, buf.len())?;
                }
            }
            let product = matmul(&va, &vb, shape[0], sa[1], shape[1], *dtype)?;
            let mut state = State::new(Reducer::Sum, DType::F64, shape[0] * shape[1]);
            state.vals = product;
            let spec = PartialOut {
                reducer: Reducer::Sum,
                acc: DType::F64,
                finish: finish.clone(),
            };
            let part = deliver(ctx, o, &spec, state, scratch)?;
            ctx.slots.put(t, Slot(vec![part]));
            Ok(())
        }
        StageKind::Gather {
            leaf,
            axis,
            indices,
            grid,
            target,
            offset: at,
        } => {
            let (_, offset, shape) = block(grid, i);
            let dtype = ctx.graph.targets[*target].1;
            let mut block = Tile::new(dtype, shape.iter().product());
            let outer: usize = shape[..*axis].iter().product();
            let inner: usize = shape[*axis + 1..].iter().product();
            let begin = offset[*axis];
            for (at, run) in indices.pieces(begin, begin + shape[*axis]) {
                // A run counting up is one region of the input; any other run is read
                // slice by slice.
                let (count, each) = if run.step == 1 {
                    (1, run.len)
                } else {
                    (run.len, 1)
                };
                let mut region = shape.clone();
                region[*axis] = each;
                for k in 0..count {
                    let mut from = offset.clone();
                    from[*axis] = run.at(k);
                    let view =
                        leaf_views(ctx, std::slice::from_ref(leaf), &from, &region)?.remove(0);
                    let part = crate::output::contiguous(&view, dtype, &region, scratch)?;
                    let j = at - begin + k;
                    place(&mut block, &part, outer, shape[*axis], inner, j, each)?;
                }
            }
            let placed = placed(&offset, at);
            ctx.write_block(*target, &block, &placed, &shape, scratch)
        }
        StageKind::Scan {
            program,
            leaves,
            grid,
            axis,
            op,
            target,
            offset: at,
        } => {
            let (_, offset, shape) = block(grid, i);
            let placed = placed(&offset, at);
            let dtype = ctx.graph.targets[*target].1;
            let views = leaf_views(ctx, leaves, &offset, &shape)?;
            let mut block = evaluate(program, &views, dtype, &shape, scratch)?;
            // Continue from the element before the block (the blocks before it may be
            // empty: look at the position, not the block's number).
            let carry = if offset[*axis] > 0 {
                let mut from = placed.clone();
                from[*axis] -= 1;
                let mut slice = shape.clone();
                slice[*axis] = 1;
                Some(match ctx.spill_of(*target) {
                    Some(spill) => {
                        let (full, dtype) = &ctx.graph.targets[*target];
                        spill.read_region(full, *dtype, &from, &slice)?
                    }
                    None => ctx.targets[*target].read_block(&from, &slice, scratch)?,
                })
            } else {
                None
            };
            let n = carry.as_ref().map_or(0, |c| c.len());
            scan(
                &mut block,
                &shape,
                *axis,
                *op,
                carry.as_ref().map(|c| c.as_ref(n)),
            )?;
            ctx.write_block(*target, &block, &placed, &shape, scratch)
        }
        StageKind::Callback {
            func,
            leaves,
            in_grids,
            grid,
            target,
            offset: at,
        } => {
            let mut coords = vec![0; grid.ndim()];
            grid.block_coords(i, &mut coords);
            let mut args = Vec::with_capacity(leaves.len());
            for (leaf, g_in) in leaves.iter().zip(in_grids) {
                let offset = block_offsets(g_in, &coords);
                let shape = g_in.block_shape(&coords);
                let view = leaf_views(ctx, std::slice::from_ref(leaf), &offset, &shape)?.remove(0);
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
            let shape = grid.block_shape(&coords);
            let values = func.call(&coords, &args, &shape)?;
            let expected: usize = shape.iter().product();
            let dtype = ctx.graph.targets[*target].1;
            if values.len() != expected || values.dtype() != dtype {
                return Err(Error::Value(format!(
                    "{} returned {} elements of {} for block {coords:?}, expected {expected} \
                     elements of {dtype} (shape {})",
                    func.name(),
                    values.len(),
                    values.dtype(),
                    brickwork_core::fmt_shape(&shape)
                )));
            }
            let offset = block_offsets(grid, &coords);
            let placed = placed(&offset, at);
            ctx.write_block(*target, &values, &placed, &shape, scratch)
        }
        StageKind::Combine {
            reducer,
            part,
            per_out,
            finish,
            ..
        } => {
            let mut acc: Option<State> = None;
            for &d in deps {
                let slot = ctx
                    .slots
                    .get(d as usize)
                    .ok_or_else(|| missing(d as usize))?;
                let Some(Part::State(state)) = slot.0.get(*part) else {
                    return Err(missing(d as usize));
                };
                match &mut acc {
                    None => acc = Some(state.clone()),
                    Some(a) => combine(*reducer, a, state)?,
                }
            }
            let state =
                acc.ok_or_else(|| Error::Internal("a combine task without inputs".into()))?;
            let out = PartialOut {
                reducer: *reducer,
                acc: state.vals.dtype(),
                finish: finish.clone(),
            };
            let p = deliver(ctx, i / per_out, &out, state, scratch)?;
            ctx.slots.put(t, Slot(vec![p]));
            Ok(())
        }
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

/// Index strides and base for argmin / argmax: flat C-order indices over the whole
/// array when every axis is reduced, the coordinate along the axis otherwise.
fn arg_index(grid: &Chunks, axes: &[usize], offset: &[usize], arg: bool) -> (Vec<isize>, i64) {
    let ndim = grid.ndim();
    if !arg {
        return (Vec::new(), 0);
    }
    if axes.len() == ndim {
        let strides = c_strides(&grid.shape());
        let base = offset
            .iter()
            .zip(&strides)
            .map(|(&o, &s)| o as i64 * s as i64)
            .sum();
        (strides, base)
    } else {
        let mut strides = vec![0isize; ndim];
        strides[axes[0]] = 1;
        (strides, offset[axes[0]] as i64)
    }
}

/// Hand on output `out` of a reduction task for output block `o`: the state itself, or
/// (for the last step) the finished block, written into its target arrays.
fn deliver(
    ctx: &Ctx,
    o: usize,
    out: &PartialOut,
    state: State,
    scratch: &mut Scratch,
) -> Result<Part> {
    let Some(f) = &out.finish else {
        return Ok(Part::State(state));
    };
    let values = finalize(out.reducer, state, f.dtype, f.n)?;
    let (_, offset, shape) = block(&f.grid, o);
    for (target, at) in &f.targets {
        let placed = placed(&offset, at);
        ctx.write_block(*target, &values, &placed, &shape, scratch)?;
    }
    Ok(Part::Empty)
}
