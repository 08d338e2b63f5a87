//! C4's heuristics (Raffel et al. 2020) as dolma 1.2.1's `c4_v1`/`c4_v2` apply them: per-line rules (no terminal
//! punctuation, fewer than 3 words) with code-point offsets, and document flags (naughty words, javascript,
//! lorem ipsum, curly braces) on the lowercased text.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

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

/// What a pattern of the substring automaton stands for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pattern {
    /// "javascript": a substring flag, and the `c4_v1` word flag when it is a whole word.
    Javascript,
    LoremIpsum,
    /// A naughty entry with a space: any occurrence counts.
    Phrase,
    /// A naughty entry without a space: only a whole whitespace-separated word counts.
    Word,
}

/// The naughty-word list compiled into one automaton with "javascript" and "lorem ipsum".
pub struct C4Rules {
    patterns: Vec<Pattern>,
    automaton: AhoCorasick,
    /// Some entry has non-ASCII cased characters, which ASCII-case-insensitive matching cannot fold.
    always_lowercase: bool,
}

/// Non-ASCII characters whose lowercase contains ASCII: U+0130 (İ -> i + U+0307) and U+212A (Kelvin sign -> k).
/// Every other character keeps its ASCII-ness when lowercased, so without these two, ASCII-case-insensitive
/// matching of ASCII patterns on the text equals matching on `text.lower()`.
fn lowercases_into_ascii(text: &str) -> bool {
    !text.is_ascii() && (text.contains("\u{130}") || text.contains("\u{212A}"))
}

/// Whether the match `start..end` of `text` is a whole word of `str.split()`.
fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    before.is_none_or(pyunicode::is_space) && after.is_none_or(pyunicode::is_space)
}

impl C4Rules {
    /// Entries with a space are phrases matched as substrings; the others are whole words (as dolma splits them).
    /// dolma compares entries with lowercased text, so entries that lowercasing changes can never match and are
    /// left out.
    pub fn new<S: AsRef<str>>(naughty_entries: &[S]) -> Self {
        let mut literals = vec!["javascript", "lorem ipsum"];
        let mut patterns = vec![Pattern::Javascript, Pattern::LoremIpsum];
        for entry in naughty_entries.iter().map(AsRef::as_ref) {
            if !entry.is_empty() && entry.to_lowercase() == entry {
                literals.push(entry);
                patterns.push(if entry.contains(' ') { Pattern::Phrase } else { Pattern::Word });
            }
        }
        let always_lowercase = literals.iter().any(|l| !l.is_ascii() && l.to_uppercase() != l.to_lowercase());
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(&literals)
            .expect("a few hundred literal patterns always compile");
        C4Rules { patterns, automaton, always_lowercase }
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

    /// Flags as dolma computes them on `text.lower()`, in one automaton pass; the lowercased copy is only made
    /// when ASCII-case-insensitive matching on `text` would differ from matching on it.
    fn document_flags(&self, text: &str) -> u8 {
        let lowered = (self.always_lowercase || lowercases_into_ascii(text)).then(|| text.to_lowercase());
        let haystack = lowered.as_deref().unwrap_or(text);
        let mut flags = if text.contains('{') { CURLY_BRACE } else { 0 };
        let all = CURLY_BRACE | NAUGHTY | JAVASCRIPT_WORD | JAVASCRIPT_SUBSTRING | LOREM_IPSUM;
        for m in self.automaton.find_overlapping_iter(haystack) {
            flags |= match self.patterns[m.pattern().as_usize()] {
                Pattern::Javascript if is_whole_word(haystack, m.start(), m.end()) => {
                    JAVASCRIPT_SUBSTRING | JAVASCRIPT_WORD
                }
                Pattern::Javascript => JAVASCRIPT_SUBSTRING,
                Pattern::LoremIpsum => LOREM_IPSUM,
                Pattern::Phrase => NAUGHTY,
                Pattern::Word if is_whole_word(haystack, m.start(), m.end()) => NAUGHTY,
                Pattern::Word => 0,
            };
            if flags | CURLY_BRACE == all {
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

    #[test]
    fn entries_follow_python_lowercasing() {
        // An entry that lowercasing changes never equals lowercased text; a non-ASCII cased entry needs the
        // lowercased copy, since ASCII-case-insensitive matching cannot fold "Ü".
        let r = C4Rules::new(&["Upper", "über", ""]);
        assert_eq!(r.tag("UPPER upper").flags, 0);
        assert_eq!(r.tag("x ÜBER y").flags, NAUGHTY);
        assert_eq!(r.tag("xüber").flags, 0);
        assert_eq!(r.tag("").flags, 0);
    }
}
