"""`dolma ablate` on tiny CPU models: partition models from a seed, averaged per candidate, ranked per domain;
resume skips finished units; validate correlates proxy and true perplexity; bad configs fail clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

torch = pytest.importorskip("torch")

from dolma_py.cli.main import main  # noqa: E402
from dolma_py.errors import ConfigError  # noqa: E402
from dolma_py.mixtures.ablate import correlations, spearman  # noqa: E402

V, SEQ = 64, 17
STRIDES = {"up": 1, "skip": 5}
"""Two learnable domains: `up` counts up by 1 (mod V), `skip` by 5, from a random start per window."""


def domain_tokens(stride: int, windows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, V, windows)
    return ((starts[:, None] + stride * np.arange(SEQ)[None, :]) % V).astype(np.uint16).reshape(-1)


def write_config(root: Path, **changes: object) -> Path:
    for k, (name, stride) in enumerate(STRIDES.items()):
        (root / "train" / name).mkdir(parents=True, exist_ok=True)
        (root / "heldout" / name).mkdir(parents=True, exist_ok=True)
        domain_tokens(stride, 256, k).tofile(root / "train" / name / "part-0.npy")
        domain_tokens(stride, 16, 100 + k).tofile(root / "heldout" / name / "part-0.npy")
    config = {
        "work_dir": str(root / "work"),
        "corpus": {
            "sources": {name: {"paths": [str(root / "train" / name / "*.npy")]} for name in STRIDES},
            "partitions": {"up": 2},
            "sequence_length": SEQ,
            "dtype": "uint16",
        },
        "seed": {"tokens": 32 * SEQ},
        "tokens_per_partition": 48 * SEQ,
        "candidates": [
            {"name": "up-only", "partitions": ["up@0/2", "up@1/2"]},
            {"name": "skip-only", "partitions": ["skip"]},
            {"name": "mostly-skip", "mix": {"up@0/2": 1, "skip": 3}},
        ],
        "eval": {name: {"paths": [str(root / "heldout" / name / "*.npy")]} for name in STRIDES},
        "eval_instances": 16,
        "plot": "ablation.svg",
        "train": {
            "model": {
                "vocab_size": V,
                "d_model": 32,
                "n_layers": 1,
                "n_heads": 2,
                "mlp_hidden": 64,
                "max_seq_len": SEQ,
            },
            "data": {"global_batch_size": 8, "micro_batch_size": 8},
            "optim": {"lr": 0.01},
            "schedule": {"warmup_steps": 1},
            "system": {"device": "cpu", "threads": 1},
            "checkpoint_interval": 3,
            "log_interval": 100,
        },
    }
    config.update(changes)
    path = root / "ablate.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def read_csv(path: Path) -> list[list[str]]:
    return [line.split(",") for line in path.read_text().splitlines()]


def test_ablate_ranks_candidates_per_domain_and_resumes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert main(["ablate", "run", str(config)]) == 0
    work = tmp_path / "work"
    rows = read_csv(work / "ablation.csv")
    assert rows[0] == ["rank", "candidate", "mix", "mean_ppl", "ppl_up", "ppl_skip"]
    by_name = {r[1]: r for r in rows[1:]}
    assert set(by_name) == {"up-only", "skip-only", "mostly-skip", "seed (baseline)"}
    up, skip, seed = (by_name[n] for n in ("up-only", "skip-only", "seed (baseline)"))
    # each domain's own partitions give the better proxy there, and training improves on the seed in-domain
    assert float(up[4]) < float(skip[4]) and float(skip[5]) < float(up[5])
    assert float(up[4]) < float(seed[4]) and float(skip[5]) < float(seed[5])
    assert [r[0] for r in rows[1:]] == ["1", "2", "3", ""]
    assert (work / "ablation.md").read_text().startswith("| rank | candidate |")
    assert (work / "ablation.svg").exists()
    # three partition models (up@0/2, up@1/2, skip), each 48 instances = 6 steps, starting from the seed's weights
    records = {p.name: json.loads(p.read_text()) for p in (work / "partitions").glob("*.json")}
    assert sorted(records) == ["skip.json", "up@0_2.json", "up@1_2.json"]
    assert all(r["steps"] == 6 for r in records.values())
    summary = json.loads((work / "_dolma_ablate_summary.json").read_text())
    assert summary["units_done"] == 1 + 3 + 4 and summary["units_failed"] == 0

    before = {p: p.read_bytes() for p in work.glob("*.csv")}
    assert main(["ablate", "run", str(config)]) == 0
    summary = json.loads((work / "_dolma_ablate_summary.json").read_text())
    assert summary["units_done"] == 0 and summary["units_skipped"] == 8
    assert before == {p: p.read_bytes() for p in work.glob("*.csv")}


def test_validate_trains_full_mixtures_and_correlates(tmp_path: Path) -> None:
    config = write_config(tmp_path, validate_candidates=["up-only", "skip-only", "mostly-skip"])
    assert main(["ablate", "validate", str(config)]) == 0
    work = tmp_path / "work"
    report = json.loads((work / "validation.json").read_text())
    assert set(report["true"]) == {"up-only", "skip-only", "mostly-skip"}
    pooled = report["correlation"]["pooled"]
    assert pooled["n"] == 6 and pooled["pearson"] > 0.5
    # full-mixture models see the union of their partitions' data: up-only trains 2 x 48 instances
    full = json.loads((work / "validate" / "models" / "up-only.json").read_text())
    assert full["steps"] == 12
    header = read_csv(work / "validation.csv")[0]
    assert header[:3] == ["candidate", "proxy_mean_ppl", "true_mean_ppl"]
    assert (work / "validation.svg").exists()


def test_correlation_helpers() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert spearman(x, x**3) == pytest.approx(1.0)
    assert spearman(x, -x) == pytest.approx(-1.0)
    proxy = {"a": {"d": 0.1}, "b": {"d": 0.5}, "c": {"d": 0.9}}
    true = {"a": {"d": 0.2}, "b": {"d": 0.4}, "c": {"d": 1.0}}
    corr = correlations(proxy, true, ["d"])
    expected = np.corrcoef(np.exp([0.1, 0.5, 0.9]), np.exp([0.2, 0.4, 1.0]))[0, 1]
    assert corr["mean"]["spearman"] == pytest.approx(1.0)
    assert corr["domains"]["d"]["pearson"] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"candidates": [{"name": "x", "partitions": ["up"]}]}, "candidate 'x': unknown partition 'up'"),
        ({"candidates": [{"name": "x"}]}, "candidate 'x': give exactly one of 'partitions' or 'mix'"),
        ({"seed": {}}, "seed: give exactly one of 'checkpoint' or 'tokens'"),
        ({"eval": {}}, "'eval' must name at least one evaluation set"),
        ({"tokens_per_partition": "lots"}, "tokens_per_partition: expected a token count"),
    ],
)
def test_bad_configs_fail_before_any_work(
    tmp_path: Path, changes: dict, message: str, capsys: pytest.CaptureFixture
) -> None:
    config = write_config(tmp_path, **changes)
    assert main(["ablate", "run", str(config)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_seed_checkpoint_of_another_shape_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert main(["ablate", "run", str(config)]) == 0
    seed = next((tmp_path / "work" / "seed" / "checkpoints").iterdir())
    other = tmp_path / "other"
    other.mkdir()
    config = write_config(other, seed={"checkpoint": str(seed)})
    data = yaml.safe_load(config.read_text())
    data["train"]["model"]["d_model"] = 16
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ConfigError, match=r"model.d_model=32, but the run has model.d_model=16"):
        from dolma_py.cli.ablate import main as ablate_main

        ablate_main(["run", str(config)])


def test_a_changed_config_retrains_from_the_seed_and_a_killed_run_resumes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert main(["ablate", "run", str(config)]) == 0
    work = tmp_path / "work"
    first = json.loads((work / "scores" / "up-only.json").read_text())["loss"]
    # a kill after the partition runs finished but before their records: the runs resume (no step retrained)
    for record in (work / "partitions").glob("*"):
        record.unlink()
    for score in (work / "scores").glob("*"):
        score.unlink()
    assert main(["ablate", "run", str(config)]) == 0
    summary = json.loads((work / "_dolma_ablate_summary.json").read_text())
    assert summary["counters"].get("ablate partitions.steps", 0) == 0
    assert json.loads((work / "scores" / "up-only.json").read_text())["loss"] == first
    # another learning rate: every partition model is trained again, from the seed, not resumed
    assert main(["ablate", "run", str(config), "--train.optim.lr", "0.002"]) == 0
    summary = json.loads((work / "_dolma_ablate_summary.json").read_text())
    assert summary["counters"]["ablate partitions.steps"] == 18
    assert json.loads((work / "scores" / "up-only.json").read_text())["loss"] != first


def test_two_worker_processes_give_byte_identical_outputs(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for root, processes in ((one, 1), (two, 2)):
        root.mkdir()
        config = write_config(root, processes=processes)
        assert main(["ablate", "run", str(config)]) == 0
    for name in ("ablation.csv", "ablation.md", "ablation.svg"):
        assert (one / "work" / name).read_bytes() == (two / "work" / name).read_bytes()
    for score in (one / "work" / "scores").glob("*.json"):
        mine = json.loads(score.read_text())["loss"]
        assert mine == json.loads((two / "work" / "scores" / score.name).read_text())["loss"]


def test_ray_runs_the_same_units_with_the_same_results(tmp_path: Path, ray_cluster: str) -> None:
    local, ray = tmp_path / "local", tmp_path / "ray"
    for root, address in ((local, None), (ray, ray_cluster)):
        root.mkdir()
        config = write_config(root, ray_address=address)
        assert main(["ablate", "run", str(config)]) == 0
    summary = json.loads((ray / "work" / "_dolma_ablate_summary.json").read_text())
    assert summary["units_done"] == 8 and summary["units_failed"] == 0
    assert (local / "work" / "ablation.csv").read_bytes() == (ray / "work" / "ablation.csv").read_bytes()


def test_seeded_lr_applies_to_the_runs_from_the_seed_only(tmp_path: Path) -> None:
    config = write_config(tmp_path, seeded_lr=0.004)
    assert main(["ablate", "run", str(config)]) == 0
    work = tmp_path / "work"

    def run_lr(run: Path) -> float:
        checkpoint = next((run / "checkpoints").iterdir())
        return json.loads((checkpoint / "state.json").read_text())["config"]["optim"]["lr"]

    assert run_lr(work / "seed") == 0.01
    assert {run_lr(run) for run in (work / "runs").iterdir()} == {0.004}
