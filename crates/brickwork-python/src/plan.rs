//! The optimized plan as plain Python data (stages, the data they read and write, and
//! the dependencies between them), for drawing it (`brickwork.array.visualize`).

use crate::errors::guard;
use crate::expr::PyExpr;
use brickwork::layers::graph::{optimize, Expr, Leaf, LeafKind};
use brickwork::Chunks;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The data a leaf reads from outside the plan (memory or storage), as a dict with a
/// `key` shared by every leaf reading the same array; None for generated values and
/// intermediate arrays (those are stages of the plan).
fn input<'py>(py: Python<'py>, leaf: &Leaf) -> PyResult<Option<Bound<'py, PyDict>>> {
    let d = PyDict::new(py);
    match &leaf.kind {
        LeafKind::Source(s) => {
            d.set_item("key", format!("memory {:p}", s.buffer.as_ptr()))?;
            d.set_item("kind", "memory")?;
            d.set_item("name", "array in memory")?;
            d.set_item("dtype", s.buffer.dtype().name())?;
            d.set_item("size", s.buffer.len())?;
            d.set_item("shape", py.None())?;
        }
        LeafKind::Stored(src) => {
            d.set_item(
                "key",
                format!("storage {:p}", Arc::as_ptr(src) as *const ()),
            )?;
            d.set_item("kind", "storage")?;
            d.set_item("name", format!("{src:?}"))?;
            d.set_item("dtype", src.dtype().name())?;
            d.set_item("size", src.shape().iter().product::<usize>())?;
            d.set_item("shape", PyTuple::new(py, src.shape())?)?;
        }
        LeafKind::Generated(_)
        | LeafKind::Buffer { .. }
        | LeafKind::Remote(_)
        | LeafKind::Select(_) => return Ok(None),
    }
    Ok(Some(d))
}

fn grid_dict<'py>(py: Python<'py>, grid: &Chunks) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("shape", PyTuple::new(py, grid.shape())?)?;
    d.set_item("chunksize", PyTuple::new(py, grid.chunksize())?)?;
    d.set_item("numblocks", PyTuple::new(py, grid.numblocks())?)?;
    Ok(d)
}

/// The optimized plan of computing `exprs` together, as a dict: `ntasks`; `targets`
/// (the arrays tasks write: compute outputs first, then intermediates), each with
/// `shape`, `dtype` and `output`; `stages`, each with `kind`, `summary` (its line of
/// `explain`), `program` (lines of its fused program), `ntasks` (after culling),
/// `grid` (its blocks: `shape`, `chunksize`, `numblocks`, or None), `writes`
/// (target numbers) and `inputs` (the arrays it reads from memory or storage: `key`,
/// `kind`, `name`, `dtype`, `size`, `shape`); and `edges`:
/// `(stage, stage, dependencies)` for every pair of stages where tasks of the second
/// read results of the first, with the number of such task dependencies.
#[pyfunction]
fn plan<'py>(py: Python<'py>, exprs: Vec<PyRef<'py, PyExpr>>) -> PyResult<Bound<'py, PyDict>> {
    let exprs: Vec<Expr> = exprs.iter().map(|e| e.expr.clone()).collect();
    let (g, text) = guard(py, || {
        let g = optimize::task_graph(&exprs)?;
        let text = optimize::explain::stage_lines(&g);
        Ok((g, text))
    })?;
    let mut counts = vec![0usize; g.stages.len()];
    for &s in &g.stage_of {
        counts[s as usize] += 1;
    }
    let mut edges: BTreeMap<(u32, u32), usize> = BTreeMap::new();
    for t in 0..g.ntasks() {
        for &d in g.deps_of(t) {
            *edges
                .entry((g.stage_of[d as usize], g.stage_of[t]))
                .or_default() += 1;
        }
    }

    let stages = PyList::empty(py);
    for (i, (s, (summary, program))) in g.stages.iter().zip(text).enumerate() {
        let op = s.kind.op();
        let d = PyDict::new(py);
        d.set_item("kind", op.name())?;
        d.set_item("summary", summary)?;
        d.set_item("program", program)?;
        d.set_item("ntasks", counts[i])?;
        match op.grid() {
            Some(grid) => d.set_item("grid", grid_dict(py, grid)?)?,
            None => d.set_item("grid", py.None())?,
        }
        let mut writes = op.writes();
        writes.sort_unstable();
        writes.dedup(); // a result written at several places of one target
        d.set_item("writes", writes)?;
        let inputs = PyList::empty(py);
        for (read, _) in op.reads() {
            // A concatenation read in place reads its parts.
            for leaf in read.flat() {
                if let Some(inp) = input(py, leaf)? {
                    inputs.append(inp)?;
                }
            }
        }
        d.set_item("inputs", inputs)?;
        stages.append(d)?;
    }

    let targets = PyList::empty(py);
    for (t, (shape, dtype)) in g.targets.iter().enumerate() {
        let d = PyDict::new(py);
        d.set_item("shape", PyTuple::new(py, shape)?)?;
        d.set_item("dtype", dtype.name())?;
        d.set_item("output", t < g.noutputs)?;
        targets.append(d)?;
    }

    let out = PyDict::new(py);
    out.set_item("ntasks", g.ntasks())?;
    out.set_item("targets", targets)?;
    out.set_item("stages", stages)?;
    let edges: Vec<(u32, u32, usize)> = edges.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    out.set_item("edges", edges)?;
    Ok(out)
}

/// Add the module's function.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(plan, m)?)?;
    Ok(())
}
