//! PyO3 layer of `jsonl.rs`: document lines in, their ids as `str` and their texts kept on the Rust side.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::jsonl;

/// Texts of parsed documents, held in Rust: the paragraph kernels take them in place of a `list[str]`, so a
/// text never becomes a Python string.
#[pyclass(name = "ParsedTexts", module = "dolma_py._rust", frozen)]
pub struct PyParsedTexts {
    pub texts: Vec<String>,
}

#[pymethods]
impl PyParsedTexts {
    fn __len__(&self) -> usize {
        self.texts.len()
    }

    /// Per text: is it non-empty?
    fn nonempty<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<bool>> {
        self.texts.iter().map(|t| !t.is_empty()).collect::<Vec<_>>().into_pyarray(py)
    }
}

/// `(ids, texts)` of `lines` up to the first line the fast path leaves to Python (see `jsonl.rs`).
#[pyfunction]
fn parse_documents(py: Python<'_>, lines: Vec<PyBackedBytes>) -> (Vec<String>, PyParsedTexts) {
    let documents = py.allow_threads(|| jsonl::parse_documents(&lines));
    let (ids, texts) = documents.into_iter().map(|d| (d.id, d.text)).unzip();
    (ids, PyParsedTexts { texts })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyParsedTexts>()?;
    m.add_function(wrap_pyfunction!(parse_documents, m)?)
}
