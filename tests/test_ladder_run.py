"""`dolma ladder run` on tiny CPU models: sizes x token multiples trained on one mix, every checkpoint scored on
held-out shards and a multiple-choice task, POINTS.csv that `dolma ladder fit` reads; resume skips done units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from dolma_py.cli.main import main  # noqa: E402
from dolma_py.config.train import ModelConfig  # noqa: E402
from dolma_py.errors import DataError  # noqa: E402
from dolma_py.mixtures.evaluate import read_questions  # noqa: E402
from dolma_py.mixtures.ladder import ladder_params  # noqa: E402
from dolma_py.mixtures.points import read_points  # noqa: E402
from dolma_py.train.model import Transformer  # noqa: E402

V, SEQ = 64, 17


def counting(windows: int, seed: int, noise: float = 0.3) -> np.ndarray:
    """Windows that count up by 1 (mod V), where each token is, with probability `noise`, a random one instead."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, V, windows)
    clean = (starts[:, None] + np.arange(SEQ)[None, :]) % V
    noisy = np.where(rng.random(clean.shape) < noise, rng.integers(0, V, clean.shape), clean)
    return noisy.astype(np.uint16)


def write_spec(root: Path, **changes: object) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "heldout").mkdir()
    counting(4000, 0).tofile(root / "train" / "up.npy")
    counting(16, 1).tofile(root / "heldout" / "up.npy")
    rng = np.random.default_rng(2)
    with open(root / "next.jsonl", "w") as fh:
        for row in counting(32, 3, noise=0.0):
            context, answer = row[:8].tolist(), row[8:10].tolist()
            wrong = [[(t + shift) % V for t in answer] for shift in (1, 2)]  # counting on, from the wrong start
            k = int(rng.integers(0, 3))
            choices = wrong[:k] + [answer] + wrong[k:]
            fh.write(json.dumps({"context": context, "choices": choices, "answer": k}) + "\n")
    shape = {"vocab_size": V, "n_layers": 1, "n_heads": 2, "max_seq_len": SEQ}
    spec = {
        "work_dir": str(root / "ladder"),
        "corpus": {
            "sources": {"up": {"paths": [str(root / "train" / "*.npy")]}},
            "sequence_length": SEQ,
            "dtype": "uint16",
        },
        "mix": {"up": 1.0},
        "sizes": [
            {"name": "s8", "model": {**shape, "d_model": 8, "mlp_hidden": 16}},
            {"name": "s16", "model": {**shape, "d_model": 16, "mlp_hidden": 32}},
            {"name": "s24", "model": {**shape, "d_model": 24, "mlp_hidden": 48}},
        ],
        "token_multiples": [1, 2],
        "tokens_per_param": 4.0,
        "eval": {"up": {"paths": [str(root / "heldout" / "*.npy")]}},
        "tasks": {"next": str(root / "next.jsonl")},
        "checkpoints_per_run": 2,
        "eval_instances": 16,
        "train": {
            "data": {"global_batch_size": 8, "micro_batch_size": 8},
            "optim": {"lr": 0.01},
            "system": {"device": "cpu", "threads": 1},
            "log_interval": 1000,
        },
    }
    spec.update(changes)
    path = root / "ladder.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_ladder_params_count_everything_but_the_lm_head() -> None:
    cfg = ModelConfig(vocab_size=V, d_model=16, n_layers=1, n_heads=2, mlp_hidden=32, max_seq_len=SEQ)
    total = sum(p.numel() for p in Transformer(cfg).parameters())
    assert ladder_params(cfg) == total - V * 16


def test_ladder_run_writes_points_the_fit_reads(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    assert main(["ladder", "run", str(spec)]) == 0
    points = read_points(tmp_path / "ladder" / "POINTS.csv")
    finals = [p for p in points if p.final]
    assert len(finals) == 6 and {p.task for p in points} == {"next"}
    assert len({p.params for p in finals}) == 3
    # more parameters and more tokens: lower loss at the same multiple; the task improves over checkpoints
    by_run = {(p.params, p.tokens): p for p in finals}
    sizes = sorted({p.params for p in finals})
    for size in sizes:
        one, two = sorted((t, by_run[(s, t)].loss) for s, t in by_run if s == size)
        assert two[0] == pytest.approx(2 * one[0], rel=0.1) and two[1] < one[1]
    assert all(0 <= p.accuracy <= 1 and p.task_loss > 0 for p in points)
    biggest = [p for p in points if p.params == sizes[-1] and p.tokens == max(t for s, t in by_run if s == sizes[-1])]
    assert biggest[-1].accuracy > 1 / 3
    summary = json.loads((tmp_path / "ladder" / "_dolma_ladder_summary.json").read_text())
    assert summary["units_failed"] == 0 and summary["units_done"] == 6 + len(points)

    rc = main(
        [
            "ladder",
            "fit",
            "--points",
            str(tmp_path / "ladder" / "POINTS.csv"),
            "--target-params",
            "1e5",
            "--target-tokens",
            "1e5",
            "--bootstrap",
            "0",
        ]
    )
    assert rc == 0
    report = json.loads((tmp_path / "ladder" / "ladder_fit.json").read_text())
    assert report["points"] == 6 and "next" in report["tasks"]

    before = (tmp_path / "ladder" / "POINTS.csv").read_bytes()
    assert main(["ladder", "run", str(spec)]) == 0
    summary = json.loads((tmp_path / "ladder" / "_dolma_ladder_summary.json").read_text())
    assert summary["units_done"] == 0 and summary["units_skipped"] == 6 + len(points)
    assert (tmp_path / "ladder" / "POINTS.csv").read_bytes() == before


def test_bad_spec_and_bad_task_lines_fail_clearly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = write_spec(tmp_path, mix={"down": 1.0})
    assert main(["ladder", "run", str(spec)]) == 2
    assert "mix: unknown source 'down'" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"context": [1, 2], "choices": [[3], [4]], "answer": 0}\n{"context": [1], "choices": [[3]]}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: field 'answer' is missing"):
        read_questions(str(bad), None)
    bad.write_text('{"context": "text", "choices": [[3], [4]], "answer": 0}\n')
    with pytest.raises(DataError, match=r"bad.jsonl:1: field 'context' is text: give a tokenizer"):
        read_questions(str(bad), None)


def test_gpu_scale_example_configs_load() -> None:
    from conftest import REPO_ROOT

    from dolma_py.config.ablate import AblateConfig
    from dolma_py.config.ladder import LadderRunConfig
    from dolma_py.config.loader import load_config

    ablate = load_config(AblateConfig, str(REPO_ROOT / "configs" / "ablate" / "olmo2-190M.yaml"), {})
    assert ablate.train.model.preset == "190M" and len(ablate.candidates) >= 6
    ladder = load_config(LadderRunConfig, str(REPO_ROOT / "configs" / "ladder" / "olmo2-190M-1B.yaml"), {})
    assert [s.model.preset for s in ladder.sizes] == ["190M", "370M", "760M", "1B"]
