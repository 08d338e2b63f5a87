"""`dolma train --resume` after a kill mid-write of `metrics.jsonl`: the torn final line is dropped and training
continues on the same loss curve; a bad line anywhere else is still an error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")

from test_train import make_config, make_manifest  # noqa: E402

from dolma_py.errors import DataError  # noqa: E402
from dolma_py.train.checkpoint import list_checkpoints  # noqa: E402
from dolma_py.train.metrics import read_metrics  # noqa: E402
from dolma_py.train.train import train  # noqa: E402


def _curve(run: Path) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in read_metrics(run / "metrics.jsonl") if "loss" in r]


def test_resume_drops_a_torn_final_line_and_keeps_the_curve(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    train(make_config(manifest, full))
    train(make_config(manifest, part, max_steps=10))
    shutil.rmtree(list_checkpoints(part / "checkpoints")[-1])  # died after step 10, before its checkpoint
    metrics = part / "metrics.jsonl"
    with open(metrics, "a", encoding="utf-8") as f:
        f.write('{"step": 11, "phase": "anneal", "lr": 0.00')  # killed in the middle of a write
    with pytest.raises(DataError, match="metrics.jsonl:"):
        read_metrics(metrics)  # read plainly, the torn line is an error
    train(make_config(manifest, part, resume=True))
    assert _curve(part) == _curve(full) and len(_curve(full)) == 12


def test_a_bad_line_before_the_end_still_fails_the_resume(tmp_path: Path) -> None:
    manifest = make_manifest(tmp_path)
    part = tmp_path / "part"
    train(make_config(manifest, part, max_steps=10))
    metrics = part / "metrics.jsonl"
    lines = metrics.read_text().splitlines(keepends=True)
    lines.insert(3, '{"step": 2, "lo\n')
    metrics.write_text("".join(lines))
    with pytest.raises(DataError, match=r"metrics.jsonl:4: not a JSON record"):
        train(make_config(manifest, part, resume=True))
