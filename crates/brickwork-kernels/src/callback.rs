//! User functions over whole blocks (`map_blocks`): the one kind of kernel that is not
//! data. The engine sees a trait object; the Python binding implements it by calling a
//! Python function with the GIL held.

use crate::Tile;
use brickwork_core::{c_strides, Buffer, Result};
use std::cell::RefCell;
use std::sync::Arc;

/// Data of one computation that its block functions read (the Python binding keeps
/// the process pool of `scheduler="processes"` here). The executor sets it on every
/// worker thread of the computation, so concurrent computations never see each other's.
pub type ComputeContext = Arc<dyn std::any::Any + Send + Sync>;

thread_local! {
    static CONTEXT: RefCell<Option<ComputeContext>> = const { RefCell::new(None) };
}

/// The context of the computation whose task this thread is running, if any.
pub fn current_context() -> Option<ComputeContext> {
    CONTEXT.with(|c| c.borrow().clone())
}

/// Runs `f` with `context` as this thread's computation context (restored afterwards,
/// also when `f` panics).
pub fn with_context<R>(context: Option<ComputeContext>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<ComputeContext>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CONTEXT.with(|c| *c.borrow_mut() = self.0.take());
        }
    }
    let _restore = Restore(CONTEXT.with(|c| c.replace(context)));
    f()
}

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

/// An input block as a [`BlockFn`] receives it.
#[derive(Debug)]
pub enum BlockInput {
    /// Memory others read too (a source, an intermediate): the function must not
    /// write into it, so it gets a copy.
    Shared(BlockArg),
    /// A C-contiguous block of `shape` made for this call alone (an overlapped block
    /// gathered from its neighbours): it may be handed over as it is.
    Owned(Tile, Vec<usize>),
}

impl BlockInput {
    /// The block as a [`BlockArg`] (an owned tile becomes its own buffer).
    pub fn into_arg(self) -> BlockArg {
        match self {
            BlockInput::Shared(arg) => arg,
            BlockInput::Owned(tile, shape) => BlockArg {
                buffer: crate::with_tile!(tile, v => Buffer::from_vec(v)),
                base: 0,
                strides: c_strides(&shape),
                shape,
            },
        }
    }
}

/// A function from input blocks to one output block.
pub trait BlockFn: Send + Sync + std::fmt::Debug {
    /// Compute the output block at grid coordinates `block_id` from `args`; it must
    /// return `shape` elements (C order) of the declared dtype.
    fn call(&self, block_id: &[usize], args: &[BlockArg], shape: &[usize]) -> Result<Tile>;

    /// [`BlockFn::call`] with inputs that may be owned (handed over without a copy),
    /// returning the block as memory read through strides (no copy into a tile): an
    /// element `(i0, i1, ...)` of the result is at `base + i0 * strides[0] + ...` of
    /// its buffer, which the caller checks against `shape`. By default, through `call`.
    fn call_blocks(
        &self,
        block_id: &[usize],
        args: Vec<BlockInput>,
        shape: &[usize],
    ) -> Result<BlockArg> {
        let args: Vec<BlockArg> = args.into_iter().map(BlockInput::into_arg).collect();
        let tile = self.call(block_id, &args, shape)?;
        Ok(BlockInput::Owned(tile, shape.to_vec()).into_arg())
    }

    /// A name for plans and errors.
    fn name(&self) -> &str;
}
