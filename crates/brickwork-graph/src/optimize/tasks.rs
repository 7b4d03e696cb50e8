//! Task generation: the arena of tasks and their dependency lists, in O(tasks).

use crate::stage::Stage;
use crate::taskgraph::TaskGraph;
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
        let op = s.kind.op();
        for t in 0..s.ntasks {
            op.deps(t, s.first, &stages, &mut g.deps);
            g.stage_of.push(si as u32);
            g.index.push(t as u32);
            g.deps_start.push(g.deps.len() as u32);
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
    // Roots: the tasks that make a result of the computation (intermediate arrays are
    // kept only where a needed task reads them).
    let roots: Vec<bool> = g
        .stages
        .iter()
        .map(|s| s.kind.op().is_root(g.noutputs))
        .collect();
    let mut stack: Vec<usize> = (0..n).filter(|&t| roots[g.stage_of[t] as usize]).collect();
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
