//! Task generation: the arena of tasks and their dependency lists, in O(tasks).

use crate::taskgraph::{block_offsets, partial_coords, LeafKind, Stage, StageKind, TaskGraph};
use brickwork_core::DType;

/// Number the tasks of `stages` and list each task's dependencies.
pub fn generate(
    mut stages: Vec<Stage>,
    targets: Vec<(Vec<usize>, DType)>,
    noutputs: usize,
) -> TaskGraph {
    let mut first = 0;
    for s in stages.iter_mut() {
        s.first = first;
        first += s.ntasks;
    }
    let total = first;
    let mut g = TaskGraph {
        stage_of: Vec::with_capacity(total),
        index: Vec::with_capacity(total),
        deps_start: Vec::with_capacity(total + 1),
        deps: Vec::new(),
        targets,
        noutputs,
        stages: Vec::new(),
        spilled: Vec::new(),
        layouts: Vec::new(),
    };
    g.deps_start.push(0);
    for (si, s) in stages.iter().enumerate() {
        match &s.kind {
            StageKind::Map { leaves, grid, .. }
            | StageKind::Store { leaves, grid, .. }
            | StageKind::Partial { leaves, grid, .. } => {
                let buffer_leaves: Vec<_> = leaves
                    .iter()
                    .filter(|l| matches!(l.kind, LeafKind::Buffer { .. }))
                    .collect();
                let mut coords = vec![0; grid.ndim()];
                for t in 0..s.ntasks {
                    if !buffer_leaves.is_empty() {
                        match &s.kind {
                            StageKind::Partial { axes, per_out, .. } => {
                                partial_coords(grid, axes, t, *per_out, &mut coords)
                            }
                            _ => grid.block_coords(t, &mut coords),
                        }
                        let offset = block_offsets(grid, &coords);
                        let shape = grid.block_shape(&coords);
                        for l in &buffer_leaves {
                            l.producers(&stages, &offset, &shape, &mut g.deps);
                        }
                    }
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
            StageKind::Contract {
                a,
                b,
                a_grid,
                b_grid,
                per_out,
                grid,
                ..
            } => {
                let mut out = vec![0; 2];
                for t in 0..s.ntasks {
                    let (o, r) = (t / per_out, t % per_out);
                    grid.block_coords(o, &mut out);
                    let (ca, cb) = ([out[0], r], [r, out[1]]);
                    a.producers(
                        &stages,
                        &block_offsets(a_grid, &ca),
                        &a_grid.block_shape(&ca),
                        &mut g.deps,
                    );
                    b.producers(
                        &stages,
                        &block_offsets(b_grid, &cb),
                        &b_grid.block_shape(&cb),
                        &mut g.deps,
                    );
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
            StageKind::Gather {
                leaf,
                axis,
                indices,
                grid,
                ..
            } => {
                let mut coords = vec![0; grid.ndim()];
                for t in 0..s.ntasks {
                    grid.block_coords(t, &mut coords);
                    let offset = block_offsets(grid, &coords);
                    let shape = grid.block_shape(&coords);
                    let (start, size) =
                        crate::taskgraph::gather_region(indices, *axis, &offset, &shape);
                    leaf.producers(&stages, &start, &size, &mut g.deps);
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
            StageKind::Scan {
                leaves, grid, axis, ..
            } => {
                let mut coords = vec![0; grid.ndim()];
                let nb = grid.numblocks();
                let stride: usize = nb[axis + 1..].iter().product();
                for t in 0..s.ntasks {
                    grid.block_coords(t, &mut coords);
                    let offset = block_offsets(grid, &coords);
                    let shape = grid.block_shape(&coords);
                    for l in leaves {
                        l.producers(&stages, &offset, &shape, &mut g.deps);
                    }
                    if coords[*axis] > 0 {
                        // The block before along the axis: its last slice is the carry.
                        g.deps.push((s.first + t - stride) as u32);
                    }
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
            StageKind::Callback {
                leaves, in_grids, ..
            } => {
                let mut coords = vec![0; in_grids.first().map_or(0, |g| g.ndim())];
                for t in 0..s.ntasks {
                    for (l, g_in) in leaves.iter().zip(in_grids) {
                        g_in.block_coords(t, &mut coords);
                        let offset = block_offsets(g_in, &coords);
                        let shape = g_in.block_shape(&coords);
                        l.producers(&stages, &offset, &shape, &mut g.deps);
                    }
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
            StageKind::Combine {
                prev,
                prev_per_out,
                fan_in,
                per_out,
                ..
            } => {
                let pf = stages[*prev].first;
                for t in 0..s.ntasks {
                    let (o, grp) = (t / per_out, t % per_out);
                    let lo = grp * fan_in;
                    let hi = ((grp + 1) * fan_in).min(*prev_per_out);
                    for r in lo..hi {
                        g.deps.push((pf + o * prev_per_out + r) as u32);
                    }
                    g.stage_of.push(si as u32);
                    g.index.push(t as u32);
                    g.deps_start.push(g.deps.len() as u32);
                }
            }
        }
    }
    g.stages = stages;
    cull(g)
}

/// Drop the tasks no output needs (e.g. the blocks of a reduction outside a slice of
/// its result), renumbering the rest.
fn cull(g: TaskGraph) -> TaskGraph {
    let n = g.ntasks();
    let mut needed = vec![false; n];
    // Roots: the tasks that write a compute output (intermediate arrays are kept only
    // where a needed task reads them).
    let is_output = |f: &Option<crate::taskgraph::Final>| {
        f.as_ref()
            .is_some_and(|f| f.targets.iter().any(|(t, _)| *t < g.noutputs))
    };
    let mut stack: Vec<usize> = (0..n)
        .filter(|&t| match &g.stages[g.stage_of[t] as usize].kind {
            StageKind::Map { target, .. }
            | StageKind::Callback { target, .. }
            | StageKind::Scan { target, .. }
            | StageKind::Gather { target, .. } => *target < g.noutputs,
            StageKind::Store { .. } => true,
            StageKind::Partial { outputs, .. } => outputs.iter().any(|o| is_output(&o.finish)),
            StageKind::Combine { finish, .. } | StageKind::Contract { finish, .. } => {
                is_output(finish)
            }
        })
        .collect();
    for &t in &stack {
        needed[t] = true;
    }
    while let Some(t) = stack.pop() {
        for &d in g.deps_of(t) {
            if !needed[d as usize] {
                needed[d as usize] = true;
                stack.push(d as usize);
            }
        }
    }
    if needed.iter().all(|&k| k) {
        return g;
    }
    let mut new_id = vec![u32::MAX; n];
    let mut out = TaskGraph {
        stages: Vec::new(),
        stage_of: Vec::new(),
        index: Vec::new(),
        deps_start: vec![0],
        deps: Vec::new(),
        targets: Vec::new(),
        noutputs: g.noutputs,
        spilled: Vec::new(),
        layouts: Vec::new(),
    };
    for t in (0..n).filter(|&t| needed[t]) {
        new_id[t] = out.stage_of.len() as u32;
        out.stage_of.push(g.stage_of[t]);
        out.index.push(g.index[t]);
        out.deps
            .extend(g.deps_of(t).iter().map(|&d| new_id[d as usize]));
        out.deps_start.push(out.deps.len() as u32);
    }
    out.stages = g.stages;
    out.targets = g.targets;
    out
}
