//! A fast path for reading documents: JSON lines parsed to their `id` and `text` without building Python
//! objects. It only accepts lines that Python's reader (orjson, then `Document.from_json`) accepts with the
//! same id and text; any other line is left to the Python reader, which gives it its exact error.

use serde_json::{Map, Value};

/// A document line's id and text.
#[derive(Debug, PartialEq)]
pub struct ParsedDocument {
    pub id: String,
    pub text: String,
}

/// Python's truthiness of a JSON value (`obj.get(field) or default` in `Document.from_json`).
fn is_falsy(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// The line's document, or None where the Python reader must decide (a bad line, or one this path does not
/// mirror exactly). serde_json rejects everything orjson rejects that matters here: invalid UTF-8, lone
/// surrogates, non-finite numbers; it is stricter on nesting depth, which only sends lines to Python.
/// Duplicate keys keep the last value, as orjson does.
pub fn parse_document(line: &[u8]) -> Option<ParsedDocument> {
    let mut object: Map<String, Value> = serde_json::from_slice(line).ok()?;
    let source_ok = object.get("source").is_none_or(|s| s.is_string() || is_falsy(s));
    let metadata_ok = object.get("metadata").is_none_or(|m| m.is_object() || is_falsy(m));
    if !(source_ok && metadata_ok) {
        return None;
    }
    match (object.remove("id")?, object.remove("text")?) {
        (Value::String(id), Value::String(text)) => Some(ParsedDocument { id, text }),
        _ => None,
    }
}

/// Documents of `lines`, in order, up to the first line `parse_document` leaves to Python.
pub fn parse_documents<L: AsRef<[u8]>>(lines: &[L]) -> Vec<ParsedDocument> {
    lines.iter().map_while(|line| parse_document(line.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Option<(String, String)> {
        parse_document(line.as_bytes()).map(|d| (d.id, d.text))
    }

    #[test]
    fn accepts_documents_with_escapes_and_extra_fields() {
        let line = r#"{"id":"a\"1","text":"x\ny \ud83d\ude00 é","source":"web","metadata":{"n":[1,2.5e3,null]},"z":18446744073709551616}"#;
        assert_eq!(parsed(line), Some(("a\"1".into(), "x\ny 😀 é".into())));
        assert_eq!(parsed(" {\"id\":\"b\",\"text\":\"\"} \r"), Some(("b".into(), "".into())));
    }

    #[test]
    fn falsy_source_and_metadata_are_accepted_like_python() {
        for extra in [
            r#""source":null"#,
            r#""source":0"#,
            r#""source":false"#,
            r#""source":[]"#,
            r#""metadata":{}"#,
            r#""metadata":0.0"#,
            r#""metadata":"""#,
            r#""metadata":[]"#,
            r#""source":"""#,
        ] {
            let line = format!(r#"{{"id":"a","text":"t",{extra}}}"#);
            assert!(parsed(&line).is_some(), "{line}");
        }
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        assert_eq!(parsed(r#"{"id":"a","text":"one","text":"two"}"#), Some(("a".into(), "two".into())));
    }

    #[test]
    fn leaves_bad_or_unusual_lines_to_python() {
        let lines = [
            "",
            "   ",
            "[1]",
            "not json",
            r#"{"id":"a"}"#,
            r#"{"text":"t"}"#,
            r#"{"id":1,"text":"t"}"#,
            r#"{"id":null,"text":"t"}"#,
            r#"{"id":"a","text":["t"]}"#,
            r#"{"id":"a","text":"t","source":1}"#,
            r#"{"id":"a","text":"t","source":true}"#,
            r#"{"id":"a","text":"t","metadata":[1]}"#,
            r#"{"id":"a","text":"t","metadata":"m"}"#,
            r#"{"id":"a","text":"t","x":1e400}"#,
            r#"{"id":"a","text":"\ud800"}"#,
            r#"{"id":"a","text":"t",}"#,
            r#"{"id":"a","text":"t"} x"#,
            "\u{feff}{\"id\":\"a\",\"text\":\"t\"}",
        ];
        for line in lines {
            assert_eq!(parsed(line), None, "{line:?}");
        }
        assert_eq!(parse_document(b"{\"id\":\"a\",\"text\":\"\xff\"}"), None);
    }

    #[test]
    fn stops_at_the_first_line_left_to_python() {
        let lines = [r#"{"id":"a","text":"1"}"#, r#"{"id":"b","text":"2"}"#, "oops", r#"{"id":"c","text":"3"}"#];
        let docs = parse_documents(&lines);
        assert_eq!(docs.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(parse_documents(&lines[2..]).is_empty());
    }
}
