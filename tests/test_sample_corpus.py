"""The sample corpus is deterministic, in dolma's layout, and holds what each pipeline stage needs to act on."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from dolma_py.data import Document
from dolma_py.sample_corpus import (
    BLOCKLIST_DOMAINS,
    generate_corpus,
    generate_corpus_of_size,
    shape_for_size,
    write_blocklist,
)

NUM_FILES, DOCS_PER_FILE = 5, 200


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, generate_corpus(str(root), num_files=NUM_FILES, docs_per_file=DOCS_PER_FILE, seed=7)


@pytest.fixture(scope="module")
def docs(corpus: tuple[Path, list[str]]) -> list[dict]:
    _, paths = corpus
    out = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out.extend({**json.loads(line), "_file": path} for line in fh)
    return out


def test_same_arguments_give_identical_bytes(tmp_path: Path, corpus: tuple[Path, list[str]]) -> None:
    root, paths = corpus
    again = generate_corpus(str(tmp_path / "a"), num_files=NUM_FILES, docs_per_file=DOCS_PER_FILE, seed=7, processes=2)
    assert [Path(p).relative_to(tmp_path / "a") for p in again] == [Path(p).relative_to(root) for p in paths]
    for mine, theirs in zip(paths, again, strict=False):
        assert Path(mine).read_bytes() == Path(theirs).read_bytes()
        assert Path(mine).read_bytes()[4:8] == b"\0\0\0\0"  # gzip mtime


def test_other_seed_gives_other_text(tmp_path: Path, corpus: tuple[Path, list[str]]) -> None:
    _, paths = corpus
    other = generate_corpus(str(tmp_path), num_files=1, docs_per_file=DOCS_PER_FILE, seed=8)
    assert Path(other[0]).read_bytes() != Path(paths[0]).read_bytes()


def test_layout_and_sources(corpus: tuple[Path, list[str]]) -> None:
    root, paths = corpus
    assert len(paths) == NUM_FILES
    for path in paths:
        rel = Path(path).relative_to(root)
        assert rel.parts[0] == "documents"
        assert re.fullmatch(rf"{rel.parts[1]}-\d{{4}}\.jsonl\.gz", rel.parts[2]), rel
    assert {Path(p).parent.name for p in paths} == {"web", "wiki", "math"}


def test_sources_by_name_and_weight(tmp_path: Path) -> None:
    paths = generate_corpus(str(tmp_path / "a"), num_files=2, docs_per_file=5, sources=["wiki"])
    assert [Path(p).name for p in paths] == ["wiki-0000.jsonl.gz", "wiki-0001.jsonl.gz"]
    paths = generate_corpus(str(tmp_path / "b"), num_files=8, docs_per_file=5, sources={"web": 3.0, "math": 1.0})
    assert Counter(Path(p).parent.name for p in paths) == {"web": 6, "math": 2}


def test_documents_are_valid(docs: list[dict]) -> None:
    assert len(docs) == NUM_FILES * DOCS_PER_FILE
    assert len({d["id"] for d in docs}) == len(docs)
    for d in docs:
        doc = Document.from_json({k: v for k, v in d.items() if k != "_file"})
        assert doc.text.strip()
        assert doc.source == Path(d["_file"]).parent.name
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", d["created"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", d["added"])
        assert doc.metadata["url"].startswith("https://")


def test_whole_documents_repeat_across_files(docs: list[dict]) -> None:
    files_by_text: dict[str, set[str]] = {}
    for d in docs:
        files_by_text.setdefault(d["text"], set()).add(d["_file"])
    assert sum(1 for files in files_by_text.values() if len(files) > 1) >= 3


def test_paragraphs_repeat_across_documents(docs: list[dict]) -> None:
    paragraphs = Counter(p for d in docs for p in set(d["text"].split("\n")) if len(p.split()) >= 20)
    assert sum(1 for n in paragraphs.values() if n > 1) >= 10


def test_pii_spam_and_variety(docs: list[dict]) -> None:
    texts = [d["text"] for d in docs]

    def count(pattern: str, flags: int = 0) -> int:
        return sum(1 for t in texts if re.search(pattern, t, flags))

    assert count(r"\s[\w.]+@\w+(\.\w+)+\s") >= 10
    assert count(r"\s\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}") >= 10
    assert count(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b") >= 5
    assert count(r"lorem ipsum", re.I) >= 3
    assert count(r"\bjavascript\b", re.I) >= 3
    assert count(r"\b(viagra|cialis|xxx|escort)\b", re.I) >= 3
    assert count(r"(\b\w+ \w+\b)(?: \1){4}") >= 3  # keyword stuffing: a bigram 5 times in a row
    assert count(r"^[-*\u2022] ", re.M) >= 10  # bullet lists
    assert count(r"[{};]") >= 10  # code and LaTeX
    assert count(r"[\u0400-\u04ff]") >= 1 and count(r"[\u4e00-\u9fff]") >= 1  # non-English scripts
    assert count(r"[\U00010000-\U0010ffff]") >= 1  # astral code points: offsets are code points, not UTF-16
    assert len({w for t in texts for w in t.split()}) > 5000


def test_blocklist_matches_some_urls(tmp_path: Path, docs: list[dict]) -> None:
    path = write_blocklist(str(tmp_path / "blocklist.txt"))
    domains = [line for line in Path(path).read_text().splitlines() if line and not line.startswith("#")]
    assert domains == list(BLOCKLIST_DOMAINS)
    hosts = [d["metadata"]["url"].split("/")[2] for d in docs]
    blocked = sum(1 for h in hosts if h in domains)
    assert 0 < blocked < len(hosts) / 4


def test_size_target(tmp_path: Path) -> None:
    paths = generate_corpus_of_size(str(tmp_path), size_mb=0.3, docs_per_file=1000)
    text_bytes = 0
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            text_bytes += sum(len(json.loads(line)["text"].encode()) for line in fh)
    assert len(paths) == 3
    assert 0.2e6 < text_bytes < 0.4e6
    num_files, docs_per_file = shape_for_size(200, docs_per_file=1000)
    assert docs_per_file == 1000 and 40 < num_files < 150


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown sources"):
        generate_corpus(str(tmp_path), num_files=1, docs_per_file=1, sources={"books": 1.0})
    with pytest.raises(ValueError, match="num_files"):
        generate_corpus(str(tmp_path), num_files=0, docs_per_file=1)
    with pytest.raises(ValueError, match="size_mb"):
        shape_for_size(0)
