//! PyO3 layer of `minhash.rs`: batched signatures and band keys, the run merge and the union-find, GIL released.

use std::path::PathBuf;

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use super::text::Texts;
use rayon::prelude::*;

use crate::minhash::{self, Clusters, Hashing, MinhashSpec, RunSlice, ShingleNorm, ShingleSpec};

type U64Matrix<'py> = Bound<'py, PyArray2<u64>>;
type ShingleSets<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<i64>>);

fn shingle_norm(flags: (bool, bool, bool, bool, bool)) -> ShingleNorm {
    let (lowercase, strip_punctuation, strip_digits, normalize_numbers, strip_diacritics) = flags;
    ShingleNorm { lowercase, strip_punctuation, strip_digits, normalize_numbers, strip_diacritics }
}

fn matrix(py: Python<'_>, values: Vec<u64>, columns: usize) -> PyResult<U64Matrix<'_>> {
    let rows = values.len().checked_div(columns).unwrap_or(0);
    let array = Array2::from_shape_vec((rows, columns), values).map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

/// `(band_keys[n, num_bands], has_signature[n], lengths[n], signatures[n, num_hashes] or None)` of `texts`;
/// lengths are in code points.
/// `norm` is `(lowercase, strip_punctuation, strip_digits, normalize_numbers, strip_diacritics)`; `hashing` is
/// "xxh3" or "datatrove".
#[pyfunction]
#[pyo3(signature = (texts, *, ngram_length, norm, a, b, band_size, keep_signatures, hashing = "xxh3"))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn minhash_signatures<'py>(
    py: Python<'py>,
    texts: Texts<'py>,
    ngram_length: usize,
    norm: (bool, bool, bool, bool, bool),
    a: PyReadonlyArray1<'py, u64>,
    b: PyReadonlyArray1<'py, u64>,
    band_size: usize,
    keep_signatures: bool,
    hashing: &str,
) -> PyResult<(U64Matrix<'py>, Bound<'py, PyArray1<bool>>, Bound<'py, PyArray1<i64>>, Option<U64Matrix<'py>>)> {
    let (a, b) = (a.as_slice()?, b.as_slice()?);
    if a.len() != b.len() || a.is_empty() || band_size == 0 || a.len() % band_size != 0 || ngram_length == 0 {
        return Err(PyValueError::new_err(format!(
            "need as many a as b parameters ({} and {}), a nonzero multiple of band_size {band_size}, ngram_length > 0",
            a.len(),
            b.len()
        )));
    }
    let hashing = parse_hashing(hashing)?;
    let spec = MinhashSpec { ngram_length, hashing, norm: shingle_norm(norm), a, b, band_size };
    let strs = texts.as_strs();
    let out = py.allow_threads(|| minhash::batch_signatures(&strs, &spec, keep_signatures));
    let signatures = match out.signatures {
        Some(values) => Some(matrix(py, values, a.len())?),
        None => None,
    };
    let keys = matrix(py, out.band_keys, a.len() / band_size)?;
    Ok((keys, out.has_signature.into_pyarray(py), out.lengths.into_pyarray(py), signatures))
}

/// The normalized words of `text` joined by spaces (what shingles are cut from).
#[pyfunction]
fn minhash_shingle_text(text: &str, norm: (bool, bool, bool, bool, bool)) -> String {
    minhash::shingle_text(text, shingle_norm(norm))
}

fn parse_hashing(hashing: &str) -> PyResult<Hashing> {
    Hashing::parse(hashing)
        .ok_or_else(|| PyValueError::new_err(format!("hashing must be 'xxh3' or 'datatrove', got {hashing:?}")))
}

/// `(values, counts)`: the sorted distinct shingle hashes of each of `texts`, concatenated, and how many each has.
#[pyfunction]
#[pyo3(signature = (texts, *, ngram_length, norm, hashing = "xxh3"))]
fn minhash_shingle_sets<'py>(
    py: Python<'py>,
    texts: Texts<'py>,
    ngram_length: usize,
    norm: (bool, bool, bool, bool, bool),
    hashing: &str,
) -> PyResult<ShingleSets<'py>> {
    if ngram_length == 0 {
        return Err(PyValueError::new_err("ngram_length must be > 0"));
    }
    let spec = ShingleSpec { ngram_length, norm: shingle_norm(norm), hashing: parse_hashing(hashing)? };
    let strs = texts.as_strs();
    let (values, counts) = py.allow_threads(|| minhash::batch_shingle_sets(&strs, spec));
    Ok((values.into_pyarray(py), counts.into_pyarray(py)))
}

/// The exact Jaccard of each pair of sets `(left[i], right[i])`, set `k` being `values[offsets[k]..offsets[k + 1]]`.
#[pyfunction]
fn minhash_exact_jaccard<'py>(
    py: Python<'py>,
    values: PyReadonlyArray1<'py, u64>,
    offsets: PyReadonlyArray1<'py, i64>,
    left: PyReadonlyArray1<'py, i64>,
    right: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (values, offsets, left, right) = (values.as_slice()?, offsets.as_slice()?, left.as_slice()?, right.as_slice()?);
    let sets = offsets.len().saturating_sub(1) as i64;
    let valid = |k: &i64| (0..sets).contains(k);
    if left.len() != right.len() || !left.iter().chain(right).all(valid) {
        return Err(PyValueError::new_err(format!("left and right must be equally long and index {sets} sets")));
    }
    if offsets.windows(2).any(|w| w[0] > w[1] || w[0] < 0) || offsets.last().is_some_and(|&e| e as usize > values.len())
    {
        return Err(PyValueError::new_err("offsets must be non-decreasing and within values"));
    }
    let set = |k: i64| &values[offsets[k as usize] as usize..offsets[k as usize + 1] as usize];
    let out: Vec<f64> = py
        .allow_threads(|| left.par_iter().zip(right).map(|(&l, &r)| minhash::jaccard_sorted(set(l), set(r))).collect());
    Ok(out.into_pyarray(py))
}

/// Distinct sorted candidate edges `[doc, first]` of the runs `paths[i]` records `starts[i]..ends[i]`.
#[pyfunction]
fn minhash_merge_runs<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    starts: Vec<usize>,
    ends: Vec<usize>,
) -> PyResult<U64Matrix<'py>> {
    if paths.len() != starts.len() || paths.len() != ends.len() {
        return Err(PyValueError::new_err("paths, starts and ends differ in length"));
    }
    let runs: Vec<RunSlice<'_>> = paths
        .iter()
        .zip(starts.iter().zip(&ends))
        .map(|(path, (&start, &end))| RunSlice { path, start, end })
        .collect();
    let edges = py.allow_threads(|| minhash::merge_runs(&runs)).map_err(|e| PyOSError::new_err(e.to_string()))?;
    matrix(py, edges.into_iter().flatten().collect(), 2)
}

/// Union-find over doc_keys (see `minhash.rs: Clusters`).
#[pyclass(name = "MinhashClusters", module = "dolma_py._rust")]
#[derive(Default)]
struct PyClusters {
    inner: Clusters,
}

#[pymethods]
impl PyClusters {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Join the two documents of every row of `edges` (shape [n, 2]).
    fn add_edges(&mut self, py: Python<'_>, edges: PyReadonlyArray2<'_, u64>) -> PyResult<()> {
        let view = edges.as_array();
        if view.ncols() != 2 && view.nrows() > 0 {
            return Err(PyValueError::new_err(format!("edges must have 2 columns, got {}", view.ncols())));
        }
        let flat: Vec<u64> = view.iter().copied().collect();
        let inner = &mut self.inner;
        py.allow_threads(|| flat.chunks_exact(2).for_each(|pair| inner.union(pair[0], pair[1])));
        Ok(())
    }

    /// `(docs, roots)`: every document with an edge, sorted, and its cluster's smallest doc_key.
    fn components<'py>(&mut self, py: Python<'py>) -> (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<u64>>) {
        let inner = &mut self.inner;
        let (docs, roots) = py.allow_threads(|| inner.components());
        (docs.into_pyarray(py), roots.into_pyarray(py))
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("MINHASH_PRIME", minhash::MERSENNE)?;
    m.add_class::<PyClusters>()?;
    m.add_function(wrap_pyfunction!(minhash_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_shingle_text, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_shingle_sets, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_exact_jaccard, m)?)?;
    m.add_function(wrap_pyfunction!(minhash_merge_runs, m)?)
}
