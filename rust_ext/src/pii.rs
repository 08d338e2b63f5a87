//! Regex PII detection (email addresses, phone numbers, IPv4 addresses) as dolma 1.2.1's `pii_regex_*` taggers do
//! it: the same patterns with Python `re` classes translated (Python's `\s` also matches U+001C..=U+001F), the same
//! post-processing, and spans in code points in dolma's emission order.

use std::sync::OnceLock;

use regex::Regex;

use crate::pyunicode::{self, back_chars, forward_chars, CharCursor};

/// Python's `\s` inside a character class.
const S: &str = r"\s\x1C-\x1F";
/// Characters of context on each side that post-processing inspects around phone numbers and IP addresses.
pub const CONTEXT_WINDOW: usize = 100;
/// `pii_regex_with_counts_fast_v2` skips documents with more question marks than this.
pub const MAX_QUESTION_MARKS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiKind {
    Email = 0,
    Phone = 1,
    Ip = 2,
}

/// A PII match; offsets in code points, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

struct Patterns {
    email: Regex,
    phone: Regex,
    ip: Regex,
    /// dolma writes this pattern in a non-raw Python string, so its leading `\b` is a literal backspace (U+0008).
    url: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let compile = |p: String| Regex::new(&p).expect("PII patterns are valid");
        let octet = "(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)";
        let url_part = format!(r"[^{S}()<>]+");
        Patterns {
            email: compile(format!(r"[.{S}@,?!;:)(]*([^{S}@]+@[^{S}@,?!;:)(]+?)[.{S}@,?!;:)(]?[{S}]")),
            phone: compile(format!(r"[{S}]+\(?(\d{{3}})\)?[-. ]*(\d{{3}})[-. ]?(\d{{4}})")),
            ip: compile(format!(r"(?:{octet}\.){{3}}{octet}")),
            url: compile(format!(
                r#"(?i)\x08((?:https?://|www\d{{0,3}}[.]|[a-z0-9.\-]+[.][a-z]{{2,4}}/)(?:{url_part}|\(({url_part}|(\({url_part}\)))*\))+(?:\(({url_part}|(\({url_part}\)))*\)|[^{S}`!()\[\]{{}};:'".,<>?«»“”‘’]))"#
            )),
        }
    })
}

/// dolma's `_is_email` on the whole match: the part before the first "@" must not strip to "(", and the part
/// between the first and second "@" must contain a ".".
fn email_mention_ok(mention: &str) -> bool {
    let mut parts = mention.split('@');
    let addressee = parts.next().unwrap_or_default();
    let domain = parts.next().unwrap_or_default();
    pyunicode::strip(addressee) != "(" && domain.contains('.')
}

/// Whether the ±100-character context of a byte range mentions an ISBN, a DOI or a "#".
fn suspicious_context(text: &str, start: usize, end: usize) -> bool {
    let context = &text[back_chars(text, start, CONTEXT_WINDOW)..forward_chars(text, end, CONTEXT_WINDOW)];
    context.contains("isbn") || context.contains("doi") || context.contains('#')
}

/// `pii_regex_v1`/`pii_regex_v2`: each pattern over the whole text (emails, then phones, then IPs), keeping
/// emails that pass `_is_email`, IPs without ISBN/DOI/"#" context, and phone numbers without such context
/// when the document has no URL.
pub fn find_postprocessed(text: &str) -> Vec<PiiSpan> {
    let p = patterns();
    let mut spans = Vec::new();
    let mut push = |kind, cursor: &mut CharCursor, start, end| {
        spans.push(PiiSpan { kind, start: cursor.to_char(start), end: cursor.to_char(end) })
    };
    if text.contains('@') {
        let mut cursor = CharCursor::new(text);
        for m in p.email.find_iter(text).filter(|m| email_mention_ok(m.as_str())) {
            push(PiiKind::Email, &mut cursor, m.start(), m.end());
        }
    }
    let mut has_url: Option<bool> = None;
    let mut cursor = CharCursor::new(text);
    for m in p.phone.find_iter(text) {
        if suspicious_context(text, m.start(), m.end()) {
            continue;
        }
        if *has_url.get_or_insert_with(|| text.contains('\x08') && p.url.is_match(text)) {
            break;
        }
        push(PiiKind::Phone, &mut cursor, m.start(), m.end());
    }
    let mut cursor = CharCursor::new(text);
    for m in p.ip.find_iter(text) {
        if !suspicious_context(text, m.start(), m.end()) {
            push(PiiKind::Ip, &mut cursor, m.start(), m.end());
        }
    }
    spans
}

/// `pii_regex_with_counts_fast_v2`: the patterns per non-blank paragraph (a line with its newline), emails
/// whose captured address passes `_is_email`, and every phone and IP match. `None` when the document has more
/// than `MAX_QUESTION_MARKS` question marks (dolma skips those). The URL check dolma applies to IP matches can
/// never fire (an IP match holds only digits and dots), so it is not repeated here.
pub fn find_fast(text: &str) -> Option<Vec<PiiSpan>> {
    if text.bytes().filter(|&b| b == b'?').count() > MAX_QUESTION_MARKS {
        return None;
    }
    let p = patterns();
    let mut spans = Vec::new();
    let mut doc_cursor = CharCursor::new(text);
    let mut offset = 0;
    while offset < text.len() {
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i + 1);
        let para = &text[offset..end];
        if !pyunicode::strip(para).is_empty() {
            let base = doc_cursor.to_char(offset);
            let mut push = |kind, cursor: &mut CharCursor, start, end| {
                spans.push(PiiSpan { kind, start: base + cursor.to_char(start), end: base + cursor.to_char(end) })
            };
            if para.contains('@') {
                let mut cursor = CharCursor::new(para);
                for c in p.email.captures_iter(para) {
                    let address = c.get(1).expect("group 1 always participates").as_str();
                    let (addressee, domain) = address.split_once('@').expect("the group contains an @");
                    if pyunicode::strip(addressee) != "(" && domain.contains('.') {
                        let m = c.get(0).expect("group 0 is the match");
                        push(PiiKind::Email, &mut cursor, m.start(), m.end());
                    }
                }
            }
            let mut cursor = CharCursor::new(para);
            for m in p.phone.find_iter(para) {
                push(PiiKind::Phone, &mut cursor, m.start(), m.end());
            }
            let mut cursor = CharCursor::new(para);
            for m in p.ip.find_iter(para) {
                push(PiiKind::Ip, &mut cursor, m.start(), m.end());
            }
        }
        offset = end;
    }
    Some(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(kind: PiiKind, start: usize, end: usize) -> PiiSpan {
        PiiSpan { kind, start, end }
    }

    #[test]
    fn email_match_includes_separators() {
        // The match starts at ": " (the leading class) and ends with the whitespace after the address.
        let text = "Contact: john.doe@example.com today";
        assert_eq!(find_postprocessed(text), vec![span(PiiKind::Email, 7, 30)]);
        assert!(find_postprocessed("mail me at root@localhost now").is_empty());
        // An address at the very end has no trailing whitespace, so the pattern does not match.
        assert!(find_postprocessed("write to a@b.com").is_empty());
    }

    #[test]
    fn phone_numbers_and_context() {
        let text = "Call (555) 123-4567 now";
        assert_eq!(find_postprocessed(text), vec![span(PiiKind::Phone, 4, 19)]);
        assert!(find_postprocessed("isbn 555 123 4567").is_empty());
        assert!(find_postprocessed("Issue #5: call 555 123 4567").is_empty());
        // A URL only counts after a literal backspace (dolma's non-raw "\b").
        assert_eq!(find_postprocessed("see http://x.org call 555 123 4567").len(), 1);
        assert!(find_postprocessed("see \x08http://x.org/a call 555 123 4567").is_empty());
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(find_postprocessed("host 192.168.0.1 up"), vec![span(PiiKind::Ip, 5, 16)]);
        // Leftmost-first like Python's re: "256" cannot start an octet, "56.1.1.1" can.
        assert_eq!(find_postprocessed("256.1.1.1"), vec![span(PiiKind::Ip, 1, 9)]);
        assert!(find_postprocessed("doi 10.1.2.3").is_empty());
    }

    #[test]
    fn unicode_offsets() {
        let text = "Émile — 10.0.0.1 😀 ok";
        assert_eq!(find_postprocessed(text), vec![span(PiiKind::Ip, 8, 16)]);
    }

    #[test]
    fn fast_is_per_paragraph() {
        // The phone pattern needs whitespace before the digits within the paragraph.
        assert_eq!(find_fast("555 123 4567\n"), Some(vec![]));
        assert_eq!(find_postprocessed("x\n555 123 4567\n"), vec![span(PiiKind::Phone, 1, 14)]);
        assert_eq!(find_fast("x\n 555 123 4567\n"), Some(vec![span(PiiKind::Phone, 2, 15)]));
        // The captured domain must contain a dot: "localhost." matches the whole pattern but not the group.
        assert_eq!(find_fast("to root@localhost. \n"), Some(vec![]));
        assert_eq!(find_postprocessed("to root@localhost. \n").len(), 1);
        // Context is not checked on the fast path.
        assert_eq!(find_fast("isbn 1.2.3.4\n"), Some(vec![span(PiiKind::Ip, 5, 12)]));
        assert_eq!(find_fast(&"?".repeat(10_001)), None);
    }
}
