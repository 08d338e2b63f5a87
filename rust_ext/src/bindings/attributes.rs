//! PyO3 layer of `attributes.rs`: a file's ids and NumPy span columns in, its attribute lines as bytes out.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyBytes;

use crate::attributes::{self, Lines, Spans};

/// dolma attribute lines for one file (see `dolma_py.dedupe.output.attribute_lines`), built without the GIL.
#[pyfunction]
#[pyo3(signature = (name, ids, with_key, first, starts, ends, scores))]
#[allow(clippy::too_many_arguments)]
fn attribute_lines<'py>(
    py: Python<'py>,
    name: &str,
    ids: Vec<Option<PyBackedStr>>,
    with_key: PyReadonlyArray1<'py, bool>,
    first: PyReadonlyArray1<'py, i64>,
    starts: PyReadonlyArray1<'py, i64>,
    ends: PyReadonlyArray1<'py, i64>,
    scores: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyBytes>> {
    let contiguous = |e| PyValueError::new_err(format!("attribute columns must be contiguous arrays ({e})"));
    let lines = Lines {
        ids: &ids,
        with_key: with_key.as_slice().map_err(contiguous)?,
        first: first.as_slice().map_err(contiguous)?,
    };
    let spans = Spans {
        starts: starts.as_slice().map_err(contiguous)?,
        ends: ends.as_slice().map_err(contiguous)?,
        scores: scores.as_slice().map_err(contiguous)?,
    };
    let out = py
        .allow_threads(|| attributes::attribute_lines(name, &lines, &spans))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(attribute_lines, m)?)
}
