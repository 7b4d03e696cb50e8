//! User functions over whole blocks (`map_blocks`): the one kind of kernel that is not
//! data. The engine sees a trait object; the Python binding implements it by calling a
//! Python function with the GIL held.

use crate::Tile;
use brickwork_core::{Buffer, Result};

/// One input block handed to a [`BlockFn`]: element `(i0, i1, ...)` of the block is at
/// `base + i0 * strides[0] + ...` elements in `buffer`.
#[derive(Debug, Clone)]
pub struct BlockArg {
    /// The memory (kept alive while the call runs).
    pub buffer: Buffer,
    /// The address of the block's first element.
    pub base: isize,
    /// Element strides per axis.
    pub strides: Vec<isize>,
    /// The block's shape.
    pub shape: Vec<usize>,
}

/// A function from input blocks to one output block.
pub trait BlockFn: Send + Sync + std::fmt::Debug {
    /// Compute the output block at grid coordinates `block_id` from `args`; it must
    /// return `shape` elements (C order) of the declared dtype.
    fn call(&self, block_id: &[usize], args: &[BlockArg], shape: &[usize]) -> Result<Tile>;

    /// A name for plans and errors.
    fn name(&self) -> &str;
}
