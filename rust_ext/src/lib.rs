//! `dolma_py._rust`: wires the per-area binding modules into one Python extension.
//! Algorithms live in plain Rust modules with their own unit tests; `bindings/` holds the thin PyO3 layer.

use pyo3::prelude::*;

pub mod attributes;
pub mod bloom;
pub mod c4;
pub mod gopher;
pub mod jsonl;
pub mod minhash;
pub mod pii;
pub mod pyunicode;
pub mod repetitions;
pub mod segment;
pub mod text;
pub mod wordsplit;

mod bindings;

#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    bindings::register_all(m)
}
