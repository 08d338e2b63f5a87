//! One submodule per area; each exposes `register(m)` adding its classes and functions.

use pyo3::prelude::*;

mod bloom;
mod text;
mod taggers;
mod repetitions;

pub fn register_all(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    bloom::register(m)?;
    text::register(m)?;
    taggers::register(m)?;
    repetitions::register(m)?;
    Ok(())
}
