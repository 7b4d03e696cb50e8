//! The engine's errors as Python exceptions: the one mapping from [`Error`] kinds to
//! Python exception classes. The array engine and the process pool (`pool.rs`, whose
//! failures are built as [`Error`]s) both raise through [`to_py`].

use brickwork::Error;
use pyo3::exceptions::{
    PyIndexError, PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError, PyTypeError,
    PyValueError,
};
use pyo3::prelude::*;

pyo3::create_exception!(
    _core,
    MemoryBudgetError,
    pyo3::exceptions::PyMemoryError,
    "A computation would not fit the memory budget (brickwork.config memory_limit); raised before any work starts."
);

pyo3::create_exception!(
    _core,
    PanicError,
    PyRuntimeError,
    "A bug inside brickwork's Rust core (a panic or a broken invariant); please report it."
);

/// The Python exception for an engine error.
pub fn to_py(py: Python<'_>, e: Error) -> PyErr {
    match e {
        Error::ShapeMismatch(m) | Error::Chunks(m) | Error::Value(m) => PyValueError::new_err(m),
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Index(m) => PyIndexError::new_err(m),
        Error::Overflow(m) => PyOverflowError::new_err(m),
        Error::Axis { axis, ndim } => axis_error(py, axis, ndim),
        Error::Cancelled => PyKeyboardInterrupt::new_err("computation cancelled"),
        Error::Internal(m) => PanicError::new_err(m),
        Error::Memory(m) => MemoryBudgetError::new_err(m),
        Error::OutOfMemory(m) => PyMemoryError::new_err(m),
        Error::NotFound(m) => pyo3::exceptions::PyFileNotFoundError::new_err(m),
        Error::Io { .. } => {
            let message = e.to_string();
            match e.os_error() {
                // OSError(errno, message) picks the subclass (PermissionError, ...).
                Some(code) => pyo3::exceptions::PyOSError::new_err((code, message)),
                None => pyo3::exceptions::PyOSError::new_err(message),
            }
        }
        // User code's own exception, re-raised unchanged (with its traceback).
        Error::External { message, source } => match source.downcast_ref::<PyErr>() {
            Some(e) => e.clone_ref(py),
            None => PyRuntimeError::new_err(message),
        },
    }
}

fn axis_error(py: Python<'_>, axis: i64, ndim: usize) -> PyErr {
    let made = py
        .import("numpy.exceptions")
        .and_then(|m| m.getattr("AxisError"))
        .and_then(|cls| cls.call1((axis, ndim)));
    match made {
        Ok(obj) => PyErr::from_value(obj),
        Err(e) => e,
    }
}

/// Run `f`, turning engine errors and panics into Python exceptions.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> brickwork::Result<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(py, e)),
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(PanicError::new_err(format!("brickwork panicked: {msg}")))
        }
    }
}
