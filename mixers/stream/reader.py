"""Reading attribute files in step with their documents: the line-by-line attribute join.

An attribute file must have exactly one line per document line, each with the document's id and an
`attributes` object; any mismatch is a `DataError` naming the attribute file, its line and the document file.
"""

from __future__ import annotations

from typing import Any

from dolma_py.docmodel import DocumentError, check_object, parse_line
from dolma_py.errors import DataError
from dolma_py.io.documents import iter_lines
from dolma_py.io.storage import exists


def parse_object(raw: bytes, path: str, line_no: int) -> dict[str, Any]:
    """The JSON object on line `line_no` of `path`; anything else is a `DataError` naming the line, worded as the
    document model words a bad document line."""
    try:
        return check_object(parse_line(raw))
    except DocumentError as err:
        raise DataError(path, line_no, str(err)) from None


class AttributeFile:
    """One attribute set for one documents file, read in step with the documents."""

    def __init__(self, path: str, doc_path: str, codec: str | None = "infer") -> None:
        if not exists(path):
            raise DataError(path, None, f"attribute file is missing (needed for documents {doc_path})")
        self.path = path
        self.doc_path = doc_path
        self._lines = iter_lines(path, codec)

    def attributes_for(self, doc_id: Any, doc_line: int) -> dict[str, Any]:
        """The attributes on the line matching document line `doc_line`, after checking the ids agree."""
        item = next(self._lines, None)
        if item is None:
            raise DataError(
                self.path, doc_line, f"attribute file ends before the documents do ({self.doc_path}:{doc_line})"
            )
        line_no, raw = item
        row = parse_object(raw, self.path, line_no)
        if row.get("id") != doc_id:
            raise DataError(
                self.path,
                line_no,
                f"id {row.get('id')!r} does not match document id {doc_id!r} ({self.doc_path}:{doc_line})",
            )
        attributes = row.get("attributes")
        if type(attributes) is not dict:
            raise DataError(self.path, line_no, "field 'attributes' is missing or not an object")
        return attributes

    def check_exhausted(self, doc_lines: int) -> None:
        """Fail if the attribute file has more lines than the documents file."""
        item = next(self._lines, None)
        if item is not None:
            raise DataError(
                self.path,
                item[0],
                f"attribute file has more lines than its documents ({self.doc_path} has {doc_lines})",
            )
