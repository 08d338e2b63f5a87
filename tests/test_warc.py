"""`dolma warc` on WARC files written with warcio: every kind of record skipped and counted, malformed records and
truncated files, bounded memory on a huge record, determinism, resume, S3 input and Ray execution."""

from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from pathlib import Path

import pytest

pytest.importorskip("fastwarc")
pytest.importorskip("resiliparse")
warcio = pytest.importorskip("warcio")

from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

from dolma_py.cli import main as cli  # noqa: E402
from dolma_py.config.loader import build  # noqa: E402
from dolma_py.config.warc import WarcConfig  # noqa: E402
from dolma_py.exec.units import Unit  # noqa: E402
from dolma_py.warc.extract import extract_file, make_job, output_name, run_warc  # noqa: E402
from dolma_py.warc.sample import write_warc  # noqa: E402
from taggers.registry import create_tagger, load_tagger_modules  # noqa: E402

PAGE = "<html><body><h1>{title}</h1><p>{text} This sentence makes the paragraph long enough to be main content.</p>"
DATE = "Tue, 01 Oct 2024 10:00:00 GMT"


def page(title: str, text: str = "Some text.") -> bytes:
    return (PAGE.format(title=title, text=text) + "</body></html>").encode()


class Warc:
    """A WARC file built record by record with warcio."""

    def __init__(self, path: Path, gz: bool = True) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.buffer = path, io.BytesIO()
        self.writer = WARCWriter(self.buffer, gzip=gz)
        self.writer.write_record(self.writer.create_warcinfo_record(path.name, {"software": "test"}))

    def response(
        self,
        uri: str,
        body: bytes,
        ctype: str = "text/html; charset=utf-8",
        status: str = "200 OK",
        date: str | None = DATE,
        extra: list[tuple[str, str]] = (),
    ) -> Warc:
        headers = [("Content-Type", ctype), *([("Date", date)] if date else []), *extra]
        http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
        self.writer.write_record(
            self.writer.create_warc_record(uri, "response", payload=io.BytesIO(body), http_headers=http)
        )
        return self

    def record(self, uri: str, kind: str, body: bytes = b"x: y\r\n") -> Warc:
        self.writer.write_record(self.writer.create_warc_record(uri, kind, payload=io.BytesIO(body)))
        return self

    def raw(self, data: bytes) -> Warc:
        self.buffer.write(data)
        return self

    def save(self) -> Path:
        self.path.write_bytes(self.buffer.getvalue())
        return self.path


def config(tmp_path: Path, **overrides) -> WarcConfig:
    data = {
        "documents": [str(tmp_path / "in" / "*")],
        "destination": [str(tmp_path / "out")],
        "source_name": "test",
        **overrides,
    }
    return build(WarcConfig, data, "test")


def run(tmp_path: Path, **overrides):
    summary, _ = run_warc(config(tmp_path, **overrides), create_tagger, load_tagger_modules, progress=False)
    return summary


def docs(path: Path) -> list[dict]:
    return [json.loads(line) for line in gzip.open(path)]


def test_every_skipped_kind_is_counted(tmp_path: Path) -> None:
    warc = Warc(tmp_path / "in" / "a.warc.gz")
    warc.response("http://ok.example/", page("Kept"))
    warc.response("http://img.example/a.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ctype="image/png")
    warc.response("http://pdf.example/a.pdf", b"%PDF-1.4 text", ctype="application/pdf")
    warc.response("http://gone.example/", page("Gone"), status="404 Not Found")
    warc.response("http://empty.example/", b"  \n ")
    warc.response("http://binary.example/", bytes(range(256)) * 4, ctype="text/html")
    warc.record("http://ok.example/", "request", b"GET / HTTP/1.1\r\nHost: ok.example\r\n\r\n")
    warc.record("http://ok.example/", "metadata")
    warc.record("http://ok.example/", "revisit", b"HTTP/1.1 200 OK\r\n\r\n")
    warc.save()
    summary = run(tmp_path, skip_http_errors=True)
    assert summary.ok and summary.documents == 1
    counters = summary.counters
    assert counters["skipped_non_html"] == 2
    assert counters["skipped_http_error"] == 1
    assert counters["skipped_empty"] == 1
    assert counters["skipped_undecodable"] == 1
    assert (counters["skipped_request"], counters["skipped_metadata"], counters["skipped_revisit"]) == (1, 1, 1)
    assert counters["records"] == 10  # the warcinfo record too
    assert [d["metadata"]["url"] for d in docs(tmp_path / "out" / "a.jsonl.gz")] == ["ok.example"]
    # HTTP errors are kept unless asked, as dolma keeps them
    assert run(tmp_path, overwrite=True).documents == 2


def test_malformed_record_is_skipped_with_its_offset(tmp_path: Path) -> None:
    warc = Warc(tmp_path / "in" / "a.warc", gz=False).response("http://one.example/", page("One"))
    offset = warc.buffer.tell()
    warc.raw(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99\r\n\r\nnot ninety-nine bytes\r\n\r\n")
    warc.response("http://two.example/", page("Two"))
    future = warc.buffer.tell()
    warc.response("http://future.example/", page("Future"))
    data = warc.buffer.getvalue()
    warc.buffer.seek(future)
    warc.buffer.write(b"WARC/9.9")  # well framed, but fastwarc stops reading at an unknown version
    warc.buffer.seek(len(data))
    warc.raw(b"garbage between records\r\n").response("http://three.example/", page("Three")).save()
    summary = run(tmp_path)
    assert summary.ok and summary.documents == 3
    assert summary.counters["malformed_records"] == 3
    assert summary.bad_records[1]["offset"] == future and "fastwarc cannot parse" in summary.bad_records[1]["error"]
    assert [record["offset"] for record in summary.bad_records] == sorted(r["offset"] for r in summary.bad_records)
    first = summary.bad_records[0]
    assert first["file"].endswith("a.warc") and first["offset"] == offset and "Content-Length 99" in first["error"]
    out = docs(tmp_path / "out" / "a.jsonl.gz")
    assert [d["metadata"]["url"] for d in out] == ["one.example", "two.example", "three.example"]


def test_truncated_gzip_fails_its_file_only(tmp_path: Path) -> None:
    good = Warc(tmp_path / "in" / "good.warc.gz").response("http://a.example/", page("A")).save()
    bad = Warc(tmp_path / "in" / "bad.warc.gz")
    for index in range(20):
        bad.response(f"http://b.example/{index}", page(f"B{index}", f"words {index} " * 20_000))
    data = bad.save().read_bytes()
    bad.path.write_bytes(data[: len(data) * 2 // 3])
    summary = run(tmp_path, processes=2)
    assert summary.units_done == 1 and summary.units_failed == 1
    error = summary.failures[0]["error"]
    assert "bad.warc.gz" in error and "truncated or corrupt after uncompressed offset" in error
    decompressed, record = (int(part.split()[0].rstrip(",:")) for part in error.split("offset ")[1:3])
    assert 1 << 20 < decompressed < 4 << 20 and 0 < record <= decompressed
    assert (tmp_path / "out" / "good.jsonl.gz").exists()
    leftovers = [p.name for p in (tmp_path / "out").iterdir()]
    assert not any(name.startswith("bad") or "inprogress" in name for name in leftovers), leftovers
    assert good.exists()


def test_huge_record_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    huge = b"<html><body><p>" + b"x" * (24 << 20) + b"</p></body></html>"
    warc = Warc(tmp_path / "in" / "a.warc", gz=False).response("http://huge.example/", huge)
    warc.response("http://small.example/", page("Small")).save()
    del huge, warc
    cfg = config(tmp_path, max_record_bytes=1 << 20)
    unit = Unit(key="a", inputs=(str(tmp_path / "in" / "a.warc"),), outputs=(str(tmp_path / "out" / "a.jsonl.gz"),))
    tracemalloc.start()
    result = extract_file(make_job(cfg, None, None), unit)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.counters["skipped_too_large"] == 1 and result.documents == 1
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB for a 24 MiB record"


def test_charset_and_date_fallbacks(tmp_path: Path) -> None:
    accented = "Café déjà vu, naïve façade über Größe."
    warc = Warc(tmp_path / "in" / "a.warc.gz")
    # an unknown header charset crashes dolma's whole file; here detection decides
    warc.response("http://unknown.example/", page("Unknown", accented), ctype="text/html; charset=no-such-charset")
    warc.response("http://cp1252.example/", page("Legacy", accented).decode().encode("cp1252"), ctype="text/html")
    warc.save()
    summary = run(tmp_path)
    assert summary.ok and summary.documents == 2
    unknown, legacy = docs(tmp_path / "out" / "a.jsonl.gz")
    assert accented in unknown["text"]
    assert "Größe" in legacy["text"] and unknown["created"] == "2024-10-01T10:00:00.000Z"


def test_no_date_gives_the_record_date(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
    record = writer.create_warc_record(
        "http://x.example/", "response", payload=io.BytesIO(page("X")), http_headers=http
    )
    record.rec_headers.replace_header("WARC-Date", "2020-02-03T04:05:06Z")
    writer.write_record(record)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.gz").write_bytes(buffer.getvalue())
    assert run(tmp_path).documents == 1
    (doc,) = docs(tmp_path / "out" / "a.jsonl.gz")
    # neither a Date header nor a warcinfo record: both dates are the record's own, not the time of the run
    assert doc["created"] == doc["metadata"]["warc_date"] == "2020-02-03T04:05:06.000Z"
    assert doc["metadata"]["warc_filename"] == ""


def test_chunked_body_is_decoded(tmp_path: Path) -> None:
    body = page("Chunked", "Chunk boundaries must not show up in the text at all.")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 20]), body[i : i + 20]) for i in range(0, len(body), 20))
    Warc(tmp_path / "in" / "a.warc.gz").response(
        "http://c.example/", chunks + b"0\r\n\r\n", extra=[("Transfer-Encoding", "chunked")]
    ).save()
    assert run(tmp_path).documents == 1
    (doc,) = docs(tmp_path / "out" / "a.jsonl.gz")
    assert doc["text"].startswith("Chunked\n\nChunk boundaries must not show up in the text at all.")


def _strip_added(path: Path) -> list[dict]:
    return [{k: v for k, v in d.items() if k != "added"} for d in docs(path)]


def test_deterministic_resumable_and_process_count_free(tmp_path: Path) -> None:
    for index in range(3):
        write_warc(str(tmp_path / "in" / f"part-{index}.warc.gz"), seed=index, responses=40)
    first = run(tmp_path, processes=1)
    assert first.ok and first.units_done == 3 and first.documents > 90
    outputs = {p.name: _strip_added(p) for p in (tmp_path / "out").glob("*.jsonl.gz")}
    again = run(tmp_path, processes=2)
    assert again.units_skipped == 3 and again.units_done == 0
    redone = run(tmp_path, processes=2, ignore_existing=True)
    assert redone.units_done == 3
    assert {p.name: _strip_added(p) for p in (tmp_path / "out").glob("*.jsonl.gz")} == outputs
    added = {d["added"] for p in (tmp_path / "out").glob("*.jsonl.gz") for d in docs(p)}
    assert all(len(stamp) == 24 and stamp.endswith("Z") for stamp in added)


def test_cli_config_and_output_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_warc(str(tmp_path / "in" / "sub" / "CC-MAIN-0001.warc.gz"), seed=1, responses=5)
    write_warc(str(tmp_path / "in" / "other.warc"), seed=2, responses=5)
    (tmp_path / "warc.yaml").write_text(
        json.dumps(
            {
                "documents": [str(tmp_path / "in" / "**" / "*.warc*")],
                "destination": [str(tmp_path / "out")],
                "source_name": "cc",
                "processes": 2,
                "pre": {"taggers": ["cc_re"], "skip": False},
                "work_dir": {"input": None, "output": None},
            }
        )
    )
    assert cli.main(["-c", str(tmp_path / "warc.yaml"), "warc", "--dryrun"]) == 0
    assert "CC-MAIN-0001.jsonl.gz" in capsys.readouterr().out
    assert cli.main(["-c", str(tmp_path / "warc.yaml"), "warc"]) == 0
    assert (tmp_path / "out" / "sub" / "CC-MAIN-0001.jsonl.gz").exists()
    assert (tmp_path / "out" / "other.jsonl.gz").exists()
    summary = json.loads((tmp_path / "out" / "_dolma_warc_summary.json").read_text())
    assert summary["units_done"] == 2 and summary["documents"] > 0
    assert cli.main(["warc", "--documents", str(tmp_path / "in" / "*"), "--source_name", "x"]) == 2
    assert "destination" in capsys.readouterr().err
    assert output_name("a/b.warc.gz") == "a/b.jsonl.gz" and output_name("x.arc.warc") == "x.arc.jsonl.gz"


def test_post_taggers_and_skip(tmp_path: Path) -> None:
    warc = Warc(tmp_path / "in" / "a.warc.gz").response("http://a.example/", page("A"))
    warc.response(
        "http://cc.example/",
        page("B").replace(
            b"</body>", b'<a rel="license" href="https://creativecommons.org/licenses/by/4.0/">CC</a></body>'
        ),
    ).save()
    summary = run(tmp_path, pre={"taggers": ["cc_re"], "skip": True}, post={"taggers": ["char_length_v1"]})
    assert summary.documents == 1 and summary.counters["skipped_pre_taggers"] == 1
    (doc,) = docs(tmp_path / "out" / "a.jsonl.gz")
    assert doc["attributes"]["cc_re__cc_re__cc_by_4_0"] == [[0, 0, 1.0]]
    assert doc["attributes"]["char_length_v1__char_length_v1__length"] == [[0, len(doc["text"]), len(doc["text"])]]
    assert "html" not in doc["metadata"]


def test_s3_input_and_output(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    local = tmp_path / "a.warc.gz"
    write_warc(str(local), seed=5, responses=20)
    s3_client().put_object(Bucket=s3_bucket, Key="crawl/segment/a.warc.gz", Body=local.read_bytes())
    cfg = build(
        WarcConfig,
        {
            "documents": [f"s3://{s3_bucket}/crawl/**/*.warc.gz"],
            "destination": [f"s3://{s3_bucket}/docs"],
            "source_name": "s3",
        },
        "test",
    )
    summary, where = run_warc(cfg, create_tagger, load_tagger_modules, progress=False)
    assert summary.ok and summary.documents > 10
    body = s3_client().get_object(Bucket=s3_bucket, Key="docs/a.jsonl.gz")["Body"].read()
    lines = gzip.decompress(body).splitlines()
    assert len(lines) == summary.documents
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.gz").write_bytes(local.read_bytes())
    run(tmp_path)
    assert [json.loads(x)["text"] for x in lines] == [d["text"] for d in docs(tmp_path / "out" / "a.jsonl.gz")]


def test_ray_gives_the_same_documents(tmp_path: Path, ray_cluster: str) -> None:
    for index in range(2):
        write_warc(str(tmp_path / "in" / f"p{index}.warc.gz"), seed=10 + index, responses=15)
    assert run(tmp_path).ok
    local = {p.name: _strip_added(p) for p in (tmp_path / "out").glob("*.jsonl.gz")}
    summary = run(tmp_path, ray_address=ray_cluster, ignore_existing=True)
    assert summary.ok and summary.units_done == 2
    assert {p.name: _strip_added(p) for p in (tmp_path / "out").glob("*.jsonl.gz")} == local


def test_sample_generator_is_valid_warc(tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    path = tmp_path / "s.warc.gz"
    counts = write_warc(str(path), seed=4, responses=60, malformed=0)
    with open(path, "rb") as fh:
        kinds = [record.rec_type for record in ArchiveIterator(fh)]
    assert kinds[0] == "warcinfo" and kinds.count("request") == 60 and kinds.count("metadata") == 60
    assert kinds.count("revisit") == counts["revisit"]
    first = path.read_bytes()
    write_warc(str(path), seed=4, responses=60)
    assert path.read_bytes() == first


def test_quickstart_from_warc_extracts_the_web_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dolma quickstart --from-warc` starts with `dolma warc` on a generated sample; the full pipeline after it is
    the plain quickstart's (tests/test_quickstart.py), so only the warc and tag stages run here."""
    from dolma_py import quickstart

    stages = quickstart.quickstart_stages
    monkeypatch.setattr(quickstart, "quickstart_stages", lambda *a, **k: stages(*a, **k)[:2])
    monkeypatch.setattr(quickstart, "_print_losses", lambda run_dir: None)
    assert cli.main(["quickstart", "--from-warc", "--output", str(tmp_path), "--processes", "2"]) == 0
    assert [stage.name for stage in stages(str(tmp_path), 2, from_warc=True)][:2] == ["warc", "tag"]
    web = sorted((tmp_path / "corpus" / "documents" / "web").glob("*.jsonl.gz"))
    assert len(web) == quickstart.WARC_FILES and len(list((tmp_path / "warc").glob("*.warc.gz"))) == len(web)
    extracted = [doc for path in web for doc in docs(path)]
    assert len(extracted) > 250 and all(doc["source"] == "web" for doc in extracted)
    assert any(key.startswith("cc_re__cc_re__cc_") for doc in extracted for key in doc["attributes"])
    tagged = sorted((tmp_path / "corpus" / "attributes" / "quickstart" / "web").glob("*.jsonl.gz"))
    assert len(tagged) == len(web)


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from dolma_py.errors import ConfigError
    from dolma_py.warc.extract import check_extra

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trafilatura" else real(name))
    check_extra("resiliparse")
    with pytest.raises(ConfigError, match=r"missing: trafilatura\): pip install 'dolma-py\[warc\]'"):
        check_extra("trafilatura")


def test_killed_run_resumes_to_the_same_output(tmp_path: Path) -> None:
    """SIGKILL right after the first file's output (before its marker), then a rerun: the same files and documents as
    an uninterrupted run, and no temporaries left."""
    import os
    import subprocess
    import sys

    for index in range(3):
        write_warc(str(tmp_path / "in" / f"p{index}.warc.gz"), seed=20 + index, responses=10)
    argv = [
        sys.executable,
        "-m",
        "dolma_py.cli.main",
        "warc",
        "--documents",
        str(tmp_path / "in" / "*"),
        "--source_name",
        "k",
        "--processes",
        "1",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    killed = subprocess.run(
        [*argv, "--destination", str(tmp_path / "out")],
        env={**env, "DOLMA_PY_CRASH_AT": "warc:output_written"},
        capture_output=True,
        timeout=120,
    )
    assert killed.returncode == -9
    assert len(list((tmp_path / "out").glob("*.jsonl.gz"))) == 1
    subprocess.run([*argv, "--destination", str(tmp_path / "out")], env=env, check=True, capture_output=True)
    subprocess.run([*argv, "--destination", str(tmp_path / "clean")], env=env, check=True, capture_output=True)
    resumed = {p.name: _strip_added(p) for p in (tmp_path / "out").glob("*.jsonl.gz")}
    assert resumed == {p.name: _strip_added(p) for p in (tmp_path / "clean").glob("*.jsonl.gz")} and len(resumed) == 3
    assert not [p.name for p in (tmp_path / "out").iterdir() if p.name.endswith(".inprogress")]
