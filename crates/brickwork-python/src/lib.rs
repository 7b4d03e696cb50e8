//! The `brickwork._core` extension module: conversions between Python values and the
//! engine's types, and nothing else (see README.md beside this crate for the contract
//! with the Python package).

mod callback;
mod convert;
mod errors;
mod expr;
mod functions;
mod plan;
mod pool;

use pyo3::prelude::*;

/// mimalloc: chunk tasks allocate small buffers (partial states, views) at a high rate,
/// and the system allocator's free lists become the bottleneck at a million tasks.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Hand mimalloc's free pages back to the system (run-time admission measures RSS).
fn release_memory() {
    // SAFETY: mi_collect takes no pointers and may be called from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    brickwork::layers::exec::on_release_memory(release_memory);
    m.add_class::<expr::PyExpr>()?;
    m.add("PanicError", m.py().get_type::<errors::PanicError>())?;
    m.add(
        "MemoryBudgetError",
        m.py().get_type::<errors::MemoryBudgetError>(),
    )?;
    functions::register(m)?;
    plan::register(m)?;
    pool::register(m)?;
    Ok(())
}
