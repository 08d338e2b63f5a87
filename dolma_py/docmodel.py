"""The document model: which JSON lines are dolma documents, and the one wording of why a line is not.

The field rules are the Rust table (`rust_ext/src/jsonl.rs: FIELDS`, exported as `_rust.DOCUMENT_FIELDS`) and both
readers report a bad line as a rejection kind (`_rust.DOCUMENT_REJECTIONS`) that only `MESSAGES` words,
so the Python reader (tag, mix, tokens, dedupe by key) and the Rust fast path (dedupe by paragraph) cannot drift.
"""

from __future__ import annotations

from typing import Any

import orjson

from dolma_py import _rust

_TYPES_BY_PHRASE: dict[str, tuple[type, ...]] = {
    "a string": (str,),
    "a string or null": (str, type(None)),
    "an object or null": (dict, type(None)),
}
FIELD_RULES: tuple[tuple[str, bool, str, tuple[type, ...]], ...] = tuple(
    (name, required, phrase, _TYPES_BY_PHRASE[phrase]) for name, required, phrase in _rust.DOCUMENT_FIELDS
)
"""(field, required, what its value must be, the Python types that are) per checked field, `id` and `text` first."""

NULL_MEANS_ABSENT: tuple[str, ...] = tuple(
    name for name, required, _, types in FIELD_RULES if not required and type(None) not in types
)
"""Optional fields a Parquet row holds as null when a document lacks them (a column cannot be absent per row)."""

TYPE_NAMES: dict[type, str] = {
    str: "str", int: "int", float: "float", bool: "bool", type(None): "null", list: "list", dict: "object"
}
"""How messages name a parsed JSON value's type (`jsonl.rs: type_name` uses the same names)."""

MESSAGES: dict[str, str] = {
    "empty_line": "empty line",
    "invalid_utf8": "invalid UTF-8 at byte {byte}",
    "nul_byte": "NUL byte at byte {byte}",
    "malformed_json": "malformed JSON ({detail})",
    "not_an_object": "expected a JSON object, got {got}",
    "missing": "field {field!r} is missing",
    "wrong_type": "field {field!r} must be {expected}, got {got}",
}
"""The words for every rejection kind; the keys are exactly `_rust.DOCUMENT_REJECTIONS`."""

_EXPECTED = {name: phrase for name, _, phrase, _ in FIELD_RULES}


class DocumentError(ValueError):
    """A line that is not a valid document; `str()` is its message, `field` the field it names (if any)."""

    def __init__(self, kind: str, *, field: str | None = None, got: str | None = None, byte: int | None = None,
                 detail: str = "", expected: str | None = None) -> None:
        self.kind = kind
        self.field = field
        expected = expected or _EXPECTED.get(field or "", "")
        super().__init__(MESSAGES[kind].format(field=field, got=got, byte=byte, detail=detail, expected=expected))


def type_name(value: Any) -> str:
    """`TYPE_NAMES` of a parsed JSON value."""
    return TYPE_NAMES.get(type(value), type(value).__name__)


def unparsable(raw: bytes, detail: str) -> DocumentError:
    """Why a line that orjson cannot parse is not JSON, checked in the order `jsonl.rs: unparsable` checks."""
    if not raw.strip():
        return DocumentError("empty_line")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return DocumentError("invalid_utf8", byte=err.start)
    if (byte := raw.find(b"\x00")) >= 0:
        return DocumentError("nul_byte", byte=byte)
    return DocumentError("malformed_json", detail=detail)


def parse_line(raw: bytes) -> Any:
    """The JSON value on one line; raises `DocumentError` for a line that is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise unparsable(raw, str(err)) from None


def check_object(obj: Any) -> dict[str, Any]:
    """`obj` if it is a JSON object; raises `DocumentError` otherwise."""
    if type(obj) is not dict:
        raise DocumentError("not_an_object", got=type_name(obj))
    return obj


def check_optional_fields(obj: dict[str, Any]) -> None:
    """Check the fields a document may have (`source`, `added`, ..., `metadata`); raises `DocumentError`."""
    for name, required, _, types in FIELD_RULES:
        if not required and name in obj and type(obj[name]) not in types:
            raise DocumentError("wrong_type", field=name, got=type_name(obj[name]))


def check_field(name: str, value: Any, present: bool, types: tuple[type, ...], expected: str) -> Any:
    """`value` (of the field `name`, `present` or not) if its type is one of `types`; raises `DocumentError`."""
    if type(value) in types:
        return value
    if not present:
        raise DocumentError("missing", field=name)
    raise DocumentError("wrong_type", field=name, got=type_name(value), expected=expected)


def check_document(obj: Any) -> dict[str, Any]:
    """`obj` if it is a valid document (an object whose fields follow `FIELD_RULES`); raises `DocumentError`."""
    check_object(obj)
    for name, required, _, types in FIELD_RULES:
        if name not in obj:
            if required:
                raise DocumentError("missing", field=name)
        elif type(obj[name]) not in types:
            raise DocumentError("wrong_type", field=name, got=type_name(obj[name]))
    return obj


def from_rejection(raw: bytes, kind: str, field: str | None, got: str | None, byte: int | None) -> DocumentError | None:
    """The error for a line the Rust reader rejected (`_rust.parse_documents`), orjson wording malformed JSON; None
    for a line orjson parses after all (nested deeper than serde_json goes), which the Python reader must decide."""
    if kind == "malformed_json":
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            return DocumentError(kind, detail=str(err))
        return None
    return DocumentError(kind, field=field, got=got, byte=byte)
