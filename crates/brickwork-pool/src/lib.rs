//! Worker processes for brickwork.
//!
//! - [`arena`]: a shared-memory arena; arguments' buffers reach workers by offset,
//!   without a copy, and nothing outlives the processes that hold it.
//! - [`wire`]: the frames between the supervisor and a worker, with descriptor passing.
//! - [`forkserver`]: the control protocol of the fork server that starts workers (its
//!   constants are defined there once and exported to Python by `brickwork._core`).
//! - [`supervisor`]: the thread that runs a pool — pipelines tasks to workers, reports
//!   each result, fails only the task of a worker that dies or times out, and forks
//!   its replacement.
//! - [`worker`]: the loop a worker process runs.
//! - [`pool`]: the pool for Rust programs — registered functions with serde arguments
//!   (and [`server`], the program's own fork server).
//!
//! The Python pool (`brickwork.multiprocessing`) is built on these pieces: its
//! workers are Python processes whose [`worker::Handler`] unpickles and calls.

pub mod arena;
pub mod forkserver;
pub mod pool;
pub mod server;
pub mod shared;
pub mod supervisor;
pub mod wire;
pub mod worker;

pub use arena::{Arena, ArenaView};
pub use supervisor::{Event, Options, Outcome, Supervisor, Task};
pub use wire::Span;
