"""Regenerate tests/fixtures/dolma_golden/warc/: dolma 1.2.1's own `dolma warc` output on small generated WARC files.

Two inputs: `sample.warc.gz`, Common Crawl-like (dolma_py.warc.sample: templates, charsets in the header, a meta
tag or nowhere, binaries, redirects, 404s, revisits, request and metadata records), and `cases.warc.gz`, written
with warcio, one record per case dolma treats specially: header charsets that fail, BOMs, undeclared legacy
charsets, dates in other shapes, resource records, odd URLs, an empty body, a Creative Commons link, one chunked
body. Every case has an HTTP Date and the files a warcinfo record, so dolma's output is deterministic but for
`added`. Each config is run by the reference (benchmarks/setup_reference.sh) from outside the repository; the
fixture keeps the inputs, the configs and dolma's output lines:

    python benchmarks/golden_warc.py
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import REPO_ROOT, require_reference

sys.path.insert(0, str(REPO_ROOT))
from dolma_py.warc.sample import write_warc  # noqa: E402

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "warc"
CASES: dict[str, dict] = {
    "default": {},
    "taggers": {"pre": {"taggers": ["cc_re"]}, "post": {"taggers": ["char_length_v1"]}, "store_html_in_metadata": True},
    "pre_skip": {"pre": {"taggers": ["cc_re"], "skip": True}},
    "trafilatura": {"linearizer": "trafilatura"},
}

_PAGE = "<html><head>{head}<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p><p>{more}</p></body></html>"
_TEXT = "This paragraph is long enough to count as main content for the extractor, with several words in it."


def _page(title: str, text: str, head: str = "") -> str:
    return _PAGE.format(head=head, title=title, text=text, more=_TEXT)


def _cases() -> list[dict]:
    """(uri, http headers, body bytes, record type) of each case."""
    date = "Tue, 01 Oct 2024 10:00:00 GMT"
    accented = "Café déjà vu, naïve façade über Größe, señor niño, crème brûlée résumé."
    cases = [
        ("http://utf8.example/a", "text/html; charset=utf-8", _page("UTF-8", accented).encode("utf-8")),
        ("http://latin1.example/a", "text/html; charset=iso-8859-1", _page("Latin 1", accented).encode("latin-1")),
        (
            "http://wrong.example/a",
            "text/html; charset=utf-8",
            _page("Declared UTF-8, sent cp1252", accented).encode("cp1252"),
        ),
        (
            "http://meta.example/a",
            "text/html",
            _page("Meta", accented, '<meta charset="windows-1252">').encode("cp1252"),
        ),
        ("http://ascii.example/a", "text/html", _page("ASCII", "Plain ASCII text only, nothing else.").encode()),
        ("http://bom.example/a", "text/html", b"\xef\xbb\xbf" + _page("BOM", accented).encode("utf-8")),
        ("http://undeclared.example/a", "text/html", _page("Undeclared UTF-8", accented).encode("utf-8")),
        (
            "http://sjis.example/a",
            "text/html",
            _page("Shift JIS", "日本語のテキストです。東京の天気は晴れです。今日は良い日です。" * 3).encode(
                "shift_jis"
            ),
        ),
        (
            "http://cp1251.example/a",
            "text/html",
            _page("Cyrillic", "Это русский текст о городе и времени, о жизни и работе. " * 3).encode("cp1251"),
        ),
        ("<http://WWW.Example.COM:80/a/../b/?b=2&a=1#frag>", "text/html", _page("URL", "Odd URL.").encode()),
        ("https://www2.example.org/path//", "text/html", _page("URL 2", "Trailing slashes.").encode()),
        ("http://例え.jp/パス?q=値", "text/html", _page("URL 3", "Unicode URL.").encode()),
        ("http://Example.com/%7Euser/a%20b", "text/html", _page("URL 4", "Percent-encoded URL.").encode()),
        ("http://empty.example/a", "text/html", b"   \r\n  "),
        (
            "http://notfound.example/a",
            "text/html",
            _page("Not Found", "The page you asked for is gone.").encode(),
            "404 Not Found",
        ),
        (
            "http://cc.example/a",
            "text/html; charset=utf-8",
            _page("Licensed", "Some licensed text.", '<meta name="x" content="y">')
            .replace(
                "</body>",
                '<a rel="license" href="http://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA</a>'
                '<a href="https://creativecommons.org/publicdomain/zero/1.0/">CC0</a></body>',
            )
            .encode(),
        ),
        ("http://xhtml.example/a", "application/xhtml+xml; charset=utf-8", _page("XHTML", "XHTML body.").encode()),
    ]
    out = [
        {"uri": c[0], "ctype": c[1], "body": c[2], "status": c[3] if len(c) > 3 else "200 OK", "date": date}
        for c in cases
    ]
    out.append(
        {
            "uri": "http://date1.example/a",
            "ctype": "text/html",
            "body": _page("Date", "Offset.").encode(),
            "status": "200 OK",
            "date": "Tue, 01 Oct 2024 10:00:00 +0200",
        }
    )
    out.append(
        {
            "uri": "http://date2.example/a",
            "ctype": "text/html",
            "body": _page("Date", "RFC 850.").encode(),
            "status": "200 OK",
            "date": "Tuesday, 01-Oct-24 10:00:00 GMT",
        }
    )
    out.append(
        {
            "uri": "http://date3.example/a",
            "ctype": "text/html",
            "body": _page("Date", "asctime.").encode(),
            "status": "200 OK",
            "date": "Tue Oct  1 10:00:00 2024",
        }
    )
    out.append(
        {
            "uri": "http://chunked.example/a",
            "ctype": "text/html",
            "status": "200 OK",
            "date": date,
            "body": _page("Chunked", accented).encode(),
            "chunked": True,
        }
    )
    out.append(
        {
            "uri": "http://resource.example/a",
            "ctype": "text/html",
            "status": None,
            "date": None,
            "body": _page("Resource", "A resource record, not a response.").encode(),
        }
    )
    return out


def write_cases(path: Path) -> int:
    """Write `cases.warc.gz` with warcio; returns the number of cases."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    cases = _cases()
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        info = writer.create_warcinfo_record("cases.warc.gz", {"software": "golden_warc"})
        info.rec_headers.replace_header("WARC-Date", "2024-10-01T12:00:00Z")
        info.rec_headers.replace_header("WARC-Record-ID", "<urn:uuid:00000000-0000-4000-8000-000000000000>")
        writer.write_record(info)
        for index, case in enumerate(cases):
            body = case["body"]
            if case["status"] is None:
                record = writer.create_warc_record(
                    case["uri"], "resource", payload=io.BytesIO(body), warc_content_type=case["ctype"]
                )
            else:
                headers = [("Content-Type", case["ctype"]), ("Date", case["date"])]
                if case.get("chunked"):
                    chunks = [body[i : i + 97] for i in range(0, len(body), 97)]
                    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
                    headers.append(("Transfer-Encoding", "chunked"))
                http = StatusAndHeaders(case["status"], headers, protocol="HTTP/1.1")
                record = writer.create_warc_record(case["uri"], "response", payload=io.BytesIO(body), http_headers=http)
            record.rec_headers.replace_header("WARC-Date", f"2024-10-01T12:00:{index:02d}Z")
            record.rec_headers.replace_header("WARC-Record-ID", f"<urn:uuid:00000000-0000-4000-8000-{index:012d}>")
            writer.write_record(record)
    return len(cases)


def write_inputs(directory: Path) -> None:
    """The two input files, the same bytes every time."""
    directory.mkdir(parents=True, exist_ok=True)
    write_warc(str(directory / "sample.warc.gz"), seed=3, responses=50)
    write_cases(directory / "cases.warc.gz")


def _run_reference(dolma: Path, inputs: Path, case: dict, work: Path) -> dict[str, list[str]]:
    out = work / "out"
    config = {
        "documents": [str(inputs / "*.warc.gz")],
        "destination": [str(out)],
        "source_name": "golden",
        "processes": 1,
        **case,
    }
    (work / "warc.yaml").write_text(yaml.safe_dump(config))
    subprocess.run([str(dolma), "-c", str(work / "warc.yaml"), "warc"], cwd=work, check=True, capture_output=True)
    lines = {}
    for path in sorted(out.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines[path.name] = fh.read().splitlines()
    return lines


def main() -> None:
    dolma = require_reference()
    if FIXTURE.exists():
        shutil.rmtree(FIXTURE)
    write_inputs(FIXTURE / "documents")
    cases = {}
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as tmp:
            cases[name] = {"config": case, "outputs": _run_reference(dolma, FIXTURE / "documents", case, Path(tmp))}
        print(f"{name}: {sum(len(v) for v in cases[name]['outputs'].values())} documents")
    (FIXTURE / "cases.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
