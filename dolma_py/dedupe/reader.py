"""Reading documents for dedupe: only `id`, `text` and the parsed object, without building `Document`s.

Lines that pass the same checks as `Document.from_json` take a fast path (one dict lookup per field); any other
line goes through `to_document`, so bad lines get exactly the errors every other stage reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from dolma_py.io.documents import BadLine, iter_records, to_document


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


def read_lines(path: str) -> Iterator[DocLine | BadLine]:
    """One `DocLine` or `BadLine` per input line (or Parquet row), in order."""
    for line_no, record in iter_records(path):
        if _valid(record):
            yield DocLine(line_no, record["id"], record["text"], record)
            continue
        item = to_document(line_no, record)
        yield item if isinstance(item, BadLine) else DocLine(line_no, item.id, item.text, item.raw)
