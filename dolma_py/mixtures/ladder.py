"""`dolma ladder run`: train every size for every token multiple on one mix, score each run's checkpoints, and
write POINTS.csv for `dolma ladder fit`.

A run of size N and multiple m trains on D = m * tokens_per_param * N tokens (its own manifest, so the LR schedule
spans exactly D) and keeps `checkpoints_per_run` evenly spaced checkpoints. Each checkpoint is scored on the
evaluation sets (`loss` is their mean) and on the multiple-choice tasks. N counts the parameters other than the
LM head (non-embedding plus input embedding: OLMo's ladder convention, as the `dolma train` presets do).

Stages (resumable): runs (`runs/<size>-x<m>/`, records in `models/`) -> scores (`scores/<run>/step<N>.json`) ->
`POINTS.csv`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from dolma_py.config.ladder import LadderRunConfig
from dolma_py.config.train import ModelConfig
from dolma_py.errors import DolmaError
from dolma_py.exec.runner import ExecOptions, RunSummary, summary_file
from dolma_py.exec.units import Unit
from dolma_py.mixtures.points import Point, write_points
from dolma_py.mixtures.shards import eval_sets
from dolma_py.mixtures.units import (
    MC_TASKS_KEY,
    ManifestBuilder,
    ScoreJob,
    TrainJob,
    make_train_config,
    manifest_dtype,
    read_json,
    run_units,
    score_inputs,
    score_unit,
    train_unit,
    unique_safe_names,
)
from dolma_py.train.checkpoint import list_checkpoints, read_state
from dolma_py.train.model import Transformer


def ladder_params(model: ModelConfig) -> int:
    """Parameters of the model other than the LM head (counted on the meta device: nothing is allocated)."""
    with torch.device("meta"):
        net = Transformer(model)
    return sum(p.numel() for name, p in net.named_parameters() if not name.startswith("lm_head."))


def run_name(size: str, multiple: float) -> str:
    return f"{size}-x{multiple:g}"


def run_ladder(config: LadderRunConfig, build_manifest: ManifestBuilder) -> RunSummary:
    """Train and score the whole ladder; writes `work_dir/POINTS.csv` and the combined run summary."""
    started = time.monotonic()
    root = Path(config.work_dir).absolute()
    options = ExecOptions(processes=config.processes, ray_address=config.ray_address)
    summary = RunSummary(command="ladder")
    seq = config.corpus.sequence_length
    runs: dict[str, tuple[int, float]] = {}
    units = []
    for size in config.sizes:
        params = ladder_params(size.model)
        for m in config.token_multiples:
            name = run_name(size.name, m)
            tokens = int(round(m * config.tokens_per_param * params))
            steps = tokens // seq // config.train.data.global_batch_size
            if steps < 1:
                raise DolmaError(f"ladder run {name}: {tokens} tokens make no optimizer step; raise the multiple")
            runs[name] = (params, m)
            manifest = build_manifest(name, config.mix, tokens, root / "manifests" / name)
            interval = max(1, steps // config.checkpoints_per_run)
            run = make_train_config(config.train, manifest, root / "runs" / name, size.model, interval, keep=0)
            units.append(
                Unit(
                    name,
                    (str(manifest / "manifest.json"),),
                    (str(root / "models" / f"{name}.json"),),
                    TrainJob(name, run),
                )
            )
    unique_safe_names(list(runs), "ladder run")
    run_units(summary, "ladder runs", units, train_unit, options)
    first = next(iter(runs))
    sets = eval_sets(config.eval, manifest_dtype(root / "manifests" / first), seq, config.eval_instances)
    tasks = tuple(sorted(config.tasks.items()))
    score_units, scored = [], []
    for name, (params, _) in runs.items():
        checkpoints = list_checkpoints(root / "runs" / name / "checkpoints")
        for i, ckpt in enumerate(checkpoints):
            out = root / "scores" / name / f"{ckpt.name}.json"
            job = ScoreJob(
                f"{name}/{ckpt.name}",
                (str(ckpt),),
                (1.0,),
                sets,
                config.eval_batch,
                tasks,
                config.tokenizer,
                config.train.system.device,
            )
            score_units.append(Unit(job.name, score_inputs(job), (str(out),), job))
            scored.append((params, read_state(ckpt)["tokens"], out, i == len(checkpoints) - 1))
    run_units(summary, "ladder scores", score_units, score_unit, options)
    points = []
    for params, tokens, out, final in scored:
        record = read_json(out)
        loss = float(np.mean(list(record["loss"].values())))
        if not tasks:
            points.append(Point(params, tokens, loss, final=final))
        for task, scores in record.get(MC_TASKS_KEY, {}).items():
            points.append(Point(params, tokens, loss, final, task, scores["accuracy"], scores["task_loss"]))
    write_points(root / "POINTS.csv", points)
    summary.finish(started, summary_file(str(root), "ladder"))
    print(f"ladder: {len(runs)} runs, {len(scored)} checkpoints scored -> {root / 'POINTS.csv'}", file=sys.stderr)
    return summary
