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

from dolma_py._rust import count_lines
from dolma_py.data import Document
from dolma_py.docmodel import NULL_MEANS_ABSENT, DocumentError, parse_line
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


READ_BLOCK = 4 << 20
CODEC_SUFFIX = {"gz": ".gz", "zst": ".zst", None: ""}
"""The suffix that stands for each `compression.*` codec, where a name must say which codec to use."""


def iter_line_blocks(path: str, codec: str | None = "infer") -> Iterator[tuple[int, bytes]]:
    """(lines before it, block) for consecutive blocks of whole lines of `path`; a block's lines are
    `block.split(b"\n")`, kept byte for byte, so it always holds at least one line.

    Data is decompressed in large blocks, several times faster than per-line reads of a gzip stream. `codec`
    'gz'/'zst'/None overrides the suffix (dolma's `compression.input`). A file ending in a newline has no blank
    last line. A missing, corrupt or truncated file raises `DataError` naming the last line read before it.
    """
    name = path if codec == "infer" else "input" + CODEC_SUFFIX[codec]
    before = 0
    try:
        with open_raw(path, "rb") as raw, decompressing_reader(raw, name) as stream:
            rest = b""
            while block := stream.read(READ_BLOCK):
                data = rest + block if rest else block
                end = data.rfind(b"\n")
                if end < 0:
                    rest = data
                    continue
                rest = data[end + 1 :]
                whole = data[:end]
                yield before, whole
                before += count_lines(whole)
            if rest:
                yield before, rest
    except (EOFError, OSError, zlib.error, IsalError, zstandard.ZstdError) as err:
        if isinstance(err, FileNotFoundError):
            raise DataError(path, None, "file not found") from err
        if isinstance(err, IsADirectoryError):
            raise DataError(path, None, "is a directory, not a documents file") from err
        raise DataError(path, None, f"cannot read compressed data after line {before} ({err})") from err


def iter_lines(path: str, codec: str | None = "infer") -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its newline, kept byte for byte) for every line of `path` (see
    `iter_line_blocks`, which reads them)."""
    for before, block in iter_line_blocks(path, codec):
        yield from enumerate(block.split(b"\n"), before + 1)


def iter_parquet_rows(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based row number, row as a dict) for every row of a Parquet file, streamed batch by batch; a null in an
    optional column the document model wants a string in (`NULL_MEANS_ABSENT`) is a field the row lacks."""
    import pyarrow.parquet as pq

    with open_raw(path, "rb") as raw:
        row = 0
        for batch in pq.ParquetFile(raw).iter_batches(batch_size=4096):
            for obj in batch.to_pylist():
                row += 1
                for name in NULL_MEANS_ABSENT:
                    if name in obj and obj[name] is None:
                        del obj[name]
                yield row, obj


def iter_records(path: str, codec: str | None = "infer") -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON value) per line, or per row of a Parquet file; a line that cannot be parsed
    gives its `DocumentError` as the value, so callers keep one item per input line."""
    if is_parquet(path):
        yield from iter_parquet_rows(path)
        return
    for line_no, raw in iter_lines(path, codec):
        yield line_no, parse_record(raw)


def parse_record(raw: bytes) -> Any:
    """The JSON value on one line, or the `DocumentError` saying why there is none (as `iter_records` gives it)."""
    try:
        return parse_line(raw)
    except DocumentError as err:
        return err


def to_document(line_no: int, record: Any) -> Document | BadLine:
    """Validate one record from `iter_records`: a `Document`, or a `BadLine` keeping the id when it is readable."""
    if isinstance(record, DocumentError):
        return BadLine(line_no, None, str(record))
    try:
        return Document.from_json(record)
    except DocumentError as err:
        doc_id = record.get("id") if isinstance(record, dict) else None
        return BadLine(line_no, doc_id if isinstance(doc_id, str) else None, str(err))


def read_documents(path: str) -> Iterator[Document | BadLine]:
    """One `Document` or `BadLine` per input line (or Parquet row), in order."""
    for line_no, record in iter_records(path):
        yield to_document(line_no, record)


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
