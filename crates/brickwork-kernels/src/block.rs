//! Whole blocks: a program evaluated over a block into a new C-contiguous tile, and
//! strided views copied out.

use crate::program::{run_block, Input, InputView, Scratch, StoreSink};
use crate::{with_tile, Instr, Program, Tile};
use brickwork_core::{c_strides, Buffer, DType, Result};

/// A one-instruction program that copies input 0.
pub fn copy_program(dtype: DType) -> Program {
    let mut p = Program::default();
    let r = p.push(dtype, |dst| Instr::Load { input: 0, dst });
    p.outputs.push(r);
    p
}

/// `values` as a buffer for the duration of a call, without a copy.
///
/// The buffer must not outlive `values`, nor be used while `values` is mutated.
pub fn borrowed(values: &Tile) -> Buffer {
    #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
    let ptr = with_tile!(values, v => v.as_ptr() as *const u8);
    // SAFETY: the callers use the buffer only inside the calling function, while
    // `values` lives and is not mutated; it holds `len` elements of its dtype.
    unsafe { Buffer::from_raw(ptr, values.len(), values.dtype(), std::sync::Arc::new(())) }
}

/// A view reading a C-contiguous block `values` of `shape`, without a copy (see
/// [`borrowed`]).
pub fn view_of(values: &Tile, shape: &[usize]) -> InputView {
    InputView {
        input: Input::Buffer(borrowed(values)),
        base: 0,
        strides: c_strides(shape),
    }
}

/// Copy the elements a strided `view` reaches over `shape` into a new C-contiguous tile.
pub fn contiguous(
    view: &InputView,
    dtype: DType,
    shape: &[usize],
    scratch: &mut Scratch,
) -> Result<Tile> {
    evaluate(
        &copy_program(dtype),
        std::slice::from_ref(view),
        dtype,
        shape,
        scratch,
    )
}

/// Evaluate `program` (one output of `dtype`) over a block of `shape` into a new
/// C-contiguous tile.
pub fn evaluate(
    program: &Program,
    views: &[InputView],
    dtype: DType,
    shape: &[usize],
    scratch: &mut Scratch,
) -> Result<Tile> {
    let n: usize = shape.iter().product();
    let mut tile = Tile::new(dtype, n);
    #[allow(clippy::unnecessary_cast)] // u8 for the uint8 arm, a cast for the others
    let ptr = with_tile!(&mut tile, v => v.as_mut_ptr() as *mut u8);
    // SAFETY: `tile` holds `n` elements of `dtype`, outlives the sink and is written only
    // through it; the view is bounds-checked below.
    let mut sink = unsafe { StoreSink::new(ptr, n, dtype, 0, c_strides(shape)) };
    sink.check(shape)?;
    run_block(program, views, shape, &mut sink, scratch)?;
    Ok(tile)
}
