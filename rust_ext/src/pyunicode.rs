//! Python-compatible text primitives (`str.isspace`, `str.isalpha`, `str.split()`, `str.strip()`, code-point
//! offsets), so statistics computed here equal what dolma's Python taggers compute.

#[path = "pyunicode_alpha.rs"]
mod alpha_table;

/// Python's `str.isspace()`: Unicode White_Space plus the ASCII separators U+001C..=U+001F.
#[inline]
pub fn is_space(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, '\t'..='\r' | '\x1c'..='\x1f' | ' ')
    } else {
        c.is_whitespace()
    }
}

/// Python's `str.isalpha()` for one character: general category L* (Lu, Ll, Lt, Lm, Lo).
#[inline]
pub fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    let cp = c as u32;
    alpha_table::ALPHA_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Byte table of ASCII whitespace as Python sees it, for the hot word-splitting loop.
const ASCII_SPACE: [bool; 128] = {
    let mut t = [false; 128];
    let mut i = 0;
    while i < 128 {
        t[i] = matches!(i as u8, b'\t'..=b'\r' | 0x1c..=0x1f | b' ');
        i += 1;
    }
    t
};

/// Width in bytes of the character at `pos` of `text` when it is whitespace, else 0. Non-ASCII whitespace
/// (U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) starts with byte C2, E1, E2
/// or E3, so other characters are rejected from their first byte.
#[inline(always)]
fn space_width(text: &str, pos: usize) -> usize {
    let b = text.as_bytes()[pos];
    if b < 0x80 {
        return usize::from(ASCII_SPACE[b as usize]);
    }
    if !matches!(b, 0xC2 | 0xE1 | 0xE2 | 0xE3) {
        return 0;
    }
    let c = text[pos..].chars().next().expect("pos is a char boundary");
    if c.is_whitespace() {
        c.len_utf8()
    } else {
        0
    }
}

/// Width in bytes of the UTF-8 sequence starting with byte `b`.
#[inline(always)]
fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0x80..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// Iterator over the words of `str.split()` (maximal runs of non-whitespace), as `(byte_start, word)`.
pub struct Words<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Iterator for Words<'a> {
    type Item = (usize, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let text = self.text;
        let bytes = text.as_bytes();
        let mut pos = self.pos;
        loop {
            if pos >= bytes.len() {
                self.pos = pos;
                return None;
            }
            match space_width(text, pos) {
                0 => break,
                w => pos += w,
            }
        }
        let start = pos;
        while pos < bytes.len() {
            let b = bytes[pos];
            if b < 0x80 {
                if ASCII_SPACE[b as usize] {
                    break;
                }
                pos += 1;
            } else if space_width(text, pos) != 0 {
                break;
            } else {
                pos += utf8_width(b);
            }
        }
        self.pos = pos;
        Some((start, &text[start..pos]))
    }
}

/// The words `str.split()` would return, lazily.
#[inline]
pub fn words(text: &str) -> Words<'_> {
    Words { text, pos: 0 }
}

/// `len(text.split())`.
pub fn word_count(text: &str) -> usize {
    words(text).count()
}

/// `str.strip()` with Python's whitespace definition.
#[inline]
pub fn strip(text: &str) -> &str {
    text.trim_matches(is_space)
}

/// `len(s)` in Python: the number of code points.
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Python's `round(x, 5)`: the double nearest to the 5-decimal value nearest to `x` (ties to even on the exact
/// binary value), which is what dolma applies to every score it writes.
pub fn round5(x: f64) -> f64 {
    let scaled = x * 1e5;
    // Exact while |scaled| < 2^53; the product's rounding error is below |scaled| * 2^-52, so away from a tie
    // `scaled.round()` is the correctly rounded integer and dividing it by 1e5 gives the nearest double.
    if scaled.abs() < 9.0e15 {
        let fraction = (scaled - scaled.trunc()).abs();
        if (fraction - 0.5).abs() > scaled.abs() * 4.5e-16 + 1e-300 {
            return scaled.round() / 1e5;
        }
    }
    round5_exact(x)
}

/// `round(x, 5)` through exact decimal formatting (Rust's `{:.5}` rounds the exact binary value, ties to even).
fn round5_exact(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.5}").parse().expect("formatted float parses")
}

/// Converts increasing byte offsets of one text into code-point offsets without rescanning from the start.
pub struct CharCursor<'a> {
    text: &'a str,
    ascii: bool,
    byte: usize,
    chars: usize,
}

impl<'a> CharCursor<'a> {
    pub fn new(text: &'a str) -> Self {
        CharCursor { text, ascii: text.is_ascii(), byte: 0, chars: 0 }
    }

    /// Code-point offset of `byte` (a char boundary); cheapest when called with non-decreasing offsets.
    pub fn to_char(&mut self, byte: usize) -> usize {
        if self.ascii {
            return byte;
        }
        if byte < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..byte].chars().count();
        self.byte = byte;
        self.chars
    }
}

/// Byte offset `n` code points before `byte` (clamped at 0).
pub fn back_chars(text: &str, byte: usize, n: usize) -> usize {
    match text[..byte].char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => i,
        _ if n == 0 => byte,
        _ => 0,
    }
}

/// Byte offset `n` code points after `byte` (clamped at the end).
pub fn forward_chars(text: &str, byte: usize, n: usize) -> usize {
    match text[byte..].char_indices().nth(n) {
        Some((i, _)) => byte + i,
        None => text.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_matches_python() {
        let py: Vec<u32> = vec![
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003,
            0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
        ];
        let ours: Vec<u32> =
            (0..=0x10FFFFu32).filter_map(char::from_u32).filter(|&c| is_space(c)).map(|c| c as u32).collect();
        assert_eq!(ours, py);
    }

    #[test]
    fn alpha_examples() {
        assert!(is_alpha('a') && is_alpha('Z') && is_alpha('é') && is_alpha('中') && is_alpha('ʰ'));
        assert!(!is_alpha('1') && !is_alpha('_') && !is_alpha('\u{0301}') && !is_alpha('😀') && !is_alpha('Ⅻ'));
    }

    #[test]
    fn split_like_python() {
        let got: Vec<&str> = words(" a\u{1f}b\u{a0} c\u{3000}中文 \n").map(|(_, w)| w).collect();
        assert_eq!(got, vec!["a", "b", "c", "中文"]);
        assert_eq!(word_count(""), 0);
        assert_eq!(word_count(" \t\n"), 0);
        assert_eq!(strip("\u{1c} x y\u{2028}"), "x y");
    }

    #[test]
    fn round5_like_python() {
        // Values checked against CPython's round(x, 5).
        assert_eq!(round5(0.015625), 0.01562);
        assert_eq!(round5(1.0 / 3.0), 0.33333);
        assert_eq!(round5(2.0 / 3.0), 0.66667);
        assert_eq!(round5(0.123455), 0.12345);
        assert_eq!(round5(0.999996), 1.0);
        assert_eq!(round5(12345.0), 12345.0);
        assert_eq!(round5(5e-06), 1e-05);
        assert_eq!(round5(2.5e-06), 0.0);
        assert_eq!(round5(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(round5(f64::NAN).is_nan());
    }

    #[test]
    fn round5_fast_path_equals_exact_rounding() {
        // xorshift over fractions with few and many digits, and near-ties k/1e5 + 5e-6.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for i in 0..200_000u64 {
            let r = next();
            let x = match i % 4 {
                0 => (r >> 11) as f64 / (1u64 << 53) as f64,
                1 => (r % 1_000_000) as f64 / 1e6,
                2 => (r % 100_000) as f64 / 1e5 + 5e-6,
                _ => (r % 10_000_000) as f64 / ((r >> 40) % 1000 + 1) as f64,
            };
            assert_eq!(round5(x).to_bits(), round5_exact(x).to_bits(), "{x:e}");
        }
    }

    #[test]
    fn cursor_and_windows() {
        let t = "aé中😀b";
        let mut cur = CharCursor::new(t);
        assert_eq!(cur.to_char(1), 1);
        assert_eq!(cur.to_char(3), 2);
        assert_eq!(cur.to_char(10), 4);
        assert_eq!(cur.to_char(0), 0);
        assert_eq!(back_chars(t, 10, 2), 3);
        assert_eq!(back_chars(t, 10, 100), 0);
        assert_eq!(back_chars(t, 10, 0), 10);
        assert_eq!(forward_chars(t, 1, 2), 6);
        assert_eq!(forward_chars(t, 1, 100), t.len());
    }
}
