"""`dolma dedupe`: dolma's format, the three modes, dolma defects we fix, determinism, rerun/overwrite, bad config."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import read_jsonl, tree_bytes, write_documents

from dolma_py.cli import main as cli
from dolma_py.config.dedupe import DedupeConfig
from dolma_py.config.loader import load_config, parse_overrides
from dolma_py.dedupe import reader
from dolma_py.dedupe.keys import KeySpec, hash_file
from dolma_py.io import documents


def dedupe(*args: str) -> int:
    return cli.main(["dedupe", *args])


def bloom_args(path: Path, *extra: str) -> list[str]:
    return ["--bloom_filter.file", str(path), "--bloom_filter.estimated_doc_count", "100000",
            "--bloom_filter.desired_false_positive_rate", "1e-6", *extra]


DOLMA_CASE = [
    {"id": "1", "text": "hello world\nsecond para\n"},
    {"id": "2", "text": "hello world\nthird\n\n"},
    {"id": "3", "text": ""},
    {"id": "4", "text": "héllo 😀\nhello world"},
    {"id": "5", "text": "hello world\nsecond para\n"},
]


def test_exact_paragraphs_in_dolma_format_without_its_offset_bugs(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOLMA_CASE)
    args = ["--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.name", "para",
            "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 0
    rows = read_jsonl(tmp_path / "attributes" / "para" / "a.jsonl.gz")
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    # dolma 1.2.1 writes [[0,12,1],[18,18,1],[18,18,1]] for doc 2 (zero-length spans), [[8,20,1]] for doc 4
    # (past the end of its 19 characters) and a zero-length [23,23,1] trailing span for doc 5.
    assert [r["attributes"] for r in rows] == [
        {"dup": []},
        {"dup": [[0, 12, 1.0]]},
        {},
        {"dup": [[8, 19, 1.0]]},
        {"dup": [[0, 12, 1.0], [12, 24, 1.0]]},
    ]
    for doc, row in zip(DOLMA_CASE, rows, strict=False):
        for start, end, _ in row["attributes"].get("dup", []):
            assert 0 <= start < end <= len(doc["text"])
    assert doc_text_spans(DOLMA_CASE[3], rows[3]) == ["hello world"]


def doc_text_spans(doc: dict, row: dict) -> list[str]:
    return [doc["text"][s:e] for s, e, _ in next(iter(row["attributes"].values()), [])]


def test_unicode_offsets_custom_separator_and_trailing_separator(tmp_path: Path) -> None:
    docs = [
        {"id": "a", "text": "日本語の段落\r\n👋🏽 wave\r\nplain"},
        {"id": "b", "text": "other\r\n👋🏽 wave\r\n日本語の段落\r\n"},
    ]
    write_documents(tmp_path / "documents" / "u.jsonl.gz", docs)
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "d",
                  "--dedupe.paragraphs.paragraph_separator", "\r\n", *bloom_args(tmp_path / "bf.bin")) == 0
    rows = read_jsonl(tmp_path / "attributes" / "d" / "u.jsonl.gz")
    assert rows[0]["attributes"] == {"d": []}
    assert doc_text_spans(docs[1], rows[1]) == ["👋🏽 wave\r\n", "日本語の段落\r\n"]
    assert rows[1]["attributes"]["d"][-1][1] == len(docs[1]["text"])


def test_documents_by_key_normalized(tmp_path: Path) -> None:
    docs = [
        {"id": "1", "text": "Hello,   World!", "metadata": {"url": "http://a"}},
        {"id": "2", "text": "hello world", "metadata": {"url": "http://b"}},
        {"id": "3", "text": "   ", "metadata": {"url": "http://a"}},
        {"id": "4", "text": "HELLO WORLD", "metadata": {"url": "http://c"}},
    ]
    write_documents(tmp_path / "documents" / "d.jsonl.gz", docs)
    common = ["--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.skip_empty"]
    assert dedupe(*common, "--dedupe.documents.attribute_name", "by_url", "--dedupe.documents.key", "$.metadata.url",
                  *bloom_args(tmp_path / "url.bin")) == 0
    rows = read_jsonl(tmp_path / "attributes" / "by_url" / "d.jsonl.gz")
    # dolma: a checked, new document has no attribute key; a duplicate spans the whole text
    assert [r["attributes"] for r in rows] == [{}, {}, {"by_url": [[0, 3, 1.0]]}, {}]
    assert dedupe(*common, "--dedupe.documents.attribute_name", "by_text", "--dedupe.documents.key", "$.text",
                  "--dedupe.normalization.lowercase", "--dedupe.normalization.collapse_whitespace",
                  "--dedupe.normalization.strip_punctuation", *bloom_args(tmp_path / "text.bin")) == 0
    rows = read_jsonl(tmp_path / "attributes" / "by_text" / "d.jsonl.gz")
    # doc 3 is empty after normalization: skipped, which dolma writes as an empty list
    assert [r["attributes"] for r in rows] == [{}, {"by_text": [[0, 11, 1.0]]}, {"by_text": []},
                                              {"by_text": [[0, 11, 1.0]]}]


def test_document_key_must_find_a_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_documents(tmp_path / "documents" / "d.jsonl.gz", [{"id": "1", "text": "x", "metadata": {"url": "u"}},
                                                            {"id": "2", "text": "y", "metadata": {}}])
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.documents.attribute_name", "u",
                  "--dedupe.documents.key", "$.metadata.url", *bloom_args(tmp_path / "bf.bin")) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'documents' / 'd.jsonl.gz'}:2:" in err and "$.metadata.url" in err
    assert not (tmp_path / "attributes" / "u" / "d.jsonl.gz").exists()


NGRAM_DOCS = [
    {"id": "1", "text": "a b c d e f g h\nshort one\nx"},
    {"id": "2", "text": "a b c d e f g z\nshort one\nq w e r t y"},
    {"id": "3", "text": "q w e r t y u i"},
]


def test_ngram_overlap_scores_match_dolma(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "n.jsonl.gz", NGRAM_DOCS)
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "ng",
                  "--dedupe.paragraphs.by_ngram.ngram_length", "3",
                  "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5", *bloom_args(tmp_path / "bf.bin")) == 0
    rows = read_jsonl(tmp_path / "attributes" / "ng" / "n.jsonl.gz")
    # dolma 1.2.1's float32 fractions, written as the float64 of the float32
    assert [r["attributes"]["ng"] for r in rows] == [
        [],
        [[0, 16, 0.8333333134651184], [16, 26, 1.0]],
        [[0, 15, 0.6666666865348816]],
    ]


def test_min_words_keeps_dedup_working(tmp_path: Path) -> None:
    write_documents(tmp_path / "documents" / "n.jsonl.gz", NGRAM_DOCS)
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "p",
                  "--dedupe.min_words", "2", *bloom_args(tmp_path / "bf.bin")) == 0
    rows = read_jsonl(tmp_path / "attributes" / "p" / "n.jsonl.gz")
    # dolma 1.2.1 flags nothing at all once min_words > 0; "x" (1 word) is not considered
    assert [r["attributes"]["p"] for r in rows] == [[], [[16, 26, 1.0]], []]


def test_size_in_bytes_alone_works_and_k_is_capped(tmp_path: Path) -> None:
    from dolma_py.dedupe.bloom import BloomFilter

    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOLMA_CASE)
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "p",
                  "--bloom_filter.file", str(tmp_path / "bf.bin"), "--bloom_filter.size_in_bytes", "1048576") == 0
    loaded = BloomFilter.load(str(tmp_path / "bf.bin"), read_only=True)
    assert loaded.num_hashes == 7 and loaded.num_bits == 8 << 20  # dolma 1.2.1 panics here
    expected = [[0, 12, 1.0], [12, 24, 1.0]]
    assert read_jsonl(tmp_path / "attributes" / "p" / "a.jsonl.gz")[4]["attributes"]["p"] == expected
    # A 1 MiB filter for 1,000 keys: dolma uses ceil(8 Mi / 1000 * ln 2) = 5,815 hash functions.
    assert dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "q",
                  "--bloom_filter.file", str(tmp_path / "small.bin"), "--bloom_filter.size_in_bytes", "1048576",
                  "--bloom_filter.estimated_doc_count", "1000") == 0
    assert BloomFilter.load(str(tmp_path / "small.bin"), read_only=True).num_hashes == 16


def make_corpus(root: Path, files: int = 6, docs: int = 30) -> str:
    """Documents repeating paragraphs and whole documents within and across files."""
    shared = [f"shared paragraph number {i} with some words" for i in range(25)]
    for f in range(files):
        rows = []
        for i in range(docs):
            paragraphs = [f"unique {f}-{i}-{j} text" for j in range(i % 4)]
            paragraphs.insert(i % 3, shared[(f * 7 + i) % len(shared)])
            if i % 5 == 0:
                paragraphs.append(shared[(i * 3) % len(shared)])
            rows.append({"id": f"{f}-{i}", "text": "\n".join(paragraphs) + ("\n" if i % 2 else "")})
        if f % 2:
            rows.append(dict(rows[0], id=f"{f}-copy"))
        write_documents(root / "documents" / f"part-{f:02d}.jsonl.gz", rows)
    return str(root / "documents" / "*.jsonl.gz")


def expected_paragraph_flags(root: Path) -> dict[str, list[list[int]]]:
    """Exact paragraph dedupe computed in Python: first occurrence in (sorted file, line) order is kept."""
    seen: set[str] = set()
    out = {}
    for path in sorted((root / "documents").glob("*.jsonl.gz")):
        for doc in read_jsonl(path):
            spans, pos = [], 0
            text = doc["text"]
            while pos < len(text):
                cut = text.find("\n", pos)
                end = len(text) if cut < 0 else cut + 1
                content = text[pos:end].rstrip("\n") if cut >= 0 else text[pos:end]
                if content in seen:
                    spans.append([pos, end])
                seen.add(content)
                pos = end
            out[doc["id"]] = spans
    return out


HASHING = {"serial": (1, True), "threads": (2, True), "processes": (2, False)}
"""How a writable run hashes its files: processes count, and whether on threads (else in worker processes)."""


NGRAMS = ["--dedupe.paragraphs.by_ngram.ngram_length", "3", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5"]


@pytest.mark.parametrize("mode", [[], NGRAMS], ids=["exact", "ngram"])
def test_duplicates_across_files_are_all_found_and_hashing_workers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: list[str]
) -> None:
    trees = {}
    for name, (processes, threads) in HASHING.items():
        monkeypatch.setattr(DedupeConfig, "hashes_on_threads", property(lambda _, threads=threads: threads))
        root = tmp_path / name
        pattern = make_corpus(root)
        assert dedupe("--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup", *mode,
                      "--processes", str(processes), *bloom_args(root / "bf.bin")) == 0
        trees[name] = tree_bytes(root / "attributes")
        trees[name]["bf.bin"] = (root / "bf.bin").read_bytes()
        if mode:
            continue
        expected = expected_paragraph_flags(root)
        for path in sorted((root / "attributes" / "dup").glob("*.jsonl.gz")):
            for row in read_jsonl(path):
                assert [s[:2] for s in row["attributes"].get("dup", [])] == expected[row["id"]], row["id"]
        assert sum(len(v) for v in expected.values()) > 50
    assert trees["serial"] == trees["threads"] == trees["processes"]


def test_writable_paragraph_runs_hash_on_threads() -> None:
    """Paragraph and n-gram hashing runs without the GIL, so a writable run starts no worker processes; document
    keys (a Python JSONPath) and read-only runs keep the process pool."""
    def config(mode: str, *extra: str) -> DedupeConfig:
        flags = ["--documents", "d/*.gz", "--processes", "2", "--bloom_filter.file", "bf.bin",
                 "--bloom_filter.size_in_bytes", "1024", f"--dedupe.{mode}.attribute_name", "dup", *extra]
        return load_config(DedupeConfig, None, parse_overrides(DedupeConfig, flags))

    for flags in (["paragraphs"], ["paragraphs", "--dedupe.paragraphs.by_ngram.ngram_length", "13"]):
        assert config(*flags).hashes_on_threads and not config(*flags).uses_local_pool
    for flags in (["documents", "--dedupe.documents.key", "$.id"], ["paragraphs", "--bloom_filter.read_only"]):
        assert not config(*flags).hashes_on_threads and config(*flags).uses_local_pool


def test_rerun_changes_nothing_and_overwrite_starts_from_the_prior_filter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pattern = make_corpus(tmp_path, files=4)
    bloom = tmp_path / "bf.bin"
    args = ["--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(bloom)]
    assert dedupe(*args) == 0
    first = tree_bytes(tmp_path / "attributes")
    filter_bytes = bloom.read_bytes()
    capsys.readouterr()
    assert dedupe(*args) == 0  # dolma would flag every paragraph now: they are all in the filter
    assert "nothing to do" in capsys.readouterr().err
    assert tree_bytes(tmp_path / "attributes") == first and bloom.read_bytes() == filter_bytes
    bloom.unlink()  # a finished run puts its filter back from the last checkpoint
    assert dedupe(*args) == 0 and bloom.read_bytes() == filter_bytes
    assert dedupe(*args, "--overwrite") == 0
    assert tree_bytes(tmp_path / "attributes") == first and bloom.read_bytes() == filter_bytes
    # Starting from an existing filter: --overwrite goes back to that filter, not to the one this run saved.
    other = tmp_path / "other"
    other_pattern = make_corpus(other, files=2, docs=10)
    second = ["--documents", other_pattern, "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(bloom)]
    assert dedupe(*second) == 0
    after_second = tree_bytes(other / "attributes")
    rows = read_jsonl(other / "attributes" / "dup" / "part-00.jsonl.gz")
    assert all(row["attributes"]["dup"] for row in rows)  # each has a shared paragraph the first run saw
    assert dedupe(*second, "--overwrite") == 0
    assert tree_bytes(other / "attributes") == after_second


def test_new_files_after_a_finished_run_are_deduplicated_against_it(tmp_path: Path) -> None:
    pattern = make_corpus(tmp_path, files=3)
    args = ["--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 0
    source = read_jsonl(tmp_path / "documents" / "part-00.jsonl.gz")
    write_documents(tmp_path / "documents" / "part-99.jsonl.gz", source)
    assert dedupe(*args) == 0
    rows = read_jsonl(tmp_path / "attributes" / "dup" / "part-99.jsonl.gz")
    for row, doc in zip(rows, source, strict=False):
        spans = row["attributes"]["dup"]
        assert sum(e - s for s, e, _ in spans) == len(doc["text"])  # every paragraph was seen before


def test_deleted_attributes_of_inserted_files_need_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pattern = make_corpus(tmp_path, files=2)
    args = ["--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 0
    (tmp_path / "attributes" / "dup" / "part-01.jsonl.gz").unlink()
    assert dedupe(*args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert dedupe(*args, "--overwrite") == 0


def test_changed_config_does_not_resume_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = make_corpus(tmp_path, files=2)
    args = ["--documents", pattern, "--dedupe.paragraphs.attribute_name", "dup", *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 0
    assert dedupe(*args, "--dedupe.min_words", "3") == 2
    assert "different config (min_words)" in capsys.readouterr().err


def test_read_only_never_changes_the_filter_and_decontaminates(tmp_path: Path) -> None:
    evals = [{"id": f"q{i}", "text": f"question {i} asks about the boiling point of water at sea level exactly"}
             for i in range(5)]
    write_documents(tmp_path / "eval" / "documents" / "eval.jsonl.gz", evals)
    bloom = tmp_path / "decon.bin"
    ngram = ["--dedupe.paragraphs.by_ngram.ngram_length", "5", "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5",
             "--dedupe.normalization.lowercase"]
    assert dedupe("--documents", str(tmp_path / "eval" / "documents" / "*.gz"),
                  "--dedupe.paragraphs.attribute_name", "eval", *ngram, *bloom_args(bloom)) == 0
    before = (bloom.read_bytes(), bloom.stat().st_mtime_ns)
    train = [{"id": "t0", "text": "Intro line here\nQuestion 3 asks about the boiling point of water at sea level"},
             {"id": "t1", "text": "nothing to see\nin this document at all"}]
    write_documents(tmp_path / "train" / "documents" / "a.jsonl.gz", train)
    write_documents(tmp_path / "train" / "documents" / "b.jsonl.gz", train[::-1])
    apply = ["--documents", str(tmp_path / "train" / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name",
             "contaminated", "--bloom_filter.file", str(bloom), "--bloom_filter.read_only", "--processes", "2"]
    assert dedupe(*apply, *ngram) == 0
    rows = read_jsonl(tmp_path / "train" / "attributes" / "contaminated" / "a.jsonl.gz")
    assert rows[0]["attributes"]["contaminated"] == [[16, 77, 1.0]] and rows[1]["attributes"]["contaminated"] == []
    assert read_jsonl(tmp_path / "train" / "attributes" / "contaminated" / "b.jsonl.gz")[1] == rows[0]
    assert (bloom.read_bytes(), bloom.stat().st_mtime_ns) == before
    assert len(list((tmp_path / "decon.bin.state").iterdir())) == 1  # the build run's; read-only runs keep none
    # The filter remembers how its keys were hashed: a mismatching config fails instead of finding nothing.
    assert dedupe(*apply, "--overwrite", "--dedupe.paragraphs.by_ngram.ngram_length", "6",
                  "--dedupe.paragraphs.by_ngram.overlap_threshold", "0.5") == 2


BAD_CONFIGS = {
    "fpr_zero": (["--bloom_filter.estimated_doc_count", "10", "--bloom_filter.desired_false_positive_rate", "0"],
                 "size a new bloom filter"),
    "fpr_one": (["--bloom_filter.estimated_doc_count", "10", "--bloom_filter.desired_false_positive_rate", "1"],
                "must be in [0, 1)"),
    "fpr_negative": (["--bloom_filter.size_in_bytes", "64", "--bloom_filter.desired_false_positive_rate", "-0.1"],
                     "must be in [0, 1)"),
    "size_zero": (["--bloom_filter.size_in_bytes", "0"], "size a new bloom filter"),
    "size_negative": (["--bloom_filter.size_in_bytes", "-1"], "size_in_bytes' must be >= 0"),
    "count_zero": (["--bloom_filter.estimated_doc_count", "0", "--bloom_filter.desired_false_positive_rate", "0.01"],
                   "size a new bloom filter"),
    "count_negative": (["--bloom_filter.estimated_doc_count", "-5", "--bloom_filter.size_in_bytes", "64"],
                       "estimated_doc_count' must be >= 0"),
    "unsized": ([], "size a new bloom filter"),
    "threshold": (["--bloom_filter.size_in_bytes", "64", "--dedupe.paragraphs.by_ngram.ngram_length", "3",
                   "--dedupe.paragraphs.by_ngram.overlap_threshold", "1.5"], "overlap_threshold"),
    "two_modes": (["--bloom_filter.size_in_bytes", "64", "--dedupe.documents.attribute_name", "x",
                   "--dedupe.documents.key", "$.id"], "exactly one of"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_fails_before_any_work(tmp_path: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    write_documents(tmp_path / "documents" / "a.jsonl.gz", DOLMA_CASE)
    extra, message = BAD_CONFIGS[case]
    code = dedupe("--documents", str(tmp_path / "documents" / "*.gz"), "--dedupe.paragraphs.attribute_name", "p",
                  "--bloom_filter.file", str(tmp_path / "bf.bin"), *extra)
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["documents"]


def test_paths_without_documents_component_fail_before_any_work(tmp_path: Path, capsys) -> None:
    write_documents(tmp_path / "docs" / "a.jsonl.gz", DOLMA_CASE)
    write_documents(tmp_path / "documents" / "b.jsonl.gz", DOLMA_CASE)
    code = dedupe("--documents", str(tmp_path / "documents" / "*.gz"), str(tmp_path / "docs" / "*.gz"),
                  "--dedupe.paragraphs.attribute_name", "p", *bloom_args(tmp_path / "bf.bin"))
    assert code == 2
    assert "no 'documents' component" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["docs", "documents"]


def test_bad_line_stops_in_order_and_skip_bad_lines_writes_empty_attributes(tmp_path: Path, capsys) -> None:
    docs = tmp_path / "documents"
    write_documents(docs / "a.jsonl.gz", DOLMA_CASE)
    (docs / "b.jsonl").write_bytes(b'{"id": "x", "text": "hello world"}\n{"id": "y", "text": \n')
    write_documents(docs / "c.jsonl.gz", DOLMA_CASE)
    args = ["--documents", str(docs / "*"), "--dedupe.paragraphs.attribute_name", "p", *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 1
    err = capsys.readouterr().err
    assert f"{docs / 'b.jsonl'}:2:" in err
    out = tmp_path / "attributes" / "p"
    assert (out / "a.jsonl.gz").exists() and not (out / "b.jsonl").exists() and not (out / "c.jsonl.gz").exists()
    assert not (tmp_path / "bf.bin").exists()  # the filter is published only when every file is in
    assert dedupe(*args, "--skip_bad_lines") == 2  # a changed config does not resume silently
    assert dedupe(*args, "--skip_bad_lines", "--overwrite") == 0
    assert read_jsonl(out / "b.jsonl") == [{"id": "x", "attributes": {"p": [[0, 11, 1.0]]}},
                                           {"id": None, "attributes": {}}]
    summary = json.loads((out / "_dolma_dedupe_summary.json").read_text())
    assert summary["bad_lines"] == 1 and summary["units_done"] == 3


CONFIGS = Path(__file__).resolve().parent.parent / "configs"


@pytest.mark.parametrize("path", sorted(str(p) for p in (CONFIGS / "dedupe").glob("*.yaml"))
                         + [str(CONFIGS / "decontamination" / name) for name in ("build_filter.yaml", "apply.yaml")])
def test_example_configs_load(path: str) -> None:
    from dolma_py.config.dedupe import DedupeConfig
    from dolma_py.config.loader import load_config

    config = load_config(DedupeConfig, path, {})
    assert config.dedupe.attribute_name


def test_decontamination_configs_agree_and_mix_config_loads() -> None:
    from dolma_py.config.dedupe import DedupeConfig
    from dolma_py.config.loader import load_config
    from dolma_py.config.mix import MixConfig
    from dolma_py.dedupe.keys import KeySpec

    build, apply = (load_config(DedupeConfig, str(CONFIGS / "decontamination" / n), {})
                    for n in ("build_filter.yaml", "apply.yaml"))
    assert KeySpec.from_config(build, 0).hashing_identity() == KeySpec.from_config(apply, 0).hashing_identity()
    assert apply.bloom_filter.read_only and apply.bloom_filter.file == build.bloom_filter.file
    mix = load_config(MixConfig, str(CONFIGS / "decontamination" / "mix.yaml"), {})
    assert apply.dedupe.attribute_name in mix.streams[0].filter.exclude[0]


def test_s3_documents_and_attributes_match_local(tmp_path: Path, s3_bucket: str) -> None:
    from dolma_py.io.documents import write_jsonl
    from dolma_py.io.storage import s3_client

    pattern = make_corpus(tmp_path, files=3, docs=10)
    for path in sorted((tmp_path / "documents").glob("*.gz")):
        write_jsonl(f"s3://{s3_bucket}/data/documents/{path.name}", read_jsonl(path))
    common = ["--dedupe.paragraphs.attribute_name", "dup", "--processes", "2"]
    assert dedupe("--documents", pattern, *common, *bloom_args(tmp_path / "local.bin")) == 0
    assert dedupe("--documents", f"s3://{s3_bucket}/data/documents/*.gz", *common,
                  *bloom_args(tmp_path / "remote.bin")) == 0
    for path in sorted((tmp_path / "attributes" / "dup").glob("*.gz")):
        body = s3_client().get_object(Bucket=s3_bucket, Key=f"data/attributes/dup/{path.name}")["Body"].read()
        assert body == path.read_bytes()
    assert (tmp_path / "local.bin").read_bytes() == (tmp_path / "remote.bin").read_bytes()


def _key_spec(mode: str, batch_size: int) -> KeySpec:
    return KeySpec(mode=mode, key_path=None, separator="\n", ngram_length=3 if mode == "ngrams" else 0, stride=1,
                   skip_short_paragraphs=False, overlap_threshold=0.5 if mode == "ngrams" else 1.0,
                   normalization=(True, True, False, False), min_length=0, min_words=0, skip_empty=False, seed=7,
                   skip_bad_lines=True, batch_size=batch_size)


def test_rust_document_parser_agrees_with_the_python_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nested: dict = {}
    for _ in range(200):  # deeper than the Rust parser goes: this line's batch is read by Python
        nested = {"n": nested}
    docs = [
        {"id": 'q"\\\n\x01é', "text": "Hello  world\n\nsecond 😀 para\n", "source": "", "metadata": {}},
        {"id": "e", "text": ""},
        {"id": "f", "text": "hello world\nthird one here", "version": None, "metadata": None, "big": 2**64},
        {"id": "s", "text": "second 😀 para\nhello world", "source": None},  # a bad line keeping its id
        {"id": "n", "text": "hello world\nsecond 😀 para", "metadata": nested},
    ]
    lines = [json.dumps(doc).encode() for doc in docs]
    lines.insert(2, b'{"id": "d", "text": "dropped", "text": "third one here\\nnew words"}')  # the last key wins
    lines.insert(4, b"not json")
    path = tmp_path / "documents" / "a.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(lines) + b"\n")
    parse = reader._rust.parse_documents
    python_batches = []
    from_items = reader.TextBatch.from_items

    def counting_from_items(items: list) -> reader.TextBatch:
        python_batches.append(len(items))
        return from_items(items)

    def all_malformed(block: bytes) -> tuple:  # every line left to the Python reader
        _, texts, doc_lines, _ = parse(b"")
        count = len(block.split(b"\n"))
        return [None] * count, texts, doc_lines[:0], [(i, "malformed_json", None, None, None) for i in range(count)]

    monkeypatch.setattr(reader.TextBatch, "from_items", counting_from_items)
    monkeypatch.setattr(documents, "READ_BLOCK", 1)  # a block per line: the fallback's share is visible
    for mode in ("paragraphs", "ngrams"):
        spec = _key_spec(mode, batch_size=2)
        monkeypatch.setattr(reader._rust, "parse_documents", parse)
        fast = hash_file(spec, str(path))
        assert python_batches == [1]  # the fast path hands Python only the deeply nested line's block
        python_batches.clear()
        monkeypatch.setattr(reader._rust, "parse_documents", all_malformed)
        python = hash_file(spec, str(path))
        assert python_batches == [1] * 6  # all but "not json", which Python finds malformed too
        python_batches.clear()
        assert fast.ids == python.ids == ['q"\\\n\x01é', "e", "d", "f", None, "s", "n"]
        assert (fast.documents, fast.bad_lines) == (python.documents, python.bad_lines) == (5, 2)
        for column in ("attr_mode", "line_items", "item_start", "item_end", "key_start", "score_start", "keys"):
            assert np.array_equal(getattr(fast, column), getattr(python, column)), column
    args = ["--documents", str(path), "--dedupe.paragraphs.attribute_name", 'dup"s', "--skip_bad_lines",
            *bloom_args(tmp_path / "bf.bin")]
    assert dedupe(*args) == 0
    rows = read_jsonl(tmp_path / "attributes" / "dup_s" / "a.jsonl")
    assert [row["id"] for row in rows] == fast.ids
    assert rows[6]["attributes"] == {'dup"s': [[0, 12, 1.0], [12, 25, 1.0]]}


def test_a_failed_last_write_commits_nothing_of_the_final_save_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final save runs beside the last attribute writes; when one of those fails, the saved generation is
    neither committed nor left behind, and a rerun gives the uninterrupted run's outputs."""
    from dolma_py.dedupe import driver

    docs = tmp_path / "documents"
    for name in "abc":
        write_documents(docs / f"{name}.jsonl.gz", DOLMA_CASE)
    args = ["--documents", str(docs / "*"), "--dedupe.paragraphs.attribute_name", "p", *bloom_args(tmp_path / "bf.bin")]
    write = driver.write_attributes

    def failing_last(output: str, *rest: object) -> object:
        if output.endswith("c.jsonl.gz"):
            raise OSError(5, "Input/output error", output)
        return write(output, *rest)

    monkeypatch.setattr(driver, "write_attributes", failing_last)
    with pytest.raises(OSError, match="Input/output error"):
        dedupe(*args)
    out = tmp_path / "attributes" / "p"
    assert (out / "b.jsonl.gz").exists() and not (out / "c.jsonl.gz").exists() and not (tmp_path / "bf.bin").exists()
    saved = [p.name for p in tmp_path.rglob("filter-*")]
    assert saved == [], saved  # no checkpoint was due before the end, and the final save was never committed
    monkeypatch.setattr(driver, "write_attributes", write)
    assert dedupe(*args) == 0
    reference = tmp_path / "reference"
    for name in "abc":
        write_documents(reference / "documents" / f"{name}.jsonl.gz", DOLMA_CASE)
    assert dedupe("--documents", str(reference / "documents" / "*"), "--dedupe.paragraphs.attribute_name", "p",
                  *bloom_args(reference / "bf.bin")) == 0
    assert tree_bytes(out) == tree_bytes(reference / "attributes" / "p")
    assert (tmp_path / "bf.bin").read_bytes() == (reference / "bf.bin").read_bytes()
