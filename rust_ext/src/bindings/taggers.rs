//! Batch entry points of the core taggers (`taggers/gopher.py`, `c4.py`, `pii.py`, `length.py`): a list of texts
//! in, plain numbers out, the GIL released while computing. Offsets are code points; scores are rounded to five
//! decimals like dolma writes them.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::{c4, gopher, pii, pyunicode::round5, wordsplit};

/// Attribute keys of `gopher_stats_batch`'s values, in dolma's output order.
const GOPHER_KEYS: [&str; 19] = [
    "fraction_of_characters_in_most_common_2grams",
    "fraction_of_characters_in_most_common_3grams",
    "fraction_of_characters_in_most_common_4grams",
    "fraction_of_characters_in_duplicate_5grams",
    "fraction_of_characters_in_duplicate_6grams",
    "fraction_of_characters_in_duplicate_7grams",
    "fraction_of_characters_in_duplicate_8grams",
    "fraction_of_characters_in_duplicate_9grams",
    "fraction_of_characters_in_duplicate_10grams",
    "character_count",
    "word_count",
    "median_word_length",
    "symbol_to_word_ratio",
    "fraction_of_words_with_alpha_character",
    "required_word_count",
    "fraction_of_lines_starting_with_bullet_point",
    "fraction_of_lines_ending_with_ellipsis",
    "fraction_of_duplicate_lines",
    "fraction_of_characters_in_duplicate_lines",
];

/// UTF-8 views of the texts. Python strings holding lone surrogates cannot be encoded; each surrogate becomes
/// U+FFFD (one code point for one), so offsets still index the original string.
fn utf8_texts<'a>(texts: &'a [Bound<'_, PyString>]) -> PyResult<Vec<Cow<'a, str>>> {
    texts
        .iter()
        .map(|t| match t.to_str() {
            Ok(s) => Ok(Cow::Borrowed(s)),
            Err(_) => replace_surrogates(t).map(Cow::Owned),
        })
        .collect()
}

fn replace_surrogates(text: &Bound<'_, PyString>) -> PyResult<String> {
    let encoded = text.call_method1("encode", ("utf-8", "surrogatepass"))?;
    let bytes = encoded.downcast::<PyBytes>()?.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // "surrogatepass" writes U+D800..U+DFFF as ED A0..BF 80..BF.
        if bytes[i] == 0xED && bytes.get(i + 1).is_some_and(|b| (0xA0..=0xBF).contains(b)) {
            out.extend_from_slice("\u{FFFD}".as_bytes());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))
}

/// Gopher statistics: 19 floats per text in `GOPHER_KEYS` order, NaN where dolma emits no value (n-grams of a
/// document with fewer than n words).
#[pyfunction]
#[pyo3(signature = (texts, ignore_empty_lines = false))]
fn gopher_stats_batch(py: Python<'_>, texts: Vec<Bound<'_, PyString>>, ignore_empty_lines: bool) -> PyResult<Vec<f64>> {
    let texts = utf8_texts(&texts)?;
    Ok(py.allow_threads(|| {
        let mut out = Vec::with_capacity(texts.len() * GOPHER_KEYS.len());
        for text in &texts {
            let s = gopher::gopher_stats(text, ignore_empty_lines);
            let ngrams = s.most_common_ngram.iter().chain(&s.duplicate_ngrams);
            out.extend(ngrams.map(|v| v.map_or(f64::NAN, round5)));
            out.extend(
                [
                    s.character_count as f64,
                    s.word_count as f64,
                    s.median_word_length,
                    s.symbol_to_word_ratio,
                    s.fraction_of_words_with_alpha_character,
                    s.required_word_count as f64,
                    s.fraction_of_lines_starting_with_bullet_point,
                    s.fraction_of_lines_ending_with_ellipsis,
                    s.fraction_of_duplicate_lines,
                    s.fraction_of_characters_in_duplicate_lines,
                ]
                .map(round5),
            );
        }
        out
    }))
}

/// C4 rules compiled with a naughty-word list.
#[pyclass(frozen, module = "dolma_py._rust", name = "C4Rules")]
struct PyC4Rules {
    rules: c4::C4Rules,
}

#[pymethods]
impl PyC4Rules {
    /// Entries containing a space are phrases (substring match); the others are whole words.
    #[new]
    fn new(naughty_entries: Vec<String>) -> Self {
        PyC4Rules { rules: c4::C4Rules::new(&naughty_entries) }
    }

    /// Per text: `(flags, line_count, [start, end, rules, ...])` with the flag and rule bits of the module
    /// constants `C4_*`; only lines breaking a rule are listed.
    fn tag_batch(&self, py: Python<'_>, texts: Vec<Bound<'_, PyString>>) -> PyResult<Vec<(u8, usize, Vec<usize>)>> {
        let texts = utf8_texts(&texts)?;
        Ok(py.allow_threads(|| {
            texts
                .iter()
                .map(|text| {
                    let r = self.rules.tag(text);
                    let lines = r.lines.iter().flat_map(|l| [l.start, l.end, usize::from(l.rules)]).collect();
                    (r.flags, r.line_count, lines)
                })
                .collect()
        }))
    }
}

fn flat_pii(spans: &[pii::PiiSpan]) -> Vec<usize> {
    spans.iter().flat_map(|s| [s.kind as usize, s.start, s.end]).collect()
}

/// `pii_regex_v1`/`v2` detection: per text `(word_count, [kind, start, end, ...])`, kinds 0 email, 1 phone, 2 IP.
#[pyfunction]
fn pii_regex_batch(py: Python<'_>, texts: Vec<Bound<'_, PyString>>) -> PyResult<Vec<(usize, Vec<usize>)>> {
    let texts = utf8_texts(&texts)?;
    Ok(py.allow_threads(|| {
        texts.iter().map(|t| (crate::pyunicode::word_count(t), flat_pii(&pii::find_postprocessed(t)))).collect()
    }))
}

/// `pii_regex_with_counts_fast_v2` detection: per text `[kind, start, end, ...]`, or None when dolma skips it.
#[pyfunction]
fn pii_regex_fast_batch(py: Python<'_>, texts: Vec<Bound<'_, PyString>>) -> PyResult<Vec<Option<Vec<usize>>>> {
    let texts = utf8_texts(&texts)?;
    Ok(py.allow_threads(|| texts.iter().map(|t| pii::find_fast(t).map(|s| flat_pii(&s))).collect()))
}

/// `len(regex.split(r"\w+|[^\w\s]+", text))` per text (dolma's `whitespace_tokenizer_v1`).
#[pyfunction]
fn word_piece_count_batch(py: Python<'_>, texts: Vec<Bound<'_, PyString>>) -> PyResult<Vec<usize>> {
    let texts = utf8_texts(&texts)?;
    Ok(py.allow_threads(|| texts.iter().map(|t| wordsplit::split_piece_count(t)).collect()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GOPHER_KEYS", GOPHER_KEYS)?;
    m.add("C4_NAUGHTY", c4::NAUGHTY)?;
    m.add("C4_JAVASCRIPT_WORD", c4::JAVASCRIPT_WORD)?;
    m.add("C4_JAVASCRIPT_SUBSTRING", c4::JAVASCRIPT_SUBSTRING)?;
    m.add("C4_LOREM_IPSUM", c4::LOREM_IPSUM)?;
    m.add("C4_CURLY_BRACE", c4::CURLY_BRACE)?;
    m.add("C4_NO_ENDING_PUNCTUATION", c4::NO_ENDING_PUNCTUATION)?;
    m.add("C4_TOO_FEW_WORDS", c4::TOO_FEW_WORDS)?;
    m.add_class::<PyC4Rules>()?;
    m.add_function(wrap_pyfunction!(gopher_stats_batch, m)?)?;
    m.add_function(wrap_pyfunction!(pii_regex_batch, m)?)?;
    m.add_function(wrap_pyfunction!(pii_regex_fast_batch, m)?)?;
    m.add_function(wrap_pyfunction!(word_piece_count_batch, m)?)?;
    Ok(())
}
