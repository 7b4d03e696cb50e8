//! Python functions as block kernels (`map_blocks`).

use brickwork::layers::core::fmt_shape;
use brickwork::layers::kernels::callback::{BlockArg, BlockFn, BlockInput};
use brickwork::layers::kernels::program::{Input, InputView, Scratch};
use brickwork::layers::kernels::Tile;
use brickwork::{Buffer, DType, Error};
use numpy::{PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use std::sync::Arc;

/// The process pool of one computation (`scheduler="processes"`), its
/// [`ComputeContext`](brickwork::layers::kernels::callback::ComputeContext).
pub struct PoolContext(pub Py<PyAny>);

/// The process pool that the running computation's block functions use, or None
/// (called from a block function; None elsewhere, and for `scheduler="threads"`).
#[pyfunction]
pub fn compute_pool(py: Python<'_>) -> Option<Py<PyAny>> {
    let context = brickwork::layers::kernels::callback::current_context()?;
    let pool = context.downcast_ref::<PoolContext>()?;
    Some(pool.0.clone_ref(py))
}

/// A Python callable `f(block_id, *blocks) -> ndarray` (the Python layer wraps the
/// user's function so that it returns a C-contiguous array of the declared dtype).
pub struct PyBlockFn {
    pub func: Py<PyAny>,
    pub name: String,
    pub dtype: DType,
}

impl std::fmt::Debug for PyBlockFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The object's address tells functions apart for common-subexpression elimination.
        write!(f, "PyBlockFn({} at {:p})", self.name, self.func.as_ptr())
    }
}

/// A block as an owned, C-contiguous tile (a strided copy through the kernels).
fn contiguous(arg: &BlockArg) -> Result<Tile, Error> {
    let view = InputView {
        input: Input::Buffer(arg.buffer.clone()),
        base: arg.base,
        strides: arg.strides.clone(),
    };
    brickwork::layers::exec::contiguous(
        &view,
        arg.buffer.dtype(),
        &arg.shape,
        &mut Scratch::default(),
    )
}

impl BlockFn for PyBlockFn {
    fn call(
        &self,
        block_id: &[usize],
        args: &[BlockArg],
        shape: &[usize],
    ) -> brickwork::Result<Tile> {
        let tiles = args.iter().map(contiguous).collect::<Result<Vec<_>, _>>()?;
        Python::attach(|py| {
            let result = (|| -> PyResult<Tile> {
                let mut call_args: Vec<Py<PyAny>> =
                    vec![PyTuple::new(py, block_id)?.into_any().unbind()];
                for (t, a) in tiles.into_iter().zip(args) {
                    call_args.push(crate::functions::tile_to_numpy(py, t, &a.shape)?);
                }
                let out = self.func.call1(py, PyTuple::new(py, call_args)?)?;
                let block = self.block_of(py, out, block_id, shape)?;
                contiguous(&block)
                    .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
            })();
            // The exception travels with this computation's result (`to_py` re-raises
            // it), so concurrent computes never see each other's exceptions.
            result.map_err(|e| Error::External {
                message: format!("the map_blocks function {} raised {e}", self.name),
                source: Arc::new(e),
            })
        })
    }

    fn call_blocks(
        &self,
        block_id: &[usize],
        args: Vec<BlockInput>,
        shape: &[usize],
    ) -> brickwork::Result<BlockArg> {
        // Shared blocks are copied (the function may write into its input); blocks made
        // for this call are handed over as they are. Both before the GIL is taken.
        let tiles = args
            .into_iter()
            .map(|a| match a {
                BlockInput::Owned(tile, shape) => Ok((tile, shape)),
                BlockInput::Shared(arg) => Ok((contiguous(&arg)?, arg.shape)),
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Python::attach(|py| {
            let result = (|| -> PyResult<BlockArg> {
                let mut call_args: Vec<Py<PyAny>> =
                    vec![PyTuple::new(py, block_id)?.into_any().unbind()];
                for (t, s) in tiles {
                    call_args.push(crate::functions::tile_to_numpy(py, t, &s)?);
                }
                let out = self.func.call1(py, PyTuple::new(py, call_args)?)?;
                self.block_of(py, out, block_id, shape)
            })();
            result.map_err(|e| Error::External {
                message: format!("the map_blocks function {} raised {e}", self.name),
                source: Arc::new(e),
            })
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// `NPY_ARRAY_ALIGNED`.
const ALIGNED: i32 = 0x0100;

impl PyBlockFn {
    /// The array `out` a function returned, checked against the block's dtype and
    /// shape, as memory read in place through its strides (kept alive by the buffer;
    /// an unaligned array, or one with strides that are not whole elements, is copied).
    fn block_of(
        &self,
        py: Python<'_>,
        mut out: Py<PyAny>,
        block_id: &[usize],
        shape: &[usize],
    ) -> PyResult<BlockArg> {
        let itemsize = self.dtype.itemsize() as isize;
        let (data, strides) = loop {
            let arr = out.bind(py).cast::<PyUntypedArray>().map_err(PyErr::from)?;
            let name: String = arr.dtype().getattr("name")?.extract()?;
            if name != self.dtype.name()
                || arr.shape() != shape
                || arr.dtype().is_native_byteorder() == Some(false)
            {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "map_blocks function {} returned an array of shape {} and dtype {name} \
                     for block {}; expected shape {} and dtype {}",
                    self.name,
                    fmt_shape(arr.shape()),
                    fmt_shape(block_id),
                    fmt_shape(shape),
                    self.dtype
                )));
            }
            // SAFETY: `arr` is a live NumPy array object.
            let raw = unsafe { &*arr.as_array_ptr() };
            let strides = arr.strides().to_vec();
            if raw.fields.flags & ALIGNED != 0 && strides.iter().all(|s| s % itemsize == 0) {
                break (raw.fields.data as *const u8, strides);
            }
            out = arr.call_method0("copy")?.unbind();
        };
        // The lowest and highest element reached, so the buffer covers every address.
        let (mut low, mut high) = (0isize, 0isize);
        for (&n, &st) in shape.iter().zip(&strides) {
            if n > 1 {
                let reach = st * (n as isize - 1);
                low += reach.min(0);
                high += reach.max(0);
            }
        }
        let len = if shape.contains(&0) {
            0
        } else {
            ((high - low) / itemsize + 1) as usize
        };
        // SAFETY: `data + low` is the lowest address of an element of the array, and
        // `len` elements from it reach the highest; the array object, kept by the buffer,
        // keeps that memory alive. It is aligned (checked above).
        let buffer = unsafe {
            Buffer::from_raw(
                data.wrapping_offset(low),
                len,
                self.dtype,
                Arc::new(out) as Arc<dyn std::any::Any + Send + Sync>,
            )
        };
        Ok(BlockArg {
            buffer,
            base: -low / itemsize,
            strides: strides.iter().map(|s| s / itemsize).collect(),
            shape: shape.to_vec(),
        })
    }
}
