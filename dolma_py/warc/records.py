"""fastwarc over batches of well-framed records: the fields a document needs, one `Record` per WARC record.

Each batch (records `framing.Framer` found well framed) is parsed in one `ArchiveIterator` pass with HTTP headers
parsed. A body sent with chunked transfer encoding is decoded here (fastwarc does not, so dolma leaves the chunk
sizes in the HTML and its text); one that is not valid chunked encoding is kept as it is. Offsets are mapped back
to the records' positions in the file.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dolma_py.warc.framing import Malformed, RawRecord

KINDS = ("warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation")
"""The names of fastwarc's `WarcRecordType` values (fastwarc is imported lazily: the core imports without it)."""


@dataclass(slots=True)
class Record:
    """One WARC record, as `warc/extract.py` uses it."""

    kind: str
    offset: int
    record_id: str | None
    record_date: datetime.datetime | None
    target_uri: str | None
    payload_digest: str | None
    content_type: str
    date: str | None
    http_status: int | None
    http_charset: str | None
    body: bytes
    http_ok: bool


def dechunk(body: bytes) -> bytes | None:
    """The payload of a chunked transfer-encoded body; None when `body` is not valid chunked encoding."""
    out = []
    at = 0
    while True:
        end = body.find(b"\r\n", at)
        if end < 0:
            return None
        size_field = body[at:end].split(b";", 1)[0].strip()
        if not size_field or size_field.strip(b"0123456789abcdefABCDEF"):
            return None
        size = int(size_field, 16)
        if size == 0:
            return b"".join(out)
        start = end + 2
        if start + size > len(body):
            return None
        out.append(body[start : start + size])
        at = start + size
        if body[at : at + 2] == b"\r\n":
            at += 2


def _body(record: Any, http: Any) -> bytes:
    body = record.reader.read()
    if http is not None and "chunked" in (http.get("Transfer-Encoding") or "").lower():
        decoded = dechunk(body)
        return body if decoded is None else decoded
    return body


def _kind_names() -> dict[int, str]:
    from fastwarc.warc import WarcRecordType

    return {int(getattr(WarcRecordType, name)): name for name in KINDS}


_NAMES: dict[int, str] = {}


def _record(record: Any, offset: int) -> Record:
    kind = _NAMES.get(int(record.record_type), "unknown")
    headers = record.headers
    http = record.http_headers if record.is_http else None
    if kind == "response":
        http_ok = http is not None and http.status_code is not None
        content_type = (http.get("Content-Type") or "") if http is not None else ""
        date = http.get("Date") if http is not None else None
    else:
        http_ok = True
        content_type = headers.get("Content-Type") or ""
        date = headers.get("WARC-Date")
    return Record(
        kind=kind,
        offset=offset,
        record_id=record.record_id or None,
        record_date=record.record_date or None,
        target_uri=headers.get("WARC-Target-URI"),
        payload_digest=headers.get("WARC-Payload-Digest"),
        content_type=content_type.split(";")[0],
        date=date,
        http_status=http.status_code if http is not None else None,
        http_charset=record.http_charset if http is not None else None,
        body=_body(record, http) if kind in ("response", "resource") else b"",
        http_ok=http_ok,
    )


UNPARSEABLE = "fastwarc cannot parse this record (e.g. an unknown WARC version or a bad header line)"


def parse_batch(batch: Sequence[RawRecord]) -> Iterator[Record | Malformed]:
    """The records of `batch`, in order, parsed by fastwarc; a record fastwarc skips or stops at (it stops at an
    unknown WARC version, silently) is given as `Malformed`, and parsing goes on after it."""
    from fastwarc.warc import ArchiveIterator

    if not _NAMES:
        _NAMES.update(_kind_names())
    first = 0
    while first < len(batch):
        part = batch[first:]
        index_at: dict[int, int] = {}
        position = 0
        for index, raw in enumerate(part):
            index_at[position] = index
            position += len(raw.data)
        last = -1
        for record in ArchiveIterator(io.BytesIO(b"".join(raw.data for raw in part)), parse_http=True):
            index = index_at.get(record.stream_pos)
            if index is None or index <= last:
                continue
            for skipped in range(last + 1, index):
                yield Malformed(part[skipped].offset, UNPARSEABLE)
            last = index
            yield _record(record, part[index].offset)
        if last == len(part) - 1:
            return
        yield Malformed(part[last + 1].offset, UNPARSEABLE)
        first += last + 2
