//! Text kernels for deduplication: paragraph splitting, normalization, word segmentation, n-gram and
//! text hashing. All offsets are Unicode code points (Python `str` indices), end exclusive.
//!
//! Batch functions take a slice of texts and return flat columns (CSR-style `offsets` of length
//! `texts.len() + 1` group rows per text), so a whole batch crosses the Python boundary in one call.
//! Work is spread over texts with rayon; results are concatenated in input order (deterministic).

use std::borrow::Cow;

use crate::segment::{for_each_nonblank_bound, for_each_word_bound};
use rayon::prelude::*;
use unicode_general_category::{get_general_category, GeneralCategory};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Texts per rayon task; small batches stay on the calling thread.
const TEXTS_PER_TASK: usize = 32;
/// Base of the rolling polynomial over word hashes that forms n-gram hashes (odd, = 3 mod 4).
const NGRAM_BASE: u64 = 0xC4CE_B9FE_1A85_EC53;
/// Added before the final mix so n-gram keys and whole-text keys differ by construction when they share one
/// Bloom filter.
const NGRAM_DOMAIN: u64 = 0x6E67_7261_6D73_2D31;

/// splitmix64's bijective finalizer applied to an n-gram's rolling hash.
#[inline(always)]
fn finish_ngram(rolling: u64) -> u64 {
    let mut z = rolling.wrapping_add(NGRAM_DOMAIN);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug)]
pub struct TextError(pub String);

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TextError {}

/// Normalizations applied to text before hashing or n-gram extraction.
///
/// Order: characters are dropped (punctuation, digits), whitespace runs collapsed, then the result lowercased.
/// - `strip_punctuation` removes every Unicode punctuation character (categories P*) and the ASCII symbols in
///   Python's `string.punctuation` (`$+<=>^`|~`); other symbols (emoji, currency signs beyond `$`) stay.
/// - `strip_digits` removes decimal digits (category Nd, any script).
/// - `collapse_whitespace` turns each run of whitespace into one space and trims both ends.
/// - `lowercase` uses full Unicode lowercasing, like Python's `str.lower()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Normalization {
    pub lowercase: bool,
    pub collapse_whitespace: bool,
    pub strip_punctuation: bool,
    pub strip_digits: bool,
}

pub(crate) fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation();
    }
    use GeneralCategory::*;
    matches!(
        get_general_category(c),
        ConnectorPunctuation
            | DashPunctuation
            | OpenPunctuation
            | ClosePunctuation
            | InitialPunctuation
            | FinalPunctuation
            | OtherPunctuation
    )
}

pub(crate) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    get_general_category(c) == GeneralCategory::DecimalNumber
}

impl Normalization {
    pub fn is_identity(&self) -> bool {
        *self == Normalization::default()
    }

    /// The normalized text; borrows when nothing changes.
    pub fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.is_identity() {
            return Cow::Borrowed(text);
        }
        let filtering = self.strip_punctuation || self.strip_digits || self.collapse_whitespace;
        let filtered: Cow<'a, str> = if filtering {
            let mut out = String::with_capacity(text.len());
            let mut pending_space = false;
            for c in text.chars() {
                if (self.strip_punctuation && is_punctuation(c)) || (self.strip_digits && is_digit(c)) {
                    continue;
                }
                if self.collapse_whitespace && c.is_whitespace() {
                    pending_space = !out.is_empty();
                    continue;
                }
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
            }
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        };
        if !self.lowercase {
            return filtered;
        }
        if filtered.is_ascii() {
            let mut owned = filtered.into_owned();
            owned.make_ascii_lowercase();
            Cow::Owned(owned)
        } else {
            Cow::Owned(filtered.to_lowercase())
        }
    }
}

/// How text is split into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WordMode {
    /// UAX #29 word-boundary segments that are not all whitespace: words and individual punctuation marks.
    /// This is dolma's tokenizer, so n-gram counts match dolma's `by_ngram` dedupe.
    Bounds,
    /// UAX #29 words only (segments containing a letter or digit); punctuation is dropped.
    Words,
}

impl WordMode {
    pub fn parse(name: &str) -> Result<Self, TextError> {
        match name {
            "bounds" => Ok(WordMode::Bounds),
            "words" => Ok(WordMode::Words),
            other => Err(TextError(format!("word mode must be 'bounds' or 'words', got {other:?}"))),
        }
    }

    /// Calls `f(byte_offset, word)` for each word of `text`, in order.
    #[inline]
    pub fn for_each<'a>(self, text: &'a str, mut f: impl FnMut(usize, &'a str)) {
        match self {
            WordMode::Bounds => for_each_nonblank_bound(text, f),
            WordMode::Words => for_each_word_bound(text, |i, w| {
                if w.chars().any(char::is_alphanumeric) {
                    f(i, w)
                }
            }),
        }
    }

    /// Number of words in `text`.
    pub fn count(self, text: &str) -> usize {
        let mut n = 0;
        self.for_each(text, |_, _| n += 1);
        n
    }
}

/// One paragraph: its content (without separator) and code-point offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paragraph<'a> {
    pub content: &'a str,
    pub start: usize,
    /// End of the content, before any separator.
    pub content_end: usize,
    /// End including the separator that follows, if any; spans `[start, end)` tile the text exactly.
    pub end: usize,
}

/// Splits `text` on `separator` (non-empty).
///
/// Every separator closes a paragraph, so `"a\n\nb"` has three (`"a"`, `""`, `"b"`) and empty paragraphs are
/// kept (callers filter them). A text ending with the separator has no empty paragraph after it, the empty
/// text has none, and no span ends past the end of the text.
pub fn paragraphs<'a>(text: &'a str, separator: &'a str) -> impl Iterator<Item = Paragraph<'a>> + 'a {
    debug_assert!(!separator.is_empty());
    let sep_chars = separator.chars().count();
    // A one-byte separator (the usual "\n") is found with memchr, much faster than a substring search.
    let sep_byte = if separator.len() == 1 { Some(separator.as_bytes()[0]) } else { None };
    let mut byte_pos = 0;
    let mut char_pos = 0;
    std::iter::from_fn(move || {
        if byte_pos >= text.len() {
            return None;
        }
        let rest = &text[byte_pos..];
        let found = match sep_byte {
            Some(b) => memchr::memchr(b, rest.as_bytes()),
            None => rest.find(separator),
        };
        let (content, has_sep) = match found {
            Some(i) => (&rest[..i], true),
            None => (rest, false),
        };
        let start = char_pos;
        let content_end = start + content.chars().count();
        let end = if has_sep { content_end + sep_chars } else { content_end };
        byte_pos += content.len() + if has_sep { separator.len() } else { 0 };
        char_pos = end;
        Some(Paragraph { content, start, content_end, end })
    })
}

/// xxh3-64 of the text's UTF-8 bytes.
#[inline]
pub fn hash_text(text: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(text.as_bytes(), seed)
}

/// Which n-grams `ngram_hashes_into` emits: windows of `n` words, spaced by `stride` as dolma spaces them.
#[derive(Debug, Clone, Copy)]
pub struct NgramSpec {
    pub n: usize,
    pub stride: usize,
}

impl NgramSpec {
    /// `n` must be >= 1; a `stride` of 0 means 1 (every n-gram), as in dolma.
    pub fn new(n: usize, stride: usize) -> Result<Self, TextError> {
        if n == 0 {
            return Err(TextError("n-gram length must be >= 1".into()));
        }
        Ok(NgramSpec { n, stride: stride.max(1) })
    }
}

/// Appends the hashes of the n-grams dolma 1.2.1 counts to `out` and returns the number of words; a text with
/// fewer than `n` words has no n-grams. dolma keeps the n-gram at word `s` when `last == 0 || s - last >= stride`,
/// `last` being the start of the previous kept one, so with a stride above 1 the starts are 0, 1, 1 + stride, ...
///
/// Each word is hashed once with xxh3-64(seed); an n-gram's hash is a polynomial over its word hashes,
/// H = sum_j h_j * P^(n-1-j) mod 2^64, rolled in O(1) per word and finished with a bijective mixer.
/// P = 3 (mod 4), so word hashes weighted by differences of powers of P lose at most a few bits.
pub fn ngram_hashes_into(
    text: &str,
    spec: NgramSpec,
    mode: WordMode,
    seed: u64,
    word_hashes: &mut Vec<u64>,
    out: &mut Vec<u64>,
) -> usize {
    let (n, stride) = (spec.n, spec.stride);
    let drop_factor = NGRAM_BASE.wrapping_pow(n as u32 - 1);
    let mut rolling = 0u64;
    let mut last_start = 0usize;
    word_hashes.clear();
    mode.for_each(text, |_, w| {
        let j = word_hashes.len();
        let h = hash_text(w, seed);
        word_hashes.push(h);
        if j >= n {
            rolling = rolling.wrapping_sub(word_hashes[j - n].wrapping_mul(drop_factor));
        }
        rolling = rolling.wrapping_mul(NGRAM_BASE).wrapping_add(h);
        if j + 1 >= n {
            let start = j + 1 - n;
            if last_start == 0 || start - last_start >= stride {
                last_start = start;
                out.push(finish_ngram(rolling));
            }
        }
    });
    word_hashes.len()
}

/// Which paragraphs the paragraph-level kernels report; all tests apply to the normalized content.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParagraphFilter {
    /// Skip paragraphs shorter than this many code points.
    pub min_length: usize,
    /// Skip paragraphs with fewer words than this (words as in the kernel's `WordMode`).
    pub min_words: usize,
    /// Skip paragraphs that are empty or whitespace only.
    pub skip_empty: bool,
}

impl ParagraphFilter {
    fn keeps(&self, normalized: &str, num_words: impl FnOnce() -> usize) -> bool {
        if self.skip_empty && normalized.chars().all(char::is_whitespace) {
            return false;
        }
        if self.min_length > 0 && normalized.chars().count() < self.min_length {
            return false;
        }
        self.min_words == 0 || num_words() >= self.min_words
    }
}

/// Flat per-text results: rows of text `i` are `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Default, PartialEq)]
pub struct Spans {
    pub offsets: Vec<i64>,
    pub start: Vec<i64>,
    pub end: Vec<i64>,
}

/// Paragraph spans with one hash per paragraph.
#[derive(Debug, Default, PartialEq)]
pub struct ParagraphHashes {
    pub spans: Spans,
    pub hashes: Vec<u64>,
}

/// Paragraph spans and hashes, plus each paragraph's n-gram hashes (`ngram_offsets` has one row per
/// paragraph) and word count.
#[derive(Debug, Default, PartialEq)]
pub struct ParagraphNgrams {
    pub paragraphs: ParagraphHashes,
    pub num_words: Vec<i64>,
    pub ngram_offsets: Vec<i64>,
    pub ngram_hashes: Vec<u64>,
}

/// Output rows of a run of texts, concatenated after the parallel map.
#[derive(Default)]
struct Rows {
    start: Vec<i64>,
    end: Vec<i64>,
    hashes: Vec<u64>,
    num_words: Vec<i64>,
    ngram_counts: Vec<i64>,
    ngram_hashes: Vec<u64>,
}

impl Rows {
    fn append(&mut self, other: Rows) {
        if self.start.is_empty() && self.ngram_hashes.is_empty() {
            *self = other; // the usual single chunk of a small batch: no copy
            return;
        }
        self.start.extend_from_slice(&other.start);
        self.end.extend_from_slice(&other.end);
        self.hashes.extend_from_slice(&other.hashes);
        self.num_words.extend_from_slice(&other.num_words);
        self.ngram_counts.extend_from_slice(&other.ngram_counts);
        self.ngram_hashes.extend_from_slice(&other.ngram_hashes);
    }
}

/// Runs `f(text, rows, scratch)` over the texts in parallel, each task appending the rows of `TEXTS_PER_TASK`
/// consecutive texts to one `Rows` (few allocations), and concatenates them in order with per-text offsets.
fn map_rows<T: AsRef<str> + Sync, S: Default>(
    texts: &[T],
    f: impl Fn(&str, &mut Rows, &mut S) + Sync,
) -> (Vec<i64>, Rows) {
    let per_chunk: Vec<(Rows, Vec<i64>)> = texts
        .par_chunks(TEXTS_PER_TASK)
        .map(|chunk| {
            let (mut rows, mut scratch, mut ends) = (Rows::default(), S::default(), Vec::with_capacity(chunk.len()));
            for text in chunk {
                f(text.as_ref(), &mut rows, &mut scratch);
                ends.push(rows.start.len() as i64);
            }
            (rows, ends)
        })
        .collect();
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    offsets.push(0i64);
    let mut all = Rows::default();
    for (rows, ends) in per_chunk {
        let base = all.start.len() as i64;
        offsets.extend(ends.iter().map(|end| base + end));
        all.append(rows);
    }
    (offsets, all)
}

fn check_separator(separator: &str) -> Result<(), TextError> {
    if separator.is_empty() {
        return Err(TextError("paragraph separator must not be empty".into()));
    }
    Ok(())
}

fn span_end(p: &Paragraph, include_separator: bool) -> i64 {
    (if include_separator { p.end } else { p.content_end }) as i64
}

/// Paragraph spans of every text (see [`paragraphs`]); with `include_separator` spans tile each text.
pub fn split_paragraphs<T: AsRef<str> + Sync>(
    texts: &[T],
    separator: &str,
    include_separator: bool,
) -> Result<Spans, TextError> {
    check_separator(separator)?;
    let (offsets, rows) = map_rows(texts, |text, rows, _: &mut ()| {
        for p in paragraphs(text, separator) {
            rows.start.push(p.start as i64);
            rows.end.push(span_end(&p, include_separator));
        }
    });
    Ok(Spans { offsets, start: rows.start, end: rows.end })
}

/// Seeded xxh3-64 of each normalized text.
pub fn hash_texts<T: AsRef<str> + Sync>(texts: &[T], norm: Normalization, seed: u64) -> Vec<u64> {
    texts.par_iter().with_min_len(TEXTS_PER_TASK).map(|t| hash_text(&norm.apply(t.as_ref()), seed)).collect()
}

/// Normalized copy of each text.
pub fn normalize_texts<T: AsRef<str> + Sync>(texts: &[T], norm: Normalization) -> Vec<String> {
    texts.par_iter().with_min_len(TEXTS_PER_TASK).map(|t| norm.apply(t.as_ref()).into_owned()).collect()
}

/// Code-point spans of the words of every (unnormalized) text.
pub fn word_spans<T: AsRef<str> + Sync>(texts: &[T], mode: WordMode) -> Spans {
    let (offsets, rows) = map_rows(texts, |text, rows, _: &mut ()| {
        let (mut byte_pos, mut char_pos) = (0usize, 0usize);
        mode.for_each(text, |i, w| {
            char_pos += text[byte_pos..i].chars().count();
            let len = w.chars().count();
            rows.start.push(char_pos as i64);
            rows.end.push((char_pos + len) as i64);
            byte_pos = i + w.len();
            char_pos += len;
        });
    });
    Spans { offsets, start: rows.start, end: rows.end }
}

/// Number of words in each (unnormalized) text.
pub fn word_counts<T: AsRef<str> + Sync>(texts: &[T], mode: WordMode) -> Vec<i64> {
    texts.par_iter().with_min_len(TEXTS_PER_TASK).map(|t| mode.count(t.as_ref()) as i64).collect()
}

/// N-gram hashes of each whole normalized text; `offsets` groups the hashes per text.
pub fn ngram_hashes<T: AsRef<str> + Sync>(
    texts: &[T],
    spec: NgramSpec,
    mode: WordMode,
    norm: Normalization,
    seed: u64,
) -> (Vec<i64>, Vec<u64>) {
    let per_text: Vec<Vec<u64>> = texts
        .par_iter()
        .with_min_len(TEXTS_PER_TASK)
        .map_init(Vec::new, |words, t| {
            let mut out = Vec::new();
            ngram_hashes_into(&norm.apply(t.as_ref()), spec, mode, seed, words, &mut out);
            out
        })
        .collect();
    let mut offsets = Vec::with_capacity(texts.len() + 1);
    offsets.push(0);
    let mut hashes = Vec::with_capacity(per_text.iter().map(Vec::len).sum());
    for h in per_text {
        hashes.extend_from_slice(&h);
        offsets.push(hashes.len() as i64);
    }
    (offsets, hashes)
}

/// Options shared by the paragraph-level kernels; `mode` defines words for `min_words` and n-grams.
#[derive(Debug, Clone, Copy)]
pub struct ParagraphOptions<'s> {
    pub separator: &'s str,
    pub include_separator: bool,
    pub norm: Normalization,
    pub seed: u64,
    pub filter: ParagraphFilter,
    pub mode: WordMode,
}

/// Spans and hashes of the paragraphs that pass `opts.filter`; each hash is xxh3-64(seed) of the
/// normalized paragraph content (separator excluded).
pub fn paragraph_hashes<T: AsRef<str> + Sync>(
    texts: &[T],
    opts: &ParagraphOptions,
) -> Result<ParagraphHashes, TextError> {
    check_separator(opts.separator)?;
    let (offsets, rows) = map_rows(texts, |text, rows, _: &mut ()| {
        for p in paragraphs(text, opts.separator) {
            let normalized = opts.norm.apply(p.content);
            if !opts.filter.keeps(&normalized, || opts.mode.count(&normalized)) {
                continue;
            }
            rows.start.push(p.start as i64);
            rows.end.push(span_end(&p, opts.include_separator));
            rows.hashes.push(hash_text(&normalized, opts.seed));
        }
    });
    Ok(ParagraphHashes { spans: Spans { offsets, start: rows.start, end: rows.end }, hashes: rows.hashes })
}

/// Everything paragraph-level n-gram dedupe needs in one pass: for each paragraph passing `opts.filter`, its
/// span, whole-paragraph hash (the fallback key for paragraphs with too few n-grams), word count and
/// n-gram hashes.
pub fn paragraph_ngram_hashes<T: AsRef<str> + Sync>(
    texts: &[T],
    spec: NgramSpec,
    opts: &ParagraphOptions,
) -> Result<ParagraphNgrams, TextError> {
    check_separator(opts.separator)?;
    let (offsets, rows) = map_rows(texts, |text, rows, words: &mut Vec<u64>| {
        for p in paragraphs(text, opts.separator) {
            let normalized = opts.norm.apply(p.content);
            let before = rows.ngram_hashes.len();
            let num_words =
                ngram_hashes_into(&normalized, spec, opts.mode, opts.seed, words, &mut rows.ngram_hashes);
            if !opts.filter.keeps(&normalized, || num_words) {
                rows.ngram_hashes.truncate(before);
                continue;
            }
            rows.start.push(p.start as i64);
            rows.end.push(span_end(&p, opts.include_separator));
            rows.hashes.push(hash_text(&normalized, opts.seed));
            rows.num_words.push(num_words as i64);
            rows.ngram_counts.push((rows.ngram_hashes.len() - before) as i64);
        }
    });
    let mut ngram_offsets = Vec::with_capacity(rows.ngram_counts.len() + 1);
    ngram_offsets.push(0);
    let mut total = 0;
    for c in &rows.ngram_counts {
        total += c;
        ngram_offsets.push(total);
    }
    Ok(ParagraphNgrams {
        paragraphs: ParagraphHashes { spans: Spans { offsets, start: rows.start, end: rows.end }, hashes: rows.hashes },
        num_words: rows.num_words,
        ngram_offsets,
        ngram_hashes: rows.ngram_hashes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str, sep: &str) -> Vec<(usize, usize, usize)> {
        paragraphs(text, sep).map(|p| (p.start, p.content_end, p.end)).collect()
    }

    #[test]
    fn paragraph_edge_cases() {
        assert_eq!(spans("", "\n"), vec![]);
        assert_eq!(spans("a", "\n"), vec![(0, 1, 1)]);
        assert_eq!(spans("a\n", "\n"), vec![(0, 1, 2)], "no zero-length trailing span");
        assert_eq!(spans("\n", "\n"), vec![(0, 0, 1)]);
        assert_eq!(spans("ab\n\ncd", "\n"), vec![(0, 2, 3), (3, 3, 4), (4, 6, 6)]);
        assert_eq!(spans("ab\n\n", "\n"), vec![(0, 2, 3), (3, 3, 4)]);
        assert_eq!(spans("a<p>b<p>", "<p>"), vec![(0, 1, 4), (4, 5, 8)]);
        assert_eq!(spans("a\r\nb", "\r\n"), vec![(0, 1, 3), (3, 4, 4)]);
        assert_eq!(spans("a¶é¶", "¶"), vec![(0, 1, 2), (2, 3, 4)], "a one-character non-ASCII separator");
    }

    #[test]
    fn paragraph_offsets_are_code_points() {
        let text = "héllo 👋🏽\n日本語のテキスト\n\n🙂";
        let got = spans(text, "\n");
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(got.last().unwrap().2, chars.len());
        let piece = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
        assert_eq!(piece(got[0].0, got[0].1), "héllo 👋🏽");
        assert_eq!(piece(got[1].0, got[1].1), "日本語のテキスト");
        assert_eq!(piece(got[3].0, got[3].1), "🙂");
        // Spans with separators tile the text.
        for w in got.windows(2) {
            assert_eq!(w[0].2, w[1].0);
        }
    }

    #[test]
    fn split_paragraphs_batches_with_offsets() {
        let texts = ["a\nb", "", "c\n"];
        let s = split_paragraphs(&texts, "\n", true).unwrap();
        assert_eq!(s, Spans { offsets: vec![0, 2, 2, 3], start: vec![0, 2, 0], end: vec![2, 3, 2] });
        let s = split_paragraphs(&texts, "\n", false).unwrap();
        assert_eq!(s.end, vec![1, 3, 1]);
        assert!(split_paragraphs(&texts, "", true).is_err());
    }

    #[test]
    fn normalization_options() {
        let all =
            Normalization { lowercase: true, collapse_whitespace: true, strip_punctuation: true, strip_digits: true };
        assert_eq!(all.apply("  Hello,\t World!! 42 times\n"), "hello world times");
        let lower = Normalization { lowercase: true, ..Default::default() };
        assert_eq!(lower.apply("ÀÉÎ ΣΑΣ"), "àéî σας", "Unicode lowercasing with final sigma like Python");
        let punct = Normalization { strip_punctuation: true, ..Default::default() };
        assert_eq!(punct.apply("«¿Qué?» a-b $5+3 😀"), "Qué ab 53 😀");
        let digits = Normalization { strip_digits: true, ..Default::default() };
        assert_eq!(digits.apply("a1٢३b"), "ab");
        let ws = Normalization { collapse_whitespace: true, ..Default::default() };
        assert_eq!(ws.apply("\u{3000}a \u{a0}\n b  "), "a b");
        assert!(matches!(Normalization::default().apply("X y"), Cow::Borrowed("X y")));
    }

    #[test]
    fn word_modes() {
        let text = "Hello, world! RSS 2.0 feed — 日本";
        let collect = |mode: WordMode| {
            let mut out = Vec::new();
            mode.for_each(text, |_, w| out.push(w));
            out
        };
        let bounds = collect(WordMode::Bounds);
        assert_eq!(bounds, ["Hello", ",", "world", "!", "RSS", "2.0", "feed", "—", "日", "本"]);
        let words = collect(WordMode::Words);
        assert_eq!(words, ["Hello", "world", "RSS", "2.0", "feed", "日", "本"]);
        assert!(WordMode::parse("bounds").is_ok() && WordMode::parse("x").is_err());
    }

    #[test]
    fn word_spans_are_code_points() {
        let s = word_spans(&["é😀 ab", "", "x"], WordMode::Bounds);
        assert_eq!(s.offsets, vec![0, 3, 3, 4]);
        assert_eq!((s.start, s.end), (vec![0, 1, 3, 0], vec![1, 2, 5, 1]));
        assert_eq!(word_counts(&["é😀 ab", "", "x, y"], WordMode::Bounds), vec![3, 0, 3]);
        assert_eq!(word_counts(&["x, y"], WordMode::Words), vec![2]);
    }

    #[test]
    fn ngram_counts_with_stride() {
        let text = "a b c d e f g h i j"; // 10 words
        let count = |n, stride| {
            let (offsets, hashes) = ngram_hashes(
                &[text],
                NgramSpec::new(n, stride).unwrap(),
                WordMode::Bounds,
                Normalization::default(),
                0,
            );
            assert_eq!(offsets, vec![0, hashes.len() as i64]);
            hashes.len()
        };
        assert_eq!(count(3, 1), 8);
        assert_eq!(count(3, 0), 8, "stride 0 means every n-gram");
        assert_eq!(count(3, 2), 5); // dolma's starts 0, 1, 3, 5, 7
        assert_eq!(count(3, 3), 4); // dolma's starts 0, 1, 4, 7
        assert_eq!(count(10, 1), 1);
        assert_eq!(count(11, 1), 0, "fewer words than n gives no n-grams");
        assert!(NgramSpec::new(0, 1).is_err());
    }

    #[test]
    fn rolling_ngram_hash_matches_direct_polynomial() {
        let text = "w0 w1 w2 w3 w4 w5 w6 w7 w8";
        let words: Vec<u64> = text.split(' ').map(|w| hash_text(w, 3)).collect();
        let direct = |s: usize, n: usize| {
            finish_ngram(words[s..s + n].iter().fold(0u64, |acc, &h| acc.wrapping_mul(NGRAM_BASE).wrapping_add(h)))
        };
        for (n, stride) in [(1, 1), (3, 2), (4, 1), (9, 1), (2, 5)] {
            let (mut out, mut buf) = (Vec::new(), Vec::new());
            let spec = NgramSpec::new(n, stride).unwrap();
            assert_eq!(ngram_hashes_into(text, spec, WordMode::Bounds, 3, &mut buf, &mut out), 9);
            let starts = (0..=9 - n).filter(|&s| s <= 1 || (s - 1) % stride == 0);
            let expected: Vec<u64> = starts.map(|s| direct(s, n)).collect();
            assert_eq!(out, expected, "n={n} stride={stride}");
        }
    }

    #[test]
    fn ngram_hashes_depend_on_words_and_order_only() {
        let spec = NgramSpec::new(2, 1).unwrap();
        let (_, h) = ngram_hashes(&["a b a b", "a  b\tc", "b a"], spec, WordMode::Bounds, Normalization::default(), 7);
        assert_eq!(h.len(), 3 + 2 + 1);
        assert_eq!(h[0], h[2], "repeated bigram");
        assert_eq!(h[0], h[3], "whitespace does not matter");
        assert_eq!(h[1], h[5]);
        assert_ne!(h[0], h[1], "order matters");
        let (_, other_seed) = ngram_hashes(&["a b"], spec, WordMode::Bounds, Normalization::default(), 8);
        assert_ne!(other_seed[0], h[0]);
        // Word boundaries matter: "ab c" vs "a bc".
        let (_, h) = ngram_hashes(&["ab c", "a bc"], spec, WordMode::Bounds, Normalization::default(), 7);
        assert_ne!(h[0], h[1]);
    }

    #[test]
    fn hash_texts_normalizes_first() {
        let norm = Normalization { lowercase: true, collapse_whitespace: true, ..Default::default() };
        let h = hash_texts(&["Hello  World", "hello world", "hello world!"], norm, 1);
        assert_eq!(h[0], h[1]);
        assert_ne!(h[1], h[2]);
        assert_eq!(h[1], xxh3_64_with_seed(b"hello world", 1));
        assert_eq!(normalize_texts(&["A  B "], norm), vec!["a b".to_string()]);
    }

    fn opts(filter: ParagraphFilter) -> ParagraphOptions<'static> {
        ParagraphOptions {
            separator: "\n",
            include_separator: true,
            norm: Normalization::default(),
            seed: 0,
            filter,
            mode: WordMode::Bounds,
        }
    }

    #[test]
    fn paragraph_hashes_and_filters() {
        let texts = ["same\n\n  \nsame\nother words here", "same"];
        let r = paragraph_hashes(&texts, &opts(ParagraphFilter::default())).unwrap();
        assert_eq!(r.spans.offsets, vec![0, 5, 6]);
        assert_eq!(r.hashes[0], r.hashes[3]);
        assert_eq!(r.hashes[0], r.hashes[5]);
        assert_eq!(r.hashes[0], hash_text("same", 0), "separator is not hashed");
        let r = paragraph_hashes(&texts, &opts(ParagraphFilter { skip_empty: true, ..Default::default() })).unwrap();
        assert_eq!((r.spans.start, r.spans.end), (vec![0, 9, 14, 0], vec![5, 14, 30, 4]));
        let r = paragraph_hashes(&texts, &opts(ParagraphFilter { min_words: 2, ..Default::default() })).unwrap();
        assert_eq!((r.spans.offsets, r.spans.start), (vec![0, 1, 1], vec![14]));
        let r = paragraph_hashes(&texts, &opts(ParagraphFilter { min_length: 5, ..Default::default() })).unwrap();
        assert_eq!(r.spans.start, vec![14]);
    }

    #[test]
    fn paragraph_ngrams_group_per_paragraph() {
        let texts = ["one two three four\nshort\n", "x y z"];
        let spec = NgramSpec::new(3, 1).unwrap();
        let r = paragraph_ngram_hashes(&texts, spec, &opts(ParagraphFilter::default())).unwrap();
        assert_eq!(r.paragraphs.spans.offsets, vec![0, 2, 3]);
        assert_eq!(r.paragraphs.spans.end, vec![19, 25, 5]);
        assert_eq!(r.num_words, vec![4, 1, 3]);
        assert_eq!(r.ngram_offsets, vec![0, 2, 2, 3]);
        let (_, direct) =
            ngram_hashes(&["one two three four", "x y z"], spec, WordMode::Bounds, Normalization::default(), 0);
        assert_eq!(r.ngram_hashes, direct);
        assert_eq!(r.paragraphs.hashes[1], hash_text("short", 0));
        let filtered =
            paragraph_ngram_hashes(&texts, spec, &opts(ParagraphFilter { min_words: 2, ..Default::default() }))
                .unwrap();
        assert_eq!(filtered.ngram_offsets, vec![0, 2, 3]);
        assert_eq!(filtered.ngram_hashes, direct);
        assert_eq!(filtered.paragraphs.spans.start, vec![0, 0]);
    }
}
