"""OLMo token shards: `<name>.npy` (raw little-endian ids, no NumPy header) plus `<name>.csv.gz` (one row per document).

Index rows are dolma's `start,end,id,src,loc`: token offsets into the `.npy` (end exclusive), the document id, the
source file it came from and its 1-based line number there. Rows are written with `csv.writer`, as dolma does.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from dolma_py.io.atomic import atomic_write
from dolma_py.io.documents import open_read

SHARD_PATTERN = re.compile(r"part-\d+-\d+\.(npy|csv\.gz)$")
RECORD_NAME = ".dolma_py-tokens.json"
"""The run record `dolma tokens` writes beside its shards (dtype, tokenizer, shards); `dolma curriculum` reads it."""


def shard_name(index: int) -> str:
    """Deterministic shard stem: `part-00000-<index>` (one global writer group, dolma's `part-<group>-<n>` shape)."""
    return f"part-00000-{index:05d}"


@dataclass(frozen=True, slots=True)
class IndexRow:
    """One document of a shard: its token range `[start, end)`, id, source file and line."""

    start: int
    end: int
    id: str
    src: str
    loc: int


def write_shard(npy_path: str, csv_path: str, tokens: np.ndarray, rows: Iterable[IndexRow]) -> None:
    """Write the index then the ids, each atomically (the `.npy` appearing last marks the shard complete)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow((row.start, row.end, row.id, row.src, row.loc))
    with atomic_write(csv_path) as out:
        out.write(buffer.getvalue().encode("utf-8"))
    little = tokens.astype(tokens.dtype.newbyteorder("<"), copy=False)
    with atomic_write(npy_path, compress=False) as out:
        out.write(little.tobytes())


def read_index(csv_path: str) -> list[IndexRow]:
    """Parse a shard's `.csv.gz` index."""
    with open_read(csv_path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        return [IndexRow(int(s), int(e), doc_id, src, int(loc)) for s, e, doc_id, src, loc in csv.reader(text)]


def open_tokens(npy_path: str, dtype: str | np.dtype) -> np.ndarray:
    """Memory-map a local shard's ids the way OLMo does (`np.memmap(path, dtype, mode="r")`)."""
    return np.memmap(npy_path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")
