"""fastwarc over batches of well-framed records: the fields a document needs, one `Record` per WARC record.

Each batch (records `framing.Framer` found well framed) is parsed in one `ArchiveIterator` pass with HTTP headers
parsed and chunked transfer encoding decoded (dolma leaves the chunk sizes in the text). Offsets are mapped back
to the records' positions in the file.
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dolma_py.warc.framing import RawRecord

KINDS = ("warcinfo", "response", "resource", "request", "metadata", "revisit", "conversion", "continuation")
"""fastwarc's `WarcRecordType` bits by name (fastwarc imported lazily, so the core imports without the extra)."""


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


def _kind_names() -> dict[int, str]:
    from fastwarc.warc import WarcRecordType

    return {int(getattr(WarcRecordType, name)): name for name in KINDS}


_NAMES: dict[int, str] = {}


def parse_batch(batch: Sequence[RawRecord]) -> Iterator[Record]:
    """The records of `batch`, in order, parsed by fastwarc."""
    from fastwarc.warc import ArchiveIterator

    if not _NAMES:
        _NAMES.update(_kind_names())
    starts: dict[int, int] = {}
    position = 0
    for raw in batch:
        starts[position] = raw.offset
        position += len(raw.data)
    stream = io.BytesIO(b"".join(raw.data for raw in batch))
    for record in ArchiveIterator(stream, parse_http=True, auto_decode="transfer"):
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
        yield Record(
            kind=kind,
            offset=starts.get(record.stream_pos, record.stream_pos),
            record_id=record.record_id or None,
            record_date=record.record_date or None,
            target_uri=headers.get("WARC-Target-URI"),
            payload_digest=headers.get("WARC-Payload-Digest"),
            content_type=content_type.split(";")[0],
            date=date,
            http_status=http.status_code if http is not None else None,
            http_charset=record.http_charset if http is not None else None,
            body=record.reader.read() if kind in ("response", "resource") else b"",
            http_ok=http_ok,
        )
