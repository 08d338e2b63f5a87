//! PyO3 layer of `repetitions.rs`: a batch of texts in, flat arrays of matches out, the GIL released meanwhile.

use numpy::{IntoPyArray, PyArray1};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::repetitions;

type I64Array<'py> = Bound<'py, PyArray1<i64>>;

/// The code points of a Python string, lone surrogates included (they are characters to the regex too).
fn code_points(text: &Bound<'_, PyString>) -> PyResult<Vec<u32>> {
    let py = text.py();
    // SAFETY: `text` is a live str object; the buffer holds exactly its `len` code points and no NUL is written.
    unsafe {
        let len = ffi::PyUnicode_GetLength(text.as_ptr());
        if len < 0 {
            return Err(PyErr::fetch(py));
        }
        let mut buf = vec![0u32; len as usize];
        if len > 0 && ffi::PyUnicode_AsUCS4(text.as_ptr(), buf.as_mut_ptr(), len, 0).is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(buf)
    }
}

/// Matches of dolma's `(.+?)(\s?\1){3,}` in each text (per '\n'-terminated paragraph when `per_paragraph`):
/// `(offsets, starts, ends, periods, counts)`, where text `k`'s matches are rows `offsets[k]..offsets[k+1]`,
/// starts/ends are code-point offsets, `periods` the unit lengths and `counts` dolma's scores (`str.count`).
#[pyfunction]
#[pyo3(signature = (texts, per_paragraph))]
#[allow(clippy::type_complexity)]
fn char_repetitions_batch<'py>(
    py: Python<'py>,
    texts: Vec<Bound<'py, PyString>>,
    per_paragraph: bool,
) -> PyResult<(I64Array<'py>, I64Array<'py>, I64Array<'py>, I64Array<'py>, I64Array<'py>)> {
    let texts = texts.iter().map(code_points).collect::<PyResult<Vec<_>>>()?;
    let (offsets, starts, ends, periods, counts) = py.allow_threads(|| {
        let mut offsets = Vec::with_capacity(texts.len() + 1);
        let (mut starts, mut ends, mut periods, mut counts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        offsets.push(0i64);
        for text in &texts {
            for r in repetitions::char_repetitions(text, per_paragraph) {
                starts.push(r.start as i64);
                ends.push(r.end as i64);
                periods.push(r.period as i64);
                counts.push(r.count as i64);
            }
            offsets.push(starts.len() as i64);
        }
        (offsets, starts, ends, periods, counts)
    });
    Ok((
        offsets.into_pyarray(py),
        starts.into_pyarray(py),
        ends.into_pyarray(py),
        periods.into_pyarray(py),
        counts.into_pyarray(py),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(char_repetitions_batch, m)?)?;
    Ok(())
}
