//! The document model and its fast reader: what makes a JSON line a valid dolma document, checked without
//! building Python objects. `FIELDS` is the one table of field rules: Python builds its own checks from it
//! (`dolma_py/docmodel.py`), and turns every `Rejection` kind into the message users see, so the two readers
//! accept the same lines and report them the same way.

use serde_json::{Map, Value};

/// What a field's value must be; `phrase` is how messages say it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expect {
    String,
    StringOrNull,
    ObjectOrNull,
}

impl Expect {
    pub fn phrase(self) -> &'static str {
        match self {
            Expect::String => "a string",
            Expect::StringOrNull => "a string or null",
            Expect::ObjectOrNull => "an object or null",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Expect::String => value.is_string(),
            Expect::StringOrNull => value.is_string() || value.is_null(),
            Expect::ObjectOrNull => value.is_object() || value.is_null(),
        }
    }
}

/// One field of a document line: its name, whether it must be present, and what its value must be.
pub struct FieldRule {
    pub name: &'static str,
    pub required: bool,
    pub expect: Expect,
}

/// dolma 1.2.1's document (its `InputSpecWithMetadata`): other fields are kept and never checked.
pub const FIELDS: [FieldRule; 7] = [
    FieldRule { name: "id", required: true, expect: Expect::String },
    FieldRule { name: "text", required: true, expect: Expect::String },
    FieldRule { name: "source", required: false, expect: Expect::String },
    FieldRule { name: "added", required: false, expect: Expect::String },
    FieldRule { name: "created", required: false, expect: Expect::String },
    FieldRule { name: "version", required: false, expect: Expect::StringOrNull },
    FieldRule { name: "metadata", required: false, expect: Expect::ObjectOrNull },
];

/// Why a line is not a document; `kind()` names it for the Python messages.
#[derive(Debug, PartialEq)]
pub enum Rejection {
    EmptyLine,
    InvalidUtf8 { byte: usize },
    NulByte { byte: usize },
    MalformedJson,
    NotAnObject { got: &'static str },
    Missing { field: &'static str },
    WrongType { field: &'static str, got: &'static str },
}

/// Every `Rejection::kind`, in declaration order.
pub const REJECTION_KINDS: [&str; 7] =
    ["empty_line", "invalid_utf8", "nul_byte", "malformed_json", "not_an_object", "missing", "wrong_type"];

impl Rejection {
    pub fn kind(&self) -> &'static str {
        match self {
            Rejection::EmptyLine => REJECTION_KINDS[0],
            Rejection::InvalidUtf8 { .. } => REJECTION_KINDS[1],
            Rejection::NulByte { .. } => REJECTION_KINDS[2],
            Rejection::MalformedJson => REJECTION_KINDS[3],
            Rejection::NotAnObject { .. } => REJECTION_KINDS[4],
            Rejection::Missing { .. } => REJECTION_KINDS[5],
            Rejection::WrongType { .. } => REJECTION_KINDS[6],
        }
    }
}

/// The name messages give a JSON value's type (the Python reader uses the same names).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// A document line's id and text.
#[derive(Debug, PartialEq)]
pub struct ParsedDocument {
    pub id: String,
    pub text: String,
}

/// Why a line that is not JSON failed: blank, invalid UTF-8 or a raw NUL byte (each at its byte offset), or else
/// malformed. Only called once parsing has failed, so valid lines never pay for it.
fn unparsable(line: &[u8]) -> Rejection {
    if line.iter().all(|b| b.is_ascii_whitespace()) {
        return Rejection::EmptyLine;
    }
    if let Err(err) = std::str::from_utf8(line) {
        return Rejection::InvalidUtf8 { byte: err.valid_up_to() };
    }
    match line.iter().position(|&b| b == 0) {
        Some(byte) => Rejection::NulByte { byte },
        None => Rejection::MalformedJson,
    }
}

/// Check a parsed object against `FIELDS`.
pub fn check_fields(object: &Map<String, Value>) -> Result<(), Rejection> {
    for rule in &FIELDS {
        match object.get(rule.name) {
            None if rule.required => return Err(Rejection::Missing { field: rule.name }),
            Some(value) if !rule.expect.accepts(value) => {
                return Err(Rejection::WrongType { field: rule.name, got: type_name(value) });
            }
            _ => {}
        }
    }
    Ok(())
}

/// The line's document, or why it is not one, with the id when the line has a string id. Duplicate keys keep the
/// last value, as orjson and dolma do.
pub fn parse_document(line: &[u8]) -> Result<ParsedDocument, (Rejection, Option<String>)> {
    let value: Value = serde_json::from_slice(line).map_err(|_| (unparsable(line), None))?;
    let mut object = match value {
        Value::Object(object) => object,
        other => return Err((Rejection::NotAnObject { got: type_name(&other) }, None)),
    };
    if let Err(rejection) = check_fields(&object) {
        let id = object.remove("id").and_then(|id| if let Value::String(id) = id { Some(id) } else { None });
        return Err((rejection, id));
    }
    match (object.remove("id"), object.remove("text")) {
        (Some(Value::String(id)), Some(Value::String(text))) => Ok(ParsedDocument { id, text }),
        _ => unreachable!("check_fields requires string ids and texts"),
    }
}

/// A batch of lines read: per line its id (None where unreadable); the documents' texts and line indices; and
/// per bad line its index, rejection and readable id.
#[derive(Default)]
pub struct ParsedBatch {
    pub ids: Vec<Option<String>>,
    pub texts: Vec<String>,
    pub doc_lines: Vec<i64>,
    pub rejections: Vec<(usize, Rejection)>,
}

/// Lines of `block` as `parse_documents` cuts them: one more than its newlines.
pub fn count_lines(block: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', block).count() + 1
}

/// Read every line of `block`, in order: its lines are cut at each `\n` as Python's `bytes.split(b"\n")` cuts
/// them (so an empty block is one empty line). Whole blocks cross from Python, not one object per line.
pub fn parse_documents(block: &[u8]) -> ParsedBatch {
    let mut batch = ParsedBatch::default();
    let ends = memchr::memchr_iter(b'\n', block).chain(std::iter::once(block.len()));
    let mut start = 0;
    for (index, end) in ends.enumerate() {
        let line = &block[start..end];
        start = end + 1;
        match parse_document(line) {
            Ok(doc) => {
                batch.ids.push(Some(doc.id));
                batch.texts.push(doc.text);
                batch.doc_lines.push(index as i64);
            }
            Err((rejection, id)) => {
                batch.ids.push(id);
                batch.rejections.push((index, rejection));
            }
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(line: &str) -> Result<(String, String), Rejection> {
        parse_document(line.as_bytes()).map(|d| (d.id, d.text)).map_err(|(r, _)| r)
    }

    #[test]
    fn accepts_documents_with_escapes_and_extra_fields() {
        let line = r#"{"id":"a\"1","text":"x\ny \ud83d\ude00 é \u0000","source":"web","metadata":{"n":[1,2.5e3,null]},"z":18446744073709551616}"#;
        assert_eq!(parsed(line), Ok(("a\"1".into(), "x\ny 😀 é \0".into())));
        assert_eq!(parsed(" {\"id\":\"b\",\"text\":\"\"} \r"), Ok(("b".into(), "".into())));
        let optional = r#"{"id":"a","text":"t","added":"2020","created":"2019","version":null,"metadata":null}"#;
        assert!(parsed(optional).is_ok());
    }

    #[test]
    fn duplicate_keys_keep_the_last_value() {
        assert_eq!(parsed(r#"{"id":"a","text":"one","text":"two"}"#), Ok(("a".into(), "two".into())));
    }

    #[test]
    fn names_why_a_line_is_not_a_document() {
        let wrong = |field, got| Rejection::WrongType { field, got };
        let cases = [
            ("", Rejection::EmptyLine),
            ("   ", Rejection::EmptyLine),
            ("[1]", Rejection::NotAnObject { got: "list" }),
            ("null", Rejection::NotAnObject { got: "null" }),
            ("not json", Rejection::MalformedJson),
            (r#"{"id":"a","text":"t",}"#, Rejection::MalformedJson),
            (r#"{"id":"a","text":"t"} x"#, Rejection::MalformedJson),
            (r#"{"id":"a","text":"t","x":1e400}"#, Rejection::MalformedJson),
            (r#"{"id":"a","text":"\ud800"}"#, Rejection::MalformedJson),
            ("{\"id\":\"a\",\"text\":\"\0\"}", Rejection::NulByte { byte: 18 }),
            ("\u{feff}{\"id\":\"a\",\"text\":\"t\"}", Rejection::MalformedJson),
            (r#"{"id":"a"}"#, Rejection::Missing { field: "text" }),
            (r#"{"text":"t"}"#, Rejection::Missing { field: "id" }),
            (r#"{"id":1,"text":"t"}"#, wrong("id", "int")),
            (r#"{"id":null,"text":"t"}"#, wrong("id", "null")),
            (r#"{"id":["a"],"text":"t"}"#, wrong("id", "list")),
            (r#"{"id":"a","text":1.5}"#, wrong("text", "float")),
            (r#"{"id":"a","text":"t","source":null}"#, wrong("source", "null")),
            (r#"{"id":"a","text":"t","source":true}"#, wrong("source", "bool")),
            (r#"{"id":"a","text":"t","added":1}"#, wrong("added", "int")),
            (r#"{"id":"a","text":"t","version":1}"#, wrong("version", "int")),
            (r#"{"id":"a","text":"t","metadata":[1]}"#, wrong("metadata", "list")),
            (r#"{"id":"a","text":"t","metadata":"m"}"#, wrong("metadata", "str")),
        ];
        for (line, rejection) in cases {
            assert_eq!(parsed(line), Err(rejection), "{line:?}");
        }
        let bad_utf8 = parse_document(b"{\"id\":\"a\",\"text\":\"\xff\"}").map_err(|(r, _)| r);
        assert_eq!(bad_utf8, Err(Rejection::InvalidUtf8 { byte: 18 }));
    }

    #[test]
    fn bad_lines_keep_a_string_id() {
        assert_eq!(parse_document(br#"{"id":"k","text":5}"#).err().map(|(_, id)| id), Some(Some("k".into())));
        assert_eq!(parse_document(br#"{"id":5,"text":5}"#).err().map(|(_, id)| id), Some(None));
    }

    #[test]
    fn reads_every_line_of_a_batch() {
        let batch = parse_documents(b"{\"id\":\"a\",\"text\":\"1\"}\noops\n{\"id\":\"c\",\"text\":\"3\"}\n");
        assert_eq!(batch.ids, [Some("a".to_string()), None, Some("c".to_string()), None]);
        assert_eq!(batch.texts, ["1", "3"]);
        assert_eq!(batch.doc_lines, [0, 2]);
        assert_eq!(batch.rejections, [(1, Rejection::MalformedJson), (3, Rejection::EmptyLine)]);
        let one_empty = parse_documents(b"");
        assert_eq!(one_empty.rejections, [(0, Rejection::EmptyLine)]);
        assert_eq!([count_lines(b""), count_lines(b"a\n\nb"), count_lines(b"\n")], [1, 3, 2]);
    }

    #[test]
    fn every_kind_is_listed() {
        let kinds = [
            Rejection::EmptyLine,
            Rejection::InvalidUtf8 { byte: 0 },
            Rejection::NulByte { byte: 0 },
            Rejection::MalformedJson,
            Rejection::NotAnObject { got: "" },
            Rejection::Missing { field: "" },
            Rejection::WrongType { field: "", got: "" },
        ];
        assert_eq!(kinds.iter().map(Rejection::kind).collect::<Vec<_>>(), REJECTION_KINDS);
    }
}
