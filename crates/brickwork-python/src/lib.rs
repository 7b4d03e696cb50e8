//! The `brickwork._core` extension module: conversions between Python values and the
//! engine's types, and nothing else (see README.md beside this crate for the contract
//! with the Python package).

mod convert;
mod errors;
mod expr;
mod functions;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<expr::PyExpr>()?;
    m.add("PanicError", m.py().get_type::<errors::PanicError>())?;
    functions::register(m)?;
    Ok(())
}
