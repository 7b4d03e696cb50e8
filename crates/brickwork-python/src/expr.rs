//! The `Expr` class: a handle to one node of the lazy expression graph.

use brickwork::layers::graph::{optimize, Expr};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// An immutable node of the lazy expression graph (one array operation).
#[pyclass(name = "Expr", module = "brickwork._core", frozen)]
pub struct PyExpr {
    pub expr: Expr,
}

#[pymethods]
impl PyExpr {
    /// The shape.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.expr.shape())
    }

    /// The NumPy dtype name.
    #[getter]
    fn dtype(&self) -> &'static str {
        self.expr.dtype().name()
    }

    /// The number of axes.
    #[getter]
    fn ndim(&self) -> usize {
        self.expr.ndim()
    }

    /// The number of elements.
    #[getter]
    fn size(&self) -> usize {
        self.expr.size()
    }

    /// The number of bytes of the computed array.
    #[getter]
    fn nbytes(&self) -> usize {
        self.expr.size() * self.expr.dtype().itemsize()
    }

    /// The chunk sizes along each axis.
    #[getter]
    fn chunks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let axes = self
            .expr
            .chunks()
            .0
            .iter()
            .map(|c| PyTuple::new(py, c.sizes()))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, axes)
    }

    /// The largest chunk along each axis.
    #[getter]
    fn chunksize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.expr.chunks().chunksize())
    }

    /// The number of chunks along each axis.
    #[getter]
    fn numblocks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.expr.chunks().numblocks())
    }

    /// The total number of chunks.
    #[getter]
    fn npartitions(&self) -> usize {
        self.expr.chunks().nblocks()
    }

    /// A process-unique id of the node.
    #[getter]
    fn key(&self) -> u64 {
        self.expr.id()
    }

    /// The number of chunk tasks computing this expression alone runs.
    fn ntasks(&self, py: Python<'_>) -> PyResult<usize> {
        crate::errors::guard(py, || optimize::ntasks(std::slice::from_ref(&self.expr)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Expr(shape={:?}, dtype={}, chunksize={:?})",
            self.expr.shape(),
            self.expr.dtype(),
            self.expr.chunks().chunksize()
        )
    }
}
