"""Sections shared by `dolma ablate` and `dolma ladder run`: the token corpus, evaluation sets, training settings.

Pure dataclasses (no torch import). The corpus section is a curriculum spec without phases: each command makes
the phases (one partition, a candidate mixture, a ladder rung) and `dolma curriculum`'s planner builds them.
"""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import option
from dolma_py.config.train import DataConfig, ModelConfig, OptimConfig, ScheduleConfig, SystemConfig


@dataclasses.dataclass
class TokenSourceConfig:
    """A named source: globs of `.npy` shards written by `dolma tokens`."""

    paths: list[str] = option(help="globs of raw .npy token shards")
    dtype: str | None = option(None, help="uint16/uint32; default: from the shards' tokens run record or index")


@dataclasses.dataclass
class CorpusConfig:
    """The training data: sources of token shards and how they split into partitions (as in `dolma curriculum`)."""

    sources: dict[str, TokenSourceConfig] = option(help="source name -> shards")
    sequence_length: int = option(help="tokens per training instance")
    partitions: dict[str, int] = option(default_factory=dict, help="source -> N: split into N equal parts name@i/N")
    seed: int = option(0, help="seed of the manifests' shuffles")
    dtype: str | None = option(None, help="token dtype when shards carry no tokens run record")
    eos_token_id: int | None = option(None, help="EOS id recorded in the manifests")

    def validate(self) -> None:
        if not self.sources:
            raise ValueError("corpus.sources: define at least one source")
        if self.sequence_length < 2:
            raise ValueError(f"corpus.sequence_length must be >= 2, got {self.sequence_length}")
        for name, count in self.partitions.items():
            if name not in self.sources:
                raise ValueError(f"corpus.partitions: unknown source {name!r}; sources are {sorted(self.sources)}")
            if count < 1:
                raise ValueError(f"corpus.partitions.{name} must be >= 1, got {count}")

    def pool_names(self) -> list[str]:
        """The partitions: unpartitioned sources, and `name@i/N` for partitioned ones."""
        names = []
        for name in self.sources:
            n = self.partitions.get(name)
            names.extend([name] if n is None else [f"{name}@{i}/{n}" for i in range(n)])
        return names


@dataclasses.dataclass
class EvalSetConfig:
    """One domain's held-out token shards."""

    paths: list[str] = option(help="globs of raw .npy token shards held out from training")
    dtype: str | None = option(None, help="uint16/uint32 (default: the training manifests' dtype)")


@dataclasses.dataclass
class TrainingConfig:
    """How every model of the command trains (the `dolma train` sections; `checkpoint_interval` for resume)."""

    model: ModelConfig = option(default_factory=ModelConfig, help="model shape")
    data: DataConfig = option(default_factory=DataConfig, help="batching")
    optim: OptimConfig = option(default_factory=OptimConfig, help="optimizer")
    schedule: ScheduleConfig = option(default_factory=ScheduleConfig, help="LR schedule")
    system: SystemConfig = option(default_factory=SystemConfig, help="device and parallelism")
    checkpoint_interval: int = option(0, help="checkpoint every this many steps, so a killed run resumes (0: end)")
    log_interval: int = option(50, help="log train metrics every this many steps")
    seed: int = option(0, help="seed of every model's init and RNGs")

    def validate(self) -> None:
        for section in (self.model, self.data, self.optim, self.schedule, self.system):
            section.validate()
        if self.checkpoint_interval < 0 or self.log_interval < 1:
            raise ValueError("train.checkpoint_interval must be >= 0 and train.log_interval >= 1")


def check_eval_sets(eval_sets: dict[str, EvalSetConfig], key: str = "eval") -> None:
    """At least one set, each with paths."""
    if not eval_sets:
        raise ValueError(f"'{key}' must name at least one evaluation set (domain -> held-out shards)")
    for name, spec in eval_sets.items():
        if not spec.paths:
            raise ValueError(f"{key}.{name}.paths must list at least one glob")
