//! Python functions as block kernels (`map_blocks`).

use brickwork::layers::core::fmt_shape;
use brickwork::layers::kernels::callback::{BlockArg, BlockFn};
use brickwork::layers::kernels::program::{Input, InputView, Scratch};
use brickwork::layers::kernels::Tile;
use brickwork::{DType, Error};
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
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
                let arr = out
                    .bind(py)
                    .cast::<PyUntypedArray>()
                    .map_err(PyErr::from)?
                    .clone();
                let name: String = arr.dtype().getattr("name")?.extract()?;
                if name != self.dtype.name() || arr.shape() != shape || !arr.is_c_contiguous() {
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
                let n: usize = shape.iter().product();
                // SAFETY: `arr` is a live NumPy array object.
                let data = unsafe { (*arr.as_array_ptr()).fields.data } as *const u8;
                // SAFETY: `arr` is C-contiguous with `n` elements of the checked dtype
                // (aligned, as NumPy allocates it) and stays alive while `src` is read.
                let src =
                    unsafe { brickwork::layers::kernels::TileRef::from_raw(self.dtype, data, n) };
                let mut tile = Tile::new(self.dtype, n);
                brickwork::layers::kernels::elementwise::cast(src, &mut tile, n);
                Ok(tile)
            })();
            // The exception travels with this computation's result (`to_py` re-raises
            // it), so concurrent computes never see each other's exceptions.
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
