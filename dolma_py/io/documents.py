"""Reading and writing documents and attribute files: JSON lines (optionally .gz/.zst) and Parquet.

Every input line yields exactly one item, a `Document` or a `BadLine`, so outputs stay line-aligned.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import orjson
import zstandard
from isal.isal_zlib import error as IsalError

from dolma_py.data import Document
from dolma_py.errors import DataError
from dolma_py.io.atomic import atomic_write
from dolma_py.io.compression import decompressing_reader
from dolma_py.io.paths import is_parquet
from dolma_py.io.storage import open_raw


@dataclass(slots=True)
class BadLine:
    """An input line that is not a valid document; `doc_id` is kept when it could be read."""

    line: int
    doc_id: str | None
    error: str


def open_read(path: str) -> IO[bytes]:
    """A streaming binary reader for `path`, decompressed by suffix, local or S3."""
    return decompressing_reader(open_raw(path, "rb"), path)


def iter_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, raw line without newline); a truncated or corrupt file raises `DataError`."""
    line_no = 0
    try:
        with open_read(path) as stream:
            for line_no, line in enumerate(stream, start=1):
                yield line_no, line.rstrip(b"\r\n")
    except (EOFError, OSError, zlib.error, IsalError, zstandard.ZstdError) as err:
        raise DataError(path, line_no + 1, f"cannot read compressed data ({err})") from err


def parse_document(raw: bytes) -> Document:
    """Parse and validate one JSON line; raises `ValueError` naming the problem."""
    if not raw.strip():
        raise ValueError("empty line")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise ValueError(f"malformed JSON ({err})") from None
    return Document.from_json(obj)


def _recover_id(raw: bytes) -> str | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    doc_id = obj.get("id") if isinstance(obj, dict) else None
    return doc_id if isinstance(doc_id, str) else None


def parse_line(line_no: int, raw: bytes) -> Document | BadLine:
    """`parse_document`, or a `BadLine` (with the id when it can still be read) for an invalid line."""
    try:
        return parse_document(raw)
    except ValueError as err:
        return BadLine(line_no, _recover_id(raw), str(err))


def _iter_parquet_rows(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    with open_raw(path, "rb") as raw:
        row = 0
        for batch in pq.ParquetFile(raw).iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                row += 1
                yield row, obj


def read_documents(path: str) -> Iterator[Document | BadLine]:
    """One `Document` or `BadLine` per input line (or Parquet row), in order."""
    if is_parquet(path):
        for row, obj in _iter_parquet_rows(path):
            try:
                yield Document.from_json(obj)
            except ValueError as err:
                doc_id = obj.get("id") if isinstance(obj.get("id"), str) else None
                yield BadLine(row, doc_id, str(err))
        return
    for line_no, raw in iter_lines(path):
        yield parse_line(line_no, raw)


def write_jsonl(path: str, rows: Iterable[dict[str, Any]]) -> int:
    """Atomically write JSON lines (compressed by suffix); returns the number of lines."""
    count = 0
    with atomic_write(path) as out:
        for row in rows:
            out.write(orjson.dumps(row))
            out.write(b"\n")
            count += 1
    return count


def write_parquet(path: str, rows: list[dict[str, Any]]) -> int:
    """Atomically write documents as Parquet with pyarrow."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    with atomic_write(path, compress=False) as out:
        pq.write_table(table, out)
    return len(rows)
