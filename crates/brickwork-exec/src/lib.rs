//! Executors run a [`TaskGraph`](brickwork_graph::TaskGraph). The local scheduler
//! ([`LocalExecutor`]) runs tasks on a pool of threads with work stealing: newly ready
//! tasks go to the front of the finishing worker's own deque (depth first, so results
//! are consumed soon after they are made), source tasks are taken from a shared queue
//! in plan order, and idle workers steal from the back of the others' deques.
//!
//! Every executor reports [`Progress`] the same way and can be cancelled. Intermediate
//! arrays the plan spilled live in an unnamed temporary file whose pages go back to the
//! system after every task.

mod admission;
mod local;
mod loopback;
mod output;
mod run;
mod slots;
mod spill;

pub use admission::on_release_memory;
pub use brickwork_kernels::block::contiguous;
pub use local::{Executor, ExternalArray, LocalExecutor, Progress, TaskRunner};
pub use output::OutputBuffer;
