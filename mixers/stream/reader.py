"""Streaming line readers for documents and attribute files, and the line-by-line attribute join.

Lines are read in large decompressed blocks (much faster than per-line reads of a gzip stream). An attribute
file must have exactly one line per document line, each with the document's id and an `attributes` object;
any mismatch is a `DataError` naming the attribute file, its line and the document file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import orjson
import zstandard
from isal import isal_zlib

from dolma_py.errors import DataError
from dolma_py.io.compression import decompressing_reader
from dolma_py.io.storage import exists, open_raw

_BLOCK = 4 << 20
_CODEC_SUFFIX = {"gz": ".gz", "zst": ".zst", None: ""}


# Not `dolma_py.io.documents.iter_lines` (measured 15-20% faster on 50 MB gz/zst/plain): this contract differs,
# with a codec override (dolma's `compression.input`), lines kept byte for byte (a `\r` too) and decoding errors
# reported without a line number (tests/test_mix_pipeline.py checks that message).
def iter_lines(path: str, codec: str | None = "infer") -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its newline) for every line; `codec` 'gz'/'zst'/None overrides the suffix.

    A file ending in a newline has no blank last line. Corrupt or truncated data raises `DataError` (data is read
    in large blocks, so it names the last line read before the damaged block).
    """
    name = path if codec == "infer" else "input" + _CODEC_SUFFIX[codec]
    line_no = 0
    try:
        with open_raw(path, "rb") as raw, decompressing_reader(raw, name) as stream:
            rest = b""
            while True:
                block = stream.read(_BLOCK)
                if not block:
                    break
                lines = (rest + block).split(b"\n") if rest else block.split(b"\n")
                rest = lines.pop()
                for line in lines:
                    line_no += 1
                    yield line_no, line
            if rest:
                line_no += 1
                yield line_no, rest
    except (EOFError, OSError, zlib.error, isal_zlib.error, zstandard.ZstdError) as err:
        if isinstance(err, FileNotFoundError):
            raise DataError(path, None, "file not found") from err
        raise DataError(path, None, f"cannot read compressed data after line {line_no} ({err})") from err


def parse_object(raw: bytes, path: str, line_no: int) -> dict[str, Any]:
    """The JSON object on line `line_no` of `path`; anything else is a `DataError` naming the line."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise DataError(path, line_no, f"malformed JSON ({err})") from None
    if type(obj) is not dict:
        raise DataError(path, line_no, "expected a JSON object")
    return obj


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
