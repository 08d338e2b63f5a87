"""Regenerate tests/fixtures/dolma_golden/taggers_core/: dolma 1.2.1's `dolma tag` on a small generated corpus, for
every built-in tagger that needs no download (length, C4, Gopher, PII regex, repetitions, code, random number).

The corpus is the quickstart's web-like generator (prose, boilerplate, code pages, emails, spam, foreign text) plus
hand-written edge cases (empty text, whitespace only, non-BMP characters, very long words, CRLF). The fixture keeps
the documents and, per tagger, the attribute files dolma wrote (recompressed without timestamps):

    python benchmarks/golden_taggers_core.py
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from dolma_py.sample_corpus import generate_corpus  # noqa: E402

REFERENCE_DOLMA = REPO_ROOT / ".bench" / "venvs" / "dolma-1.2.1" / "bin" / "dolma"
FIXTURE = REPO_ROOT / "tests" / "fixtures" / "dolma_golden" / "taggers_core"

TAGGERS = [
    "bytes_length_v1", "c4_v1", "c4_v2", "char_length_strip_ws_v1", "char_length_v1", "char_length_with_paragraphs_v1",
    "code_copyright_comments_v1", "code_redpajama_taggers_v1", "doc_count_v1", "gopher_v1", "gopher_v2",
    "paragraph_repetitions_v1", "pii_regex_v1", "pii_regex_v2", "pii_regex_with_counts_fast_v2",
    "pii_regex_with_counts_v2", "random_number_v1", "repetitions_v1", "whitespace_tokenizer_v1",
    "whitespace_tokenizer_with_paragraphs_v1",
]
"""Every dolma 1.2.1 tagger of these families that loads no model or list (the tokenizer ones fetch from a hub)."""

NO_EDGE_CASES = {"pii_regex_v1", "pii_regex_with_counts_v2"}
"""dolma 1.2.1 fails the whole file on the empty edge cases with these (ZeroDivisionError): they run without them."""

EDGE_CASES = [
    "",
    "   \n\t\n",
    "one line without newline",
    "trailing newline\n",
    "crlf line one\r\ncrlf line two\r\n",
    "emoji 😀😀😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 text; lorem ipsum dolor sit amet.\n\n\nafter blank lines",
    "x" * 3000,
    "contact me at someone@example.com or 555-123-4567, from 192.168.0.1\nCopyright (c) 2024 Somebody\n",
    "# Copyright 2020 The Authors. All rights reserved.\nimport os\n\ndef f(x):\n    return x  # comment\n",
    "repeat repeat repeat repeat repeat repeat repeat repeat\nrepeat repeat repeat repeat\n" * 5,
    "javascript must be enabled. {curly} lorem ipsum. terms of use. cookies policy\nEnd with a period.\n",
]


def write_documents(root: Path) -> None:
    generate_corpus(str(root), num_files=3, docs_per_file=8, seed=11, processes=1)
    edge = [{"id": f"edge-{i}", "text": text, "source": "edge"} for i, text in enumerate(EDGE_CASES)]
    (root / "documents" / "edge").mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(root / "documents" / "edge" / "edge.jsonl.gz", "wb", mtime=0) as fh:
        fh.write(b"".join(json.dumps(d, ensure_ascii=False).encode() + b"\n" for d in edge))


def main() -> None:
    if not REFERENCE_DOLMA.exists():
        sys.exit(f"reference dolma not found at {REFERENCE_DOLMA}; run benchmarks/setup_reference.sh")
    shutil.rmtree(FIXTURE, ignore_errors=True)
    FIXTURE.mkdir(parents=True)
    write_documents(FIXTURE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(FIXTURE / "documents", root / "documents")
        for pattern, taggers in [("*", [t for t in TAGGERS if t not in NO_EDGE_CASES]), ("w*", sorted(NO_EDGE_CASES))]:
            command = [str(REFERENCE_DOLMA), "tag", "--documents", str(root / "documents" / pattern / "*.jsonl.gz"),
                       "--taggers", *taggers, "--processes", "1"]
            subprocess.run(command, check=True, capture_output=True, cwd=tmp)
        for tagger in TAGGERS:
            for path in sorted((root / "attributes" / tagger).glob("*/*.jsonl.gz")):
                target = FIXTURE / "attributes" / tagger / path.parent.name / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                with gzip.open(path, "rb") as fh, gzip.GzipFile(target, "wb", mtime=0) as out:
                    out.write(fh.read())  # recompressed without a timestamp, so a rerun writes the same bytes
    (FIXTURE / "taggers.json").write_text(json.dumps(TAGGERS, indent=1) + "\n")
    print(f"{len(TAGGERS)} taggers, documents in {FIXTURE / 'documents'}")


if __name__ == "__main__":
    main()
