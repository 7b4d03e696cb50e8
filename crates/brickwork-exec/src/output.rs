//! Output arrays: allocated once, written in place by the tasks that produce them, and
//! handed to the caller (and on to NumPy) without a copy.

use brickwork_core::{c_strides, Buffer};
use brickwork_core::{DType, Result};
use brickwork_kernels::block::{contiguous, copy_program, view_of};
use brickwork_kernels::program::{run_block, Input, InputView, Scratch, StoreSink};
use brickwork_kernels::{with_tile, Tile};

/// A computed array: C-contiguous elements and a shape.
#[derive(Debug)]
pub struct OutputBuffer {
    /// The elements, in C order.
    pub data: Tile,
    /// The shape.
    pub shape: Vec<usize>,
}

/// Raw write access to an output, shared by the tasks that write disjoint blocks of it.
pub(crate) struct OutputTarget {
    ptr: *mut u8,
    len: usize,
    dtype: DType,
    strides: Vec<isize>,
}

// SAFETY: tasks write disjoint blocks of the output (each block is written by exactly
// one task), and the owning `OutputBuffer` outlives the scheduler's threads.
unsafe impl Send for OutputTarget {}
// SAFETY: as above.
unsafe impl Sync for OutputTarget {}

impl OutputBuffer {
    /// A zeroed output of `shape` and `dtype`.
    pub fn new(shape: &[usize], dtype: DType) -> OutputBuffer {
        OutputBuffer {
            data: Tile::new(dtype, shape.iter().product()),
            shape: shape.to_vec(),
        }
    }

    pub(crate) fn target(&mut self) -> OutputTarget {
        let len = self.data.len();
        let dtype = self.data.dtype();
        #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
        let ptr = with_tile!(&mut self.data, v => v.as_mut_ptr() as *mut u8);
        OutputTarget {
            ptr,
            len,
            dtype,
            strides: c_strides(&self.shape),
        }
    }
}

impl OutputTarget {
    /// Write access to an intermediate array of `shape` at `ptr`.
    ///
    /// # Safety
    /// `ptr` must be valid for writes of `shape.iter().product()` elements of `dtype`
    /// for as long as the target is used, and only written through this target.
    pub(crate) unsafe fn from_raw(ptr: *mut u8, dtype: DType, shape: &[usize]) -> OutputTarget {
        OutputTarget {
            ptr,
            len: shape.iter().product(),
            dtype,
            strides: c_strides(shape),
        }
    }

    /// The target's memory as a buffer, for tasks that read what earlier tasks wrote
    /// (dependency edges order the reads after the writes).
    pub(crate) fn as_buffer(&self) -> Buffer {
        // SAFETY: `ptr` is valid for `len` elements of `dtype` while the computation
        // runs (the executor keeps every target alive until all tasks have finished);
        // readers only read regions whose writers have finished.
        unsafe { Buffer::from_raw(self.ptr, self.len, self.dtype, std::sync::Arc::new(())) }
    }

    /// A sink writing the block at `offset` (of the output's grid) into the output.
    pub(crate) fn sink(&self, offset: &[usize], shape: &[usize]) -> Result<StoreSink> {
        let base: isize = offset
            .iter()
            .zip(&self.strides)
            .map(|(&o, &s)| o as isize * s)
            .sum();
        // SAFETY: `ptr` is valid for `len` elements while the output lives (the executor
        // keeps it alive until every task has finished); each block is written by one
        // task only; the view is bounds-checked below.
        let sink =
            unsafe { StoreSink::new(self.ptr, self.len, self.dtype, base, self.strides.clone()) };
        sink.check(shape)?;
        Ok(sink)
    }

    /// Copy a finished C-contiguous block `values` of `shape` into the output.
    pub(crate) fn write_block(
        &self,
        values: &Tile,
        offset: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<()> {
        let mut sink = self.sink(offset, shape)?;
        let view = view_of(values, shape);
        run_block(
            &copy_program(self.dtype),
            &[view],
            shape,
            &mut sink,
            scratch,
        )
    }

    /// Read back the block at `offset` of `shape` (written by tasks this one depends on)
    /// as a C-contiguous tile.
    pub(crate) fn read_block(
        &self,
        offset: &[usize],
        shape: &[usize],
        scratch: &mut Scratch,
    ) -> Result<Tile> {
        let base: isize = offset
            .iter()
            .zip(&self.strides)
            .map(|(&o, &s)| o as isize * s)
            .sum();
        // SAFETY: the memory is valid for `len` elements of `dtype` for the computation's
        // lifetime (`OutputBuffer::target` / `from_raw`'s contract); the region read was
        // written by tasks that finished before this one started (dependency edges), and
        // no task writes it while this one runs. The view is bounds-checked by `run_block`.
        let buffer =
            unsafe { Buffer::from_raw(self.ptr, self.len, self.dtype, std::sync::Arc::new(())) };
        let view = InputView {
            input: Input::Buffer(buffer),
            base,
            strides: self.strides.clone(),
        };
        contiguous(&view, self.dtype, shape, scratch)
    }
}
