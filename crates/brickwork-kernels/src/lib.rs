//! Chunk kernels: pure functions over chunk views, generic over dtype, with no threads
//! and no I/O inside.
//!
//! A chunk task runs a [`Program`]: a short list of typed instructions (load, cast,
//! unary, binary, where) evaluated over *tiles* of at most [`TILE`] elements, so that a
//! chain of elementwise operations reads each input once and allocates no chunk-sized
//! temporaries. The program's outputs go to a sink: a strided store ([`StoreSink`]) or a
//! reduction accumulator ([`reduce::ReduceSink`]).

pub mod block;
pub mod callback;
pub mod cast;
pub mod elementwise;
pub mod gemm;
pub mod io;
pub mod ops;
pub mod program;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod tile;

pub use ops::{BinaryOp, UnaryOp};
pub use program::{Input, InputView, Instr, Program, Scratch, Sink, StoreSink, TILE};
pub use tile::{Tile, TileRef};
