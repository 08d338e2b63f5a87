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
    let decomposed: String;
    let mut text = text;
    if norm.strip_diacritics && !text.is_ascii() {
        decomposed = text.nfd().filter(|&c| get_general_category(c) != GeneralCategory::NonspacingMark).collect();
        text = &decomposed;
    }
    let lowered: String;
    if norm.lowercase {
        lowered = if text.is_ascii() { text.to_ascii_lowercase() } else { text.to_lowercase() };
        text = &lowered;
    }
    let mut out = String::with_capacity(text.len());
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
    out
}

fn skip_digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|&c| is_digit(c)) {
        chars.next();
    }
}

/// The hash (xxh3-64, or xxh64 for `Hashing::Datatrove`) of each `n`-gram of the words of `normalized` (as
/// `shingle_text` returns), in order.
pub fn shingles(normalized: &str, n: usize, hashing: Hashing) -> Vec<u64> {
    if normalized.is_empty() || n == 0 {
        return Vec::new();
    }
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    let mut start = 0;
    for (i, b) in normalized.bytes().enumerate() {
        if b == b' ' {
            starts.push(start);
            ends.push(i);
            start = i + 1;
        }
    }
    starts.push(start);
    ends.push(normalized.len());
    if starts.len() < n {
        return Vec::new();
    }
    let hash = |bytes: &[u8]| match hashing {
        Hashing::Exact => xxh3_64(bytes),
        Hashing::Datatrove => xxh64(bytes, 0),
    };
    (0..=starts.len() - n).map(|i| hash(&normalized.as_bytes()[starts[i]..ends[i + n - 1]])).collect()
}

#[inline]
fn mod_mersenne(x: u128) -> u64 {
    let folded = (x & MERSENNE as u128) + (x >> 61);
    let folded = ((folded & MERSENNE as u128) + (folded >> 61)) as u64;
    if folded >= MERSENNE {
        folded - MERSENNE
    } else {
        folded
    }
}

/// The MinHash signature of `shingles` under the permutations `(a[j] * h + b[j]) mod p` into `out` (one value
/// per permutation); `false` (and `out` untouched) when there is no shingle.
pub fn signature(shingles: &[u64], a: &[u64], b: &[u64], hashing: Hashing, out: &mut [u64]) -> bool {
    if shingles.is_empty() {
        return false;
    }
    out.fill(u64::MAX);
    if hashing == Hashing::Datatrove {
        for &h in shingles {
            for ((slot, &a), &b) in out.iter_mut().zip(a).zip(b) {
                let value = mod_mersenne(h.wrapping_mul(a).wrapping_add(b) as u128);
                *slot = (*slot).min(value);
            }
        }
        return true;
    }
    for &h in shingles {
        let h = (h % MERSENNE) as u128;
        for ((slot, &a), &b) in out.iter_mut().zip(a).zip(b) {
            let value = mod_mersenne(a as u128 * h + b as u128);
            *slot = (*slot).min(value);
        }
    }
    true
}

/// Band `k`'s key: the xxh3-64 (seed `k`) of its values as little-endian bytes.
pub fn band_keys(signature: &[u64], band_size: usize, out: &mut [u64]) {
    let mut bytes = Vec::with_capacity(band_size * 8);
    for (k, (band, slot)) in signature.chunks_exact(band_size).zip(out.iter_mut()).enumerate() {
        bytes.clear();
        band.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        *slot = xxh3_64_with_seed(&bytes, k as u64);
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

/// Signatures and band keys of a batch of texts, in parallel over texts.
pub fn batch_signatures<T: AsRef<str> + Sync>(texts: &[T], spec: &MinhashSpec<'_>, keep: bool) -> BatchSignatures {
    let num_hashes = spec.a.len();
    let num_bands = num_hashes / spec.band_size;
    let rows: Vec<(Vec<u64>, Option<Vec<u64>>)> = texts
        .par_iter()
        .map(|text| {
            let normalized = shingle_text(text.as_ref(), spec.norm);
            let mut sig = vec![0u64; num_hashes];
            let hashes = shingles(&normalized, spec.ngram_length, spec.hashing);
            if !signature(&hashes, spec.a, spec.b, spec.hashing, &mut sig) {
                return (Vec::new(), None);
            }
            let mut keys = vec![0u64; num_bands];
            band_keys(&sig, spec.band_size, &mut keys);
            (keys, Some(sig))
        })
        .collect();
    let mut out = BatchSignatures {
        band_keys: Vec::with_capacity(rows.len() * num_bands),
        lengths: texts.par_iter().map(|t| t.as_ref().chars().count() as i64).collect(),
        has_signature: Vec::with_capacity(rows.len()),
        signatures: keep.then(|| Vec::with_capacity(rows.len() * num_hashes)),
    };
    for (keys, sig) in rows {
        out.has_signature.push(sig.is_some());
        if keys.is_empty() {
            out.band_keys.extend(std::iter::repeat_n(0, num_bands));
        } else {
            out.band_keys.extend_from_slice(&keys);
        }
        if let Some(all) = out.signatures.as_mut() {
            match sig {
                Some(sig) => all.extend_from_slice(&sig),
                None => all.extend(std::iter::repeat_n(0, num_hashes)),
            }
        }
    }
    out
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
    fn shingles_are_hashes_of_space_joined_ngrams() {
        let got = shingles("a b c d", 3, Hashing::Exact);
        assert_eq!(got, vec![xxh3_64(b"a b c"), xxh3_64(b"b c d")]);
        assert_eq!(shingles("a b c d", 3, Hashing::Datatrove), vec![xxh64(b"a b c", 0), xxh64(b"b c d", 0)]);
        assert!(shingles("a b", 3, Hashing::Exact).is_empty());
        assert_eq!(shingles("a b c", 3, Hashing::Exact).len(), 1);
        assert!(shingles("", 1, Hashing::Exact).is_empty());
    }

    #[test]
    fn permutations_are_exact_modulo_the_mersenne_prime() {
        let a = [MERSENNE - 1, 3];
        let b = [5, MERSENNE - 1];
        let h = u64::MAX;
        let mut out = [0; 2];
        assert!(signature(&[h], &a, &b, Hashing::Exact, &mut out));
        for j in 0..2 {
            let expect = ((a[j] as u128 * (h % MERSENNE) as u128 + b[j] as u128) % MERSENNE as u128) as u64;
            assert_eq!(out[j], expect);
        }
        assert!(signature(&[h], &a, &b, Hashing::Datatrove, &mut out));
        for j in 0..2 {
            assert_eq!(out[j], h.wrapping_mul(a[j]).wrapping_add(b[j]) % MERSENNE);
        }
        assert!(!signature(&[], &a, &b, Hashing::Exact, &mut out));
        // the minimum over shingles, independent of their order
        let mut x = [0; 2];
        let mut y = [0; 2];
        signature(&[1, 2, 3], &a, &b, Hashing::Exact, &mut x);
        signature(&[3, 1, 2], &a, &b, Hashing::Exact, &mut y);
        assert_eq!(x, y);
    }

    #[test]
    fn equal_bands_share_keys_and_bands_do_not_collide() {
        let mut keys = [0; 2];
        band_keys(&[1, 2, 1, 2], 2, &mut keys);
        assert_ne!(keys[0], keys[1], "band index seeds the key");
        let mut other = [0; 2];
        band_keys(&[1, 2, 9, 9], 2, &mut other);
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
