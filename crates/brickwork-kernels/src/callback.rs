//! User functions over whole blocks (`map_blocks`): the one kind of kernel that is not
//! data. The engine sees a trait object; the Python binding implements it by calling a
//! Python function with the GIL held.

use crate::Tile;
use brickwork_core::{Buffer, Result};
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

/// A function from input blocks to one output block.
pub trait BlockFn: Send + Sync + std::fmt::Debug {
    /// Compute the output block at grid coordinates `block_id` from `args`; it must
    /// return `shape` elements (C order) of the declared dtype.
    fn call(&self, block_id: &[usize], args: &[BlockArg], shape: &[usize]) -> Result<Tile>;

    /// A name for plans and errors.
    fn name(&self) -> &str;
}
