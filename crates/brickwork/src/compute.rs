//! The pipeline, in one place: plan the outputs, fit the plan to the memory budget
//! (spilling intermediates or refusing before anything runs), then execute it. Every
//! front end (the Rust [`Array`](crate::Array) API and the Python binding) computes
//! through [`compute`] or [`store`], so every user gets the same budget and spilling.

use brickwork_core::Result;
use brickwork_exec::{Executor, ExternalArray, LocalExecutor, OutputBuffer, Progress, TaskRunner};
use brickwork_graph::optimize::{self, budget};
use brickwork_graph::{Expr, TaskGraph};
use brickwork_kernels::callback::ComputeContext;
use brickwork_kernels::io::BlockSink;
use std::path::PathBuf;
use std::sync::Arc;

/// How to run one computation. [`ComputeOptions::default`] uses every core and a
/// budget of three quarters of the physical memory, as the Python package does.
#[derive(Clone)]
pub struct ComputeOptions {
    /// Worker threads (at least 1).
    pub num_threads: usize,
    /// The memory budget in bytes, checked before running and held while running;
    /// None for no budget.
    pub memory_limit: Option<usize>,
    /// Where spilled intermediates go (the system's temporary directory if None).
    pub spill_dir: Option<PathBuf>,
    /// Data of this computation that its block functions read (see
    /// [`brickwork_kernels::callback::current_context`]).
    pub context: Option<ComputeContext>,
    /// The executor that runs the computation.
    pub executor: ExecutorKind,
}

impl std::fmt::Debug for ComputeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComputeOptions")
            .field("num_threads", &self.num_threads)
            .field("memory_limit", &self.memory_limit)
            .field("spill_dir", &self.spill_dir)
            .field("context", &self.context.as_ref().map(|_| ".."))
            .field("executor", &self.executor)
            .finish()
    }
}

impl Default for ComputeOptions {
    fn default() -> Self {
        ComputeOptions {
            num_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_limit: physical_memory().map(|m| m / 4 * 3),
            spill_dir: None,
            context: None,
            executor: ExecutorKind::Local,
        }
    }
}

/// The executors a computation can run on, chosen per computation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExecutorKind {
    /// Threads of this process with work stealing ([`LocalExecutor`]). Python block
    /// functions run in a process pool instead when the context carries one
    /// (`scheduler="processes"`).
    #[default]
    Local,
    /// The local threads, every task run as a remote worker would: its stage, reads,
    /// writes, states and calls through bytes. For tests that plans travel.
    Loopback,
}

impl ComputeOptions {
    fn executor(&self) -> LocalExecutor {
        LocalExecutor {
            num_threads: self.num_threads.max(1),
            spill_dir: self.spill_dir.clone(),
            memory_limit: self.memory_limit,
            context: self.context.clone(),
            runner: match self.executor {
                ExecutorKind::Local => TaskRunner::Direct,
                ExecutorKind::Loopback => TaskRunner::Loopback,
            },
        }
    }
}

/// The machine's physical memory in bytes (Linux: `MemTotal` of /proc/meminfo).
pub fn physical_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The plan of `outputs` fitted to `options`' budget: intermediates that do not fit are
/// marked to spill (`TaskGraph::spilled`); a plan that cannot fit is an
/// [`Error::Memory`](brickwork_core::Error::Memory) naming what to change. Outputs
/// `i` with `external[i]` are written into caller memory and do not count.
pub fn plan(outputs: &[Expr], options: &ComputeOptions, external: &[bool]) -> Result<TaskGraph> {
    let mut g = optimize::task_graph(outputs)?;
    if let Some(limit) = options.memory_limit {
        budget::fit(&mut g, limit, options.num_threads.max(1), external)?;
    }
    Ok(g)
}

/// Compute `outputs` in one task graph (shared work runs once): plan, fit the budget,
/// execute. Output `i` is written into `into[i]` when given. `poll` is called from the
/// calling thread about every 50 ms; returning `true` cancels the computation.
pub fn compute(
    outputs: &[Expr],
    options: &ComputeOptions,
    into: Vec<Option<ExternalArray>>,
    poll: &mut dyn FnMut(Progress) -> bool,
) -> Result<Vec<OutputBuffer>> {
    let external: Vec<bool> = into.iter().map(|a| a.is_some()).collect();
    let g = plan(outputs, options, &external)?;
    options.executor().execute_into(&g, into, poll)
}

/// Run a task graph built without expressions (work that is not an array, such as
/// `delayed` calls: see `brickwork_graph::stage::Calls`) on the executor of `options`,
/// with its budget held while running.
pub fn execute(
    graph: &TaskGraph,
    options: &ComputeOptions,
    poll: &mut dyn FnMut(Progress) -> bool,
) -> Result<()> {
    options.executor().execute(graph, poll).map(|_| ())
}

/// Write each expression into its sink (a Zarr array, …) block by block, under the
/// same budget as [`compute`].
pub fn store(
    targets: &[(Expr, Arc<dyn BlockSink>)],
    options: &ComputeOptions,
    poll: &mut dyn FnMut(Progress) -> bool,
) -> Result<()> {
    let mut g = optimize::store_graph(targets)?;
    if let Some(limit) = options.memory_limit {
        budget::fit(&mut g, limit, options.num_threads.max(1), &[])?;
    }
    options.executor().execute(&g, poll).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Array;
    use brickwork_core::{ChunkSpec, Chunks, DType, ScalarKind};
    use ndarray::ArrayD;

    /// A concatenation (materialized: 7.6 MiB) read in two grids, and the exact
    /// column sums of both reads.
    fn used_twice() -> (Array, Vec<f64>) {
        let (rows, cols) = (1000, 500);
        let data: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1000) as f64)
            .collect();
        let x = ArrayD::from_shape_vec(vec![rows, cols], data.clone()).unwrap();
        let x = Array::from_ndarray(x, &[100, cols]).unwrap();
        let y = x
            .binary_scalar(brickwork_kernels::BinaryOp::Multiply, ScalarKind::Int(2))
            .unwrap();
        let c = brickwork_graph::concatenate(&[x.expr().clone(), y.expr().clone()], 0).unwrap();
        let grid = Chunks::from_specs(
            &[ChunkSpec::Size(2 * rows), ChunkSpec::Size(50)],
            &[2 * rows, cols],
            8,
            usize::MAX,
        )
        .unwrap();
        let c = Array::from_expr(c);
        let columns = Array::from_expr(brickwork_graph::rechunk(c.expr(), grid).unwrap());
        let z = c
            .sum(Some(&[0]))
            .unwrap()
            .add(&columns.sum(Some(&[0])).unwrap())
            .unwrap();
        let mut expected = vec![0.0; cols];
        for (i, v) in data.iter().enumerate() {
            expected[i % cols] += 6.0 * v;
        }
        (z, expected)
    }

    /// The float64 values of `z` computed with `options`.
    fn values(z: &Array, options: &ComputeOptions) -> Vec<f64> {
        let out = compute(
            std::slice::from_ref(z.expr()),
            options,
            Vec::new(),
            &mut |_| false,
        )
        .unwrap();
        let brickwork_kernels::Tile::F64(got) = &out[0].data else {
            panic!("float64 result")
        };
        got.clone()
    }

    #[test]
    fn a_plan_over_the_budget_spills_and_computes_the_same_values() {
        let (z, expected) = used_twice();
        let tight = ComputeOptions {
            num_threads: 2,
            memory_limit: Some(6 << 20),
            ..ComputeOptions::default()
        };
        let g = plan(std::slice::from_ref(z.expr()), &tight, &[false]).unwrap();
        assert!(
            g.spilled.iter().any(|&s| s),
            "the 7.6 MiB intermediate spills"
        );
        let roomy = ComputeOptions {
            memory_limit: None,
            ..tight.clone()
        };
        let g = plan(std::slice::from_ref(z.expr()), &roomy, &[false]).unwrap();
        assert!(!g.spilled.iter().any(|&s| s));
        assert_eq!(values(&z, &tight), expected);
        assert_eq!(z.dtype(), DType::F64);
    }

    #[test]
    fn the_loopback_executor_computes_the_same_values_through_bytes() {
        // Spilled and in-memory intermediates, a rechunk, concatenation and a
        // reduction tree, every task run as a remote worker would.
        let (z, expected) = used_twice();
        for memory_limit in [Some(6 << 20), None] {
            let options = ComputeOptions {
                num_threads: 2,
                memory_limit,
                executor: ExecutorKind::Loopback,
                ..ComputeOptions::default()
            };
            assert_eq!(values(&z, &options), expected);
        }
    }

    #[test]
    fn a_task_larger_than_the_budget_is_refused_before_running() {
        let (z, _) = used_twice();
        let tiny = ComputeOptions {
            memory_limit: Some(4 << 10),
            ..ComputeOptions::default()
        };
        let err = compute(
            std::slice::from_ref(z.expr()),
            &tiny,
            Vec::new(),
            &mut |_| panic!("nothing runs"),
        )
        .unwrap_err();
        assert!(matches!(err, brickwork_core::Error::Memory(_)), "{err}");
    }
}
