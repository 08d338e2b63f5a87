"""Reading documents for dedupe: only `id`, `text` and the parsed object, without building `Document`s.

Lines that pass the same checks as `Document.from_json` take a fast path (one dict lookup per field); any other
line goes through `parse_line`, so bad lines get exactly the errors every other stage reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import orjson

from dolma_py.data import Document
from dolma_py.io.documents import BadLine, iter_lines, parse_line, read_documents
from dolma_py.io.paths import is_parquet


class DocLine(NamedTuple):
    """A valid document line: its 1-based number, id, text and parsed object."""

    line: int
    id: str
    text: str
    raw: dict[str, Any]


def _valid(obj: Any) -> bool:
    """The checks of `Document.from_json`, for the common case where they pass."""
    if type(obj) is not dict:
        return False
    source, metadata = obj.get("source"), obj.get("metadata")
    return (
        type(obj.get("id")) is str
        and type(obj.get("text")) is str
        and (not source or type(source) is str)
        and (not metadata or type(metadata) is dict)
    )


def _doc_line(line_no: int, item: Document | BadLine) -> DocLine | BadLine:
    return item if isinstance(item, BadLine) else DocLine(line_no, item.id, item.text, item.raw)


def read_lines(path: str) -> Iterator[DocLine | BadLine]:
    """One `DocLine` or `BadLine` per input line (or Parquet row), in order."""
    if is_parquet(path):
        for line_no, item in enumerate(read_documents(path), start=1):
            yield _doc_line(line_no, item)
        return
    loads = orjson.loads
    for line_no, raw in iter_lines(path):
        try:
            obj = loads(raw)
        except orjson.JSONDecodeError:
            obj = None
        if _valid(obj):
            yield DocLine(line_no, obj["id"], obj["text"], obj)
        else:
            yield _doc_line(line_no, parse_line(line_no, raw))
