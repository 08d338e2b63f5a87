"""The fastText taggers against dolma 1.2.1's own outputs (tests/fixtures/dolma_golden/taggers_fasttext, made by
benchmarks/golden_taggers_fasttext.py): our `dolma tag`, given the same tiny models, writes dolma's values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import read_jsonl, tagger_attributes

from dolma_py.cli.main import main
from dolma_py.data import Document
from taggers.registry import create_tagger, describe_taggers

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "dolma_golden" / "taggers_fasttext"
MODELS = FIXTURE / "inputs" / "models"
EXPERIMENT = "golden"
TAGGERS: dict[str, str] = json.loads((FIXTURE / "inputs" / "taggers.json").read_text())  # tagger -> model
NAMES = sorted(TAGGERS)


@pytest.fixture(scope="module", params=[1, 2], ids=["processes=1", "processes=2"])
def ours(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Our `dolma tag` (config file, one experiment, each tagger given its fixture model) on the fixture
    documents; all attribute lines of both files, in order."""
    root = tmp_path_factory.mktemp("taggers_fasttext")
    shutil.copytree(FIXTURE / "inputs" / "documents", root / "documents")
    config = {
        "documents": [str(root / "documents" / "*.jsonl")],
        "taggers": [{"name": name, "model_path": str(MODELS / model)} for name, model in TAGGERS.items()],
        "experiment": EXPERIMENT,
        "processes": request.param,
    }
    (root / "tag.yaml").write_text(yaml.safe_dump(config))
    assert main(["tag", "-c", str(root / "tag.yaml")]) == 0
    outputs = sorted((root / "attributes" / EXPERIMENT).glob("part-*"))
    assert [p.name.split(".")[0] for p in outputs] == ["part-0", "part-1"]
    return [row for path in outputs for row in read_jsonl(path)]


def test_fixture_covers_every_name() -> None:
    assert sorted(p.name.removesuffix(".jsonl.gz") for p in (FIXTURE / "expected").glob("*.jsonl.gz")) == NAMES
    assert set(NAMES) <= {name for name, _ in describe_taggers()}


@pytest.mark.parametrize("name", NAMES)
def test_matches_dolma(name: str, ours: list[dict]) -> None:
    expected = read_jsonl(FIXTURE / "expected" / f"{name}.jsonl.gz")
    got = tagger_attributes(ours, EXPERIMENT, name)
    if name == "dolma17-quality":  # dolma crashes on documents without a token, so the fixture lacks them
        ids = {row["id"] for row in expected}
        got = [row for row in got if row["id"] in ids]
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs


def test_dolma17_quality_scores_a_text_without_tokens_as_the_empty_line() -> None:
    # dolma 1.2.1 raises ValueError here (`tokens, _ = zip(*[])`); we predict on the empty line instead
    tagger = create_tagger("dolma17-quality", {"model_path": str(MODELS / "dolma17.bin")})
    empty, blank = tagger.tag_batch([Document(id="e", text=""), Document(id="b", text=" \t\n ")])
    labels = [label.removeprefix("__label__") for label in tagger.model.labels]  # type: ignore[attr-defined]
    assert len(labels) == 10 and sorted(empty) == sorted(blank) == sorted(labels)
    for key in labels:
        (span,) = blank[key]
        assert (span.start, span.end) == (0, 4) and empty[key] == [(0, 0, span.score)]
