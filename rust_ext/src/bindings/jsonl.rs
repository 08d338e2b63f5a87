//! PyO3 layer of `jsonl.rs`: a block of document lines in; per line its id, the documents' texts kept on the Rust
//! side, and each bad line's rejection as `(index, kind, field, got, byte)` for `dolma_py.docmodel` to word.

use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;

use crate::jsonl::{self, Rejection};

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

type PyRejection = (usize, &'static str, Option<&'static str>, Option<&'static str>, Option<usize>);

fn py_rejection(index: usize, rejection: &Rejection) -> PyRejection {
    let (field, got, byte) = match *rejection {
        Rejection::InvalidUtf8 { byte } | Rejection::NulByte { byte } => (None, None, Some(byte)),
        Rejection::NotAnObject { got } => (None, Some(got), None),
        Rejection::Missing { field } => (Some(field), None, None),
        Rejection::WrongType { field, got } => (Some(field), Some(got), None),
        Rejection::EmptyLine | Rejection::MalformedJson => (None, None, None),
    };
    (index, rejection.kind(), field, got, byte)
}

/// `(ids, texts, doc_lines, rejections)` of the lines of `block` (see `jsonl.rs: parse_documents`).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn parse_documents<'py>(
    py: Python<'py>,
    block: PyBackedBytes,
) -> (Vec<Option<String>>, PyParsedTexts, Bound<'py, PyArray1<i64>>, Vec<PyRejection>) {
    let batch = py.allow_threads(|| jsonl::parse_documents(&block));
    let rejections = batch.rejections.iter().map(|(index, r)| py_rejection(*index, r)).collect();
    (batch.ids, PyParsedTexts { texts: batch.texts }, batch.doc_lines.into_pyarray(py), rejections)
}

/// Lines of `block`, one more than its newlines (see `jsonl.rs: count_lines`).
#[pyfunction]
fn count_lines(py: Python<'_>, block: PyBackedBytes) -> usize {
    py.allow_threads(|| jsonl::count_lines(&block))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let fields: Vec<(&str, bool, &str)> =
        jsonl::FIELDS.iter().map(|rule| (rule.name, rule.required, rule.expect.phrase())).collect();
    m.add("DOCUMENT_FIELDS", fields)?;
    m.add("DOCUMENT_REJECTIONS", jsonl::REJECTION_KINDS.to_vec())?;
    m.add_class::<PyParsedTexts>()?;
    m.add_function(wrap_pyfunction!(count_lines, m)?)?;
    m.add_function(wrap_pyfunction!(parse_documents, m)?)
}
