//! One submodule per area; each exposes `register(m)` adding its classes and functions.

use pyo3::prelude::*;

mod attributes;
mod bloom;
mod jsonl;
mod minhash;
mod repetitions;
mod taggers;
mod text;

pub fn register_all(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    attributes::register(m)?;
    bloom::register(m)?;
    jsonl::register(m)?;
    minhash::register(m)?;
    text::register(m)?;
    taggers::register(m)?;
    repetitions::register(m)?;
    Ok(())
}
