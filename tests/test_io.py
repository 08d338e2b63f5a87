"""Paths, globbing, compression (incl. truncated files), atomic writes and document parsing."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
import zstandard

from dolma_py.data import Document
from dolma_py.errors import ConfigError, DataError
from dolma_py.io import paths
from dolma_py.io.atomic import atomic_write, temporary_name
from dolma_py.io.documents import BadLine, iter_lines, read_documents, write_jsonl, write_parquet


def test_glob_regex_double_star_spans_directories() -> None:
    regex = paths.glob_regex("s3://b/documents/**/*.jsonl.gz")
    assert regex.match("s3://b/documents/a.jsonl.gz")
    assert regex.match("s3://b/documents/x/y/a.jsonl.gz")
    assert not regex.match("s3://b/documents/x/a.jsonl")
    assert not paths.glob_regex("s3://b/d/*.gz").match("s3://b/d/x/a.gz")


def test_expand_local_sorted_and_errors_on_no_match(tmp_path: Path) -> None:
    for name in ["b/2.jsonl", "a/1.jsonl", "a/deep/3.jsonl", "a/skip.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = paths.expand([str(tmp_path / "**/*.jsonl")])
    assert [os.path.relpath(p, tmp_path) for p in found] == ["a/1.jsonl", "a/deep/3.jsonl", "b/2.jsonl"]
    with pytest.raises(ConfigError, match="no files match"):
        paths.expand([str(tmp_path / "*.parquet")])


def test_mirror_and_rebase() -> None:
    assert paths.attributes_path("s3://b/x/documents/cc/a.jsonl.gz", "exp") == "s3://b/x/attributes/exp/cc/a.jsonl.gz"
    assert paths.attributes_path("/d/documents/a.json", "t") == "/d/attributes/t/a.json"
    with pytest.raises(ConfigError, match="no 'documents' component"):
        paths.attributes_path("/d/docs/a.json", "t")
    assert paths.rebase("/in/sub/a.gz", "/in", "/out") == "/out/sub/a.gz"
    assert paths.common_dir(["s3://b/p/x/1.gz", "s3://b/p/y/2.gz"]) == "s3://b/p"
    assert paths.join(paths.common_dir(["a.gz"]), "s.json") == "s.json"
    assert paths.sanitize_name("my-exp.v1") == "my_exp_v1"


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_roundtrip_compression(tmp_path: Path, suffix: str) -> None:
    path = str(tmp_path / f"docs{suffix}")
    write_jsonl(path, [{"id": str(i), "text": f"t{i}"} for i in range(1000)])
    lines = list(iter_lines(path))
    assert len(lines) == 1000 and lines[-1][0] == 1000


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_truncated_compressed_file_is_a_data_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    write_jsonl(str(path), [{"id": str(i), "text": "word " * 50} for i in range(2000)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=rf"docs{suffix}: cannot read compressed data after line \d+"):
        list(iter_lines(str(path)))


def test_corrupt_gzip_is_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"
    write_jsonl(str(path), [{"id": str(i), "text": "word " * 50} for i in range(2000)])
    data = bytearray(path.read_bytes())
    data[200:300] = b"x" * 100
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"docs.jsonl.gz: cannot read compressed data after line \d+"):
        list(iter_lines(str(path)))


def test_gzip_output_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.gz", tmp_path / "b.gz"
    write_jsonl(str(a), [{"id": "1"}])
    write_jsonl(str(b), [{"id": "1"}])
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()) == b'{"id":"1"}\n'


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out" / "f.jsonl.zst"
    with pytest.raises(RuntimeError):
        with atomic_write(str(target)) as out:
            out.write(b"partial")
            assert os.path.exists(temporary_name(str(target)))
            raise RuntimeError("boom")
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []
    with atomic_write(str(target)) as out:
        out.write(b"x\n")
    assert zstandard.ZstdDecompressor().stream_reader(target.open("rb")).read() == b"x\n"


def test_read_documents_reports_each_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(
        b'{"id": "ok", "text": "fine", "source": "s"}\n'
        b"{not json\n"
        b'{"text": "no id"}\n'
        b'{"id": 5, "text": "int id"}\n'
        b'{"id": "nt"}\n'
        b'{"id": "bad-utf8", "text": "\xff\xfe"}\n'
        b"\n"
        b'{"id": "ws", "text": "   \\n "}\n'
    )
    items = list(read_documents(str(path)))
    assert len(items) == 8
    assert isinstance(items[0], Document) and items[0].id == "ok"
    bad = {item.line: item for item in items if isinstance(item, BadLine)}
    assert sorted(bad) == [2, 3, 4, 5, 6, 7]
    assert "malformed JSON" in bad[2].error
    assert "'id' is missing" in bad[3].error
    assert "'id' must be a string" in bad[4].error
    assert bad[5].doc_id == "nt" and "'text' is missing" in bad[5].error
    assert bad[6].error == "invalid UTF-8 at byte 28"
    assert bad[7].error == "empty line"
    assert isinstance(items[7], Document) and items[7].text == "   \n "


def test_parquet_documents(tmp_path: Path) -> None:
    path = str(tmp_path / "d.parquet")
    write_parquet(path, [{"id": "a", "text": "x", "source": "s"}, {"id": "b", "text": None, "source": "s"}])
    items = list(read_documents(path))
    assert isinstance(items[0], Document) and items[0].text == "x"
    assert isinstance(items[1], BadLine) and items[1].line == 2 and items[1].doc_id == "b"


def test_s3_roundtrip_and_paginated_listing(s3_bucket: str) -> None:
    from dolma_py.io.storage import exists, s3_client

    base = f"s3://{s3_bucket}/documents"
    for i in range(1005):  # more than one page of list_objects_v2
        s3_client().put_object(Bucket=s3_bucket, Key=f"documents/many/{i:04d}.txt", Body=b"")
    write_jsonl(f"{base}/x/a.jsonl.gz", [{"id": "1", "text": "hello"}])
    assert len(paths.expand([f"{base}/many/*.txt"])) == 1005
    assert paths.expand([f"{base}/**/*.jsonl.gz"]) == [f"{base}/x/a.jsonl.gz"]
    assert [d.text for d in read_documents(f"{base}/x/a.jsonl.gz")] == ["hello"]
    with pytest.raises(RuntimeError):
        with atomic_write(f"{base}/x/b.jsonl.gz") as out:
            out.write(b"partial" * 1000)
            raise RuntimeError("boom")
    assert not exists(f"{base}/x/b.jsonl.gz")
