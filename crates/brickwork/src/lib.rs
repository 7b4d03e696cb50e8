//! brickwork: lazy N-d arrays cut into chunks, computed in parallel by fused kernels on
//! a work-stealing local scheduler.
//!
//! An [`Array`] is a lazy expression: building one validates shapes and dtypes and
//! costs O(1) in the number of chunks; nothing runs until [`Array::compute`]. At compute
//! time the optimizer fuses elementwise chains (with slices, transposes and broadcasts)
//! into one kernel per chunk, turns reductions into per-chunk partials and a combine
//! tree, and the scheduler runs the chunk tasks on all cores.
//!
//! ```
//! use brickwork::{Array, DType};
//! use ndarray::Array2;
//!
//! let x = Array2::from_shape_fn((1000, 500), |(i, j)| (i * 500 + j) as f64);
//! let data = Array::from_ndarray(x.clone().into_dyn(), &[100, 100]).unwrap();
//! let mean = data.mean(Some(&[0])).unwrap();          // lazy
//! let result = mean.compute::<f64>().unwrap();         // an ndarray::ArrayD<f64>
//! assert_eq!(result, x.mean_axis(ndarray::Axis(0)).unwrap().into_dyn());
//! assert_eq!(mean.dtype(), DType::F64);
//! ```

mod array;
pub mod compute;

pub use array::{compute_many, Array};
pub use brickwork_core::{
    AxisChunks, Buffer, ChunkSpec, Chunks, DType, Element, Error, Result, Scalar, ScalarKind,
};
pub use brickwork_exec::{Executor, ExternalArray, LocalExecutor, OutputBuffer, Progress};
pub use brickwork_kernels::reduce::Reducer;
pub use brickwork_kernels::{BinaryOp, UnaryOp};
pub use brickwork_store::ZarrArray;
pub use compute::{ComputeOptions, ExecutorKind};

/// Worker processes for Rust programs: run registered functions with serde arguments
/// and byte buffers (through shared memory) in child processes; a crashed or stuck
/// worker fails only its task. See `examples/process_pool.rs`.
pub mod pool {
    pub use brickwork_pool::pool::{
        serve_if_worker, BufferResult, Input, Pool, Registry, ResultBuf, SharedBuf, TaskError,
    };
    pub use brickwork_pool::Options;
}

/// The layers below the user API, for integrations (the Python binding among them).
pub mod layers {
    pub use brickwork_core as core;
    pub use brickwork_exec as exec;
    pub use brickwork_graph as graph;
    pub use brickwork_kernels as kernels;
    pub use brickwork_pool as pool;
    pub use brickwork_store as store;
}
