"""Split a decompressed WARC byte stream into records, with their offsets, surviving malformed ones.

fastwarc stops iterating, silently, at the first record it cannot frame (a bad header line, a wrong
Content-Length), losing the rest of the file. So the framing is done here, which is cheap (a header search and a
length per record), and only well-framed records reach fastwarc (`records.py`). A record is well framed when its
header block starts with `WARC/`, has a numeric `Content-Length`, and its block is followed by the two CRLFs the
spec requires. A malformed record is reported with its offset and the stream is searched from there for the next
line starting `WARC/1.`. A record longer than `max_record_bytes` is read past in bounded pieces, never held.

Offsets are positions in the uncompressed stream, as fastwarc's `stream_pos` (dolma's `uncompressed_offset`).
A truncated or corrupt compressed stream raises from the decompressor; `Framer.offset` (the record being read)
and `Framer.decompressed` (the bytes the stream gave before it failed) then say where.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

READ_SIZE = 64 << 10
MAX_HEADER_BYTES = 1 << 20
"""A WARC header block longer than this is malformed (real ones are well under 4 KiB)."""
_CONTENT_LENGTH = re.compile(rb"\r?\ncontent-length:[ \t]*([^\r\n]*)", re.IGNORECASE)
_WARC_TYPE = re.compile(rb"\r?\nwarc-type:[ \t]*([^\r\n]*)", re.IGNORECASE)
_RECORD_START = re.compile(rb"(?:^|\n)WARC/1\.")
_HEADER_END = b"\r\n\r\n"
_TRAILER = b"\r\n\r\n"


@dataclass(slots=True)
class RawRecord:
    """One well-framed record: its offset in the uncompressed stream, its bytes (headers, block, trailer) and its
    WARC-Type, lowercased ("" if absent), so records no document comes from need not be parsed."""

    offset: int
    data: bytes
    kind: str


@dataclass(slots=True)
class Malformed:
    """A stretch that is not a well-framed record, starting at `offset`, and why."""

    offset: int
    reason: str


@dataclass(slots=True)
class TooLarge:
    """A record whose block is longer than the limit: read past, not kept."""

    offset: int
    length: int


Framed = RawRecord | Malformed | TooLarge


class Framer:
    """Iterates the records of `stream` (already decompressed). `offset` is the position of the record being read
    and `decompressed` the bytes read so far, so an exception from the decompressor can be located."""

    def __init__(self, stream: IO[bytes], max_record_bytes: int) -> None:
        self._stream = stream
        self._max = max_record_bytes
        self._buf = b""
        self._at = 0  # index in self._buf of the next unread byte
        self._pos = 0  # stream offset of self._buf[self._at]
        self._eof = False
        self.offset = 0
        self.decompressed = 0

    def _available(self) -> int:
        return len(self._buf) - self._at

    def _fill(self, size: int) -> bool:
        """Read until `size` unread bytes are buffered or the stream ends; False if it ended short."""
        if self._available() >= size:
            return True
        chunks = [self._buf[self._at :]]
        have = len(chunks[0])
        while have < size and not self._eof:
            chunk = self._stream.read(max(READ_SIZE, size - have))
            if not chunk:
                self._eof = True
                break
            chunks.append(chunk)
            have += len(chunk)
            self.decompressed += len(chunk)
        self._buf, self._at = b"".join(chunks), 0
        return have >= size

    def _consume(self, size: int) -> None:
        self._at += size
        self._pos += size

    def _find(self, needle: bytes, start: int, end: int | None = None) -> int:
        """`needle`'s index relative to the unread part, searching from relative `start`; -1 if absent."""
        found = self._buf.find(needle, self._at + start, len(self._buf) if end is None else self._at + end)
        return found - self._at if found >= 0 else -1

    def _header_end(self) -> int:
        """Length of the header block with its blank line, or -1 when it does not end within the limit."""
        searched = 0
        while True:
            end = self._find(_HEADER_END, max(0, searched - 3))
            if end >= 0:
                return end + len(_HEADER_END)
            searched = self._available()
            if searched > MAX_HEADER_BYTES or not self._fill(searched + READ_SIZE):
                end = self._find(_HEADER_END, max(0, searched - 3))
                return end + len(_HEADER_END) if end >= 0 else -1

    def _resync(self) -> None:
        """Skip to the next line starting `WARC/1.` after the current byte (or to the stream's end)."""
        start = 1
        while True:
            match = _RECORD_START.search(self._buf, self._at + start)
            if match is not None:
                at = match.start() + (1 if self._buf[match.start()] == 0x0A else 0)
                self._consume(at - self._at)
                return
            keep = min(self._available(), 8)  # a record start may straddle the buffer's end
            self._consume(self._available() - keep)
            start = 0
            if not self._fill(keep + READ_SIZE) and _RECORD_START.search(self._buf, self._at) is None:
                self._consume(self._available())
                return

    def _skip_block(self, size: int) -> None:
        """Read past `size` bytes without holding more than one read's worth."""
        while size > 0 and self._fill(1):
            step = min(size, self._available())
            self._consume(step)
            size -= step

    def __iter__(self) -> Iterator[Framed]:
        while True:
            self.offset = self._pos
            if not self._fill(1):
                return
            first = self._buf[self._at]
            if first in (0x0D, 0x0A):  # blank lines between records are tolerated
                self._consume(1)
                continue
            if not self._fill(5) or self._buf[self._at : self._at + 5] != b"WARC/":
                yield Malformed(self._pos, "no WARC/ version line where a record should start")
                self._resync()
                continue
            header_end = self._header_end()
            if header_end < 0:
                yield Malformed(self._pos, "record header block never ends (no blank line)")
                self._resync()
                continue
            match = _CONTENT_LENGTH.search(self._buf, self._at, self._at + header_end)
            length = match.group(1).strip() if match else b""
            if not length.isdigit():
                yield Malformed(self._pos, f"bad Content-Length {length.decode('latin-1')!r}")
                self._resync()
                continue
            size = int(length)
            if size > self._max:
                offset = self._pos
                self._consume(header_end)
                self._skip_block(size)
                if self._fill(len(_TRAILER)) and self._find(_TRAILER, 0, len(_TRAILER)) == 0:
                    self._consume(len(_TRAILER))
                yield TooLarge(offset, size)
                continue
            total = header_end + size + len(_TRAILER)
            complete = self._fill(total)
            if not complete or self._buf[self._at + total - len(_TRAILER) : self._at + total] != _TRAILER:
                why = "ends before its Content-Length" if not complete else "block is not followed by CRLF CRLF"
                yield Malformed(self._pos, f"record {why} (Content-Length {size})")
                self._resync()
                continue
            kind = _WARC_TYPE.search(self._buf, self._at, self._at + header_end)
            name = kind.group(1).strip().lower().decode("latin-1") if kind else ""
            yield RawRecord(self._pos, self._buf[self._at : self._at + total], name)
            self._consume(total)
