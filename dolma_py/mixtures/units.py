"""The two unit functions of ablations and ladders: train a model (from a seed's weights, or from scratch) and
score a model (or the weighted average of several) on evaluation sets. Both are pure and picklable, so the local
pool and Ray run the same code, and each writes one JSON record atomically as its output."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dolma_py.config.mixtures import TrainingConfig
from dolma_py.config.train import CheckpointConfig, EvalConfig, ModelConfig, TrainConfig
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage
from dolma_py.exec.units import Unit, UnitFunction, UnitResult
from dolma_py.io.atomic import write_bytes
from dolma_py.mixtures.shards import EvalSet

MC_TASKS_KEY = "tasks"
ManifestBuilder = Callable[[str, dict[str, float], int, Path], Path]
"""(name, mix over sources or partitions, tokens, destination) -> the manifest directory; the CLI builds it with
`dolma curriculum`'s planner (the core package does not import `mixers`)."""


def safe_name(name: str) -> str:
    """A file-name form of a partition or candidate name (`web@0/2` -> `web@0_2`)."""
    return re.sub(r"[^A-Za-z0-9._@-]", "_", name)


def unique_safe_names(names: list[str], what: str) -> dict[str, str]:
    """name -> safe name; two names with the same safe form are an error."""
    out: dict[str, str] = {}
    for name in names:
        safe = safe_name(name)
        other = next((n for n, s in out.items() if s == safe), None)
        if other is not None:
            raise ConfigError(f"{what} {name!r} and {other!r} map to the same file name {safe!r}; rename one")
        out[name] = safe
    return out


def run_units(summary: RunSummary, name: str, units: list[Unit], fn: UnitFunction, options: ExecOptions) -> None:
    """One stage through `run_stage`, counted into the command's `summary`; a failed unit stops the command (later
    stages need every record of this one), naming the unit and its error."""
    result = run_stage(name, units, fn, options)
    summary.include(result)
    if not result.ok:
        failure = result.failures[0]
        raise DolmaError(f"{name}: unit {failure['unit']} failed: {failure['error']}")


def write_json(path: str, record: dict[str, Any]) -> None:
    """Indented, key-sorted JSON, atomically."""
    write_bytes(path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(), compress=False)


def read_json(path: str | Path) -> dict[str, Any]:
    """A record written by `write_json`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def manifest_dtype(manifest: Path) -> str:
    """The token dtype a manifest's shards hold."""
    return str(read_json(manifest / "manifest.json")["dtype"])


def make_train_config(
    training: TrainingConfig,
    manifest: Path,
    out_dir: Path,
    model: ModelConfig | None = None,
    checkpoint_interval: int | None = None,
    keep: int = 1,
) -> TrainConfig:
    """The `dolma train` config of one model: the command's training sections, no in-run evaluation."""
    return TrainConfig(
        manifest=str(manifest),
        out_dir=str(out_dir),
        seed=training.seed,
        log_interval=training.log_interval,
        model=(model or training.model).resolved(),
        data=training.data,
        optim=training.optim,
        schedule=training.schedule,
        eval=EvalConfig(interval=0),
        checkpoint=CheckpointConfig(
            interval=training.checkpoint_interval if checkpoint_interval is None else checkpoint_interval, keep=keep
        ),
        system=training.system,
    )


@dataclass(frozen=True)
class TrainJob:
    """Train `config` (from `seed_checkpoint`'s weights when given); the record names the final checkpoint."""

    name: str
    config: TrainConfig
    seed_checkpoint: str | None = None


RUN_STAMP = ".dolma_unit.json"
"""In a run directory: the fingerprint and input states of the unit that trains there."""


def _claim_run_dir(unit: Unit, out_dir: Path) -> None:
    """Keep a run directory left by a killed run of this same unit (to resume it), and clear one left by another
    config or other inputs (its checkpoints must not be resumed); then stamp it as this unit's."""
    from dolma_py.exec.fingerprint import fingerprint
    from dolma_py.exec.units import input_states

    stamp = {"fingerprint": fingerprint(train_unit, unit.params), "inputs": input_states(unit.inputs)}
    path = out_dir / RUN_STAMP
    if out_dir.exists() and (not path.exists() or json.loads(path.read_text(encoding="utf-8")) != stamp):
        shutil.rmtree(out_dir)
    if not path.exists():
        write_json(str(path), stamp)


def train_unit(unit: Unit) -> UnitResult:
    """Run (or resume) one training run and write its record: name, final checkpoint, steps, tokens."""
    from dolma_py.mixtures.seeded import seeded_train
    from dolma_py.train.checkpoint import read_state
    from dolma_py.train.train import train

    job: TrainJob = unit.params
    _claim_run_dir(unit, Path(job.config.out_dir))
    if job.seed_checkpoint is None:
        result = train(dataclasses.replace(job.config, resume=True))
    else:
        result = seeded_train(job.config, Path(job.seed_checkpoint))
    if result.checkpoint is None:
        raise ConfigError(f"{job.name}: the run wrote no checkpoint")
    state = read_state(result.checkpoint)
    record = {"name": job.name, "checkpoint": str(result.checkpoint), "steps": state["step"], "tokens": state["tokens"]}
    write_json(unit.outputs[0], record)
    return UnitResult(key=unit.key, counters={"steps": result.trained_steps, "tokens": result.trained_tokens})


@dataclass(frozen=True)
class ScoreJob:
    """Score the (weighted) average of `checkpoints` on `eval_sets` (and multiple-choice `tasks`: name -> JSONL)."""

    name: str
    checkpoints: tuple[str, ...]
    weights: tuple[float, ...]
    eval_sets: tuple[EvalSet, ...]
    batch: int
    tasks: tuple[tuple[str, str], ...] = ()
    tokenizer: str | None = None
    device: str = "auto"


def score_inputs(job: ScoreJob) -> tuple[str, ...]:
    """What a score depends on besides its config: the weights, the eval shards and the task files."""
    shards = sorted({path for eval_set in job.eval_sets for path in eval_set.paths})
    from dolma_py.train.checkpoint import model_files  # torch: only once a score is planned

    weights = [str(p) for c in job.checkpoints for p in model_files(Path(c))]  # model.pt, or the model/ shards
    return (*weights, *shards, *(path for _, path in job.tasks))


def score_unit(unit: Unit) -> UnitResult:
    """Average the checkpoints (one: as is), compute per-set loss (and task scores), write the record."""
    from dolma_py.mixtures.evaluate import domain_losses, load_model, multiple_choice, read_questions
    from dolma_py.train.soup import soup_state

    job: ScoreJob = unit.params
    paths = [Path(c) for c in job.checkpoints]
    state = soup_state(paths, list(job.weights)) if len(paths) > 1 else None
    model = load_model(paths[0], state, job.device)
    record: dict[str, Any] = {
        "name": job.name,
        "checkpoints": list(job.checkpoints),
        "weights": list(job.weights),
        "loss": domain_losses(model, list(job.eval_sets), job.batch),
    }
    if job.tasks:
        encode = _encoder(job.tokenizer)
        record[MC_TASKS_KEY] = {}
        for task, path in job.tasks:
            accuracy, task_loss = multiple_choice(model, read_questions(path, encode))
            record[MC_TASKS_KEY][task] = {"accuracy": accuracy, "task_loss": task_loss}
    write_json(unit.outputs[0], record)
    return UnitResult(key=unit.key)


def _encoder(tokenizer: str | None) -> Any:
    """Text -> token ids with the project's tokenizer wrapper, or None (token-id questions only)."""
    if tokenizer is None:
        return None
    from dolma_py.tokens.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer)
    return lambda text: tok.encode(text, add_special_tokens=False).ids
