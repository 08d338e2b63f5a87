"""The README's first command runs `dolma quickstart`; every stage must complete and leave its outputs."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from conftest import read_jsonl

from dolma_py.cli.main import main
from dolma_py.exec.runner import RunSummary


def test_quickstart_runs_every_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    assert main(["quickstart", "--output", str(tmp_path), "--processes", "2"]) == 0
    out = capsys.readouterr().out
    for stage in ("tag", "dedupe", "dedupe-fuzzy", "mix", "tokens-web", "curriculum", "train"):
        assert (tmp_path / "configs" / f"{stage}.yaml").exists()

    docs = sorted((tmp_path / "corpus" / "documents").rglob("*.jsonl.gz"))
    tagged = sorted((tmp_path / "corpus" / "attributes" / "quickstart").rglob("*.jsonl.gz"))
    deduped = sorted((tmp_path / "corpus" / "attributes" / "dedupe_paragraphs").rglob("*.jsonl.gz"))
    assert len(docs) == len(tagged) == len(deduped) == 10
    keys = set().union(*(row["attributes"] for row in read_jsonl(tagged[0])))
    assert {"quickstart__char_length_v1__length", "quickstart__gopher_v1__word_count"} <= keys
    flagged = sum(
        bool(row["attributes"].get("bff_duplicate_paragraph_spans")) for path in deduped for row in read_jsonl(path)
    )
    assert flagged > 0, "the sample corpus repeats paragraphs, so dedupe must flag some"
    fuzzy = sorted((tmp_path / "corpus" / "attributes" / "fuzzy_dedupe").glob("*/*.jsonl.gz"))
    near = sum(bool(row["attributes"]["minhash_duplicate"]) for path in fuzzy for row in read_jsonl(path))
    assert len(fuzzy) == 10 and near > 0, "the sample corpus repeats whole documents, so fuzzy dedupe flags some"

    mixed = [row for path in sorted((tmp_path / "mixed").rglob("*.json.gz")) for row in read_jsonl(path)]
    total = sum(len(read_jsonl(path)) for path in docs)
    assert 0 < len(mixed) < total, "the mix filters drop spam and blocklisted pages"
    assert any("|||EMAIL_ADDRESS|||" in row["text"] for row in mixed)

    for source in ("web", "wiki", "math"):
        shards = list((tmp_path / "tokens" / source).glob("*.npy"))
        assert shards and all(np.fromfile(s, dtype=np.uint16).size > 0 for s in shards)
    assert (tmp_path / "manifest" / "manifest.json").exists()
    assert "losses of the tiny model:" in out and "[anneal] train loss" in out

    # every command writes the same run summary shape next to its outputs (train: in its run directory)
    summaries = [json.loads(path.read_text()) for path in sorted(tmp_path.rglob("_dolma_*_summary.json"))]
    commands = ["tag", "dedupe", "dedupe", "mix", "tokens", "tokens", "tokens", "curriculum", "train"]
    assert sorted(s["command"] for s in summaries) == sorted(commands)
    for summary in summaries:
        assert set(summary) == {f.name for f in fields(RunSummary)}, summary["command"]
        assert summary["units_failed"] == 0 and summary["units_done"] >= 1, summary
    assert (tmp_path / "runs" / "tiny" / "_dolma_train_summary.json").exists()
