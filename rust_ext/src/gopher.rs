//! Gopher document statistics (Rae et al. 2021) with the exact definitions of dolma 1.2.1's `gopher_v1` and
//! `gopher_v2`: Python `str.split()` words, count-weighted n-gram character fractions, the same denominators
//! and the same tie-breaking (the first-seen n-gram wins among equally common ones).

use rustc_hash::FxHashMap;

use crate::pyunicode::{self, char_len};

const REQUIRED_WORDS: [&str; 8] = ["the", "be", "to", "of", "and", "that", "have", "with"];

/// Smallest and largest n for "fraction of characters in the most common n-gram".
pub const MOST_COMMON_N: std::ops::RangeInclusive<usize> = 2..=4;
/// Smallest and largest n for "fraction of characters in duplicate n-grams".
pub const DUPLICATE_N: std::ops::RangeInclusive<usize> = 5..=10;

/// Statistics of one document; n-gram entries are `None` when the document has fewer than n words
/// (dolma emits no attribute for them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GopherStats {
    pub character_count: usize,
    pub word_count: usize,
    pub median_word_length: f64,
    pub symbol_to_word_ratio: f64,
    pub fraction_of_words_with_alpha_character: f64,
    pub required_word_count: usize,
    /// Indexed by n - 2 for n in `MOST_COMMON_N`.
    pub most_common_ngram: [Option<f64>; 3],
    /// Indexed by n - 5 for n in `DUPLICATE_N`.
    pub duplicate_ngrams: [Option<f64>; 6],
    pub fraction_of_lines_starting_with_bullet_point: f64,
    pub fraction_of_lines_ending_with_ellipsis: f64,
    pub fraction_of_duplicate_lines: f64,
    pub fraction_of_characters_in_duplicate_lines: f64,
}

/// What is known of a distinct word, computed once per vocabulary entry.
struct WordInfo {
    len: u64,
    has_symbol: bool,
    has_alpha: bool,
    required: bool,
}

impl WordInfo {
    fn new(word: &str) -> Self {
        let (len, has_symbol, has_alpha) = if word.is_ascii() {
            let b = word.as_bytes();
            (b.len(), b.contains(&b'#'), b.iter().any(u8::is_ascii_alphabetic))
        } else {
            (word.chars().count(), word.contains(['#', '\u{2026}']), word.chars().any(pyunicode::is_alpha))
        };
        WordInfo { len: len as u64, has_symbol, has_alpha, required: REQUIRED_WORDS.contains(&word) }
    }
}

/// Word -> id map. Words of up to 7 bytes (most words) are keyed by their bytes and length packed in a u64,
/// which hashes and compares faster than a string key.
struct Vocabulary<'a> {
    short: FxHashMap<u64, u32>,
    long: FxHashMap<&'a str, u32>,
}

impl<'a> Vocabulary<'a> {
    fn with_capacity(capacity: usize) -> Self {
        Vocabulary {
            short: FxHashMap::with_capacity_and_hasher(capacity, Default::default()),
            long: FxHashMap::with_capacity_and_hasher(capacity / 4, Default::default()),
        }
    }

    /// The id of `word`, which gets `next` if it is new.
    #[inline]
    fn id(&mut self, word: &'a str, next: u32) -> u32 {
        let bytes = word.as_bytes();
        if bytes.len() <= 7 {
            let mut packed = [0u8; 8];
            packed[..bytes.len()].copy_from_slice(bytes);
            packed[7] = bytes.len() as u8;
            *self.short.entry(u64::from_le_bytes(packed)).or_insert(next)
        } else {
            *self.long.entry(word).or_insert(next)
        }
    }
}

/// Gopher statistics of `text`; `ignore_empty_lines` splits lines on runs of newlines (dolma's `gopher_v2`).
pub fn gopher_stats(text: &str, ignore_empty_lines: bool) -> GopherStats {
    let mut stats = GopherStats { character_count: char_len(text), ..Default::default() };
    if text.is_empty() {
        return stats;
    }

    // Web text averages ~6 bytes per word; reserving up front avoids rehashing as the vocabulary grows.
    let expected_words = text.len() / 6 + 1;
    let mut vocab = Vocabulary::with_capacity(expected_words / 2);
    let mut infos: Vec<WordInfo> = Vec::with_capacity(expected_words / 2);
    let mut ids: Vec<u32> = Vec::with_capacity(expected_words);
    for (_, word) in pyunicode::words(text) {
        let next = infos.len() as u32;
        let id = vocab.id(word, next);
        if id == next {
            infos.push(WordInfo::new(word));
        }
        ids.push(id);
    }
    let lens: Vec<u64> = ids.iter().map(|&id| infos[id as usize].len).collect();
    let word_count = ids.len();
    let word_chars: u64 = lens.iter().sum();
    let per_word = word_count.max(1) as f64;

    stats.word_count = word_count;
    stats.median_word_length = median(&lens);
    stats.symbol_to_word_ratio = ids.iter().filter(|&&id| infos[id as usize].has_symbol).count() as f64 / per_word;
    stats.fraction_of_words_with_alpha_character =
        ids.iter().filter(|&&id| infos[id as usize].has_alpha).count() as f64 / per_word;
    stats.required_word_count = ids.iter().filter(|&&id| infos[id as usize].required).count();

    ngram_fractions(&ids, &lens, word_chars, &mut stats);
    line_fractions(text, ignore_empty_lines, word_chars, &mut stats);
    stats
}

/// `statistics.median` of the word lengths (mean of the two middle values for an even count), 0 when empty.
fn median(lens: &[u64]) -> f64 {
    if lens.is_empty() {
        return 0.0;
    }
    let mut v = lens.to_vec();
    let mid = v.len() / 2;
    let (left, &mut upper, _) = v.select_nth_unstable(mid);
    if lens.len() % 2 == 1 {
        upper as f64
    } else {
        let lower = *left.iter().max().expect("even length >= 2 has a left half");
        (lower + upper) as f64 / 2.0
    }
}

/// N-gram statistics for n = 2..=10. An n-gram starting at position i can only repeat if the (n-1)-gram at i
/// repeats, so each level hashes just the positions still repeating, as the pair (id of the (n-1)-gram, id of the
/// last word); every other position holds an n-gram occurring once. Character lengths come from prefix sums.
fn ngram_fractions(words: &[u32], lens: &[u64], word_chars: u64, stats: &mut GopherStats) {
    let mut prefix = Vec::with_capacity(lens.len() + 1);
    prefix.push(0u64);
    for &l in lens {
        prefix.push(prefix.last().copied().unwrap_or(0) + l);
    }
    let span = |i: usize, n: usize| prefix[i + n] - prefix[i];
    let char_denominator = word_chars.max(1) as f64;

    // Positions whose current (n-1)-gram occurs more than once, with that n-gram's id.
    let mut word_counts = vec![0u32; words.iter().map(|&w| w as usize + 1).max().unwrap_or(0)];
    for &w in words {
        word_counts[w as usize] += 1;
    }
    let mut active: Vec<(u32, u32)> =
        (0..words.len()).filter(|&i| word_counts[words[i] as usize] > 1).map(|i| (i as u32, words[i])).collect();
    let mut table: FxHashMap<u64, u32> = FxHashMap::default();
    let mut counts: Vec<u32> = Vec::new();
    let mut first_pos: Vec<u32> = Vec::new();
    let mut ids: Vec<(u32, u32)> = Vec::new();

    for n in 2..=*DUPLICATE_N.end() {
        if words.len() < n {
            break;
        }
        let m = words.len() - n + 1;
        table.clear();
        table.reserve(active.len());
        counts.clear();
        first_pos.clear();
        ids.clear();
        for &(pos, prev) in active.iter().take_while(|&&(pos, _)| (pos as usize) < m) {
            let key = (u64::from(prev) << 32) | u64::from(words[pos as usize + n - 1]);
            let next = counts.len() as u32;
            let id = *table.entry(key).or_insert(next);
            if id == next {
                counts.push(1);
                first_pos.push(pos);
            } else {
                counts[id as usize] += 1;
            }
            ids.push((pos, id));
        }

        if MOST_COMMON_N.contains(&n) {
            // Counter.most_common(1): the first-inserted n-gram among those with the highest count; when every
            // n-gram occurs once, that is the n-gram at position 0.
            let (count, pos) =
                counts.iter().zip(&first_pos).filter(|(&c, _)| c > 1).fold((1u32, 0u32), |(bc, bp), (&c, &p)| {
                    if c > bc || (c == bc && p < bp) {
                        (c, p)
                    } else {
                        (bc, bp)
                    }
                });
            stats.most_common_ngram[n - 2] = Some((u64::from(count) * span(pos as usize, n)) as f64 / char_denominator);
        } else {
            let total: u64 = (0..m).map(|i| span(i, n)).sum();
            let duplicated: u64 =
                ids.iter().filter(|(_, id)| counts[*id as usize] > 1).map(|&(pos, _)| span(pos as usize, n)).sum();
            stats.duplicate_ngrams[n - 5] = Some(duplicated as f64 / total.max(1) as f64);
        }
        active.clear();
        active.extend(ids.iter().filter(|(_, id)| counts[*id as usize] > 1));
    }
}

/// Line statistics: `text.split("\n")`, or `re.split(r"\n+", text)` when `ignore_empty_lines`.
fn line_fractions(text: &str, ignore_empty_lines: bool, word_chars: u64, stats: &mut GopherStats) {
    let lines: Vec<&str> = if ignore_empty_lines {
        let pieces: Vec<&str> = text.split('\n').collect();
        let last = pieces.len() - 1;
        // A run of k newlines leaves k-1 empty pieces between them; `re.split` yields none of those.
        pieces.iter().enumerate().filter(|&(i, p)| i == 0 || i == last || !p.is_empty()).map(|(_, p)| *p).collect()
    } else {
        text.split('\n').collect()
    };
    let line_count = lines.len() as f64;
    let bullets = lines.iter().filter(|l| l.starts_with(['*', '-'])).count();
    let ellipsis = lines.iter().filter(|l| l.ends_with('\u{2026}')).count();
    stats.fraction_of_lines_starting_with_bullet_point = bullets as f64 / line_count;
    stats.fraction_of_lines_ending_with_ellipsis = ellipsis as f64 / line_count;

    let mut counts: FxHashMap<&str, u64> = FxHashMap::with_capacity_and_hasher(lines.len(), Default::default());
    for line in &lines {
        *counts.entry(line).or_insert(0) += 1;
    }
    let (dup_lines, dup_chars) = counts
        .iter()
        .filter(|(_, &c)| c > 1)
        .fold((0u64, 0u64), |(n, ch), (line, &c)| (n + c, ch + char_len(line) as u64 * c));
    stats.fraction_of_duplicate_lines = dup_lines as f64 / line_count;
    stats.fraction_of_characters_in_duplicate_lines = dup_chars as f64 / word_chars.max(1) as f64;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_has_no_ngrams() {
        let s = gopher_stats("", false);
        assert_eq!(s, GopherStats::default());
    }

    #[test]
    fn whitespace_only() {
        let s = gopher_stats(" \n\n", false);
        assert_eq!(s.character_count, 3);
        assert_eq!(s.word_count, 0);
        assert_eq!(s.most_common_ngram, [None; 3]);
        // lines: " ", "", "" -> the empty line repeats twice out of three lines
        assert_eq!(s.fraction_of_duplicate_lines, 2.0 / 3.0);
        assert_eq!(s.fraction_of_characters_in_duplicate_lines, 0.0);
    }

    #[test]
    fn hand_computed() {
        // words: the cat the cat the dog (6 words, 18 chars)
        let s = gopher_stats("the cat the cat\nthe dog", false);
        assert_eq!(s.word_count, 6);
        assert_eq!(s.median_word_length, 3.0);
        assert_eq!(s.required_word_count, 3);
        // bigrams: (the cat) x2, (cat the) x2, (the dog) x1 -> first most common "the cat": 2*6/18
        assert_eq!(s.most_common_ngram[0], Some(12.0 / 18.0));
        // trigrams: the cat the x2 (9 chars) -> 18/18
        assert_eq!(s.most_common_ngram[1], Some(1.0));
        // 4-grams all unique -> first one, "the cat the cat": 12/18
        assert_eq!(s.most_common_ngram[2], Some(12.0 / 18.0));
        // 5-grams: 2 unique -> no duplicates
        assert_eq!(s.duplicate_ngrams[0], Some(0.0));
        assert_eq!(s.duplicate_ngrams[1], Some(0.0));
        assert_eq!(s.duplicate_ngrams[2], None);
    }

    #[test]
    fn duplicate_ngrams_are_count_weighted() {
        let text = "a b c d e a b c d e";
        let s = gopher_stats(text, false);
        // 5-grams: "a b c d e" x2 and 4 unique ones; all 6 have 5 chars -> 10/30
        assert_eq!(s.duplicate_ngrams[0], Some(10.0 / 30.0));
        assert_eq!(s.duplicate_ngrams[5], Some(0.0));
    }

    #[test]
    fn median_even_and_unicode_lengths() {
        let s = gopher_stats("ab 中文字 x 😀😀😀😀", false);
        // lengths 2, 3, 1, 4 -> (2 + 3) / 2
        assert_eq!(s.median_word_length, 2.5);
        assert_eq!(s.fraction_of_words_with_alpha_character, 0.75);
    }

    #[test]
    fn lines_and_symbols() {
        let text = "- item\u{2026}\n* item #tag\n\n\n- item\u{2026}";
        let s = gopher_stats(text, false);
        assert_eq!(s.fraction_of_lines_starting_with_bullet_point, 3.0 / 5.0);
        assert_eq!(s.fraction_of_lines_ending_with_ellipsis, 2.0 / 5.0);
        assert_eq!(s.symbol_to_word_ratio, 3.0 / 7.0);
        // duplicates: "- item…" x2 (7 chars each) and "" x2
        assert_eq!(s.fraction_of_duplicate_lines, 4.0 / 5.0);
        let word_chars = (1 + 5) * 2 + 1 + 4 + 4;
        assert_eq!(s.fraction_of_characters_in_duplicate_lines, 14.0 / word_chars as f64);
        let v2 = gopher_stats(text, true);
        assert_eq!(v2.fraction_of_duplicate_lines, 2.0 / 3.0);
        let edge = gopher_stats("\n\nx\n\n", true);
        // re.split(r"\n+", "\n\nx\n\n") == ["", "x", ""]
        assert_eq!(edge.fraction_of_duplicate_lines, 2.0 / 3.0);
    }
}
