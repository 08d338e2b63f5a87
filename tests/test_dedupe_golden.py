"""`dolma dedupe` against dolma 1.2.1's own outputs (fixtures/dolma_golden/dedupe, from benchmarks/golden_dedupe.py).

Each case runs dolma's config unchanged. Spans are compared after removing the dolma defects we fix on purpose
(docs/compatibility.md): paragraph ends past the text, zero-length spans and a paragraph's trailing newline left out
of its span; and a duplicate document's span ending at the byte length of its key instead of the text's end.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
import yaml

from dolma_py.cli import main as cli

GOLDEN = Path(__file__).parent / "fixtures" / "dolma_golden" / "dedupe"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "config.yaml").exists())
DOLMA_FLAGS_NOTHING = {"paragraphs_min_words"}
"""dolma 1.2.1 never checks a paragraph once min_words > 0 (its length checks form one if/else chain); ours drops
the short ones and deduplicates the rest (docs/compatibility.md)."""


def _texts(documents: Path) -> dict[str, dict[str, str]]:
    out = {}
    for path in sorted(documents.glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            out[path.name.removesuffix(".gz")] = {d["id"]: d["text"] for d in map(json.loads, fh)}
    return out


def _normalized(text: str, spans: list[list[float]]) -> list[tuple[int, int, float]]:
    """Spans as the paragraph content they cover: end clamped to the text, one trailing newline dropped."""
    out = []
    for start, end, score in spans:
        end = min(int(end), len(text))
        if end > start and text[end - 1] == "\n":
            end -= 1
        if end > start:
            out.append((int(start), end, score))
    return out


def _attributes(lines: list[str], texts: dict[str, str], documents: bool) -> list[tuple[str, dict]]:
    rows = []
    for line in lines:
        row = json.loads(line)
        text = texts[row["id"]]
        if documents:
            spans = {k: [(0, len(text), score) for _, _, score in v] for k, v in row["attributes"].items()}
        else:
            spans = {k: _normalized(text, v) for k, v in row["attributes"].items()}
        rows.append((row["id"], spans))
    return rows


@pytest.mark.parametrize("case", CASES)
def test_dedupe_matches_dolma_1_2_1(tmp_path: Path, case: str) -> None:
    shutil.copytree(GOLDEN / "documents", tmp_path / "documents")
    config = (GOLDEN / case / "config.yaml").read_text().replace("{root}", str(tmp_path))
    (tmp_path / "config.yaml").write_text(config)
    assert cli.main(["-c", str(tmp_path / "config.yaml"), "dedupe"]) == 0
    dedupe = yaml.safe_load(config)["dedupe"]
    name, documents = dedupe["name"], "documents" in dedupe
    texts = _texts(tmp_path / "documents")
    flagged = 0
    for golden_file in sorted((GOLDEN / case).glob("*.jsonl")):
        with gzip.open(tmp_path / "attributes" / name / (golden_file.name + ".gz"), "rt", encoding="utf-8") as fh:
            ours = _attributes(fh.read().splitlines(), texts[golden_file.name], documents)
        theirs = _attributes(golden_file.read_text(encoding="utf-8").splitlines(), texts[golden_file.name], documents)
        if case in DOLMA_FLAGS_NOTHING:
            assert not any(spans for _, attrs in theirs for spans in attrs.values())
            flagged += sum(len(spans) for _, attrs in ours for spans in attrs.values())
        else:
            assert ours == theirs, f"{case}/{golden_file.name}"
    assert case not in DOLMA_FLAGS_NOTHING or flagged > 0
