//! Block sources and sinks: arrays that live outside memory (Zarr stores), read and
//! written a block at a time. Kernels only see these traits; `brickwork-store`
//! implements them.

use crate::Tile;
use brickwork_core::{DType, Result};

/// An array on storage that tasks read region by region.
pub trait BlockSource: Send + Sync + std::fmt::Debug {
    /// The array's shape.
    fn shape(&self) -> Vec<usize>;
    /// The element type.
    fn dtype(&self) -> DType;
    /// The region starting at `start` of `shape`, as a C-ordered tile.
    fn read(&self, start: &[usize], shape: &[usize]) -> Result<Tile>;
}

/// An array on storage that tasks write block by block.
pub trait BlockSink: Send + Sync + std::fmt::Debug {
    /// Write the C-ordered `block` of `shape` at `start`.
    fn write(&self, start: &[usize], shape: &[usize], block: &Tile) -> Result<()>;
    /// A name for plans and errors (the store and array path).
    fn name(&self) -> String;
}
