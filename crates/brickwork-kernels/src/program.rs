//! Fused elementwise programs and their evaluation over one block.
//!
//! A block is walked row by row along its last axis (after merging axes that are
//! contiguous for every operand), a row tile by tile. Each tile runs the program's
//! instructions into registers that live in a per-worker [`Scratch`], so a chain of
//! operations touches each input element once and allocates nothing per task.

use crate::cast::Num;
use crate::elementwise;
use crate::ops::{BinaryOp, UnaryOp};
use crate::{with_ref, with_tile, Tile, TileRef};
use brickwork_core::scalar::ScalarValue;
use brickwork_core::{Buffer, DType, Element, Error, Result, Scalar};
use serde::{Deserialize, Serialize};

/// The most elements a register holds: one tile of a row.
pub const TILE: usize = 1024;

/// A register index.
pub type Reg = u16;

/// One instruction of a [`Program`]. Registers are written once (SSA).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Instr {
    /// Read a tile of input `input` (converted to the register's dtype).
    Load {
        /// The input index.
        input: u16,
        /// The register written.
        dst: Reg,
    },
    /// A constant.
    Const {
        /// The value (its dtype is the register's).
        value: Scalar,
        /// The register written.
        dst: Reg,
    },
    /// Convert `src` to the dtype of `dst`.
    Cast {
        /// The register read.
        src: Reg,
        /// The register written.
        dst: Reg,
    },
    /// `dst = op(src)`.
    Unary {
        /// The operation.
        op: UnaryOp,
        /// The register read.
        src: Reg,
        /// The register written.
        dst: Reg,
    },
    /// `dst = op(a, b)`.
    Binary {
        /// The operation.
        op: BinaryOp,
        /// The first operand.
        a: Reg,
        /// The second operand.
        b: Reg,
        /// The register written.
        dst: Reg,
    },
    /// `dst = where(cond, a, b)`.
    Where {
        /// A bool register.
        cond: Reg,
        /// Taken where `cond` is true.
        a: Reg,
        /// Taken where `cond` is false.
        b: Reg,
        /// The register written.
        dst: Reg,
    },
}

/// A fused elementwise kernel: typed registers, instructions, and the registers whose
/// tiles go to the sink.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Program {
    /// The dtype of each register.
    pub regs: Vec<DType>,
    /// The instructions, in order.
    pub instrs: Vec<Instr>,
    /// The registers handed to the sink, in order.
    pub outputs: Vec<Reg>,
}

impl Program {
    /// Add a register of `dtype`, returning its index.
    pub fn reg(&mut self, dtype: DType) -> Reg {
        self.regs.push(dtype);
        (self.regs.len() - 1) as Reg
    }

    /// Add an instruction writing a new register of `dtype`, built by `make`.
    pub fn push(&mut self, dtype: DType, make: impl FnOnce(Reg) -> Instr) -> Reg {
        let dst = self.reg(dtype);
        self.instrs.push(make(dst));
        dst
    }
}

/// Values computed from an element's linear index instead of read from memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Generator {
    /// `start + i * step` in the dtype (integers wrap).
    Arange {
        /// The first value.
        start: Scalar,
        /// The increment (NumPy uses `(start + step) - start`).
        step: Scalar,
    },
    /// NumPy's `linspace`: `start + i * step`, the last element exactly `stop` when
    /// `endpoint`, floored for integer dtypes.
    Linspace {
        /// The first value.
        start: f64,
        /// The increment.
        step: f64,
        /// The last value.
        stop: f64,
        /// The number of elements.
        num: usize,
        /// Whether the last element is `stop`.
        endpoint: bool,
    },
    /// Random values: block by block the streams of NumPy's per-block PCG64 generators
    /// (see [`crate::random`]); addresses are C-order element numbers of the array.
    Random(std::sync::Arc<crate::random::RandomSpec>),
}

impl Generator {
    /// The address step per axis of the generated array (its elements are numbered in C
    /// order).
    pub fn strides(&self) -> Vec<isize> {
        match self {
            Generator::Random(spec) => spec.strides(),
            _ => vec![1],
        }
    }

    /// `out[k]` = the element at address `base + k * step`.
    fn fill<T: Num>(&self, base: isize, step: isize, out: &mut [T]) {
        match self {
            Generator::Random(spec) => spec.fill(base, step, out),
            _ => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = self.at(base + k as isize * step);
                }
            }
        }
    }

    #[inline]
    fn at<T: Num>(&self, i: isize) -> T {
        match self {
            Generator::Arange { start, step } => match (start.value, step.value) {
                (ScalarValue::Int(s), ScalarValue::Int(d)) => {
                    T::from_i128(s.wrapping_add(d.wrapping_mul(i as i128)))
                }
                _ => T::from_f64(start.as_f64() + (i as f64) * step.as_f64()),
            },
            Generator::Linspace {
                start,
                step,
                stop,
                num,
                endpoint,
            } => {
                let v = if *endpoint && *num > 1 && i as usize == num - 1 {
                    *stop
                } else {
                    start + (i as f64) * step
                };
                if T::FLOAT {
                    T::from_f64(v)
                } else {
                    T::from_f64(v.floor())
                }
            }
            Generator::Random(spec) => {
                let mut one = [T::from_f64(0.0)];
                spec.fill(i, 1, &mut one);
                one[0]
            }
        }
    }
}

/// Where an input's elements come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// Elements in memory.
    Buffer(Buffer),
    /// Elements computed from their linear index.
    Generated(Generator),
}

/// An input of one block: element `(i0, i1, ...)` of the block is at
/// `base + i0 * strides[0] + i1 * strides[1] + ...` (in elements, or the generator index).
#[derive(Debug, Clone)]
pub struct InputView {
    /// The source.
    pub input: Input,
    /// The address of the block's first element.
    pub base: isize,
    /// The address step per block axis (0 for a broadcast axis).
    pub strides: Vec<isize>,
}

/// Where the program's output tiles go.
pub trait Sink {
    /// Address vectors of the sink (one stride per block axis each), used to merge
    /// contiguous axes and to give [`Sink::tile`] its addresses.
    fn strides(&self) -> Vec<Vec<isize>>;
    /// Receive the output tiles of `n` elements; `bases[k]` / `steps[k]` are the address
    /// of the first element and the step along the row for address vector `k`.
    fn tile(&mut self, bases: &[isize], steps: &[isize], tiles: &[TileRef], n: usize)
        -> Result<()>;
}

/// Per-worker scratch registers, reused from task to task.
#[derive(Default)]
pub struct Scratch {
    tiles: Vec<Tile>,
    const_len: Vec<usize>,
    /// For registers loaded in place: the address of the current tile (else null).
    direct: Vec<*const u8>,
}

// SAFETY: the `direct` pointers are only dereferenced within the tile that set them,
// while the inputs they point into are alive; between tasks they are stale but unused.
unsafe impl Send for Scratch {}

impl Scratch {
    fn prepare(&mut self, program: &Program, tile: usize) {
        for (i, &d) in program.regs.iter().enumerate() {
            if i == self.tiles.len() {
                self.tiles.push(Tile::new(d, tile));
            } else if self.tiles[i].dtype() != d || self.tiles[i].len() < tile {
                self.tiles[i] = Tile::new(d, tile.max(self.tiles[i].len()));
            }
        }
        self.const_len.clear();
        self.const_len.resize(program.regs.len(), 0);
        self.direct.clear();
        self.direct.resize(program.regs.len(), std::ptr::null());
    }

    /// Register `r` of dtype `d` as `n` elements: in place or from its tile.
    fn operand(&self, r: Reg, d: DType, n: usize) -> TileRef<'_> {
        let p = self.direct[r as usize];
        if p.is_null() {
            self.tiles[r as usize].as_ref(n)
        } else {
            // SAFETY: `p` was set by a `Load` of this tile from a buffer whose view was
            // bounds-checked for the whole block; the buffer outlives the block.
            unsafe { TileRef::from_raw(d, p, n) }
        }
    }
}

/// Merge adjacent axes that are contiguous for every address vector; returns the
/// merged shape (at least one axis) and the merged vectors.
fn collapse(shape: &[usize], vectors: &[Vec<isize>]) -> (Vec<usize>, Vec<Vec<isize>>) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len().max(1));
    let mut out_vecs: Vec<Vec<isize>> = vectors.iter().map(|_| Vec::new()).collect();
    for (axis, &n) in shape.iter().enumerate() {
        if n == 1 && !out_shape.is_empty() {
            continue; // a length-1 axis contributes nothing
        }
        let mergeable = !out_shape.is_empty()
            && vectors.iter().zip(&out_vecs).all(|(v, o)| {
                let last = *o.last().expect("merged axis");
                last == v[axis] * n as isize
            });
        if mergeable {
            let l = out_shape.len() - 1;
            out_shape[l] *= n;
            for (o, v) in out_vecs.iter_mut().zip(vectors) {
                *o.last_mut().unwrap() = v[axis];
            }
        } else {
            out_shape.push(n);
            for (o, v) in out_vecs.iter_mut().zip(vectors) {
                o.push(v[axis]);
            }
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for o in out_vecs.iter_mut() {
            o.push(0);
        }
    }
    // A leading length-1 axis kept above has no effect; drop it if others remain.
    if out_shape.len() > 1 && out_shape[0] == 1 {
        out_shape.remove(0);
        for o in out_vecs.iter_mut() {
            o.remove(0);
        }
    }
    (out_shape, out_vecs)
}

/// The lowest and highest address an affine view reaches over `shape`.
pub fn address_range(base: isize, strides: &[isize], shape: &[usize]) -> (isize, isize) {
    let (mut lo, mut hi) = (base, base);
    for (&s, &n) in strides.iter().zip(shape) {
        let span = s * (n as isize - 1);
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    (lo, hi)
}

/// Check that every element a view of `shape` reaches lies in `0..len`.
pub fn check_view(base: isize, strides: &[isize], shape: &[usize], len: usize) -> Result<()> {
    if shape.contains(&0) {
        return Ok(());
    }
    let (lo, hi) = address_range(base, strides, shape);
    if lo < 0 || hi >= len as isize {
        return Err(Error::Internal(format!(
            "view [{lo}, {hi}] outside a buffer of {len} elements"
        )));
    }
    Ok(())
}

/// Read `out.len()` elements of `T` at `ptr + base + k * step`.
///
/// # Safety
/// Every address read must be inside the allocation behind `ptr`.
unsafe fn gather<T: Element>(ptr: *const T, base: isize, step: isize, out: &mut [T]) {
    // SAFETY: in all three arms the caller guarantees every `base + k * step` for
    // `k < out.len()` is inside the allocation; `out` is a distinct Rust slice.
    unsafe {
        if step == 1 {
            std::ptr::copy_nonoverlapping(ptr.offset(base), out.as_mut_ptr(), out.len());
        } else if step == 0 {
            out.fill(*ptr.offset(base));
        } else {
            for (k, o) in out.iter_mut().enumerate() {
                *o = *ptr.offset(base + k as isize * step);
            }
        }
    }
}

/// Load a tile of `input` into `tile`, or return the address to read it in place.
fn load(input: &Input, base: isize, step: isize, tile: &mut Tile, n: usize) -> Result<*const u8> {
    match input {
        Input::Buffer(buf) => {
            if buf.dtype() != tile.dtype() {
                return Err(Error::Internal(
                    "load into a register of another dtype".into(),
                ));
            }
            let ptr = buf.as_ptr();
            if step == 1 {
                // SAFETY: the block's view was bounds-checked by `run_block`.
                return Ok(unsafe { ptr.offset(base * buf.dtype().itemsize() as isize) });
            }
            // SAFETY: `run_block` checked with `check_view` that every address of this
            // block's view lies inside the buffer, and the dtypes match.
            with_tile!(tile, v => unsafe { gather(ptr as *const _, base, step, &mut v[..n]) });
        }
        Input::Generated(g) => {
            with_tile!(tile, v => g.fill(base, step, &mut v[..n]));
        }
    }
    Ok(std::ptr::null())
}

fn fill_const(value: &Scalar, tile: &mut Tile, n: usize) {
    with_tile!(tile, v => {
        let x = match value.value {
            ScalarValue::Int(i) => Num::from_i128(i),
            ScalarValue::Float(f) => Num::from_f64(f),
        };
        v[..n].fill(x);
    });
}

/// Take register `dst` out of the register file so that other registers can be read
/// while it is written.
fn take(tiles: &mut [Tile], dst: Reg) -> Tile {
    std::mem::replace(&mut tiles[dst as usize], Tile::Bool(Vec::new()))
}

fn run_tile(
    program: &Program,
    views: &[InputView],
    bases: &[isize],
    steps: &[isize],
    scratch: &mut Scratch,
    n: usize,
) -> Result<()> {
    let regs = &program.regs;
    for instr in &program.instrs {
        match *instr {
            Instr::Load { input, dst } => {
                let i = input as usize;
                let p = load(
                    &views[i].input,
                    bases[i],
                    steps[i],
                    &mut scratch.tiles[dst as usize],
                    n,
                )?;
                scratch.direct[dst as usize] = p;
            }
            Instr::Const { ref value, dst } => {
                if scratch.const_len[dst as usize] < n {
                    fill_const(value, &mut scratch.tiles[dst as usize], n);
                    scratch.const_len[dst as usize] = n;
                }
            }
            Instr::Cast { src, dst } => {
                let mut out = take(&mut scratch.tiles, dst);
                elementwise::cast(scratch.operand(src, regs[src as usize], n), &mut out, n);
                scratch.tiles[dst as usize] = out;
            }
            Instr::Unary { op, src, dst } => {
                let mut out = take(&mut scratch.tiles, dst);
                let r = elementwise::unary(
                    op,
                    scratch.operand(src, regs[src as usize], n),
                    &mut out,
                    n,
                );
                scratch.tiles[dst as usize] = out;
                r?;
            }
            Instr::Binary { op, a, b, dst } => {
                let mut out = take(&mut scratch.tiles, dst);
                let r = elementwise::binary(
                    op,
                    scratch.operand(a, regs[a as usize], n),
                    scratch.operand(b, regs[b as usize], n),
                    &mut out,
                    n,
                );
                scratch.tiles[dst as usize] = out;
                r?;
            }
            Instr::Where { cond, a, b, dst } => {
                let mut out = take(&mut scratch.tiles, dst);
                let r = elementwise::select(
                    scratch.operand(cond, regs[cond as usize], n),
                    scratch.operand(a, regs[a as usize], n),
                    scratch.operand(b, regs[b as usize], n),
                    &mut out,
                    n,
                );
                scratch.tiles[dst as usize] = out;
                r?;
            }
        }
    }
    Ok(())
}

/// Evaluate `program` over a block of `shape`, reading `views` and handing each output
/// tile to `sink`.
pub fn run_block(
    program: &Program,
    views: &[InputView],
    shape: &[usize],
    sink: &mut dyn Sink,
    scratch: &mut Scratch,
) -> Result<()> {
    if shape.contains(&0) {
        return Ok(());
    }
    for v in views {
        if let Input::Buffer(buf) = &v.input {
            check_view(v.base, &v.strides, shape, buf.len())?;
        }
    }
    let sink_strides = sink.strides();
    let mut vectors: Vec<Vec<isize>> = views.iter().map(|v| v.strides.clone()).collect();
    vectors.extend(sink_strides.iter().cloned());
    let (cshape, cvecs) = collapse(shape, &vectors);
    let nv = cvecs.len();
    let ni = views.len();
    let d = cshape.len();
    let row_len = cshape[d - 1];
    let tile = row_len.min(TILE);
    scratch.prepare(program, tile);

    let start: Vec<isize> = views
        .iter()
        .map(|v| v.base)
        .chain(sink_strides.iter().map(|_| 0))
        .collect();
    let steps: Vec<isize> = cvecs.iter().map(|v| v[d - 1]).collect();
    let mut row_base = start.clone();
    let mut tile_base = vec![0isize; nv];
    let mut idx = vec![0usize; d];
    // Inputs read in place along rows: prefetch the next row while this one runs, since
    // a block's rows are separate runs of memory the hardware prefetcher does not
    // follow from one to the next.
    let prefetch: Vec<(usize, *const u8, usize, isize)> = if d >= 2 {
        views
            .iter()
            .zip(&cvecs)
            .enumerate()
            .filter_map(|(k, (v, c))| match &v.input {
                Input::Buffer(b)
                    if c[d - 1] == 1
                        && c[d - 2] != row_len as isize
                        && (256..=16384).contains(&(row_len * b.dtype().itemsize())) =>
                {
                    let item = b.dtype().itemsize();
                    Some((k, b.as_ptr(), item, c[d - 2]))
                }
                _ => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut rows_left = cshape[..d - 1].iter().product::<usize>();
    loop {
        rows_left -= 1;
        if rows_left > 0 {
            for &(k, ptr, item, next) in &prefetch {
                prefetch_row(ptr, (row_base[k] + next) * item as isize, row_len * item);
            }
        }
        let mut t0 = 0;
        while t0 < row_len {
            let n = (row_len - t0).min(TILE);
            for k in 0..nv {
                tile_base[k] = row_base[k] + t0 as isize * steps[k];
            }
            run_tile(program, views, &tile_base[..ni], &steps[..ni], scratch, n)?;
            let reg = |r: Reg| scratch.operand(r, program.regs[r as usize], n);
            if let [one] = program.outputs[..] {
                sink.tile(&tile_base[ni..], &steps[ni..], &[reg(one)], n)?;
            } else {
                let outs: Vec<TileRef> = program.outputs.iter().map(|&r| reg(r)).collect();
                sink.tile(&tile_base[ni..], &steps[ni..], &outs, n)?;
            }
            t0 += n;
        }
        // Advance the odometer over the outer axes.
        let mut axis = d - 1;
        loop {
            if axis == 0 {
                return Ok(());
            }
            axis -= 1;
            idx[axis] += 1;
            for k in 0..nv {
                row_base[k] += cvecs[k][axis];
            }
            if idx[axis] < cshape[axis] {
                break;
            }
            for k in 0..nv {
                row_base[k] -= cvecs[k][axis] * cshape[axis] as isize;
            }
            idx[axis] = 0;
        }
    }
}

/// Hint the CPU to bring `bytes` bytes at `ptr + offset` into cache.
#[inline]
fn prefetch_row(ptr: *const u8, offset: isize, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
        let start = ptr.wrapping_offset(offset);
        for line in (0..bytes).step_by(64) {
            // SAFETY: a prefetch is a hint: it never faults and reads nothing
            // architecturally, whatever the address; SSE is part of x86_64.
            unsafe { _mm_prefetch(start.wrapping_add(line) as *const i8, _MM_HINT_T1) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (ptr, offset, bytes);
}

/// A sink writing output tile 0 to strided memory of the output dtype.
pub struct StoreSink {
    ptr: *mut u8,
    len: usize,
    dtype: DType,
    base: isize,
    strides: Vec<isize>,
}

impl StoreSink {
    /// A sink writing element `(i0, i1, ...)` of the block to
    /// `ptr[base + i0 * strides[0] + ...]`.
    ///
    /// # Safety
    /// `ptr` must be valid for writes of `len` elements of `dtype`, no other thread may
    /// access the addresses this view reaches while the sink is in use, and the view
    /// must stay inside `0..len` (checked by [`StoreSink::check`]).
    pub unsafe fn new(
        ptr: *mut u8,
        len: usize,
        dtype: DType,
        base: isize,
        strides: Vec<isize>,
    ) -> StoreSink {
        StoreSink {
            ptr,
            len,
            dtype,
            base,
            strides,
        }
    }

    /// Check that the view over `shape` stays inside the memory.
    pub fn check(&self, shape: &[usize]) -> Result<()> {
        check_view(self.base, &self.strides, shape, self.len)
    }
}

/// Write `src` to `ptr + base + k * step`.
///
/// # Safety
/// Every address written must be inside the allocation behind `ptr` and not accessed
/// concurrently.
unsafe fn scatter<T: Element>(ptr: *mut T, base: isize, step: isize, src: &[T]) {
    // SAFETY: guaranteed by the caller (see above).
    unsafe {
        if step == 1 {
            std::ptr::copy_nonoverlapping(src.as_ptr(), ptr.offset(base), src.len());
        } else {
            for (k, &x) in src.iter().enumerate() {
                *ptr.offset(base + k as isize * step) = x;
            }
        }
    }
}

impl Sink for StoreSink {
    fn strides(&self) -> Vec<Vec<isize>> {
        vec![self.strides.clone()]
    }

    fn tile(
        &mut self,
        bases: &[isize],
        steps: &[isize],
        tiles: &[TileRef],
        n: usize,
    ) -> Result<()> {
        let tile = tiles[0];
        if tile.dtype() != self.dtype {
            return Err(Error::Internal(
                "store of a register of another dtype".into(),
            ));
        }
        let ptr = self.ptr;
        let base = self.base + bases[0];
        // SAFETY: `StoreSink::new`'s contract makes the memory writable and exclusive,
        // and the caller checked the view with `StoreSink::check` for this block.
        with_ref!(tile, v => unsafe { scatter(ptr as *mut _, base, steps[0], &v[..n]) });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_merges_contiguous_axes() {
        let (s, v) = collapse(&[4, 5, 6], &[vec![30, 6, 1], vec![60, 6, 1]]);
        assert_eq!(s, vec![4, 30]);
        assert_eq!(v, vec![vec![30, 1], vec![60, 1]]);
        let (s, _) = collapse(&[], &[vec![]]);
        assert_eq!(s, vec![1]);
    }

    #[test]
    fn fused_program_matches_scalar_math() {
        // out = sqrt(x * x + 1) over a strided 2-d view (every other column).
        let data: Vec<f64> = (0..24).map(|i| i as f64).collect();
        let buf = Buffer::from_vec(data.clone());
        let mut p = Program::default();
        let x = p.push(DType::F64, |dst| Instr::Load { input: 0, dst });
        let sq = p.push(DType::F64, |dst| Instr::Binary {
            op: BinaryOp::Multiply,
            a: x,
            b: x,
            dst,
        });
        let one = p.push(DType::F64, |dst| Instr::Const {
            value: Scalar {
                dtype: DType::F64,
                value: ScalarValue::Float(1.0),
            },
            dst,
        });
        let s = p.push(DType::F64, |dst| Instr::Binary {
            op: BinaryOp::Add,
            a: sq,
            b: one,
            dst,
        });
        let r = p.push(DType::F64, |dst| Instr::Unary {
            op: UnaryOp::Sqrt,
            src: s,
            dst,
        });
        p.outputs.push(r);
        let views = vec![InputView {
            input: Input::Buffer(buf),
            base: 1,
            strides: vec![6, 2],
        }];
        let mut out = vec![0.0f64; 12];
        // SAFETY: `out` outlives the sink and is only written through it.
        let mut sink =
            unsafe { StoreSink::new(out.as_mut_ptr() as *mut u8, 12, DType::F64, 0, vec![3, 1]) };
        run_block(&p, &views, &[4, 3], &mut sink, &mut Scratch::default()).unwrap();
        for i in 0..4 {
            for j in 0..3 {
                let x = data[1 + 6 * i + 2 * j];
                assert_eq!(out[3 * i + j], (x * x + 1.0).sqrt());
            }
        }
    }
}
