//! The memory a plan needs, checked against a budget before anything runs.
//!
//! What a computation holds: its outputs and intermediate arrays (allocated when it
//! starts), and, per running task, its working set — the partial states it makes or
//! combines, the blocks a user function receives and returns, and scratch tiles. Reads of
//! sources and intermediates are in place and cost nothing. A plan whose arrays, plus one
//! working set per thread, exceed the budget is refused with an error that names the
//! largest consumer and what to change.

use crate::stage::StageKind;
use crate::taskgraph::{LeafKind, TaskGraph};
use brickwork_core::{fmt_shape, Chunks, DType, Error, Result};

/// Bytes as a person reads them.
pub fn fmt_bytes(n: usize) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {}", units[u])
    }
}

/// The largest working set of one task of each stage, with a description of the stage.
fn task_memory(g: &TaskGraph) -> Vec<(usize, String)> {
    g.stages
        .iter()
        .map(|s| s.kind.op().working_set(&g.targets))
        .collect()
}

/// Make `g` fit `limit` bytes with `threads` tasks running at once, or refuse it before
/// anything runs. Outputs `i` with `external[i]` are written into caller memory and do
/// not count. When the arrays held in memory are what does not fit, the largest
/// intermediate arrays are spilled (marked in `g.spilled`: the executor keeps them in a
/// temporary file and hands their pages back after every task) until the rest fits;
/// outputs and per-task working sets cannot be spilled.
pub fn fit(g: &mut TaskGraph, limit: usize, threads: usize, external: &[bool]) -> Result<()> {
    let intermediates = g.targets.len() - g.noutputs;
    g.spilled = vec![false; intermediates];
    let worst = task_memory(g).into_iter().map(|t| t.0).max().unwrap_or(0) * threads.max(1);
    let mut held: usize = held_bytes(g, external);
    let mut by_size: Vec<(usize, usize)> = (0..intermediates)
        .map(|i| (target_bytes(g, g.noutputs + i), i))
        .filter(|&(bytes, _)| bytes > 0)
        .collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    for (bytes, i) in by_size {
        if held + worst <= limit {
            break;
        }
        g.spilled[i] = true;
        held -= bytes;
    }
    g.layouts = (0..intermediates)
        .map(|i| {
            g.spilled[i]
                .then(|| reader_grid(g, g.noutputs + i))
                .flatten()
        })
        .collect();
    check(g, limit, threads, external)
}

/// The grid in which every reader of target `target` reads it, when they all read whole
/// blocks of one grid through identity views (so a spill file laid out in that grid
/// serves each read in one piece); None otherwise.
fn reader_grid(g: &TaskGraph, target: usize) -> Option<Chunks> {
    let mut found: Option<&Chunks> = None;
    for stage in &g.stages {
        let reads = stage.kind.op().reads();
        for (leaf, grid) in reads {
            let &LeafKind::Buffer {
                target: t,
                ref reshaped,
                ..
            } = &leaf.kind
            else {
                continue;
            };
            if t != target {
                continue;
            }
            let grid = grid.filter(|_| reshaped.is_none() && leaf.view.is_identity())?;
            if found.is_some_and(|f| f != grid) {
                return None;
            }
            found = Some(grid);
        }
    }
    found.cloned()
}

fn target_bytes(g: &TaskGraph, i: usize) -> usize {
    let (shape, dtype) = &g.targets[i];
    shape.iter().product::<usize>() * dtype.itemsize()
}

/// Bytes of the arrays `g` holds in memory (not external, not spilled).
fn held_bytes(g: &TaskGraph, external: &[bool]) -> usize {
    (0..g.targets.len())
        .filter(|&i| !in_place(g, i, external))
        .map(|i| target_bytes(g, i))
        .sum()
}

/// Whether target `i` takes no memory of the computation's: written into caller
/// memory, or spilled to a temporary file.
fn in_place(g: &TaskGraph, i: usize, external: &[bool]) -> bool {
    external.get(i).copied().unwrap_or(false)
        || (i >= g.noutputs && g.spilled.get(i - g.noutputs).copied().unwrap_or(false))
}

/// Refuse `g` if it cannot fit `limit` bytes with `threads` tasks running at once, as
/// planned (outputs `i` with `external[i]` and spilled intermediates do not count).
pub fn check(g: &TaskGraph, limit: usize, threads: usize, external: &[bool]) -> Result<()> {
    let arrays: Vec<(usize, usize, &Vec<usize>, DType)> = g
        .targets
        .iter()
        .enumerate()
        .filter(|(i, _)| !in_place(g, *i, external))
        .map(|(i, (shape, d))| (shape.iter().product::<usize>() * d.itemsize(), i, shape, *d))
        .collect();
    let held: usize = arrays.iter().map(|a| a.0).sum();
    let tasks = task_memory(g);
    let worst = tasks
        .iter()
        .max_by_key(|t| t.0)
        .cloned()
        .unwrap_or((0, String::new()));
    let need = held + worst.0 * threads.max(1);
    if need <= limit {
        return Ok(());
    }
    let biggest = arrays.iter().max_by_key(|a| a.0).copied();
    if let Some((bytes, i, shape, dtype)) = biggest.filter(|a| a.0 >= worst.0 * threads.max(1)) {
        let what = if i < g.noutputs {
            format!("output {i}")
        } else {
            "an intermediate array (a reduction result, concatenation or reshape that later steps read)".into()
        };
        return Err(Error::Memory(format!(
            "this computation needs {} but the memory budget is {}: {what} of shape {} and dtype {dtype} \
             takes {} by itself. Store the result instead (brickwork.array.to_npy / store into a \
             memory-mapped array), compute a smaller part, or raise the budget with \
             brickwork.config.set(memory_limit=...)",
            fmt_bytes(need),
            fmt_bytes(limit),
            fmt_shape(shape),
            fmt_bytes(bytes)
        )));
    }
    let stage = tasks.iter().position(|t| t.0 == worst.0).unwrap_or(0);
    let per_task = limit.saturating_sub(held) / threads.max(1);
    let smaller = g
        .stages
        .get(stage)
        .and_then(|s| blocks_to_fit(&s.kind, worst.0, per_task))
        .map(|(now, fits)| {
            format!(
                "Use chunks of about {} (blocks are up to {} now), ",
                fmt_shape(&fits),
                fmt_shape(&now)
            )
        })
        .unwrap_or_else(|| "Use smaller chunks, ".into());
    Err(Error::Memory(format!(
        "this computation needs {} but the memory budget is {}: {} needs {} per task on {threads} \
         thread(s). {smaller}fewer threads, or raise the budget with \
         brickwork.config.set(memory_limit=...)",
        fmt_bytes(need),
        fmt_bytes(limit),
        worst.1,
        fmt_bytes(worst.0)
    )))
}

/// The block shape of a stage whose working set grows with its blocks, and a block shape
/// cut evenly along every axis longer than one so that a task of `bytes` needs at most
/// `room`; None for stages whose working set does not depend on the chunks or when
/// nothing fits.
fn blocks_to_fit(kind: &StageKind, bytes: usize, room: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    let grid = kind.op().resizable_grid()?;
    let now = grid.chunksize();
    let cut: Vec<usize> = (0..now.len()).filter(|&a| now[a] > 1).collect();
    if room == 0 || cut.is_empty() {
        return None;
    }
    let factor = (bytes as f64 / room as f64).powf(1.0 / cut.len() as f64);
    let mut fits = now.clone();
    for &a in &cut {
        fits[a] = ((now[a] as f64 / factor).floor() as usize).max(1);
    }
    Some((now, fits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{full, reduce};
    use crate::optimize::task_graph;
    use brickwork_core::{AxisChunks, ScalarKind};
    use brickwork_kernels::reduce::Reducer;

    fn ones(shape: &[usize], chunk: usize) -> crate::Expr {
        let grid = Chunks(
            shape
                .iter()
                .map(|&n| AxisChunks::regular(chunk, n))
                .collect(),
        );
        full(ScalarKind::Float(1.0).to_scalar(DType::F64).unwrap(), grid)
    }

    #[test]
    fn an_output_larger_than_the_budget_is_refused_before_running() {
        // A 10^6 x 10^3 float64 output is 7.45 GiB.
        let x = ones(&[1_000_000, 1000], 1000);
        let g = task_graph(&[x]).unwrap();
        let e = check(&g, 1 << 30, 2, &[]).unwrap_err();
        assert!(matches!(e, Error::Memory(_)));
        assert!(
            e.to_string().contains("output 0 of shape (1000000, 1000)"),
            "{e}"
        );
        // Written into caller memory it fits.
        check(&g, 1 << 30, 2, &[true]).unwrap();
    }

    #[test]
    fn a_task_too_large_for_the_budget_is_told_a_chunking_that_fits() {
        // A sum over axis 0 of blocks 2 x 10^7 keeps 10^7 partial states per task
        // (305 MiB), next to a 76 MiB output.
        let x = ones(&[2, 10_000_000], 10_000_000);
        let s = reduce(&x, Reducer::Sum, Some(&[0]), false, None, None).unwrap();
        let e = check(&task_graph(&[s]).unwrap(), 128 << 20, 2, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("Use chunks of about (1, 847130)")
                && e.contains("(blocks are up to (1, 10000000) now)"),
            "{e}"
        );
    }

    #[test]
    fn a_streaming_reduction_of_a_huge_array_fits_a_small_budget() {
        let x = ones(&[1_000_000, 1000], 1000);
        let s = reduce(&x, Reducer::Mean, Some(&[0]), false, None, None).unwrap();
        check(&task_graph(&[s]).unwrap(), 64 << 20, 2, &[]).unwrap();
    }

    #[test]
    fn intermediates_that_do_not_fit_are_spilled_largest_first() {
        let mut g = task_graph(&[ones(&[4, 4], 2)]).unwrap();
        // Two made-up intermediates of 8 MiB and 1 MiB next to a tiny output.
        g.targets.push((vec![1 << 20], DType::F64));
        g.targets.push((vec![1 << 17], DType::F64));
        fit(&mut g, 4 << 20, 1, &[]).unwrap();
        assert_eq!(g.spilled, vec![true, false]);
        fit(&mut g, 64 << 20, 1, &[]).unwrap();
        assert_eq!(g.spilled, vec![false, false]);
        // An output cannot be spilled.
        let mut big = task_graph(&[ones(&[1_000_000, 1000], 1000)]).unwrap();
        assert!(fit(&mut big, 1 << 30, 2, &[]).is_err());
    }
}
