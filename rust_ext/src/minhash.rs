//! MinHash-LSH for fuzzy dedupe: shingling, signatures, band keys, the external merge of sorted band runs into
//! candidate edges, and the deterministic union-find that turns edges into clusters.
//!
//! - **Shingles** are word n-grams of the normalized text (`ShingleNorm`): words are separated by whitespace and,
//!   with `strip_punctuation`, by punctuation (datatrove replaces punctuation by a space); a shingle is the xxh3-64
//!   of its words joined by single spaces. A text with fewer than `n` words has no shingle, hence no signature.
//! - **Permutations** are `(a * h + b) mod p` with the Mersenne prime `p = 2^61 - 1`, computed exactly in 128-bit
//!   arithmetic over `h mod p` (64-bit signature values below `p`); the minimum over a text's shingles is its value.
//! - **`Hashing::Datatrove`** instead computes what datatrove computes: shingles hashed with xxh64 (seed 0), and
//!   `((h * a + b) mod 2^64) mod p` (its numpy uint64 arithmetic wraps), so signatures equal datatrove's.
//! - **Band keys**: band `k`'s key is the xxh3-64, seeded with `k`, of its `band_size` values as little-endian
//!   bytes, so the bands share one 64-bit key space without sharing buckets.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::Mmap;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use unicode_general_category::{get_general_category, GeneralCategory};
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};
use xxhash_rust::xxh64::xxh64;

use crate::text::{is_digit, is_punctuation};

/// The Mersenne prime 2^61 - 1, the modulus of the permutations (as datatrove's).
pub const MERSENNE: u64 = (1 << 61) - 1;

/// Decimal separators a number may contain once (datatrove's `NUMBERS_PATTERN`).
const NUMBER_SEPARATORS: [char; 7] = ['.', ',', '،', '٫', '⎖', '⎗', '⎘'];

/// How shingles are hashed and permuted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// xxh3-64 shingles; exact `(a * h + b) mod p`.
    Exact,
    /// datatrove's: xxh64 shingles; `(a * h + b) mod 2^64`, then `mod p`.
    Datatrove,
}

impl Hashing {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "xxh3" => Some(Hashing::Exact),
            "datatrove" => Some(Hashing::Datatrove),
            _ => None,
        }
    }
}

/// How text is normalized before it is cut into words (datatrove's `simplify_text` with every option on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShingleNorm {
    /// Full Unicode lowercasing.
    pub lowercase: bool,
    /// Punctuation (Unicode P* and ASCII symbols) separates words, like whitespace.
    pub strip_punctuation: bool,
    /// Decimal digits are dropped.
    pub strip_digits: bool,
    /// Each number (digits, optionally one decimal separator and more digits) becomes `0`.
    pub normalize_numbers: bool,
    /// Canonical decomposition (NFD), then nonspacing marks dropped: `é` -> `e`.
    pub strip_diacritics: bool,
}

impl ShingleNorm {
    /// datatrove's MinHash default.
    pub const DATATROVE: ShingleNorm = ShingleNorm {
        lowercase: true,
        strip_punctuation: true,
        strip_digits: false,
        normalize_numbers: true,
        strip_diacritics: true,
    };
}

/// The normalized words of `text`, joined by single spaces (no leading or trailing space).
pub fn shingle_text(text: &str, norm: ShingleNorm) -> String {
    let mut out = String::new();
    normalize_into(text, norm, &mut String::new(), &mut out);
    out
}

/// `shingle_text` into `out` (cleared first), so a caller signing many texts reuses buffers (`work` is scratch).
/// ASCII text takes a byte loop (one table look-up per byte). Other text is decomposed (NFD, nonspacing marks
/// dropped) and lowercased run by run: ASCII runs are copied (NFD cannot reorder across an ASCII starter, so it
/// is the concatenation of the runs' NFDs), non-ASCII runs mapped char by char, which is what `str::to_lowercase`
/// does except for the context-dependent final sigma; a text with a capital sigma takes the whole-string path.
pub fn normalize_into(text: &str, norm: ShingleNorm, work: &mut String, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        normalize_ascii(text.as_bytes(), norm, out);
        return;
    }
    if !decompose_lowercase_runs(text, norm, work) {
        work.clear();
        let decomposed: String;
        let mut text = text;
        if norm.strip_diacritics {
            decomposed = text.nfd().filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark).collect();
            text = &decomposed;
        }
        work.push_str(&if norm.lowercase { text.to_lowercase() } else { text.to_string() });
    }
    normalize_chars(work, norm, out);
}

/// `text` decomposed and lowercased as `norm` asks, into `out` (cleared first), run by run; `false` when a
/// capital sigma makes lowercasing depend on context.
fn decompose_lowercase_runs(text: &str, norm: ShingleNorm, out: &mut String) -> bool {
    out.clear();
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let ascii = bytes[i].is_ascii();
        // a run of bytes >= 0x80 is whole UTF-8 sequences, so both ends are char boundaries
        let end = bytes[i..].iter().position(|b| b.is_ascii() != ascii).map_or(bytes.len(), |n| i + n);
        let run = &text[i..end];
        i = end;
        if ascii {
            let start = out.len();
            out.push_str(run);
            if norm.lowercase {
                out[start..].make_ascii_lowercase();
            }
            continue;
        }
        let mut push = |c: char| {
            if !norm.lowercase {
                out.push(c);
            } else if c == 'Σ' {
                return false;
            } else {
                out.extend(c.to_lowercase());
            }
            true
        };
        if norm.strip_diacritics {
            for c in run.nfd().filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark) {
                if !push(c) {
                    return false;
                }
            }
        } else if !run.chars().all(&mut push) {
            return false;
        }
    }
    true
}

/// Byte classes of ASCII for `normalize_ascii`: what `char::is_whitespace`, `is_punctuation` and `is_digit` say.
const SEPARATOR: u8 = 1;
const PUNCTUATION: u8 = 2;
const DIGIT: u8 = 4;
const ASCII_CLASS: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = if matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
            SEPARATOR
        } else if b.is_ascii_punctuation() {
            PUNCTUATION
        } else if b.is_ascii_digit() {
            DIGIT
        } else {
            0
        };
        i += 1;
    }
    table
};

fn normalize_ascii(text: &[u8], norm: ShingleNorm, out: &mut String) {
    // SAFETY: only ASCII bytes are pushed (the input is ASCII, lowercasing and '0'/' ' keep it so).
    let bytes = unsafe { out.as_mut_vec() };
    bytes.reserve(text.len());
    let separators = if norm.strip_punctuation { SEPARATOR | PUNCTUATION } else { SEPARATOR };
    let mut pending_space = false;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        let class = ASCII_CLASS[b as usize];
        i += 1;
        if class & separators != 0 {
            pending_space = !bytes.is_empty();
            continue;
        }
        let digit = class == DIGIT;
        if digit && norm.strip_digits {
            continue;
        }
        if pending_space {
            bytes.push(b' ');
            pending_space = false;
        }
        if digit && norm.normalize_numbers {
            while i < text.len() && text[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < text.len() && matches!(text[i], b'.' | b',') && text[i + 1].is_ascii_digit() {
                i += 1;
                while i < text.len() && text[i].is_ascii_digit() {
                    i += 1;
                }
            }
            bytes.push(b'0');
        } else {
            bytes.push(if norm.lowercase { b.to_ascii_lowercase() } else { b });
        }
    }
}

/// The word loop of `normalize_into` over any (already decomposed and lowercased) text.
fn normalize_chars(text: &str, norm: ShingleNorm, out: &mut String) {
    out.reserve(text.len());
    let mut pending_space = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_whitespace() || (norm.strip_punctuation && is_punctuation(c)) {
            pending_space = !out.is_empty();
            continue;
        }
        let digit = is_digit(c);
        if digit && norm.strip_digits {
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if digit && norm.normalize_numbers {
            skip_digits(&mut chars);
            let mut ahead = chars.clone();
            if ahead.next().is_some_and(|s| NUMBER_SEPARATORS.contains(&s)) && ahead.next().is_some_and(is_digit) {
                chars.next();
                skip_digits(&mut chars);
            }
            out.push('0');
        } else {
            out.push(c);
        }
    }
}

fn skip_digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|&c| is_digit(c)) {
        chars.next();
    }
}

/// The hash (xxh3-64, or xxh64 for `Hashing::Datatrove`) of each `n`-gram of the words of `normalized` (as
/// `shingle_text` returns: words joined by single spaces), in order, into `out` (cleared first). An n-gram is
/// hashed as its slice of `normalized`, which is exactly its words joined by spaces; `starts` is scratch.
pub fn shingles_into(normalized: &str, n: usize, hashing: Hashing, starts: &mut Vec<usize>, out: &mut Vec<u64>) {
    out.clear();
    starts.clear();
    if normalized.is_empty() || n == 0 {
        return;
    }
    let bytes = normalized.as_bytes();
    starts.push(0);
    starts.extend(bytes.iter().enumerate().filter(|&(_, &b)| b == b' ').map(|(i, _)| i + 1));
    let words = starts.len();
    if words < n {
        return;
    }
    // word i ends one byte before word i + 1 starts (at the space), the last at the end of the text
    let end = |i: usize| if i + 1 < words { starts[i + 1] - 1 } else { bytes.len() };
    let windows = (0..=words - n).map(|i| &bytes[starts[i]..end(i + n - 1)]);
    match hashing {
        Hashing::Exact => out.extend(windows.map(xxh3_64)),
        Hashing::Datatrove => out.extend(windows.map(|w| xxh64(w, 0))),
    }
}

/// The permutations `(a[j] * h + b[j]) mod p`, laid out for the signature loop: `a` split into 32-bit halves (so
/// each product is four 32x32->64 multiplies, which vectorize) and `b`, one array each. For `Hashing::Exact`, `a`
/// and `b` are reduced mod p first, which changes no value of `(a * h + b) mod p`.
pub struct Permutations {
    hashing: Hashing,
    a_lo: Vec<u64>,
    a_hi: Vec<u64>,
    b: Vec<u64>,
}

const LOW32: u64 = u32::MAX as u64;

impl Permutations {
    /// `a` and `b` are of equal length (one pair per permutation).
    pub fn new(a: &[u64], b: &[u64], hashing: Hashing) -> Self {
        assert_eq!(a.len(), b.len(), "one b per a");
        let reduce = |v: u64| if hashing == Hashing::Exact { v % MERSENNE } else { v };
        let a: Vec<u64> = a.iter().map(|&v| reduce(v)).collect();
        Permutations {
            hashing,
            a_lo: a.iter().map(|&v| v & LOW32).collect(),
            a_hi: a.iter().map(|&v| v >> 32).collect(),
            b: b.iter().map(|&v| reduce(v)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.b.len()
    }

    pub fn is_empty(&self) -> bool {
        self.b.is_empty()
    }
}

/// `(a * h + b) mod p` for `a = a_hi * 2^32 + a_lo < p`, `h = h_hi * 2^32 + h_lo < p`, `b < p`, without 128-bit
/// arithmetic: with `2^64 = 8` and `2^61 = 1` mod p, `a * h = 8 a_hi h_hi + mid * 2^32 + a_lo h_lo` where
/// `mid = a_hi h_lo + a_lo h_hi < 2^62` splits as `mid >> 29` (times 2^61 = 1) and `(mid mod 2^29) << 32`. The
/// six terms are each below 2^61 (or 2^33), so their sum is below 2^64 and one fold and one subtraction finish.
#[inline(always)]
fn permute_exact(a_lo: u64, a_hi: u64, b: u64, h_lo: u64, h_hi: u64) -> u64 {
    let lo = a_lo * h_lo;
    let mid = a_hi * h_lo + a_lo * h_hi;
    let top = a_hi * h_hi;
    let x = (top << 3) + (mid >> 29) + ((mid & ((1 << 29) - 1)) << 32) + (lo & MERSENNE) + (lo >> 61) + b;
    reduce_folded((x & MERSENNE) + (x >> 61))
}

/// datatrove's `((a * h + b) mod 2^64) mod p`, the low 64 bits of `a * h` from three 32x32->64 multiplies.
#[inline(always)]
fn permute_datatrove(a_lo: u64, a_hi: u64, b: u64, h_lo: u64, h_hi: u64) -> u64 {
    let cross = (a_hi * h_lo).wrapping_add(a_lo * h_hi);
    let x = (a_lo * h_lo).wrapping_add(cross << 32).wrapping_add(b);
    reduce_folded((x & MERSENNE) + (x >> 61))
}

/// `x mod p` for `x < 2p`.
#[inline(always)]
fn reduce_folded(x: u64) -> u64 {
    if x >= MERSENNE {
        x - MERSENNE
    } else {
        x
    }
}

/// The MinHash signature of `shingles` under `perms` into `out` (one value per permutation); `false` (and `out`
/// untouched) when there is no shingle.
pub fn signature(shingles: &[u64], perms: &Permutations, out: &mut [u64]) -> bool {
    if shingles.is_empty() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, the only feature `signature_avx512` is compiled for.
        unsafe { signature_avx512(shingles, perms, out) };
        return true;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, the only feature `signature_avx2` is compiled for.
        unsafe { signature_avx2(shingles, perms, out) };
        return true;
    }
    signature_loop(shingles, perms, out);
    true
}

/// `signature_loop` compiled for AVX2 (4 permutations per instruction), chosen at run time so the library still
/// runs on any x86-64.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn signature_avx2(shingles: &[u64], perms: &Permutations, out: &mut [u64]) {
    signature_loop(shingles, perms, out)
}

/// `signature_loop` compiled for AVX-512F (8 permutations per instruction, and an unsigned 64-bit min).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn signature_avx512(shingles: &[u64], perms: &Permutations, out: &mut [u64]) {
    signature_loop(shingles, perms, out)
}

#[inline(always)]
fn signature_loop(shingles: &[u64], perms: &Permutations, out: &mut [u64]) {
    let n = perms.len();
    let (a_lo, a_hi, b, out) = (&perms.a_lo[..n], &perms.a_hi[..n], &perms.b[..n], &mut out[..n]);
    out.fill(u64::MAX);
    match perms.hashing {
        Hashing::Exact => {
            for &h in shingles {
                let h = h % MERSENNE;
                let (h_lo, h_hi) = (h & LOW32, h >> 32);
                for j in 0..n {
                    out[j] = out[j].min(permute_exact(a_lo[j], a_hi[j], b[j], h_lo, h_hi));
                }
            }
        }
        Hashing::Datatrove => {
            for &h in shingles {
                let (h_lo, h_hi) = (h & LOW32, h >> 32);
                for j in 0..n {
                    out[j] = out[j].min(permute_datatrove(a_lo[j], a_hi[j], b[j], h_lo, h_hi));
                }
            }
        }
    }
}

/// Band `k`'s key: the xxh3-64 (seed `k`) of its values as little-endian bytes; `bytes` is scratch.
pub fn band_keys(signature: &[u64], band_size: usize, bytes: &mut Vec<u8>, out: &mut [u64]) {
    for (k, (band, slot)) in signature.chunks_exact(band_size).zip(out.iter_mut()).enumerate() {
        bytes.clear();
        band.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        *slot = xxh3_64_with_seed(bytes, k as u64);
    }
}

/// What the permutations and bands are.
pub struct MinhashSpec<'a> {
    pub ngram_length: usize,
    pub hashing: Hashing,
    pub norm: ShingleNorm,
    pub a: &'a [u64],
    pub b: &'a [u64],
    pub band_size: usize,
}

/// Per text, row-major: `band_keys` (num_bands per text), whether it has a signature, its length in code points
/// (the span a flag covers), and (if asked) the signature itself (num_hashes per text; zeros for a text without one).
pub struct BatchSignatures {
    pub band_keys: Vec<u64>,
    pub lengths: Vec<i64>,
    pub has_signature: Vec<bool>,
    pub signatures: Option<Vec<u64>>,
}

/// Signatures and band keys of a batch of texts, in parallel over texts; each worker reuses one set of buffers.
pub fn batch_signatures<T: AsRef<str> + Sync>(texts: &[T], spec: &MinhashSpec<'_>, keep: bool) -> BatchSignatures {
    let perms = Permutations::new(spec.a, spec.b, spec.hashing);
    let num_hashes = perms.len();
    let num_bands = num_hashes / spec.band_size;
    assert!(num_bands > 0 && num_hashes.is_multiple_of(spec.band_size), "whole bands of at least one permutation");
    let mut all_keys = vec![0u64; texts.len() * num_bands];
    let mut signatures = vec![0u64; if keep { texts.len() * num_hashes } else { 0 }];
    let sign = |scratch: &mut Scratch, text: &T, keys: &mut [u64], kept: Option<&mut [u64]>| -> bool {
        normalize_into(text.as_ref(), spec.norm, &mut scratch.work, &mut scratch.normalized);
        shingles_into(&scratch.normalized, spec.ngram_length, spec.hashing, &mut scratch.starts, &mut scratch.hashes);
        let sig = match kept {
            Some(sig) => sig,
            None => &mut scratch.signature[..],
        };
        if !signature(&scratch.hashes, &perms, sig) {
            sig.fill(0);
            return false;
        }
        band_keys(sig, spec.band_size, &mut scratch.band_bytes, keys);
        true
    };
    let init = || Scratch { signature: vec![0; num_hashes], ..Scratch::default() };
    let has_signature: Vec<bool> = if keep {
        texts
            .par_iter()
            .zip(all_keys.par_chunks_mut(num_bands))
            .zip(signatures.par_chunks_mut(num_hashes))
            .map_init(init, |scratch, ((text, keys), sig)| sign(scratch, text, keys, Some(sig)))
            .collect()
    } else {
        texts
            .par_iter()
            .zip(all_keys.par_chunks_mut(num_bands))
            .map_init(init, |scratch, (text, keys)| sign(scratch, text, keys, None))
            .collect()
    };
    BatchSignatures {
        band_keys: all_keys,
        lengths: texts.par_iter().map(|t| t.as_ref().chars().count() as i64).collect(),
        has_signature,
        signatures: keep.then_some(signatures),
    }
}

/// What shingles are cut from a text: the n-gram length, the normalization and the shingle hash.
#[derive(Clone, Copy)]
pub struct ShingleSpec {
    pub ngram_length: usize,
    pub norm: ShingleNorm,
    pub hashing: Hashing,
}

/// The distinct shingle hashes of each text, sorted, concatenated; and how many each text has. These are the sets
/// whose exact Jaccard `jaccard_sorted` gives (hash collisions aside, the sets of n-grams themselves).
pub fn batch_shingle_sets<T: AsRef<str> + Sync>(texts: &[T], spec: ShingleSpec) -> (Vec<u64>, Vec<i64>) {
    let sets: Vec<Vec<u64>> = texts
        .par_iter()
        .map_init(Scratch::default, |scratch, text| {
            normalize_into(text.as_ref(), spec.norm, &mut scratch.work, &mut scratch.normalized);
            shingles_into(
                &scratch.normalized,
                spec.ngram_length,
                spec.hashing,
                &mut scratch.starts,
                &mut scratch.hashes,
            );
            let mut set = scratch.hashes.clone();
            set.sort_unstable();
            set.dedup();
            set
        })
        .collect();
    let counts = sets.iter().map(|set| set.len() as i64).collect();
    (sets.concat(), counts)
}

/// The Jaccard index `|a ∩ b| / |a ∪ b|` of two sorted sets without repeats (0 when both are empty).
pub fn jaccard_sorted(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - common;
    if union == 0 {
        0.0
    } else {
        common as f64 / union as f64
    }
}

/// One worker's buffers: the decomposed and the normalized text, its word starts, its shingle hashes, a
/// signature and a band's bytes.
#[derive(Default)]
struct Scratch {
    work: String,
    normalized: String,
    starts: Vec<usize>,
    hashes: Vec<u64>,
    signature: Vec<u64>,
    band_bytes: Vec<u8>,
}

/// A run of `(band_key, doc_key)` records: 16 little-endian bytes each, sorted; records `start..end` are read.
pub struct RunSlice<'a> {
    pub path: &'a Path,
    pub start: usize,
    pub end: usize,
}

const RECORD: usize = 16;

fn record(map: &[u8], i: usize) -> (u64, u64) {
    let at = i * RECORD;
    let key = u64::from_le_bytes(map[at..at + 8].try_into().unwrap());
    let doc = u64::from_le_bytes(map[at + 8..at + RECORD].try_into().unwrap());
    (key, doc)
}

/// K-way merge of sorted runs (memory-mapped: the OS pages them in and out, so only the heap of one record
/// per run is held) into candidate edges: each document of a bucket (records with one band key) joined to the
/// bucket's first, smallest doc_key. Returns the distinct `(doc, first)` edges, sorted.
pub fn merge_runs(runs: &[RunSlice<'_>]) -> io::Result<Vec<[u64; 2]>> {
    let mut maps = Vec::with_capacity(runs.len());
    for run in runs {
        let file = File::open(run.path)?;
        let len = file.metadata()?.len() as usize;
        if !len.is_multiple_of(RECORD) || run.end * RECORD > len || run.start > run.end {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {len} bytes cannot hold records {}..{}", run.path.display(), run.start, run.end),
            ));
        }
        // SAFETY: run files are written once, atomically, and never modified while a merge reads them.
        maps.push(if len == 0 { None } else { Some(unsafe { Mmap::map(&file)? }) });
    }
    let mut heap = BinaryHeap::with_capacity(runs.len());
    let mut next: Vec<usize> = runs.iter().map(|r| r.start).collect();
    for (i, run) in runs.iter().enumerate() {
        if run.start < run.end {
            let (key, doc) = record(maps[i].as_ref().unwrap(), run.start);
            heap.push(Reverse((key, doc, i)));
            next[i] += 1;
        }
    }
    let mut edges = Vec::new();
    let mut bucket: Option<(u64, u64)> = None;
    while let Some(Reverse((key, doc, i))) = heap.pop() {
        match bucket {
            Some((current, first)) if current == key => {
                if doc != first {
                    edges.push([doc, first]);
                }
            }
            _ => bucket = Some((key, doc)),
        }
        if next[i] < runs[i].end {
            let (key, doc) = record(maps[i].as_ref().unwrap(), next[i]);
            heap.push(Reverse((key, doc, i)));
            next[i] += 1;
        }
    }
    edges.sort_unstable();
    edges.dedup();
    Ok(edges)
}

/// Union-find over doc_keys, holding only the documents that have an edge. The root of a cluster is its
/// smallest doc_key (a union hangs the larger root under the smaller), so clusters do not depend on edge order.
#[derive(Default)]
pub struct Clusters {
    index: FxHashMap<u64, u32>,
    keys: Vec<u64>,
    parent: Vec<u32>,
}

impl Clusters {
    fn node(&mut self, key: u64) -> u32 {
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.keys.len() as u32;
        self.index.insert(key, i);
        self.keys.push(key);
        self.parent.push(i);
        i
    }

    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let grand = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = grand;
            i = grand;
        }
        i
    }

    /// Join the two documents' clusters.
    pub fn union(&mut self, a: u64, b: u64) {
        let (a, b) = (self.node(a), self.node(b));
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (small, large) = if self.keys[ra as usize] < self.keys[rb as usize] { (ra, rb) } else { (rb, ra) };
        self.parent[large as usize] = small;
    }

    /// Every document with an edge and its cluster's root (smallest doc_key), sorted by document.
    pub fn components(&mut self) -> (Vec<u64>, Vec<u64>) {
        let mut order: Vec<u32> = (0..self.keys.len() as u32).collect();
        order.sort_unstable_by_key(|&i| self.keys[i as usize]);
        let roots = order
            .iter()
            .map(|&i| {
                let r = self.find(i);
                self.keys[r as usize]
            })
            .collect();
        (order.iter().map(|&i| self.keys[i as usize]).collect(), roots)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn normalizes_like_datatrove_simplify_text() {
        let norm = ShingleNorm::DATATROVE;
        assert_eq!(shingle_text("  Hello, World!\n\tIt's 3.14 or 1,000,000 ", norm), "hello world it s 0 or 0 0");
        assert_eq!(shingle_text("Café naïve — ÉTÉ", norm), "cafe naive ete");
        assert_eq!(shingle_text("well-known", norm), "well known");
        assert_eq!(shingle_text("a1b2", norm), "a0b0");
        let plain = ShingleNorm {
            lowercase: false,
            strip_punctuation: false,
            strip_digits: true,
            normalize_numbers: false,
            strip_diacritics: false,
        };
        assert_eq!(shingle_text("A1 b, c2", plain), "A b, c");
        assert_eq!(shingle_text("", norm), "");
        assert_eq!(shingle_text("...", norm), "");
    }

    #[test]
    fn jaccard_of_sorted_sets_counts_common_over_union() {
        assert_eq!(jaccard_sorted(&[1, 2, 3, 4], &[3, 4, 5, 6]), 2.0 / 6.0);
        assert_eq!(jaccard_sorted(&[1, 2], &[1, 2]), 1.0);
        assert_eq!(jaccard_sorted(&[1], &[2]), 0.0);
        assert_eq!(jaccard_sorted(&[], &[]), 0.0);
        assert_eq!(jaccard_sorted(&[], &[7]), 0.0);
    }

    #[test]
    fn shingle_sets_are_the_sorted_distinct_shingles_of_each_text() {
        let norm = ShingleNorm {
            lowercase: true,
            strip_punctuation: true,
            strip_digits: false,
            normalize_numbers: false,
            strip_diacritics: false,
        };
        let spec = ShingleSpec { ngram_length: 2, norm, hashing: Hashing::Exact };
        let (values, counts) = batch_shingle_sets(&["a b a b", "", "x y z"], spec);
        assert_eq!(counts, vec![2, 0, 2]);
        let mut first = vec![xxh3_64(b"a b"), xxh3_64(b"b a")];
        first.sort_unstable();
        let mut third = vec![xxh3_64(b"x y"), xxh3_64(b"y z")];
        third.sort_unstable();
        assert_eq!(values, [first, third].concat());
    }

    #[test]
    fn shingles_are_hashes_of_space_joined_ngrams() {
        let shingles = |text: &str, n, hashing| {
            let (mut starts, mut out) = (vec![7], vec![7]);
            shingles_into(text, n, hashing, &mut starts, &mut out);
            out
        };
        let got = shingles("a b c d", 3, Hashing::Exact);
        assert_eq!(got, vec![xxh3_64(b"a b c"), xxh3_64(b"b c d")]);
        assert_eq!(shingles("a b c d", 3, Hashing::Datatrove), vec![xxh64(b"a b c", 0), xxh64(b"b c d", 0)]);
        assert_eq!(shingles("ab cd", 1, Hashing::Exact), vec![xxh3_64(b"ab"), xxh3_64(b"cd")]);
        assert_eq!(shingles("ab cd", 2, Hashing::Exact), vec![xxh3_64(b"ab cd")]);
        assert!(shingles("a b", 3, Hashing::Exact).is_empty());
        assert_eq!(shingles("a b c", 3, Hashing::Exact).len(), 1);
        assert!(shingles("", 1, Hashing::Exact).is_empty());
    }

    /// Every combination of the five normalization flags.
    fn all_norms() -> impl Iterator<Item = ShingleNorm> {
        (0..32u8).map(|bits| ShingleNorm {
            lowercase: bits & 1 != 0,
            strip_punctuation: bits & 2 != 0,
            strip_digits: bits & 4 != 0,
            normalize_numbers: bits & 8 != 0,
            strip_diacritics: bits & 16 != 0,
        })
    }

    #[test]
    fn ascii_fast_path_equals_the_char_loop() {
        let texts = [
            "  Hello, World!\n\tIt's 3.14 or 1,000,000 ",
            "x\u{0b}y\u{0c}z\rw  a.b 1. 2.x 3,4,5 .5 7..8 9,",
            "MiXeD_case-words (and) [brackets] {braces} ~tilde~ `tick` 12ab34 0.0.0",
            "",
            "...",
            "1",
            "a1",
            "  trailing  ",
        ];
        for norm in all_norms() {
            for text in texts {
                let lowered = if norm.lowercase { text.to_ascii_lowercase() } else { text.to_string() };
                let mut slow = String::new();
                normalize_chars(&lowered, norm, &mut slow);
                let mut fast = String::from("stale");
                normalize_into(text, norm, &mut String::from("stale"), &mut fast);
                assert_eq!(fast, slow, "{text:?} {norm:?}");
            }
        }
    }

    /// Whole-string NFD and `str::to_lowercase`, then the char loop: the definition the run-wise path must equal.
    fn whole_string_reference(text: &str, norm: ShingleNorm) -> String {
        let mut text = text.to_string();
        if norm.strip_diacritics {
            text = text.nfd().filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark).collect();
        }
        if norm.lowercase {
            text = text.to_lowercase();
        }
        let mut out = String::new();
        normalize_chars(&text, norm, &mut out);
        out
    }

    #[test]
    fn run_wise_unicode_path_equals_whole_string_normalization() {
        let texts = [
            "Café naïve — ÉTÉ",
            "ΟΔΟΣ Σ σ ΣΑΣ. Σ",
            "İstanbul ǅemal ﬁne Straße",
            "١٢٣٫٤٥ and 12٫5 or ٣.٤",
            "e\u{301}\u{323}x a\u{323}\u{301}b \u{301}start",
            "한국어 텍스트, 日本語。 “quoted” ‘single’ «guillemets»",
            "Ångström ÅNGSTRÖM ǺǻḀ\u{2028}line\u{a0}nbsp",
        ];
        for norm in all_norms() {
            for text in texts {
                assert_eq!(shingle_text(text, norm), whole_string_reference(text, norm), "{text:?} {norm:?}");
            }
        }
    }

    #[test]
    fn permutation_arithmetic_equals_the_128_bit_reference() {
        let mut state = 0x9e3779b97f4a7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let edges = [0, 1, 2, MERSENNE - 1, MERSENNE, MERSENNE + 1, u64::MAX, u64::MAX - 1, 1 << 32, (1 << 32) - 1];
        let mut values: Vec<u64> = edges.to_vec();
        values.extend((0..300).map(|_| next()));
        for &a in &values {
            for &b in &values[..40] {
                let perms = Permutations::new(&[a], &[b], Hashing::Exact);
                let dt = Permutations::new(&[a], &[b], Hashing::Datatrove);
                for &h in &values[..60] {
                    let hm = h % MERSENNE;
                    let got = permute_exact(perms.a_lo[0], perms.a_hi[0], perms.b[0], hm & LOW32, hm >> 32);
                    let want = ((a as u128 * hm as u128 + b as u128) % MERSENNE as u128) as u64;
                    assert_eq!(got, want, "exact a={a} b={b} h={h}");
                    let got = permute_datatrove(dt.a_lo[0], dt.a_hi[0], dt.b[0], h & LOW32, h >> 32);
                    assert_eq!(got, h.wrapping_mul(a).wrapping_add(b) % MERSENNE, "datatrove a={a} b={b} h={h}");
                }
            }
        }
    }

    #[test]
    fn permutations_are_exact_modulo_the_mersenne_prime() {
        let a = [MERSENNE - 1, 3, 7, u64::MAX, 12345, 1 << 60, 99];
        let b = [5, MERSENNE - 1, 0, u64::MAX, 1, 2, 3];
        let shingles = [u64::MAX, 0, 42, MERSENNE, 1 << 63];
        let mut out = [0; 7];
        assert!(signature(&shingles, &Permutations::new(&a, &b, Hashing::Exact), &mut out));
        for j in 0..7 {
            let value = |h: u64| ((a[j] as u128 * (h % MERSENNE) as u128 + b[j] as u128) % MERSENNE as u128) as u64;
            assert_eq!(out[j], shingles.iter().map(|&h| value(h)).min().unwrap());
        }
        assert!(signature(&shingles, &Permutations::new(&a, &b, Hashing::Datatrove), &mut out));
        for j in 0..7 {
            let value = |h: u64| h.wrapping_mul(a[j]).wrapping_add(b[j]) % MERSENNE;
            assert_eq!(out[j], shingles.iter().map(|&h| value(h)).min().unwrap());
        }
        let perms = Permutations::new(&a, &b, Hashing::Exact);
        assert!(!signature(&[], &perms, &mut out));
        // the minimum over shingles, independent of their order; the portable loop agrees with the dispatched one
        let mut x = [0; 7];
        let mut y = [0; 7];
        signature(&[1, 2, 3], &perms, &mut x);
        signature(&[3, 1, 2], &perms, &mut y);
        assert_eq!(x, y);
        signature_loop(&[2, 3, 1], &perms, &mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn equal_bands_share_keys_and_bands_do_not_collide() {
        let mut keys = [0; 2];
        band_keys(&[1, 2, 1, 2], 2, &mut Vec::new(), &mut keys);
        assert_ne!(keys[0], keys[1], "band index seeds the key");
        let mut other = [0; 2];
        band_keys(&[1, 2, 9, 9], 2, &mut Vec::new(), &mut other);
        assert_eq!(keys[0], other[0]);
        assert_ne!(keys[1], other[1]);
    }

    #[test]
    fn batch_marks_texts_without_shingles() {
        let a: Vec<u64> = (1..=4).collect();
        let b: Vec<u64> = (0..4).collect();
        let spec = MinhashSpec {
            ngram_length: 2,
            hashing: Hashing::Exact,
            norm: ShingleNorm::DATATROVE,
            a: &a,
            b: &b,
            band_size: 2,
        };
        let out = batch_signatures(&["one two three", "one", "One, two three!"], &spec, true);
        assert_eq!(out.has_signature, vec![true, false, true]);
        assert_eq!(out.lengths, vec![13, 3, 15]);
        assert_eq!(&out.band_keys[0..2], &out.band_keys[4..6]);
        assert_eq!(&out.band_keys[2..4], &[0, 0]);
        assert_eq!(out.signatures.unwrap().len(), 12);
    }

    fn run_file(dir: &Path, name: &str, records: &[(u64, u64)]) -> std::path::PathBuf {
        let path = dir.join(name);
        let mut file = File::create(&path).unwrap();
        for (k, d) in records {
            file.write_all(&k.to_le_bytes()).unwrap();
            file.write_all(&d.to_le_bytes()).unwrap();
        }
        path
    }

    #[test]
    fn merge_joins_each_bucket_member_to_its_smallest_doc() {
        let dir = tempfile::tempdir().unwrap();
        let one = run_file(dir.path(), "1", &[(1, 10), (5, 11), (7, 12)]);
        let two = run_file(dir.path(), "2", &[(1, 3), (5, 20), (5, 21), (8, 1)]);
        let runs = [RunSlice { path: &one, start: 0, end: 3 }, RunSlice { path: &two, start: 0, end: 4 }];
        assert_eq!(merge_runs(&runs).unwrap(), vec![[10, 3], [20, 11], [21, 11]]);
        // slices restrict each run to a key range
        let runs = [RunSlice { path: &one, start: 1, end: 2 }, RunSlice { path: &two, start: 1, end: 3 }];
        assert_eq!(merge_runs(&runs).unwrap(), vec![[20, 11], [21, 11]]);
        let bad = [RunSlice { path: &one, start: 0, end: 4 }];
        assert!(merge_runs(&bad).is_err());
    }

    #[test]
    fn clusters_are_rooted_at_their_smallest_doc_whatever_the_edge_order() {
        let edges = [(9, 4), (4, 7), (2, 8), (8, 9), (20, 30)];
        let mut forward = Clusters::default();
        edges.iter().for_each(|&(a, b)| forward.union(a, b));
        let mut backward = Clusters::default();
        edges.iter().rev().for_each(|&(a, b)| backward.union(b, a));
        let expect = (vec![2, 4, 7, 8, 9, 20, 30], vec![2, 2, 2, 2, 2, 20, 20]);
        assert_eq!(forward.components(), expect);
        assert_eq!(backward.components(), expect);
    }
}
