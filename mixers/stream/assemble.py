"""Packing parts into shards: chunks, in input order, fill `<stream>-NNNN` shards up to the size limit.

The packing depends only on the chunk sizes, which depend only on inputs and config, so shard numbers and bytes
are the same for any process count. A shard is closed before a chunk that would push it past
`max_size_in_bytes`; a single chunk larger than the limit (one oversized document) gets a shard of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import atomic_write
from dolma_py.io.storage import open_raw

_COPY_BLOCK = 8 << 20


@dataclass(frozen=True)
class Segment:
    """`length` bytes at `offset` of a part file."""

    part: str
    offset: int
    length: int


@dataclass(frozen=True)
class ShardTask:
    """One shard: the part segments it concatenates, and its unit's completion marker (in the staging directory)."""

    path: str
    marker: str
    segments: tuple[Segment, ...]
    documents: int

    @property
    def size(self) -> int:
        return sum(segment.length for segment in self.segments)


def pack(parts: Sequence[tuple[str, Sequence[Sequence[int]]]], max_bytes: int) -> list[list[tuple[str, int, int, int]]]:
    """Group chunks `(part, [(offset, length, docs), ...])` into shards of chunks `(part, offset, length, docs)`."""
    shards: list[list[tuple[str, int, int, int]]] = []
    current: list[tuple[str, int, int, int]] = []
    size = 0
    for part, chunks in parts:
        for offset, length, docs in chunks:
            if current and size + length > max_bytes:
                shards.append(current)
                current, size = [], 0
            current.append((part, offset, length, docs))
            size += length
    if current:
        shards.append(current)
    return shards


def merge_segments(chunks: list[tuple[str, int, int, int]]) -> tuple[Segment, ...]:
    """Contiguous chunks of the same part become one segment (one read)."""
    segments: list[Segment] = []
    for part, offset, length, _ in chunks:
        last = segments[-1] if segments else None
        if last is not None and last.part == part and last.offset + last.length == offset:
            segments[-1] = Segment(part, last.offset, last.length + length)
        else:
            segments.append(Segment(part, offset, length))
    return tuple(segments)


def write_shard(unit: Unit) -> UnitResult:
    """Concatenate a shard's segments into its file (the runner writes its marker after)."""
    task: ShardTask = unit.params
    with atomic_write(task.path, compress=False) as out:
        for segment in task.segments:
            with open_raw(segment.part, "rb") as source:
                source.seek(segment.offset)
                remaining = segment.length
                while remaining:
                    block = source.read(min(_COPY_BLOCK, remaining))
                    if not block:
                        raise OSError(f"{segment.part} ends before byte {segment.offset + segment.length}")
                    out.write(block)
                    remaining -= len(block)
    return UnitResult(key=unit.key, documents=task.documents, counters={"shard_bytes": task.size})
