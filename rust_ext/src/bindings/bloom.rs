//! PyO3 layer over `crate::bloom`: the `BloomFilter` class taking and returning NumPy arrays.

use std::borrow::Cow;
use std::io::ErrorKind;
use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError};
use pyo3::prelude::*;

use crate::bloom::{self, BloomError, BloomFilter, Layout};

fn to_py_err(err: BloomError) -> PyErr {
    let message = err.to_string();
    match err {
        BloomError::Io { source, .. } => match source.kind() {
            ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            ErrorKind::PermissionDenied => PyPermissionError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        _ => PyValueError::new_err(message),
    }
}

/// Borrows a contiguous array's data, copying only when it is strided.
fn as_slice<'a>(hashes: &'a PyReadonlyArray1<'_, u64>) -> Cow<'a, [u64]> {
    match hashes.as_slice() {
        Ok(slice) => Cow::Borrowed(slice),
        Err(_) => Cow::Owned(hashes.as_array().to_vec()),
    }
}

fn layout(name: &str) -> PyResult<Layout> {
    Layout::from_name(name).map_err(to_py_err)
}

/// Thread-safe Bloom filter over 64-bit key hashes (see `dolma_py.dedupe.bloom` for the documented wrapper).
#[pyclass(name = "BloomFilter", module = "dolma_py._rust", frozen)]
pub struct PyBloomFilter {
    inner: BloomFilter,
}

#[pymethods]
impl PyBloomFilter {
    #[new]
    #[pyo3(signature = (num_bits, num_hashes, seed = 0, layout = "classic"))]
    fn new(num_bits: u64, num_hashes: u32, seed: u64, layout: &str) -> PyResult<Self> {
        let inner = BloomFilter::with_layout(num_bits, num_hashes, seed, self::layout(layout)?).map_err(to_py_err)?;
        Ok(PyBloomFilter { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (expected_items, fpr, seed = 0, layout = "classic"))]
    fn from_expected(expected_items: u64, fpr: f64, seed: u64, layout: &str) -> PyResult<Self> {
        let inner = BloomFilter::from_expected(expected_items, fpr, seed, self::layout(layout)?).map_err(to_py_err)?;
        Ok(PyBloomFilter { inner })
    }

    #[staticmethod]
    #[pyo3(signature = (size_in_bytes, expected_items = None, seed = 0, layout = "classic"))]
    fn from_size(size_in_bytes: u64, expected_items: Option<u64>, seed: u64, layout: &str) -> PyResult<Self> {
        let layout = self::layout(layout)?;
        let inner = BloomFilter::from_size(size_in_bytes, expected_items, seed, layout).map_err(to_py_err)?;
        Ok(PyBloomFilter { inner })
    }

    /// (num_bits, num_hashes) that `from_expected` would use.
    #[staticmethod]
    #[pyo3(signature = (expected_items, fpr, layout = "classic"))]
    fn plan(expected_items: u64, fpr: f64, layout: &str) -> PyResult<(u64, u32)> {
        bloom::plan(expected_items, fpr, self::layout(layout)?).map_err(to_py_err)
    }

    /// False-positive rate of a filter of this shape and layout holding `keys` distinct keys.
    #[staticmethod]
    fn expected_fpr(layout: &str, num_bits: u64, num_hashes: u32, keys: f64) -> PyResult<f64> {
        Ok(bloom::expected_fpr(self::layout(layout)?, num_bits, num_hashes, keys))
    }

    #[staticmethod]
    #[pyo3(signature = (path, read_only = false, mmap = false))]
    fn load(py: Python<'_>, path: PathBuf, read_only: bool, mmap: bool) -> PyResult<Self> {
        let inner = py.allow_threads(|| BloomFilter::load(&path, read_only, mmap)).map_err(to_py_err)?;
        Ok(PyBloomFilter { inner })
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.allow_threads(|| self.inner.save(&path)).map_err(to_py_err)
    }

    #[getter]
    fn num_bits(&self) -> u64 {
        self.inner.num_bits()
    }

    #[getter]
    fn num_hashes(&self) -> u32 {
        self.inner.num_hashes()
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    #[getter]
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }

    #[getter]
    fn layout(&self) -> &'static str {
        self.inner.layout().name()
    }

    #[getter]
    fn size_in_bytes(&self) -> u64 {
        self.inner.size_in_bytes()
    }

    fn fill_ratio(&self, py: Python<'_>) -> f64 {
        py.allow_threads(|| self.inner.fill_ratio())
    }

    fn estimated_fpr(&self, py: Python<'_>) -> f64 {
        py.allow_threads(|| self.inner.estimated_fpr())
    }

    fn estimated_items(&self, py: Python<'_>) -> f64 {
        py.allow_threads(|| self.inner.estimated_items())
    }

    fn contains<'py>(&self, py: Python<'py>, hashes: PyReadonlyArray1<'py, u64>) -> Bound<'py, PyArray1<bool>> {
        let keys = as_slice(&hashes);
        let out = py.allow_threads(|| {
            let mut out = vec![false; keys.len()];
            self.inner.contains(&keys, &mut out);
            out
        });
        out.into_pyarray(py)
    }

    fn insert(&self, py: Python<'_>, hashes: PyReadonlyArray1<'_, u64>) -> PyResult<()> {
        let keys = as_slice(&hashes);
        py.allow_threads(|| self.inner.insert(&keys)).map_err(to_py_err)
    }

    fn check_and_insert<'py>(
        &self,
        py: Python<'py>,
        hashes: PyReadonlyArray1<'py, u64>,
    ) -> PyResult<Bound<'py, PyArray1<bool>>> {
        let keys = as_slice(&hashes);
        let out = py
            .allow_threads(|| {
                let mut out = vec![false; keys.len()];
                self.inner.check_and_insert(&keys, &mut out).map(|()| out)
            })
            .map_err(to_py_err)?;
        Ok(out.into_pyarray(py))
    }

    fn merge(&self, py: Python<'_>, other: &Bound<'_, PyBloomFilter>) -> PyResult<()> {
        let other = other.get();
        py.allow_threads(|| self.inner.merge(&other.inner)).map_err(to_py_err)
    }

    fn __repr__(&self) -> String {
        format!(
            "BloomFilter(num_bits={}, num_hashes={}, seed={}, layout={:?}, read_only={})",
            self.inner.num_bits(),
            self.inner.num_hashes(),
            self.inner.seed(),
            self.inner.layout().name(),
            if self.inner.read_only() { "True" } else { "False" }
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyBloomFilter>()?;
    m.add("BLOOM_MAX_HASHES", bloom::MAX_HASHES)?;
    m.add("BLOOM_DEFAULT_HASHES", bloom::DEFAULT_HASHES)?;
    m.add("BLOOM_CLASSIC_FORMAT_VERSION", bloom::CLASSIC_FORMAT_VERSION)?;
    m.add("BLOOM_BLOCKED_FORMAT_VERSION", bloom::BLOCKED_FORMAT_VERSION)?;
    m.add("BLOOM_HASH_ALGORITHM", bloom::HASH_ALGORITHM_NAME)?;
    Ok(())
}
