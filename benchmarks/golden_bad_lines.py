"""Regenerate tests/fixtures/dolma_golden/bad_lines/: what dolma 1.2.1's tag, dedupe, mix and tokens do with bad input.

Each case is one documents file (a good line, the bad line, a good line, unless the case is about the whole file)
run alone through each stage of the reference, so one crash cannot hide another. The fixture keeps, per case and
stage, whether dolma failed, the last line of its error, and what it wrote (attribute lines, kept ids, tokenized ids),
so tests/test_document_model.py can hold our stages to the same accept/reject decisions without installing dolma:

    .venv/bin/python benchmarks/golden_bad_lines.py     (needs benchmarks/setup_reference.sh)
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
import json
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import Any

import yaml
import zstandard
from common import REPO_ROOT, require_reference
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "bad_lines"
GOOD_1 = b'{"id": "a", "text": "first good line", "source": "s"}'
GOOD_3 = b'{"id": "c", "text": "third good line", "source": "s"}'


def _around(bad: bytes) -> bytes:
    return GOOD_1 + b"\n" + bad + b"\n" + GOOD_3 + b"\n"


_GOOD = _around(b'{"id": "b", "text": "second good line", "source": "s"}')

LINE_CASES: dict[str, bytes] = {
    "good": b'{"id": "b", "text": "second good line", "source": "s"}',
    "malformed_json": b'{"id": "b", "text": "second',
    "invalid_utf8": b'{"id": "b", "text": "bad \xff\xfe bytes", "source": "s"}',
    "nul_byte_in_string": b'{"id": "b", "text": "nul \x00 here", "source": "s"}',
    "nul_byte_outside": b'{"id": "b", "text": "nul", "source": "s"}\x00',
    "escaped_nul": b'{"id": "b", "text": "nul \\u0000 escaped", "source": "s"}',
    "id_int": b'{"id": 7, "text": "second good line", "source": "s"}',
    "id_null": b'{"id": null, "text": "second good line", "source": "s"}',
    "id_list": b'{"id": ["b"], "text": "second good line", "source": "s"}',
    "text_int": b'{"id": "b", "text": 7, "source": "s"}',
    "text_null": b'{"id": "b", "text": null, "source": "s"}',
    "metadata_list": b'{"id": "b", "text": "second good line", "source": "s", "metadata": [1]}',
    "metadata_string": b'{"id": "b", "text": "second good line", "source": "s", "metadata": "m"}',
    "source_int": b'{"id": "b", "text": "second good line", "source": 3}',
    "source_null": b'{"id": "b", "text": "second good line", "source": null}',
    "metadata_null": b'{"id": "b", "text": "second good line", "source": "s", "metadata": null}',
    "version_int": b'{"id": "b", "text": "second good line", "source": "s", "version": 1}',
    "added_int": b'{"id": "b", "text": "second good line", "source": "s", "added": 1}',
    "missing_id": b'{"text": "second good line", "source": "s"}',
    "missing_text": b'{"id": "b", "source": "s"}',
    "missing_source": b'{"id": "b", "text": "second good line"}',
    "duplicate_keys": b'{"id": "b", "text": "first value", "text": "second value", "source": "s"}',
    "not_an_object": b'["b", "second good line"]',
    "empty_line": b"",
    "blank_line": b"   ",
}
"""Case name -> the middle line of a three-line .jsonl.gz documents file."""

FILE_CASES = ("empty_file", "truncated_gz", "truncated_zst", "directory_named_like_file")
STAGES = ("tag", "dedupe", "mix", "tokens")
KEPT_OUTPUTS = 6


def write_case(documents: Path, case: str) -> str:
    """Write the case's documents file under `documents`; returns its name."""
    documents.mkdir(parents=True)
    if case in LINE_CASES:
        (documents / "x.jsonl.gz").write_bytes(gzip.compress(_around(LINE_CASES[case]), mtime=0))
    elif case == "empty_file":
        (documents / "x.jsonl.gz").write_bytes(gzip.compress(b"", mtime=0))
    elif case == "truncated_gz":
        data = gzip.compress(_GOOD * 200, mtime=0)
        (documents / "x.jsonl.gz").write_bytes(data[: len(data) // 2])
    elif case == "truncated_zst":
        data = zstandard.ZstdCompressor().compress(_GOOD * 200)
        (documents / "x.jsonl.zst").write_bytes(data[: len(data) // 2])
        return "x.jsonl.zst"
    elif case == "directory_named_like_file":
        (documents / "x.jsonl.gz").mkdir()
    return "x.jsonl.gz"


def _decompressed_lines(path: Path) -> list[str] | None:
    if not path.is_file():
        return None
    raw = path.read_bytes()
    truncated = False
    if path.suffix == ".gz":
        stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
        raw, truncated = stream.decompress(raw), not stream.eof
    elif path.suffix == ".zst":
        stream = zstandard.ZstdDecompressor().decompressobj()
        raw, truncated = stream.decompress(raw), not stream.eof
    lines = raw.decode(errors="replace").splitlines()
    return [*lines, "<truncated: not a complete compressed file>"] if truncated else lines


def _mixed_id(line: str) -> Any:
    """A mixed document's id, or the line itself where it is not a JSON object."""
    try:
        return json.loads(line)["id"]
    except (ValueError, KeyError, TypeError):
        return line


def _error_line(stderr: str, root: Path) -> str:
    """The last line of a traceback, or else the last line naming an error."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    wanted = [line for line in lines if "Failed to process" in line or "panicked" in line]
    wanted = wanted or [line for line in lines if "Error" in line or "error" in line]
    line = (wanted or lines or [""])[0 if "panicked" in (wanted or [""])[0] else -1]
    return line.replace(str(root), "{root}")[:400]


def _warnings(stderr: str, root: Path) -> list[str]:
    """dolma's logged warnings (tokens logs a bad line and goes on)."""
    found = [line.split("WARNING", 1)[1].strip(" :-") for line in stderr.splitlines() if "WARNING" in line]
    return [line.replace(str(root), "{root}")[:300] for line in found]


def _tokenizer(root: Path) -> Path:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<eos>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(["first good line second third value"], trainer)
    config = json.loads(tokenizer.to_str())
    config["model"]["merges"] = [" ".join(pair) for pair in config["model"]["merges"]]  # what tokenizers 0.19 reads
    path = root / "tokenizer.json"
    path.write_text(json.dumps(config))
    return path


def _config(stage: str, root: Path, name: str, tokenizer: Path) -> tuple[dict[str, Any], list[str]]:
    """The stage's config file contents and the dolma command line after `-c <config>`."""
    docs = str(root / "documents" / name)
    if stage == "tag":
        return {"documents": [docs], "taggers": ["char_length_v1"], "experiment": "exp", "processes": 1}, ["tag"]
    if stage == "dedupe":
        return {
            "documents": [docs],
            "dedupe": {"name": "dups", "paragraphs": {"attribute_name": "dup_paragraphs"}},
            "bloom_filter": {"file": str(root / "bloom.bin"), "read_only": False, "size_in_bytes": 1 << 20,
                             "estimated_doc_count": 100, "desired_false_positive_rate": 0.001},
            "processes": 1,
        }, ["dedupe"]
    if stage == "mix":
        output = {"path": str(root / "mixed"), "max_size_in_bytes": 1 << 20}
        stream = {"name": "m", "documents": [docs], "output": output, "filter": {"exclude": ["$.never_present"]}}
        return {"streams": [stream], "work_dir": {"input": str(root / "wi"), "output": str(root / "wo")},
                "processes": 1}, ["mix"]
    return {
        "documents": [docs],
        "destination": str(root / "tokens"),
        "tokenizer": {"name_or_path": str(tokenizer), "eos_token_id": 0, "pad_token_id": 1},
        "processes": 1,
        "seed": 3,
        "dtype": "uint16",
    }, ["tokens"]


def _outputs(stage: str, root: Path, name: str) -> Any:
    """What the stage wrote: attribute lines, the mixed documents' ids, or the tokenized documents' ids."""
    if stage == "tag":
        return _decompressed_lines(root / "attributes" / "exp" / name)
    if stage == "dedupe":
        return _decompressed_lines(root / "attributes" / "dups" / name)
    if stage == "mix":
        shards = sorted((root / "mixed").glob("*.gz")) if (root / "mixed").exists() else []
        return [_mixed_id(line) for shard in shards for line in _decompressed_lines(shard) or []] or None
    ids = []
    for index in sorted((root / "tokens").glob("*.csv.gz")) if (root / "tokens").exists() else []:
        with gzip.open(index, "rt") as fh:
            ids += [row[2] for row in csv.reader(io.StringIO(fh.read()))]
    return ids or None


def run_case(dolma: Path, case: str, stage: str, tokenizer: Path) -> dict[str, Any]:
    """Run one stage of the reference on one case; what came out."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        name = write_case(root / "documents", case)
        config, command = _config(stage, root, name, tokenizer)
        (root / "config.yaml").write_text(yaml.safe_dump(config))
        run = subprocess.run([str(dolma), "-c", str(root / "config.yaml"), *command], capture_output=True, text=True,
                             check=False, timeout=300)
        outputs = _outputs(stage, root, name)
        if outputs is not None and len(outputs) > KEPT_OUTPUTS:
            outputs = [*outputs[:KEPT_OUTPUTS], f"<{len(outputs) - KEPT_OUTPUTS} more>"]
        return {"rc": run.returncode, "error": _error_line(run.stderr, root) if run.returncode else "",
                "traceback": "Traceback" in run.stderr, "panic": "panicked" in run.stderr,
                "warnings": _warnings(run.stderr, root), "outputs": outputs}


def main() -> None:
    dolma = require_reference()
    FIXTURE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = _tokenizer(Path(tmp))
        results = {}
        for case in (*LINE_CASES, *FILE_CASES):
            results[case] = {stage: run_case(dolma, case, stage, tokenizer) for stage in STAGES}
            print(case, {stage: r["rc"] for stage, r in results[case].items()}, flush=True)
    payload = {
        "good_lines": [GOOD_1.decode(), GOOD_3.decode()],
        "line_cases": {name: base64.b64encode(line).decode() for name, line in LINE_CASES.items()},
        "file_cases": list(FILE_CASES),
        "results": results,
    }
    (FIXTURE / "cases.json").write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE / 'cases.json'}")


if __name__ == "__main__":
    main()
