"""Start a `dolma train` run from a seed model's weights, through the training entrypoint's own resume.

`dolma train` initializes from its seed, or resumes from the newest checkpoint in `out_dir/checkpoints`. A run that
must start from another model's weights (an ablation's partition model, a validation model) gets a step-0
checkpoint written first: the seed's weights, a fresh optimizer, the RNGs seeded by the run's seed and the run
state the trainer checks on resume (model shape, batch size, world size, the manifest's phases). Training then
runs with `resume=True`: from step 0 the first time, from its newest checkpoint after a kill. A step-0 checkpoint
is only written when the run has none, so a rerun never goes back to the seed.
"""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import torch

from dolma_py.config.train import ModelConfig, TrainConfig
from dolma_py.errors import ConfigError
from dolma_py.manifest import Manifest
from dolma_py.train.checkpoint import list_checkpoints, read_model_state, read_state, save_checkpoint
from dolma_py.train.data import CurriculumBatches
from dolma_py.train.model import Transformer
from dolma_py.train.schedule import build_optimizer
from dolma_py.train.train import TrainResult, state_record, train


def _shape(model: ModelConfig) -> dict[str, object]:
    return dataclasses.asdict(model.resolved())


def check_seed_shape(config: TrainConfig, seed_checkpoint: Path) -> None:
    """The seed checkpoint's model shape must be the run's: a clear error naming the first field that differs."""
    saved = _shape(ModelConfig(**read_state(seed_checkpoint)["config"]["model"]))
    wanted = _shape(config.model)
    diff = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if diff:
        raise ConfigError(
            f"seed checkpoint {seed_checkpoint}: model.{diff[0]}={saved.get(diff[0])!r}, "
            f"but the run has model.{diff[0]}={wanted[diff[0]]!r}"
        )


def _start_state(config: TrainConfig) -> dict[str, object]:
    """The run state of step 0, as the trainer writes it in every checkpoint and checks on resume."""
    manifest = Manifest.open(config.manifest)
    batches = CurriculumBatches(manifest, config.data.global_batch_size, config.data.micro_batch_size)
    return state_record(dataclasses.replace(config, model=config.model.resolved()), manifest, batches, 0)


def write_start_checkpoint(config: TrainConfig, seed_checkpoint: Path) -> Path:
    """Step 0 of the run: the seed's weights, a fresh AdamW state and RNGs seeded by `config.seed`."""
    check_seed_shape(config, seed_checkpoint)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = Transformer(config.model)
    model.load_state_dict(read_model_state(seed_checkpoint))
    optimizer = build_optimizer(model, config.optim, fused=False)
    state = _start_state(config)
    state["seeded_from"] = str(seed_checkpoint)
    return save_checkpoint(Path(config.out_dir) / "checkpoints", 0, model, optimizer, state)


def seeded_train(config: TrainConfig, seed_checkpoint: Path) -> TrainResult:
    """Train `config` starting from the weights of `seed_checkpoint` (resuming if the run has checkpoints)."""
    if not list_checkpoints(Path(config.out_dir) / "checkpoints"):
        write_start_checkpoint(config, seed_checkpoint)
    return train(dataclasses.replace(config, resume=True))
