"""Reading documents for dedupe: only `id`, `text` and the parsed object, without building `Document`s.

Lines are checked by the document model (`dolma_py.docmodel`), so bad lines get exactly the errors every other
stage reports. The paragraph modes need only ids and texts: their JSON lines are parsed and checked in Rust
(`text_batches`), whose rejections `docmodel.from_rejection` words; a batch holding a line nested deeper than the Rust
parser goes is read through the Python checks instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from dolma_py import _rust
from dolma_py.docmodel import from_rejection
from dolma_py.io.documents import BadLine, iter_line_blocks, iter_records, parse_record, to_document
from dolma_py.io.paths import is_parquet
from dolma_py.text import ParsedTexts


class DocLine(NamedTuple):
    """A valid document line: its 1-based number, id, text and parsed object."""

    line: int
    id: str
    text: str
    raw: dict[str, Any]


@dataclass
class TextBatch:
    """Consecutive input lines: every line's id (None where unreadable), the texts of the lines holding a
    document, which lines those are, and the bad lines."""

    ids: list[str | None]
    doc_lines: NDArray[np.int64]
    texts: list[str] | ParsedTexts
    nonempty: NDArray[np.bool_]  # per document: is its text non-empty?
    bad: list[BadLine]

    @classmethod
    def from_items(cls, items: list[DocLine | BadLine]) -> TextBatch:
        docs = [(index, item) for index, item in enumerate(items) if isinstance(item, DocLine)]
        texts = [item.text for _, item in docs]
        return cls(
            ids=[item.id if isinstance(item, DocLine) else item.doc_id for item in items],
            doc_lines=np.array([index for index, _ in docs], dtype=np.int64),
            texts=texts,
            nonempty=np.array([bool(text) for text in texts], dtype=bool),
            bad=[item for item in items if isinstance(item, BadLine)],
        )


def _doc_line(line_no: int, record: Any) -> DocLine | BadLine:
    """One `iter_records` item as a `DocLine`, or the `BadLine` that `to_document` makes of it."""
    item = to_document(line_no, record)
    return item if isinstance(item, BadLine) else DocLine(line_no, item.id, item.text, item.raw)


def read_lines(path: str, codec: str | None = "infer") -> Iterator[DocLine | BadLine]:
    """One `DocLine` or `BadLine` per input line (or Parquet row), in order; `codec` as `iter_lines` takes it."""
    for line_no, record in iter_records(path, codec):
        yield _doc_line(line_no, record)


def text_batches(path: str, batch_size: int, codec: str | None = "infer") -> Iterator[TextBatch]:
    """The file's lines in order: a batch per block that `iter_line_blocks` reads, or of up to `batch_size`
    Parquet rows."""
    if is_parquet(path):
        rows = read_lines(path)
        while items := list(itertools.islice(rows, batch_size)):
            yield TextBatch.from_items(items)
        return
    for before, block in iter_line_blocks(path, codec):
        ids, texts, doc_lines, rejections = _rust.parse_documents(block)
        bad = []
        lines: list[bytes] = []
        for index, kind, field, got, byte in rejections:
            lines = lines or block.split(b"\n")
            error = from_rejection(lines[index], kind, field, got, byte)
            if error is None:
                break
            bad.append(BadLine(before + index + 1, ids[index], str(error)))
        else:
            yield TextBatch(ids, doc_lines, texts, texts.nonempty(), bad)
            continue
        numbered = enumerate(lines, before + 1)
        yield TextBatch.from_items([_doc_line(line_no, parse_record(raw)) for line_no, raw in numbered])
