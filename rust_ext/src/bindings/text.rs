//! PyO3 layer over `crate::text`: batch text kernels taking `list[str]` and returning NumPy columns.

use numpy::{IntoPyArray, PyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;

use super::jsonl::PyParsedTexts;
use crate::text::{self, NgramSpec, Normalization, ParagraphFilter, ParagraphOptions, TextError, WordMode};

type I64Array<'py> = Bound<'py, PyArray1<i64>>;
type U64Array<'py> = Bound<'py, PyArray1<u64>>;

/// The texts a paragraph kernel takes: Python strings, or documents parsed by `parse_documents`.
#[derive(FromPyObject)]
pub(super) enum Texts<'py> {
    Parsed(Bound<'py, PyParsedTexts>),
    Strings(Vec<PyBackedStr>),
}

impl Texts<'_> {
    pub(super) fn as_strs(&self) -> Vec<&str> {
        match self {
            Texts::Parsed(parsed) => parsed.get().texts.iter().map(String::as_str).collect(),
            Texts::Strings(strings) => strings.iter().map(|s| &**s).collect(),
        }
    }
}

fn to_py_err(err: TextError) -> PyErr {
    PyValueError::new_err(err.0)
}

/// Text normalizations applied before hashing (see `dolma_py.text.Normalization`).
#[pyclass(name = "Normalization", module = "dolma_py._rust", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyNormalization {
    #[pyo3(get)]
    lowercase: bool,
    #[pyo3(get)]
    collapse_whitespace: bool,
    #[pyo3(get)]
    strip_punctuation: bool,
    #[pyo3(get)]
    strip_digits: bool,
}

#[pymethods]
impl PyNormalization {
    #[new]
    #[pyo3(signature = (*, lowercase = false, collapse_whitespace = false, strip_punctuation = false, strip_digits = false))]
    fn new(lowercase: bool, collapse_whitespace: bool, strip_punctuation: bool, strip_digits: bool) -> Self {
        PyNormalization { lowercase, collapse_whitespace, strip_punctuation, strip_digits }
    }

    fn __repr__(&self) -> String {
        let flag = |b: bool| if b { "True" } else { "False" };
        format!(
            "Normalization(lowercase={}, collapse_whitespace={}, strip_punctuation={}, strip_digits={})",
            flag(self.lowercase),
            flag(self.collapse_whitespace),
            flag(self.strip_punctuation),
            flag(self.strip_digits)
        )
    }
}

fn norm(n: Option<PyNormalization>) -> Normalization {
    n.map_or_else(Normalization::default, |n| Normalization {
        lowercase: n.lowercase,
        collapse_whitespace: n.collapse_whitespace,
        strip_punctuation: n.strip_punctuation,
        strip_digits: n.strip_digits,
    })
}

fn word_mode(name: &str) -> PyResult<WordMode> {
    WordMode::parse(name).map_err(to_py_err)
}

fn spans_to_py(py: Python<'_>, s: text::Spans) -> (I64Array<'_>, I64Array<'_>, I64Array<'_>) {
    (s.offsets.into_pyarray(py), s.start.into_pyarray(py), s.end.into_pyarray(py))
}

#[pyfunction]
fn normalize_texts(py: Python<'_>, texts: Vec<PyBackedStr>, normalization: PyNormalization) -> Vec<String> {
    let n = norm(Some(normalization));
    py.allow_threads(|| text::normalize_texts(&texts, n))
}

#[pyfunction]
#[pyo3(signature = (texts, *, normalization = None, seed = 0))]
fn hash_texts(
    py: Python<'_>,
    texts: Vec<PyBackedStr>,
    normalization: Option<PyNormalization>,
    seed: u64,
) -> U64Array<'_> {
    let n = norm(normalization);
    py.allow_threads(|| text::hash_texts(&texts, n, seed)).into_pyarray(py)
}

#[pyfunction]
#[pyo3(signature = (texts, *, word_mode = "bounds"))]
fn word_spans<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    word_mode: &str,
) -> PyResult<(I64Array<'py>, I64Array<'py>, I64Array<'py>)> {
    let mode = self::word_mode(word_mode)?;
    Ok(spans_to_py(py, py.allow_threads(|| text::word_spans(&texts, mode))))
}

#[pyfunction]
#[pyo3(signature = (texts, *, word_mode = "bounds"))]
fn word_counts<'py>(py: Python<'py>, texts: Vec<PyBackedStr>, word_mode: &str) -> PyResult<I64Array<'py>> {
    let mode = self::word_mode(word_mode)?;
    Ok(py.allow_threads(|| text::word_counts(&texts, mode)).into_pyarray(py))
}

#[pyfunction]
#[pyo3(signature = (texts, *, separator = "\n", include_separator = true))]
fn split_paragraphs<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    separator: &str,
    include_separator: bool,
) -> PyResult<(I64Array<'py>, I64Array<'py>, I64Array<'py>)> {
    let spans = py.allow_threads(|| text::split_paragraphs(&texts, separator, include_separator)).map_err(to_py_err)?;
    Ok(spans_to_py(py, spans))
}

#[allow(clippy::too_many_arguments)]
fn paragraph_options<'s>(
    separator: &'s str,
    include_separator: bool,
    normalization: Option<PyNormalization>,
    seed: u64,
    min_length: usize,
    min_words: usize,
    skip_empty: bool,
    word_mode: &str,
) -> PyResult<ParagraphOptions<'s>> {
    Ok(ParagraphOptions {
        separator,
        include_separator,
        norm: norm(normalization),
        seed,
        filter: ParagraphFilter { min_length, min_words, skip_empty },
        mode: self::word_mode(word_mode)?,
    })
}

#[pyfunction]
#[pyo3(signature = (
    texts, *, separator = "\n", normalization = None, seed = 0, min_length = 0, min_words = 0,
    skip_empty = false, word_mode = "bounds", include_separator = true
))]
#[allow(clippy::too_many_arguments)]
fn paragraph_hashes<'py>(
    py: Python<'py>,
    texts: Texts<'py>,
    separator: &str,
    normalization: Option<PyNormalization>,
    seed: u64,
    min_length: usize,
    min_words: usize,
    skip_empty: bool,
    word_mode: &str,
    include_separator: bool,
) -> PyResult<(I64Array<'py>, I64Array<'py>, I64Array<'py>, U64Array<'py>)> {
    let opts = paragraph_options(
        separator,
        include_separator,
        normalization,
        seed,
        min_length,
        min_words,
        skip_empty,
        word_mode,
    )?;
    let texts = texts.as_strs();
    let r = py.allow_threads(|| text::paragraph_hashes(&texts, &opts)).map_err(to_py_err)?;
    let (offsets, start, end) = spans_to_py(py, r.spans);
    Ok((offsets, start, end, r.hashes.into_pyarray(py)))
}

#[pyfunction]
#[pyo3(signature = (texts, n, *, stride = 1, normalization = None, seed = 0, word_mode = "bounds"))]
fn ngram_hashes<'py>(
    py: Python<'py>,
    texts: Vec<PyBackedStr>,
    n: usize,
    stride: usize,
    normalization: Option<PyNormalization>,
    seed: u64,
    word_mode: &str,
) -> PyResult<(I64Array<'py>, U64Array<'py>)> {
    let spec = NgramSpec::new(n, stride).map_err(to_py_err)?;
    let (mode, n) = (self::word_mode(word_mode)?, norm(normalization));
    let (offsets, hashes) = py.allow_threads(|| text::ngram_hashes(&texts, spec, mode, n, seed));
    Ok((offsets.into_pyarray(py), hashes.into_pyarray(py)))
}

type ParagraphNgramArrays<'py> =
    (I64Array<'py>, I64Array<'py>, I64Array<'py>, U64Array<'py>, I64Array<'py>, I64Array<'py>, U64Array<'py>);

#[pyfunction]
#[pyo3(signature = (
    texts, n, *, stride = 1, separator = "\n", normalization = None, seed = 0, min_length = 0,
    min_words = 0, skip_empty = false, word_mode = "bounds", include_separator = true
))]
#[allow(clippy::too_many_arguments)]
fn paragraph_ngram_hashes<'py>(
    py: Python<'py>,
    texts: Texts<'py>,
    n: usize,
    stride: usize,
    separator: &str,
    normalization: Option<PyNormalization>,
    seed: u64,
    min_length: usize,
    min_words: usize,
    skip_empty: bool,
    word_mode: &str,
    include_separator: bool,
) -> PyResult<ParagraphNgramArrays<'py>> {
    let spec = NgramSpec::new(n, stride).map_err(to_py_err)?;
    let opts = paragraph_options(
        separator,
        include_separator,
        normalization,
        seed,
        min_length,
        min_words,
        skip_empty,
        word_mode,
    )?;
    let texts = texts.as_strs();
    let r = py.allow_threads(|| text::paragraph_ngram_hashes(&texts, spec, &opts)).map_err(to_py_err)?;
    let (offsets, start, end) = spans_to_py(py, r.paragraphs.spans);
    Ok((
        offsets,
        start,
        end,
        r.paragraphs.hashes.into_pyarray(py),
        r.num_words.into_pyarray(py),
        r.ngram_offsets.into_pyarray(py),
        r.ngram_hashes.into_pyarray(py),
    ))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNormalization>()?;
    m.add_function(wrap_pyfunction!(normalize_texts, m)?)?;
    m.add_function(wrap_pyfunction!(hash_texts, m)?)?;
    m.add_function(wrap_pyfunction!(word_spans, m)?)?;
    m.add_function(wrap_pyfunction!(word_counts, m)?)?;
    m.add_function(wrap_pyfunction!(split_paragraphs, m)?)?;
    m.add_function(wrap_pyfunction!(paragraph_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(ngram_hashes, m)?)?;
    m.add_function(wrap_pyfunction!(paragraph_ngram_hashes, m)?)?;
    Ok(())
}
