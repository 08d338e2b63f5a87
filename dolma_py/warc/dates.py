"""dolma's timestamps: HTTP `Date` and WARC-Date parsing and the `YYYY-MM-DDTHH:MM:SS.mmmZ` format.

dolma parses with `dateparser.parse(date_formats=[RFC 1123 with %Z, ISO with Z])`. The common shapes (RFC 1123 in
GMT/UTC, ISO 8601 with Z) are parsed here directly into the same naive datetime; anything else goes to dateparser
itself, so every result is dateparser's. Where dateparser finds no date, dolma writes the current time; we
return None and the caller substitutes a deterministic date (see docs/compatibility.md).
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache

DATE_FORMATS = ["%a, %d %b %Y %H:%M:%S %Z", "%Y-%m-%dT%H:%M:%SZ"]
"""dolma 1.2.1's `WarcRecordInfo` date formats."""

_MONTHS = {
    name: i
    for i, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
    )
}
_DAYS = frozenset(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
_RFC1123 = re.compile(r"([A-Za-z]{3}), (\d\d) ([A-Za-z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) (?:GMT|UTC)\Z", re.ASCII)
_ISO_Z = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z\Z", re.ASCII)


def dolma_timestamp(moment: datetime.datetime) -> str:
    """dolma's format: `%Y-%m-%dT%H:%M:%S.%f` cut to milliseconds, plus `Z` (the offset is not converted)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def _fast(text: str) -> datetime.datetime | None:
    """The two common shapes, exactly as `datetime.strptime` with dolma's formats reads them; None otherwise."""
    if match := _RFC1123.match(text):
        day, mday, month, year, hour, minute, second = match.groups()
        month_no = _MONTHS.get(month.lower())
        if day.lower() not in _DAYS or month_no is None:
            return None
        parts = (int(year), month_no, int(mday), int(hour), int(minute), int(second))
    elif match := _ISO_Z.match(text):
        parts = tuple(int(group) for group in match.groups())  # type: ignore[assignment]
    else:
        return None
    if parts[0] < 1000:  # strftime would not pad such years; leave them to the general path
        return None
    try:
        return datetime.datetime(*parts)
    except ValueError:  # e.g. 31 Feb or hour 25: dateparser decides
        return None


@lru_cache(maxsize=4096)
def parse_date(text: str | None) -> datetime.datetime | None:
    """The datetime dolma 1.2.1 reads from an HTTP `Date` or a WARC-Date; None where it finds none."""
    if not text:
        return None
    fast = _fast(text)
    if fast is not None:
        return fast
    import dateparser

    return dateparser.parse(date_string=text, date_formats=DATE_FORMATS)
