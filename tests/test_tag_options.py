"""Tagger options from the config: lists and mappings work with any process count, and a tagger that cannot be
built (a missing list file) fails the run before any file is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import read_jsonl, write_documents

from dolma_py.cli import main as cli

DOCS = [{"id": "1", "text": "a", "metadata": {"url": "https://bad.example/x"}},
        {"id": "2", "text": "b", "metadata": {"url": "https://good.example/"}},
        {"id": "3", "text": "c", "metadata": {"url": "https://worse.example/y"}}]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_list_valued_options(tmp_path: Path, processes: str) -> None:
    for i in range(2):
        write_documents(tmp_path / "documents" / f"{i}.jsonl.gz", DOCS)
    (tmp_path / "a.txt").write_text("bad.example\n")
    (tmp_path / "b.txt").write_text("worse.example\n")
    tagger = {"name": "url_blocklist_v1", "blocklist_path": [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]}
    config = {"documents": [str(tmp_path / "documents" / "*.gz")], "taggers": [tagger], "processes": int(processes)}
    (tmp_path / "tag.json").write_text(json.dumps(config))
    assert cli.main(["-c", str(tmp_path / "tag.json"), "tag"]) == 0
    for i in range(2):
        rows = read_jsonl(tmp_path / "attributes" / "url_blocklist_v1" / f"{i}.jsonl.gz")
        flagged = [row["id"] for row in rows if any(v for v in row["attributes"].values())]
        assert flagged == ["1", "3"]


def test_missing_list_file_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_documents(tmp_path / "documents" / "0.jsonl.gz", DOCS)
    tagger = {"name": "url_blocklist_v1", "blocklist_path": str(tmp_path / "missing.txt")}
    config = {"documents": [str(tmp_path / "documents" / "*.gz")], "taggers": [tagger]}
    (tmp_path / "tag.json").write_text(json.dumps(config))
    assert cli.main(["-c", str(tmp_path / "tag.json"), "tag"]) == 2
    err = capsys.readouterr().err
    assert "url_blocklist_v1" in err and "missing.txt" in err and "Traceback" not in err
    assert not (tmp_path / "attributes").exists()
