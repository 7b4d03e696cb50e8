//! The local scheduler: worker threads with work-stealing deques.

use crate::admission::Admission;
use crate::output::{OutputBuffer, OutputTarget};
use crate::run::{run_task, Ctx};
use crate::slots::Slots;
use crate::spill::SpillFile;
use brickwork_core::{Buffer, DType};
use brickwork_core::{Error, Result};
use brickwork_graph::TaskGraph;
use brickwork_kernels::program::Scratch;
use brickwork_kernels::{with_tile, Tile};
use crossbeam_deque::{Injector, Steal, Stealer, Worker};
use crossbeam_utils::Backoff;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

/// Caller-provided memory to write an output into (C-contiguous).
#[derive(Debug)]
pub struct ExternalArray {
    ptr: *mut u8,
    dtype: DType,
    shape: Vec<usize>,
}

// SAFETY: the memory is only written by the executor's tasks, disjointly, under the
// contract of `ExternalArray::new`.
unsafe impl Send for ExternalArray {}

impl ExternalArray {
    /// Memory at `ptr` holding a C-contiguous array of `shape` and `dtype`.
    ///
    /// # Safety
    /// `ptr` must be aligned and valid for writes of the whole array, and nothing else
    /// may read or write it until the computation using it has returned.
    pub unsafe fn new(ptr: *mut u8, dtype: DType, shape: Vec<usize>) -> ExternalArray {
        ExternalArray { ptr, dtype, shape }
    }
}

/// How far a computation has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Tasks finished.
    pub done: usize,
    /// Tasks in all.
    pub total: usize,
}

/// Runs task graphs.
pub trait Executor {
    /// Run `graph` and return its outputs. `poll` is called from the calling thread
    /// about every 50 ms and once at the end; when it returns `true` the computation
    /// stops (running tasks finish, no new ones start) with [`Error::Cancelled`].
    fn execute(
        &self,
        graph: &TaskGraph,
        poll: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<Vec<OutputBuffer>> {
        self.execute_into(graph, Vec::new(), poll)
    }

    /// As [`Executor::execute`], writing output `i` into `into[i]` when it is given
    /// (its returned [`OutputBuffer`] is then empty): a NumPy array or a memory-mapped
    /// file, so that a result larger than memory streams to disk.
    fn execute_into(
        &self,
        graph: &TaskGraph,
        into: Vec<Option<ExternalArray>>,
        poll: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<Vec<OutputBuffer>>;
}

/// The default executor: `num_threads` worker threads on this machine.
#[derive(Debug, Clone)]
pub struct LocalExecutor {
    /// The number of worker threads (at least 1).
    pub num_threads: usize,
    /// Where spilled intermediate arrays go (the system's temporary directory if None).
    pub spill_dir: Option<std::path::PathBuf>,
    /// The memory budget in bytes, held while running (see the `admission` module):
    /// tasks that bring new data in wait while the measured memory is over it.
    pub memory_limit: Option<usize>,
    /// Data of this computation for its block functions (see
    /// [`brickwork_kernels::callback::current_context`]), set on every worker thread.
    pub context: Option<brickwork_kernels::callback::ComputeContext>,
    /// How a worker thread runs a task.
    pub runner: TaskRunner,
}

/// How the local executor's worker threads run a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TaskRunner {
    /// Against the computation's memory.
    #[default]
    Direct,
    /// As a remote worker would, every task, request and result through bytes (see
    /// [`crate::loopback`]): slower, for tests that plans travel.
    Loopback,
}

impl Default for LocalExecutor {
    fn default() -> Self {
        LocalExecutor {
            num_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            spill_dir: None,
            memory_limit: None,
            context: None,
            runner: TaskRunner::Direct,
        }
    }
}

/// The scheduler state shared by the workers of one computation.
struct Shared<'a> {
    ctx: Ctx<'a>,
    pending: Vec<AtomicU32>,
    dependents_start: Vec<u32>,
    dependents: Vec<u32>,
    injector: Injector<u32>,
    stealers: Vec<Stealer<u32>>,
    done: AtomicUsize,
    stop: AtomicBool,
    error: Mutex<Option<Error>>,
    caller: std::thread::Thread,
    /// The spilled intermediates, whose pages go back after every task.
    spilled: Vec<Arc<SpillFile>>,
    /// Run-time admission of source tasks, when there is a memory budget.
    admission: Option<Admission>,
    /// The client's side of the loopback runner, when tasks run that way.
    loopback: Option<crate::loopback::Session>,
}

impl Shared<'_> {
    fn find(&self, local: &Worker<u32>) -> Option<u32> {
        if let Some(t) = local.pop() {
            return Some(t);
        }
        loop {
            match self.injector.steal() {
                Steal::Success(t) => return Some(t),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        for s in &self.stealers {
            loop {
                match s.steal() {
                    Steal::Success(t) => return Some(t),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        None
    }

    fn fail(&self, e: Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
        self.stop.store(true, Ordering::Release);
        self.caller.unpark();
    }

    fn work(&self, local: Worker<u32>) {
        let mut scratch = Scratch::default();
        let total = self.ctx.graph.ntasks();
        let backoff = Backoff::new();
        while !self.stop.load(Ordering::Acquire) {
            let Some(t) = self.find(&local) else {
                if self.done.load(Ordering::Acquire) == total {
                    return;
                }
                if backoff.is_completed() {
                    std::thread::park_timeout(Duration::from_micros(100));
                } else {
                    backoff.snooze();
                }
                continue;
            };
            backoff.reset();
            let t = t as usize;
            if let Some(admission) = &self.admission {
                if !self.ctx.graph.deps_of(t).is_empty() {
                    admission.start();
                } else if !admission.admit_source() {
                    self.injector.push(t as u32);
                    std::thread::park_timeout(Duration::from_micros(200));
                    continue;
                }
            }
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &self.loopback {
                    None => run_task(&self.ctx, t, &mut scratch),
                    Some(session) => session.run(&self.ctx, t),
                }));
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return self.fail(e),
                Err(panic) => {
                    let msg = panic
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".into());
                    return self.fail(Error::Internal(format!("a task panicked: {msg}")));
                }
            }
            for spill in &self.spilled {
                spill.release();
            }
            if let Some(admission) = &self.admission {
                admission.finish();
            }
            for &d in self.ctx.graph.deps_of(t) {
                self.ctx.slots.release(d as usize);
            }
            let ds = &self.dependents
                [self.dependents_start[t] as usize..self.dependents_start[t + 1] as usize];
            for &c in ds.iter().rev() {
                if self.pending[c as usize].fetch_sub(1, Ordering::AcqRel) == 1 {
                    local.push(c);
                }
            }
            if self.done.fetch_add(1, Ordering::AcqRel) + 1 == total {
                self.caller.unpark();
            }
        }
    }
}

impl Executor for LocalExecutor {
    fn execute_into(
        &self,
        graph: &TaskGraph,
        mut into: Vec<Option<ExternalArray>>,
        poll: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<Vec<OutputBuffer>> {
        into.resize_with(graph.noutputs, || None);
        for (i, ext) in into.iter().enumerate() {
            if let Some(e) = ext {
                let (shape, dtype) = &graph.targets[i];
                if e.shape != *shape || e.dtype != *dtype {
                    return Err(Error::Value(format!(
                        "output {i} is {} of {dtype} but the array to store it in is {} of {}",
                        brickwork_core::fmt_shape(shape),
                        brickwork_core::fmt_shape(&e.shape),
                        e.dtype
                    )));
                }
            }
        }
        let mut outputs: Vec<OutputBuffer> = graph.targets[..graph.noutputs]
            .iter()
            .zip(&into)
            .map(|((s, d), ext)| match ext {
                Some(_) => OutputBuffer::new(&[0], *d),
                None => OutputBuffer::new(s, *d),
            })
            .collect();
        let n = graph.ntasks();
        if n == 0 {
            poll(Progress { done: 0, total: 0 });
            return Ok(outputs);
        }
        let mut targets: Vec<OutputTarget> = outputs
            .iter_mut()
            .zip(&into)
            .map(|(o, ext)| match ext {
                // SAFETY: `ExternalArray::new`'s contract: valid, exclusive, C-contiguous
                // memory of the output's shape and dtype for the whole computation.
                Some(e) => unsafe { OutputTarget::from_raw(e.ptr, e.dtype, &e.shape) },
                None => o.target(),
            })
            .collect();
        // Intermediate arrays: written through raw pointers by their writer tasks, read
        // as buffers by tasks that depend on those writers.
        let mut spills: Vec<Option<Arc<SpillFile>>> = Vec::new();
        let spill_dir = self.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
        // Outputs are read back too (a map_blocks result that is also an output is
        // computed once and read from there).
        let mut buffers: Vec<(Buffer, Vec<usize>)> = targets
            .iter()
            .zip(&graph.targets)
            .map(|(t, (shape, _))| (t.as_buffer(), shape.clone()))
            .collect();
        for (i, (shape, dtype)) in graph.targets[graph.noutputs..].iter().enumerate() {
            if !graph.spilled.get(i).copied().unwrap_or(false) {
                buffers.push(in_memory(shape, *dtype, &mut targets));
                spills.push(None);
                continue;
            }
            let elements: usize = shape.iter().product();
            let layout = graph.layouts.get(i).cloned().flatten();
            let file = Arc::new(SpillFile::create(
                &spill_dir,
                elements * dtype.itemsize(),
                layout,
            )?);
            // SAFETY: the file's mapping holds `elements` elements of `dtype`, lives as
            // long as the buffer below (which owns an Arc of it) and `spills`, and is
            // written only through this target by writer tasks (disjoint blocks).
            targets.push(unsafe { OutputTarget::from_raw(file.ptr(), *dtype, shape) });
            // SAFETY: as above; readers run after the writers of what they read.
            let buffer = unsafe { Buffer::from_raw(file.ptr(), elements, *dtype, file.clone()) };
            buffers.push((buffer, shape.clone()));
            spills.push(Some(file));
        }
        // Consumers of each task, as CSR.
        let mut readers = vec![0u32; n];
        for &d in &graph.deps {
            readers[d as usize] += 1;
        }
        let mut dependents_start = Vec::with_capacity(n + 1);
        let mut acc = 0u32;
        dependents_start.push(0);
        for &r in &readers {
            acc += r;
            dependents_start.push(acc);
        }
        let mut fill = dependents_start.clone();
        let mut dependents = vec![0u32; graph.deps.len()];
        for t in 0..n {
            for &d in graph.deps_of(t) {
                let at = &mut fill[d as usize];
                dependents[*at as usize] = t as u32;
                *at += 1;
            }
        }
        let injector = Injector::new();
        let pending: Vec<AtomicU32> = (0..n)
            .map(|t| {
                let k = graph.deps_of(t).len() as u32;
                if k == 0 {
                    injector.push(t as u32);
                }
                AtomicU32::new(k)
            })
            .collect();
        let slots = Slots::new(readers);
        let planned: usize = graph
            .targets
            .iter()
            .enumerate()
            .filter(|&(i, _)| match i.checked_sub(graph.noutputs) {
                None => into[i].is_none(),
                Some(j) => !graph.spilled.get(j).copied().unwrap_or(false),
            })
            .map(|(_, (shape, d))| shape.iter().product::<usize>() * d.itemsize())
            .sum();
        let nthreads = self.num_threads.max(1).min(n);
        let workers: Vec<Worker<u32>> = (0..nthreads).map(|_| Worker::new_lifo()).collect();
        let shared = Shared {
            ctx: Ctx {
                graph,
                slots: &slots,
                targets: &targets,
                buffers: &buffers,
                spills: &spills,
            },
            pending,
            dependents_start,
            dependents,
            injector,
            stealers: workers.iter().map(|w| w.stealer()).collect(),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            error: Mutex::new(None),
            caller: std::thread::current(),
            spilled: spills.iter().flatten().cloned().collect(),
            admission: self
                .memory_limit
                .and_then(|limit| Admission::new(limit, planned)),
            loopback: match self.runner {
                TaskRunner::Direct => None,
                TaskRunner::Loopback => Some(crate::loopback::Session::new(&graph.stages)?),
            },
        };
        let mut cancelled = false;
        std::thread::scope(|s| {
            let handles: Vec<_> = workers
                .into_iter()
                .map(|w| {
                    let shared = &shared;
                    let context = self.context.clone();
                    s.spawn(move || {
                        brickwork_kernels::callback::with_context(context, || shared.work(w))
                    })
                })
                .collect();
            // Poll every 50 ms; with a budget, also measure the tasks' memory every 10 ms
            // (a task holding memory is seen even while no worker asks for admission).
            let tick = if shared.admission.is_some() { 10 } else { 50 };
            let mut last_poll: Option<std::time::Instant> = None;
            loop {
                let done = shared.done.load(Ordering::Acquire);
                if done == n || shared.stop.load(Ordering::Acquire) {
                    break;
                }
                if let Some(admission) = &shared.admission {
                    admission.sample();
                }
                if last_poll.is_none_or(|t| t.elapsed() >= Duration::from_millis(50)) {
                    last_poll = Some(std::time::Instant::now());
                    if poll(Progress { done, total: n }) {
                        cancelled = true;
                        shared.stop.store(true, Ordering::Release);
                        break;
                    }
                }
                std::thread::park_timeout(Duration::from_millis(tick));
            }
            for h in handles {
                h.thread().unpark();
            }
        });
        if let Some(e) = shared.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        if cancelled {
            return Err(Error::Cancelled);
        }
        poll(Progress { done: n, total: n });
        drop(targets);
        Ok(outputs)
    }
}

/// An intermediate array in memory: written through raw pointers by its writer tasks,
/// read as a buffer by tasks that depend on those writers.
fn in_memory(
    shape: &[usize],
    dtype: DType,
    targets: &mut Vec<OutputTarget>,
) -> (Buffer, Vec<usize>) {
    let mut tile = Tile::new(dtype, shape.iter().product());
    #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
    let ptr = with_tile!(&mut tile, v => v.as_mut_ptr() as *mut u8);
    // SAFETY: `ptr` points to the tile's heap memory, which moves into the buffer below
    // without being reallocated and lives as long as the returned buffer, which outlives
    // every task. Writer tasks write disjoint blocks, and readers run only after the
    // writers of what they read (dependency edges with acquire/release ordering).
    targets.push(unsafe { OutputTarget::from_raw(ptr, dtype, shape) });
    (with_tile!(tile, v => Buffer::from_vec(v)), shape.to_vec())
}
