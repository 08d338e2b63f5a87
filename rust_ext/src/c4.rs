//! C4's heuristics (Raffel et al. 2020) as dolma 1.2.1's `c4_v1`/`c4_v2` apply them: per-line rules (no terminal
//! punctuation, fewer than 3 words) with code-point offsets, and document flags (naughty words, javascript,
//! lorem ipsum, curly braces) on the lowercased text.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use rustc_hash::FxHashSet;

use crate::pyunicode::{self, char_len};

/// Document flag: a naughty word (a whole lowercased word) or phrase (a substring of the lowercased text).
pub const NAUGHTY: u8 = 1;
/// Document flag: some whitespace-separated lowercased word is exactly "javascript" (`c4_v1`).
pub const JAVASCRIPT_WORD: u8 = 2;
/// Document flag: "javascript" occurs anywhere in the lowercased text (`c4_v2`).
pub const JAVASCRIPT_SUBSTRING: u8 = 4;
/// Document flag: "lorem ipsum" occurs in the lowercased text.
pub const LOREM_IPSUM: u8 = 8;
/// Document flag: the text contains "{".
pub const CURLY_BRACE: u8 = 16;

/// Line rule: the stripped line does not end with `.`, `?`, `!` or `"`.
pub const NO_ENDING_PUNCTUATION: u8 = 1;
/// Line rule: the line has fewer than `MIN_WORDS_PER_LINE` whitespace-separated words.
pub const TOO_FEW_WORDS: u8 = 2;
pub const MIN_WORDS_PER_LINE: usize = 3;

/// A line that breaks at least one line rule; offsets in code points, the newline included (but the last line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlaggedLine {
    pub start: usize,
    pub end: usize,
    pub rules: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct C4Result {
    pub flags: u8,
    pub line_count: usize,
    pub lines: Vec<FlaggedLine>,
}

/// The naughty-word list compiled for matching.
pub struct C4Rules {
    words: FxHashSet<String>,
    /// Longest naughty word or "javascript", in bytes: longer words need no lookup.
    longest_word: usize,
    /// Naughty phrases (entries with a space), ASCII-case-insensitive.
    phrases: AhoCorasick,
    /// "javascript" then "lorem ipsum", ASCII-case-insensitive; they cannot overlap each other.
    markers: AhoCorasick,
}

/// Non-ASCII characters whose lowercase contains ASCII: U+0130 (İ -> i + U+0307) and U+212A (Kelvin sign -> k).
/// Every other character keeps its ASCII-ness when lowercased, so without these two, ASCII-case-insensitive
/// matching of ASCII patterns on the text equals matching on `text.lower()`.
fn lowercases_into_ascii(text: &str) -> bool {
    text.contains(['\u{130}', '\u{212A}'])
}

impl C4Rules {
    /// Entries with a space are phrases matched as substrings; the others are whole words (as dolma splits them).
    pub fn new<S: AsRef<str>>(naughty_entries: &[S]) -> Self {
        let entries = naughty_entries.iter().map(AsRef::as_ref);
        let words: FxHashSet<String> = entries.clone().filter(|e| !e.contains(' ')).map(str::to_owned).collect();
        let phrases: Vec<&str> = entries.filter(|e| e.contains(' ')).collect();
        let build = |patterns: &[&str], kind| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .kind(Some(AhoCorasickKind::DFA))
                .match_kind(kind)
                .build(patterns)
                .expect("a few hundred literal patterns always compile")
        };
        C4Rules {
            longest_word: words.iter().map(String::len).max().unwrap_or(0).max("javascript".len()),
            words,
            phrases: build(&phrases, MatchKind::Standard),
            markers: build(&["javascript", "lorem ipsum"], MatchKind::LeftmostFirst),
        }
    }

    /// Document flags and flagged lines of one text.
    pub fn tag(&self, text: &str) -> C4Result {
        let mut result = C4Result { flags: self.document_flags(text), ..Default::default() };
        let total = char_len(text);
        let ascii = text.is_ascii();
        let mut start = 0;
        for line in text.split('\n') {
            result.line_count += 1;
            let mut end = start + if ascii { line.len() } else { line.chars().count() };
            if end != total {
                end += 1;
            }
            let stripped = pyunicode::strip(line);
            let mut rules = 0;
            if !stripped.ends_with(['.', '?', '!', '"']) {
                rules |= NO_ENDING_PUNCTUATION;
            }
            if pyunicode::words(stripped).take(MIN_WORDS_PER_LINE).count() < MIN_WORDS_PER_LINE {
                rules |= TOO_FEW_WORDS;
            }
            if rules != 0 {
                result.lines.push(FlaggedLine { start, end, rules });
            }
            start = end;
        }
        result
    }

    /// Flags as dolma computes them on `text.lower()`; the lowercased copy is only made when case-insensitive
    /// ASCII matching on `text` would differ from it.
    fn document_flags(&self, text: &str) -> u8 {
        let mut flags = 0;
        if text.contains('{') {
            flags |= CURLY_BRACE;
        }
        let lowered: Cow<str> = if lowercases_into_ascii(text) { Cow::Owned(text.to_lowercase()) } else { Cow::Borrowed(text) };
        let lowered: &str = &lowered;
        if self.phrases.is_match(lowered) {
            flags |= NAUGHTY;
        }
        for m in self.markers.find_iter(lowered) {
            flags |= if m.pattern().as_usize() == 0 { JAVASCRIPT_SUBSTRING } else { LOREM_IPSUM };
            if flags & (JAVASCRIPT_SUBSTRING | LOREM_IPSUM) == JAVASCRIPT_SUBSTRING | LOREM_IPSUM {
                break;
            }
        }
        // "javascript" as a word implies it as a substring, so the word scan is skipped without the substring.
        let wanted = if flags & JAVASCRIPT_SUBSTRING != 0 { NAUGHTY | JAVASCRIPT_WORD } else { NAUGHTY };
        if flags & wanted == wanted {
            return flags;
        }
        let mut buffer = String::new();
        for (_, word) in pyunicode::words(lowered) {
            if word.len() > self.longest_word && word.is_ascii() {
                continue;
            }
            let word: &str = if word.is_ascii() {
                if !word.bytes().any(|b| b.is_ascii_uppercase()) {
                    word
                } else {
                    buffer.clear();
                    buffer.push_str(word);
                    buffer.make_ascii_lowercase();
                    &buffer
                }
            } else {
                buffer = word.to_lowercase();
                &buffer
            };
            if word == "javascript" {
                flags |= JAVASCRIPT_WORD;
            }
            if flags & NAUGHTY == 0 && self.words.contains(word) {
                flags |= NAUGHTY;
            }
            if flags & wanted == wanted {
                break;
            }
        }
        flags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> C4Rules {
        C4Rules::new(&["badword", "two words", "\u{1f595}"])
    }

    #[test]
    fn empty_text_is_one_short_line() {
        let r = rules().tag("");
        assert_eq!(r.line_count, 1);
        assert_eq!(r.flags, 0);
        assert_eq!(r.lines, vec![FlaggedLine { start: 0, end: 0, rules: NO_ENDING_PUNCTUATION | TOO_FEW_WORDS }]);
    }

    #[test]
    fn line_offsets_include_newlines() {
        let r = rules().tag("One two three.\nshort line\n  \"Quoted words here\"  \n");
        assert_eq!(r.line_count, 4);
        assert_eq!(
            r.lines,
            vec![
                FlaggedLine { start: 15, end: 26, rules: NO_ENDING_PUNCTUATION | TOO_FEW_WORDS },
                FlaggedLine { start: 50, end: 50, rules: NO_ENDING_PUNCTUATION | TOO_FEW_WORDS },
            ]
        );
    }

    #[test]
    fn unicode_offsets_are_code_points() {
        let r = rules().tag("日本語のテキスト\u{3000}です。\nÉté 😀!");
        assert_eq!(
            r.lines,
            vec![
                FlaggedLine { start: 0, end: 13, rules: NO_ENDING_PUNCTUATION | TOO_FEW_WORDS },
                FlaggedLine { start: 13, end: 19, rules: TOO_FEW_WORDS },
            ]
        );
    }

    #[test]
    fn document_flags() {
        let r = rules();
        assert_eq!(r.tag("a BadWord here").flags, NAUGHTY);
        assert_eq!(r.tag("badwords are fine").flags, 0);
        assert_eq!(r.tag("say Two Words").flags, NAUGHTY);
        assert_eq!(r.tag("x \u{1f595} y").flags, NAUGHTY);
        assert_eq!(r.tag("enable JavaScript").flags, JAVASCRIPT_WORD | JAVASCRIPT_SUBSTRING);
        assert_eq!(r.tag("(javascript)").flags, JAVASCRIPT_SUBSTRING);
        assert_eq!(r.tag("Lorem Ipsum dolor {x}").flags, LOREM_IPSUM | CURLY_BRACE);
        assert_eq!(r.tag("lorem\nipsum").flags, 0);
        assert_eq!(r.tag("Ünïcode BADWORD and LOREM IPSUM").flags, NAUGHTY | LOREM_IPSUM);
        assert_eq!(r.tag("Ünïcode TWO WORDS").flags, NAUGHTY);
    }

    #[test]
    fn lowercasing_into_ascii() {
        // U+212A KELVIN SIGN lowercases to "k", U+0130 to "i" + U+0307, as in Python's str.lower().
        let r = C4Rules::new(&["kink", "two wordsi"]);
        assert_eq!(r.tag("\u{212A}INK").flags, NAUGHTY);
        assert_eq!(r.tag("TWO WORDS\u{130}").flags, NAUGHTY);
        assert_eq!(r.tag("TWO WORDSI").flags, NAUGHTY);
        assert_eq!(r.tag("\u{130}").flags, 0);
    }
}
