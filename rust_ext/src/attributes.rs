//! dolma-format attribute lines, `{"id":...,"attributes":{"<name>":[[start,end,score],...]}}`, one per
//! document line. The dedupe driver writes one line per document of every file, so this is its hot loop.

use std::fmt;

#[derive(Debug, PartialEq)]
pub struct ShapeError(pub String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The flagged spans of a file, in line order: span `i` is `[starts[i], ends[i], scores[i]]`.
pub struct Spans<'a> {
    pub starts: &'a [i64],
    pub ends: &'a [i64],
    pub scores: &'a [f64],
}

/// Per document line: its id (None for a line whose id could not be read), whether the attribute key is
/// written, and its spans `first[line]..first[line + 1]` (a line without the key must have none).
pub struct Lines<'a, S: AsRef<str>> {
    pub ids: &'a [Option<S>],
    pub with_key: &'a [bool],
    pub first: &'a [i64],
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as short or `\u00XX` escapes,
/// everything else as UTF-8.
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut done = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]],
            _ => continue,
        };
        out.extend_from_slice(&bytes[done..i]);
        out.extend_from_slice(escape);
        done = i + 1;
    }
    out.extend_from_slice(&bytes[done..]);
    out.push(b'"');
}

fn check_shapes<S: AsRef<str>>(lines: &Lines<'_, S>, spans: &Spans<'_>) -> Result<(), ShapeError> {
    let bad = |message: String| Err(ShapeError(message));
    let num_spans = spans.starts.len();
    if spans.ends.len() != num_spans || spans.scores.len() != num_spans {
        return bad(format!(
            "span columns differ in length: {num_spans} starts, {} ends, {} scores",
            spans.ends.len(),
            spans.scores.len()
        ));
    }
    let num_lines = lines.ids.len();
    if lines.with_key.len() != num_lines || lines.first.len() != num_lines + 1 {
        return bad(format!(
            "{num_lines} ids need {num_lines} key flags and {} span offsets, got {} and {}",
            num_lines + 1,
            lines.with_key.len(),
            lines.first.len()
        ));
    }
    let offsets_ok = lines.first.first() == Some(&0)
        && lines.first.last() == Some(&(num_spans as i64))
        && lines.first.windows(2).all(|w| w[0] <= w[1]);
    if !offsets_ok {
        return bad(format!("span offsets must rise from 0 to {num_spans}"));
    }
    if let Some(line) = (0..num_lines).find(|&l| !lines.with_key[l] && lines.first[l] != lines.first[l + 1]) {
        return bad(format!("line {line} has spans but no attribute key"));
    }
    Ok(())
}

/// All lines, each ending in `\n`. Scores are written in their shortest round-trip form.
pub fn attribute_lines<S: AsRef<str>>(
    name: &str,
    lines: &Lines<'_, S>,
    spans: &Spans<'_>,
) -> Result<Vec<u8>, ShapeError> {
    check_shapes(lines, spans)?;
    let mut key = Vec::new();
    push_json_string(&mut key, name);
    let mut out = Vec::with_capacity(lines.ids.len() * (40 + key.len()) + spans.starts.len() * 24);
    let (mut ints, mut floats) = (itoa::Buffer::new(), ryu::Buffer::new());
    for (line, id) in lines.ids.iter().enumerate() {
        out.extend_from_slice(b"{\"id\":");
        match id {
            Some(id) => push_json_string(&mut out, id.as_ref()),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"attributes\":{");
        if lines.with_key[line] {
            out.extend_from_slice(&key);
            out.extend_from_slice(b":[");
            for span in lines.first[line] as usize..lines.first[line + 1] as usize {
                if span > lines.first[line] as usize {
                    out.push(b',');
                }
                out.push(b'[');
                out.extend_from_slice(ints.format(spans.starts[span]).as_bytes());
                out.push(b',');
                out.extend_from_slice(ints.format(spans.ends[span]).as_bytes());
                out.push(b',');
                out.extend_from_slice(floats.format(spans.scores[span]).as_bytes());
                out.push(b']');
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}}\n");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(s: &str) -> String {
        let mut out = Vec::new();
        push_json_string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_like_json() {
        assert_eq!(json("plain"), r#""plain""#);
        assert_eq!(json("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(json("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(json("é😀\u{7f}"), "\"é😀\u{7f}\"");
        assert_eq!(json(""), r#""""#);
    }

    #[test]
    fn writes_spans_keys_and_null_ids() {
        let ids = [Some("a"), None, Some("c"), Some("d")];
        let lines = Lines { ids: &ids, with_key: &[true, false, true, false], first: &[0, 0, 0, 2, 2] };
        let spans = Spans { starts: &[0, 7], ends: &[5, 12], scores: &[1.0, 0.8333333333333334] };
        let out = String::from_utf8(attribute_lines("dup", &lines, &spans).unwrap()).unwrap();
        assert_eq!(
            out,
            concat!(
                "{\"id\":\"a\",\"attributes\":{\"dup\":[]}}\n",
                "{\"id\":null,\"attributes\":{}}\n",
                "{\"id\":\"c\",\"attributes\":{\"dup\":[[0,5,1.0],[7,12,0.8333333333333334]]}}\n",
                "{\"id\":\"d\",\"attributes\":{}}\n",
            )
        );
    }

    #[test]
    fn no_lines_is_no_bytes() {
        let lines: Lines<'_, &str> = Lines { ids: &[], with_key: &[], first: &[0] };
        let spans = Spans { starts: &[], ends: &[], scores: &[] };
        assert_eq!(attribute_lines("x", &lines, &spans).unwrap(), b"");
    }

    #[test]
    fn inconsistent_columns_are_errors_not_panics() {
        let ids = [Some("a")];
        let spans = Spans { starts: &[0], ends: &[1], scores: &[1.0] };
        let cases: [(&[bool], &[i64]); 4] = [
            (&[true], &[0]),          // too few offsets
            (&[true], &[0, 2]),       // past the spans
            (&[true, true], &[0, 1]), // flags do not match ids
            (&[false], &[0, 1]),      // spans without the key
        ];
        for (with_key, first) in cases {
            let lines = Lines { ids: &ids, with_key, first };
            assert!(attribute_lines("x", &lines, &spans).is_err(), "{with_key:?} {first:?}");
        }
        let short = Spans { starts: &[0], ends: &[], scores: &[1.0] };
        let lines = Lines { ids: &ids, with_key: &[true], first: &[0, 1] };
        assert!(attribute_lines("x", &lines, &short).is_err());
    }
}
