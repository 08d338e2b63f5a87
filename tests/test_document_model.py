"""One document model for every stage: tag, dedupe, mix and tokens accept and reject the same lines, with the same
`file:line: message`, and write nothing for a file that fails. The bad corpus is the one dolma 1.2.1 was run on
(benchmarks/golden_bad_lines.py); where dolma rejects a line in the stage that checks documents (`dolma tag`),
every stage of ours rejects it too.
"""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
import zstandard
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from dolma_py import _rust, docmodel
from dolma_py.cli import main as cli
from dolma_py.errors import DataError
from dolma_py.io.documents import BadLine, iter_lines, parse_record, read_documents, to_document, write_parquet

GOLDEN = json.loads((Path(__file__).parent / "fixtures/dolma_golden/bad_lines/cases.json").read_text())
LINES = {name: base64.b64decode(line) for name, line in GOLDEN["line_cases"].items()}
GOOD = [line.encode() for line in GOLDEN["good_lines"]]
STAGES = ("tag", "dedupe", "dedupe_by_key", "mix", "tokens")
"""Our commands, with dedupe both by paragraph (the Rust reader) and by a document key (the Python reader)."""

EXPECTED: dict[str, str | None] = {
    "good": None,
    "escaped_nul": None,
    "missing_source": None,
    "duplicate_keys": None,
    "metadata_null": None,
    "malformed_json": "malformed JSON (unexpected end of data: line 1 column 28 (char 27))",
    "invalid_utf8": "invalid UTF-8 at byte 25",
    "nul_byte_in_string": "NUL byte at byte 25",
    "nul_byte_outside": "NUL byte at byte 41",
    "id_int": "field 'id' must be a string, got int",
    "id_null": "field 'id' must be a string, got null",
    "id_list": "field 'id' must be a string, got list",
    "text_int": "field 'text' must be a string, got int",
    "text_null": "field 'text' must be a string, got null",
    "metadata_list": "field 'metadata' must be an object or null, got list",
    "metadata_string": "field 'metadata' must be an object or null, got str",
    "source_int": "field 'source' must be a string, got int",
    "source_null": "field 'source' must be a string, got null",
    "version_int": "field 'version' must be a string or null, got int",
    "added_int": "field 'added' must be a string, got int",
    "missing_id": "field 'id' is missing",
    "missing_text": "field 'text' is missing",
    "not_an_object": "expected a JSON object, got list",
    "empty_line": "empty line",
    "blank_line": "empty line",
}
"""Line case -> our message for line 2 (None: a valid document)."""

DIFFERS_FROM_DOLMA_TAG = {"metadata_list", "metadata_string"}
"""dolma's tag checks `metadata` only when a tagger reads it; ours checks it always."""


def test_every_golden_line_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(LINES)


@pytest.mark.parametrize("case", sorted(set(EXPECTED) - DIFFERS_FROM_DOLMA_TAG))
def test_we_reject_what_dolma_tag_rejects(case: str) -> None:
    dolma_rejects = GOLDEN["results"][case]["tag"]["rc"] != 0
    assert dolma_rejects == (EXPECTED[case] is not None)


def test_messages_cover_exactly_the_rust_rejection_kinds() -> None:
    assert tuple(docmodel.MESSAGES) == tuple(_rust.DOCUMENT_REJECTIONS)
    assert [rule[0] for rule in docmodel.FIELD_RULES][:2] == ["id", "text"]


def _python_verdict(raw: bytes) -> tuple[str | None, str | None]:
    """(id, message) the Python reader gives a line; the message is None for a document."""
    item = to_document(1, parse_record(raw))
    return (item.doc_id, item.error) if isinstance(item, BadLine) else (item.id, None)


EXTRA_LINES = [
    b'{"id": "a", "text": "t", "created": 5}',
    b'{"id": "a", "text": "t", "version": "v1", "added": "2020"}',
    b'{"id": "a", "text": 1.5}',
    b'{"id": true, "text": "t"}',
    b'{"id": "a", "text": "t", "big": 18446744073709551616}',
    b'{"id": "a", "text": "t", "x": 1e400}',
    b'{"id": "k", "text": {"a": 1}}',
    b"null",
    b"\xef\xbb\xbf{}",
    b'{"id": "a", "text": "\\ud800"}',
]


@pytest.mark.parametrize("raw", [*LINES.values(), *EXTRA_LINES])
def test_rust_reader_gives_the_python_verdict_and_message(raw: bytes) -> None:
    ids, texts, doc_lines, rejections = _rust.parse_documents(raw)  # one line: the readers never hand it a newline
    doc_id, message = _python_verdict(raw)
    assert ids == [doc_id]
    if message is None:
        assert (len(texts), doc_lines.tolist(), rejections) == (1, [0], [])
    else:
        ((_, kind, field, got, byte),) = rejections
        assert str(docmodel.from_rejection(raw, kind, field, got, byte)) == message


# ---- every stage, through the CLI, over the same corpus -------------------------------------------------------


def _tokenizer(path: Path) -> None:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<eos>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(["first good line second third value"], trainer)
    tokenizer.save(str(path))


def _config(stage: str, root: Path, name: str) -> dict[str, Any]:
    docs = str(root / "documents" / name)
    if stage == "tag":
        return {"documents": [docs], "taggers": ["char_length_v1"], "experiment": "exp", "processes": 1}
    if stage.startswith("dedupe"):
        mode = {"documents": {"attribute_name": "dup_docs", "key": "$.text"}} if stage == "dedupe_by_key" else {
            "paragraphs": {"attribute_name": "dup_paragraphs"}}
        return {"documents": [docs], "dedupe": {"name": "dups", **mode},
                "bloom_filter": {"file": str(root / "bloom.bin"), "read_only": False, "size_in_bytes": 1 << 20,
                                 "estimated_doc_count": 100, "desired_false_positive_rate": 0.001},
                "processes": 1}
    if stage == "mix":
        output = {"path": str(root / "mixed"), "max_size_in_bytes": 1 << 20}
        stream = {"name": "m", "documents": [docs], "output": output, "filter": {"exclude": ["$.never_present"]}}
        return {"streams": [stream], "work_dir": {"input": str(root / "wi"), "output": str(root / "wo")},
                "processes": 1}
    _tokenizer(root / "tokenizer.json")
    return {"documents": [docs], "destination": str(root / "tokens"), "processes": 1, "dtype": "uint16",
            "tokenizer": {"name_or_path": str(root / "tokenizer.json"), "eos_token_id": 0, "pad_token_id": 1},
            "work_dir": {"output": str(root / "work")}}


def _outputs(stage: str, root: Path) -> list[str]:
    """Data files the stage wrote (run summaries, markers and locks start with `_` or `.`)."""
    base = root / {"mix": "mixed", "tokens": "tokens"}.get(stage, "attributes")
    if not base.exists():
        return []
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")
                  if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(base).parts))


def _run(stage: str, root: Path, name: str, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str]:
    config = root / f"{stage}.yaml"
    config.write_text(yaml.safe_dump(_config(stage, root, name)))
    capsys.readouterr()
    code = cli.main(["-c", str(config), stage.removesuffix("_by_key"), *flags])
    return code, capsys.readouterr().err


def _write_lines(root: Path, middle: bytes) -> Path:
    path = root / "documents" / "x.jsonl.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(GOOD[0] + b"\n" + middle + b"\n" + GOOD[1] + b"\n", mtime=0))
    return path


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("case", sorted(case for case, message in EXPECTED.items() if message))
def test_every_stage_rejects_the_line_with_the_same_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str, case: str
) -> None:
    path = _write_lines(tmp_path, LINES[case])
    code, err = _run(stage, tmp_path, path.name, capsys)
    assert code != 0
    assert f"{path}:2: {EXPECTED[case]}" in err
    assert "Traceback" not in err
    assert _outputs(stage, tmp_path) == []


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("case", sorted(case for case, message in EXPECTED.items() if not message))
def test_every_stage_accepts_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str, case: str
) -> None:
    path = _write_lines(tmp_path, LINES[case])
    code, err = _run(stage, tmp_path, path.name, capsys)
    assert code == 0, err
    assert _outputs(stage, tmp_path) != []


@pytest.mark.parametrize("stage", ["tag", "dedupe", "dedupe_by_key"])
@pytest.mark.parametrize("case", ["malformed_json", "id_int", "invalid_utf8", "metadata_list", "empty_line"])
def test_skip_bad_lines_keeps_attributes_aligned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str, case: str
) -> None:
    path = _write_lines(tmp_path, LINES[case])
    code, err = _run(stage, tmp_path, path.name, capsys, "--skip_bad_lines")
    assert code == 0, err
    (output,) = _outputs(stage, tmp_path)
    lines = gzip.decompress((tmp_path / "attributes" / output).read_bytes()).splitlines()
    rows = [orjson.loads(line) for line in lines]
    assert [row["id"] for row in rows] == ["a", "b" if case == "metadata_list" else None, "c"]  # a string id is kept
    assert rows[1]["attributes"] == {}
    if stage != "dedupe_by_key":  # by key, a document seen once has no attributes either
        assert rows[0]["attributes"] and rows[2]["attributes"]


def test_tokens_skip_bad_lines_counts_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_lines(tmp_path, LINES["id_list"])
    code, err = _run("tokens", tmp_path, path.name, capsys, "--skip_bad_lines")
    assert code == 0, err
    summary = json.loads(next((tmp_path / "tokens").glob("_*summary*.json")).read_text())
    assert summary["bad_lines"] == 1 and summary["documents"] == 2


def _write_file(root: Path, case: str) -> Path:
    folder = root / "documents"
    folder.mkdir(parents=True)
    good = b"".join(line + b"\n" for line in (*GOOD, *GOOD)) * 100
    if case == "truncated_gz":
        data = gzip.compress(good, mtime=0)
        path = folder / "x.jsonl.gz"
        path.write_bytes(data[: len(data) // 2])
    elif case == "truncated_zst":
        data = zstandard.ZstdCompressor().compress(good)
        path = folder / "x.jsonl.zst"
        path.write_bytes(data[: len(data) // 2])
    elif case == "empty_file":
        path = folder / "x.jsonl.gz"
        path.write_bytes(gzip.compress(b"", mtime=0))
    else:
        path = folder / "x.jsonl.gz"
        path.mkdir()
    return path


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("case", ["truncated_gz", "truncated_zst"])
def test_every_stage_fails_a_truncated_file_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str, case: str
) -> None:
    path = _write_file(tmp_path, case)
    code, err = _run(stage, tmp_path, path.name, capsys)
    assert code != 0
    assert f"{path}: cannot read compressed data after line" in err and "Traceback" not in err
    assert _outputs(stage, tmp_path) == []


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_reads_an_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str) -> None:
    path = _write_file(tmp_path, "empty_file")
    code, err = _run(stage, tmp_path, path.name, capsys)
    assert code == 0, err
    assert GOLDEN["results"]["empty_file"][stage.removesuffix("_by_key")]["rc"] == 0


@pytest.mark.parametrize("stage", STAGES)
def test_a_directory_named_like_a_file_finds_no_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stage: str
) -> None:
    path = _write_file(tmp_path, "directory_named_like_file")
    code, err = _run(stage, tmp_path, path.name, capsys)
    assert code != 0 and "Traceback" not in err
    assert str(path) in err
    dolma = GOLDEN["results"]["directory_named_like_file"][stage.removesuffix("_by_key")]
    assert "No documents found" in dolma["error"]


def test_the_reader_keeps_one_item_per_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\n".join([GOOD[0], *LINES.values(), GOOD[1]]) + b"\n")
    items = list(read_documents(str(path)))
    assert len(items) == len(LINES) + 2
    messages = [item.error if isinstance(item, BadLine) else None for item in items[1:-1]]
    assert messages == [EXPECTED[case] for case in LINES]


def test_parquet_nulls_in_optional_string_columns_are_absent_fields(tmp_path: Path) -> None:
    path = str(tmp_path / "d.parquet")
    write_parquet(path, [{"id": "a", "text": "x", "source": "s"}, {"id": "b", "text": "y", "source": None},
                         {"id": "c", "text": None, "source": "s"}])
    first, second, third = read_documents(path)
    assert (first.source, second.source) == ("s", "")
    assert isinstance(third, BadLine) and third.error == "field 'text' must be a string, got null"


def test_reading_a_directory_names_it(tmp_path: Path) -> None:
    folder = tmp_path / "x.jsonl.gz"
    folder.mkdir()
    with pytest.raises(DataError, match=r"x\.jsonl\.gz: is a directory, not a documents file"):
        list(iter_lines(str(folder)))
