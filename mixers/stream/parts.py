"""Parts: each input file's output documents, written as a sequence of independently compressed chunks.

A chunk is one gzip member (or zstd frame, or plain bytes) holding whole documents, so chunks can later be
concatenated byte for byte into shards of a bounded size without recompressing: concatenated gzip members and
zstd frames are valid files. A chunk is cut when its uncompressed size reaches the chunk target; a chunk that
compresses to more than the shard limit is split again (only a single document can exceed the limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

import zstandard
from isal import isal_zlib

GZIP_LEVEL = 2
"""ISA-L (igzip) level of gzip chunks: several times faster than zlib's level 6, for about 9% larger output."""
ZSTD_LEVEL = 3
CHUNK_TARGET_BYTES = 8 << 20
"""Uncompressed bytes per chunk (capped by the shard size); large enough that compression ratio is unaffected."""

SHARD_SUFFIX = {"gz": ".json.gz", "zst": ".json.zst", None: ".json"}
"""dolma 1.2.1's last shard of a stream is `<stream>-NNNN.json.gz` (`.json.zst`, `.json` by `compression.output`);
the full shards before it are `.jsonl.gz` and so on (`StreamPlan.shard_path`)."""


def compress(data: bytes, codec: str | None) -> bytes:
    """One self-contained gzip member / zstd frame (deterministic: no timestamps), or the bytes themselves."""
    if codec == "gz":
        packer = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, 31)
        return packer.compress(data) + packer.flush()
    if codec == "zst":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data)
    return data


@dataclass(frozen=True)
class Chunk:
    """A run of bytes in a part file: `length` bytes at `offset` holding `documents` documents."""

    offset: int
    length: int
    documents: int


class ChunkWriter:
    """Buffers serialized documents and writes them to `sink` as compressed chunks."""

    def __init__(self, sink: IO[bytes], codec: str | None, max_shard_bytes: int) -> None:
        self.sink = sink
        self.codec = codec
        self.max_shard_bytes = max_shard_bytes
        self.target = max(1, min(CHUNK_TARGET_BYTES, max_shard_bytes))
        self.chunks: list[Chunk] = []
        self.offset = 0
        self._docs: list[bytes] = []
        self._size = 0

    def add(self, line: bytes) -> None:
        """Append one serialized document (with its newline)."""
        self._docs.append(line)
        self._size += len(line)
        if self._size >= self.target:
            self.flush()

    def flush(self) -> None:
        """Write the buffered documents as one or more chunks."""
        if self._docs:
            self._write(self._docs)
        self._docs = []
        self._size = 0

    def _write(self, docs: list[bytes]) -> None:
        data = compress(b"".join(docs), self.codec)
        if len(data) > self.max_shard_bytes and len(docs) > 1:
            half = len(docs) // 2
            self._write(docs[:half])
            self._write(docs[half:])
            return
        self.sink.write(data)
        self.chunks.append(Chunk(self.offset, len(data), len(docs)))
        self.offset += len(data)
