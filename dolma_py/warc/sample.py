"""A generated WARC sample: Common Crawl-like files for the quickstart, the tests and the benchmark.

Each response comes with its request and metadata records, as in Common Crawl. Pages use several templates (an
article with navigation, scripts and styles, a forum thread, a data table, a product list) in several charsets,
declared in the HTTP header, in a `<meta>` tag, or nowhere; some are sent with chunked transfer encoding, some link
a Creative Commons license. Between them: binaries (PNG, PDF), redirects, 404 pages, revisits and, when asked,
malformed records (a wrong Content-Length) placed at the end of the file. Everything comes from one seed, and the
bytes (gzip members without timestamps) are the same on every run.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dolma_py.io.atomic import atomic_write

_WORDS = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will can more other its some what out "
    "time people year way day man thing woman life child world school state family student group country problem "
    "hand part place case week company system program question work government number night point home water room "
    "mother area money story fact month lot right study book eye job word business issue side kind head house "
    "service friend father power hour game line end member law car city community name president team minute idea "
    "river garden market engine signal harbor winter valley library bridge season forest language history music"
).split()
_ACCENTED = ("café", "naïve", "déjà", "façade", "über", "Größe", "niño", "señor", "crème", "résumé", "Zürich")
_CYRILLIC = ("город", "время", "человек", "работа", "жизнь", "слово", "место", "вопрос")
_JAPANESE = ("日本語", "東京", "時間", "世界", "学校", "会社", "問題", "情報")
_CHARSETS = (
    # (codec, extra words the codec can encode)
    ("utf-8", _ACCENTED + _CYRILLIC + _JAPANESE),
    ("utf-8", _ACCENTED),
    ("windows-1252", _ACCENTED),
    ("iso-8859-1", _ACCENTED),
    ("windows-1251", _CYRILLIC),
    ("shift_jis", _JAPANESE),
)
_CHARSET_WEIGHTS = (45, 40, 5, 4, 3, 3)
"""UTF-8 for 85% of pages, legacy codecs for the rest (UTF-8 is ~98% of the web; legacy pages are overweighted)."""
_NAV = ("Home", "About", "Contact", "Blog", "Archive", "Login", "Sign up", "Privacy", "Terms", "Sitemap")
_LICENSES = ("by", "by-sa", "by-nc", "by-nc-sa", "by-nd")
_PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
_PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(128, 256)) * 16
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass
class _Page:
    """One page's text parts and the codec its bytes use."""

    codec: str
    extra: tuple[str, ...]
    rng: random.Random

    def sentence(self) -> str:
        rng = self.rng
        words = rng.choices(_WORDS, k=rng.randint(6, 22))
        for _ in range(len(words) // 7):
            words[rng.randrange(len(words))] = rng.choice(self.extra)
        return " ".join(words).capitalize() + rng.choice(".....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 7)))

    def title(self) -> str:
        return " ".join(w.capitalize() for w in self.rng.choices(_WORDS, k=self.rng.randint(3, 8)))


def _nav(page: _Page) -> str:
    links = "".join(f'<li><a href="/{name.lower()}">{name}</a></li>' for name in page.rng.sample(_NAV, 6))
    return f"<nav><ul>{links}</ul></nav>"


def _article(page: _Page) -> str:
    paragraphs = "".join(f"<p>{page.paragraph()}</p>" for _ in range(page.rng.randint(3, 14)))
    return (
        f"<header>{_nav(page)}</header><main><article><h1>{page.title()}</h1>{paragraphs}</article></main>"
        f"<footer><p>Copyright {page.rng.randint(2001, 2024)} {page.title()}</p></footer>"
    )


def _forum(page: _Page) -> str:
    posts = "".join(
        f'<div class="post"><span class="user">user{page.rng.randint(1, 999)}</span><p>{page.paragraph()}</p></div>'
        for _ in range(page.rng.randint(2, 9))
    )
    return f'{_nav(page)}<h2>{page.title()}</h2><div class="thread">{posts}</div>'


def _table(page: _Page) -> str:
    rows = "".join(
        f"<tr><td>{page.title()}</td><td>{page.rng.randint(1, 10_000)}</td><td>{page.sentence()}</td></tr>"
        for _ in range(page.rng.randint(4, 30))
    )
    return f"<h1>{page.title()}</h1><p>{page.paragraph()}</p><table><tr><th>Name</th><th>Count</th></tr>{rows}</table>"


def _listing(page: _Page) -> str:
    items = "".join(f"<li>{page.title()}: {page.sentence()}</li>" for _ in range(page.rng.randint(3, 20)))
    ordered = "".join(f"<li>{page.sentence()}</li>" for _ in range(page.rng.randint(2, 6)))
    return f"{_nav(page)}<h1>{page.title()}</h1><ul>{items}</ul><ol>{ordered}</ol><p>{page.paragraph()}</p>"


_TEMPLATES = (_article, _article, _forum, _table, _listing)


def _html(page: _Page, meta_charset: bool, license_link: bool) -> str:
    rng = page.rng
    meta = f'<meta charset="{page.codec}">' if meta_charset else ""
    script = "<script>var t = {a: 1, b: [2, 3]}; function f(x) { return x < 2 && x > 0; }</script>"
    style = "<style>body { font-family: sans-serif } .post { margin: 1em }</style>"
    body = rng.choice(_TEMPLATES)(page)
    if license_link:
        kind = rng.choice(_LICENSES)
        body += f'<p><a rel="license" href="https://creativecommons.org/licenses/{kind}/4.0/">CC {kind} 4.0</a></p>'
    return (
        f"<!DOCTYPE html><html><head>{meta}<title>{page.title()}</title>{script if rng.random() < 0.7 else ''}"
        f"{style}</head><body>{body}<noscript>Enable JavaScript</noscript></body></html>"
    )


def _digest(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def _chunked(body: bytes, rng: random.Random) -> bytes:
    out = []
    at = 0
    while at < len(body):
        size = rng.randint(200, 4000)
        chunk = body[at : at + size]
        out.append(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        at += size
    return b"".join(out) + b"0\r\n\r\n"


class _WarcWriter:
    """WARC/1.0 records, each its own gzip member (as Common Crawl writes them) or plain."""

    def __init__(self, sink, rng: random.Random, gz: bool) -> None:
        self.sink, self.rng, self.gz = sink, rng, gz

    def record_id(self) -> str:
        return f"<urn:uuid:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}>"

    def write(self, kind: str, headers: list[tuple[str, str]], block: bytes, *, length: int | None = None) -> str:
        record_id = self.record_id()
        lines = [
            f"WARC-Type: {kind}",
            f"WARC-Record-ID: {record_id}",
            *(f"{k}: {v}" for k, v in headers),
            f"WARC-Block-Digest: {_digest(block)}",
            f"Content-Length: {len(block) if length is None else length}",
        ]
        data = ("WARC/1.0\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + block + b"\r\n\r\n"
        self.sink.write(gzip.compress(data, compresslevel=1, mtime=0) if self.gz else data)
        return record_id


def write_warc(path: str, seed: int, responses: int, *, malformed: int = 0, gz: bool | None = None) -> Counter[str]:
    """Write one WARC file of `responses` response records (plus their request/metadata records) and `malformed`
    broken ones at its end; returns how many of each kind were written. Gzipped when `path` ends in `.gz`."""
    rng = random.Random(f"warc-sample-{seed}")
    gz = path.endswith(".gz") if gz is None else gz
    counts: Counter[str] = Counter()
    with atomic_write(path, compress=False) as sink:
        writer = _WarcWriter(sink, rng, gz)
        when = _EPOCH + timedelta(seconds=rng.randrange(365 * 86400))
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        info = b"software: dolma_py sample\r\nformat: WARC File Format 1.0\r\n"
        writer.write(
            "warcinfo",
            [
                ("WARC-Date", stamp),
                ("WARC-Filename", path.rsplit("/", 1)[-1]),
                ("Content-Type", "application/warc-fields"),
            ],
            info,
        )
        seen: list[tuple[str, str]] = []
        for index in range(responses):
            when += timedelta(seconds=rng.randint(1, 30))
            kind = _response(writer, rng, when, index, seen)
            counts[kind] += 1
        for index in range(malformed):
            block = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body><p>broken</p></body></html>"
            writer.write(
                "response",
                [
                    ("WARC-Date", stamp),
                    ("WARC-Target-URI", f"http://broken.example/{index}"),
                    ("WARC-Payload-Digest", _digest(block)),
                ],
                block,
                length=len(block) + 7,
            )
            counts["malformed"] += 1
    return counts


def _response(writer: _WarcWriter, rng: random.Random, when: datetime, index: int, seen: list[tuple[str, str]]) -> str:
    """Write one fetch (request, response or revisit, metadata); returns the response's kind."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    host = f"{rng.choice(('www.', '', 'www2.', 'blog.'))}site{rng.randint(1, 400)}.{rng.choice(('com', 'org', 'de'))}"
    url = f"http{rng.choice(('', 's'))}://{host}/{rng.choice(_WORDS)}/{index}{rng.choice(('', '/', '.html'))}"
    if rng.random() < 0.25:
        url += f"?id={rng.randint(1, 9999)}&ref={rng.choice(_WORDS)}"
    http_date = (when - timedelta(seconds=rng.randint(0, 5))).strftime("%a, %d %b %Y %H:%M:%S GMT")
    request = f"GET /{index} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: sample\r\n\r\n".encode()
    common = [("WARC-Date", stamp), ("WARC-Target-URI", url)]
    writer.write("request", [*common, ("Content-Type", "application/http; msgtype=request")], request)
    roll = rng.random()
    headers: list[tuple[str, str]] = [("Date", http_date), ("Server", "sample")]
    if roll < 0.03 and seen:
        original_uri, original_date = rng.choice(seen)
        block = f"HTTP/1.1 200 OK\r\nDate: {http_date}\r\n\r\n".encode()
        writer.write(
            "revisit",
            [
                *common,
                ("WARC-Refers-To-Target-URI", original_uri),
                ("WARC-Refers-To-Date", original_date),
                ("WARC-Profile", "http://netpreserve.org/warc/1.0/revisit/identical-payload-digest"),
                ("WARC-Payload-Digest", _digest(b"x")),
                ("Content-Type", "application/http"),
            ],
            block,
        )
        kind = "revisit"
    else:
        (codec, extra), declare = rng.choices(_CHARSETS, weights=_CHARSET_WEIGHTS)[0], rng.random()
        page, status = _Page(codec, extra, rng), "200 OK"
        if roll < 0.08:
            status, body, ctype = "200 OK", rng.choice((_PNG, _PDF)), rng.choice(("image/png", "application/pdf"))
            kind = "binary"
        elif roll < 0.12:
            status, kind = "301 Moved Permanently", "redirect"
            body = f'<html><body><a href="{url}x">Moved</a></body></html>'.encode()
            headers.append(("Location", url + "x"))
            ctype = "text/html"
        else:
            if roll < 0.15:
                status, kind = "404 Not Found", "not_found"
            else:
                kind = "html"
            html = _html(page, meta_charset=0.5 <= declare < 0.8, license_link=rng.random() < 0.1)
            body = html.encode(codec, errors="xmlcharrefreplace")
            ctype = f"text/html; charset={codec}" if declare < 0.5 else "text/html"
        headers.append(("Content-Type", ctype))
        if kind == "html" and rng.random() < 0.005:
            body = _chunked(body, rng)
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(body))))
        head = f"HTTP/1.1 {status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        block = head.encode() + body
        writer.write(
            "response",
            [
                *common,
                ("WARC-Payload-Digest", _digest(body)),
                ("WARC-IP-Address", "10.0.0.1"),
                ("Content-Type", "application/http; msgtype=response"),
            ],
            block,
        )
        seen.append((url, stamp))
    fields = f"fetchTimeMs: {rng.randint(10, 900)}\r\n".encode()
    writer.write("metadata", [*common, ("Content-Type", "application/warc-fields")], fields)
    return kind


def write_warc_corpus(directory: str, seed: int, files: int, responses: int, *, malformed: int = 0) -> Counter[str]:
    """`files` gzipped WARC files `<directory>/sample-NNNNN.warc.gz`; returns the kinds written over all files."""
    total: Counter[str] = Counter()
    for index in range(files):
        path = f"{directory.rstrip('/')}/sample-{index:05d}.warc.gz"
        total += write_warc(path, seed * 1_000_003 + index, responses, malformed=malformed)
    return total
