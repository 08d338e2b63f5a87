//! Token count of dolma's `whitespace_tokenizer_v1`: `len(regex.split(r"\w+|[^\w\s]+", text))`, i.e. the number
//! of maximal word-character runs and punctuation runs, plus one.

use std::sync::OnceLock;

use regex::Regex;

/// Number of pieces `regex.split(r"\w+|[^\w\s]+", text)` returns (the `regex` module's `\w` and `\s` are
/// Unicode's word and White_Space classes, as in Rust's `regex`).
pub fn split_piece_count(text: &str) -> usize {
    static TOKEN: OnceLock<Regex> = OnceLock::new();
    let token = TOKEN.get_or_init(|| Regex::new(r"\w+|[^\w\s]+").expect("valid pattern"));
    token.find_iter(text).count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_runs_plus_one() {
        assert_eq!(split_piece_count(""), 1);
        assert_eq!(split_piece_count("   "), 1);
        assert_eq!(split_piece_count("Hello, world!"), 5);
        assert_eq!(split_piece_count("don't stop--now"), 7);
        assert_eq!(split_piece_count("中文 text_1 😀😀"), 4);
    }
}
