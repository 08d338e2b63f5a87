"""The fast charset decision and date parsing give exactly what dolma 1.2.1's slow ones give (charset_normalizer's
`detect`, `dateparser.parse` with dolma's formats), on generated pages and dates of every shape."""

from __future__ import annotations

import datetime
import random

import pytest

pytest.importorskip("charset_normalizer")
dateparser = pytest.importorskip("dateparser")

from dolma_py.warc.charset import decode_body  # noqa: E402
from dolma_py.warc.dates import DATE_FORMATS, dolma_timestamp, parse_date  # noqa: E402
from dolma_py.warc.records import dechunk  # noqa: E402
from dolma_py.warc.sample import _CHARSETS, _html, _Page  # noqa: E402


def dolma_decode(content: bytes, http_charset: str | None) -> str:
    """dolma 1.2.1's `WarcProcessor.process_single` decision, verbatim but for its crash on a bad codec."""
    from charset_normalizer import detect

    decoded = ""
    if http_charset:
        try:
            decoded = content.decode(http_charset).strip()
        except UnicodeDecodeError:
            decoded = ""
    if not decoded and (encoding := detect(content)["encoding"]):
        decoded = content.decode(str(encoding)).strip()
    return decoded


def _bodies() -> list[tuple[bytes, str | None]]:
    rng = random.Random(11)
    out: list[tuple[bytes, str | None]] = []
    for index in range(240):
        codec, extra = _CHARSETS[index % len(_CHARSETS)]
        page = _Page(codec, extra if index % 5 else ("plain",), rng)
        html = _html(page, meta_charset=index % 3 == 0, license_link=index % 7 == 0)
        body = html.encode(codec, errors="xmlcharrefreplace")
        header = (codec, None, "utf-8")[index % 3]
        out.append((body, header))
    out += [
        (b"\xef\xbb\xbf<p>BOM caf\xc3\xa9</p>", None),
        (b"plain ascii", None),
        (b"<p>caf\xe9</p>", "utf-8"),
        (b"<meta charset='utf-16'><p>ascii body</p>", None),
        (b"  ", None),
        (bytes(range(256)), None),
    ]
    return out


def test_decode_body_equals_dolmas_decision() -> None:
    bodies = _bodies()
    assert all(decode_body(body, header) == dolma_decode(body, header) for body, header in bodies)
    assert sum(1 for body, header in bodies if header is None and not body.isascii()) > 50


def _date_strings() -> list[str]:
    rng = random.Random(5)
    out = []
    for _ in range(400):
        moment = datetime.datetime(2000, 1, 1) + datetime.timedelta(seconds=rng.randrange(30 * 365 * 86400))
        shape = rng.choice(
            (
                "%a, %d %b %Y %H:%M:%S GMT",
                "%a, %d %b %Y %H:%M:%S UTC",
                "%Y-%m-%dT%H:%M:%SZ",
                "%A, %d-%b-%y %H:%M:%S GMT",
                "%a %b %d %H:%M:%S %Y",
                "%a, %d %b %Y %H:%M:%S +0200",
            )
        )
        out.append(moment.strftime(shape))
    return out + [
        "Wed, 01 Oct 2024 10:00:00 GMT",
        "Tue, 31 Feb 2024 10:00:00 GMT",
        "tue, 01 oct 2024 10:00:00 gmt",
        "Tue, 01 Oct 0999 10:00:00 GMT",
        "Tue, 01 Oct 2024 25:00:00 GMT",
        "garbage",
        "",
    ]


def test_parse_date_equals_dateparser() -> None:
    for text in _date_strings():
        theirs = dateparser.parse(date_string=text, date_formats=DATE_FORMATS) if text else None
        ours = parse_date(text)
        assert (ours and dolma_timestamp(ours)) == (theirs and dolma_timestamp(theirs)), text


def test_dechunk() -> None:
    assert dechunk(b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n") == b"hello world"
    assert dechunk(b"<html>not chunked</html>") is None
    assert dechunk(b"ff\r\nshort\r\n") is None
    assert dechunk(b"-5\r\nhello\r\n0\r\n\r\n") is None and dechunk(b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n") is None


def test_plain_url_shortcut_equals_w3lib_and_url_normalize() -> None:
    from dolma_py.warc.urls import _EDGES, _plain, normalize_url, normalize_url_slowly

    rng = random.Random(1)
    path_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/"
    shortcut = queries = 0
    for _ in range(4000):
        labels = ("".join(rng.choice("abcXYZ019-") for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 4)))
        host = rng.choice(("", "www.", "WWW2.", "www10.", "xn--bcher-kva.")) + ".".join(labels)
        path = "".join(rng.choice(path_chars) for _ in range(rng.randint(0, 20)))
        url = rng.choice(("http", "https", "HTTP")) + "://" + host + ("/" if rng.random() < 0.8 else "") + path
        pairs = [f"{rng.choice('aAb_.')}{rng.choice('xy1')}={rng.choice(('1', 'v', 'z.z', ''))}" for _ in range(3)]
        query = "?" + "&".join(pairs[: rng.randint(1, 3)]) if rng.random() < 0.4 else ""
        url = rng.choice(("", "<", "'")) + url + query + rng.choice(("", "/", "//", "'", ">", "?b=2&a=1", "#x"))
        if _plain(_EDGES.sub("", url)) is None:
            continue
        shortcut += 1
        queries += "?" in url
        assert normalize_url(url) == normalize_url_slowly(url), url
    assert shortcut > 500 and queries > 100
