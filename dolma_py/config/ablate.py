"""Schema of `dolma ablate`: a seed model, partitions with a token budget, candidate mixtures and eval sets.

Pure dataclasses (no torch import) so `dolma ablate --help` works without the `train` extra.
"""

from __future__ import annotations

import dataclasses
import re

from dolma_py.config.mixtures import CorpusConfig, EvalSetConfig, TrainingConfig, check_eval_sets
from dolma_py.config.schema import option

_COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMbBtT]?)\s*$")
_SUFFIXES = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}


def token_count(value: int | str, what: str) -> int:
    """A whole token count, as a number or with a k/M/B/T suffix ("5M")."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = float(value)
    else:
        match = _COUNT.match(str(value))
        if match is None:
            raise ValueError(f"{what}: expected a token count like 1000000 or 5M, got {value!r}")
        number = float(match.group(1)) * _SUFFIXES[match.group(2).lower()]
    if number <= 0 or number != int(number):
        raise ValueError(f"{what}: expected a positive whole number of tokens, got {value!r}")
    return int(number)


@dataclasses.dataclass
class SeedConfig:
    """The shared starting point: an existing checkpoint, or a tiny seed run on a mix of partitions done first."""

    checkpoint: str | None = option(None, help="seed checkpoint directory (e.g. RUN/checkpoints/step00001000)")
    tokens: int | str | None = option(None, help="without a checkpoint: train a seed model on this many tokens")
    mix: dict[str, float] | None = option(None, help="partition -> ratio of the seed run (default: uniform)")

    def validate(self) -> None:
        if (self.checkpoint is None) == (self.tokens is None):
            raise ValueError("seed: give exactly one of 'checkpoint' or 'tokens' (a seed run)")
        if self.tokens is not None:
            token_count(self.tokens, "seed.tokens")


@dataclasses.dataclass
class CandidateConfig:
    """A candidate mixture: a set of partitions, averaged uniformly, or partitions with weights."""

    name: str = option(help="candidate name (a row of the ranked table)")
    partitions: list[str] | None = option(None, help="partitions averaged uniformly")
    mix: dict[str, float] | None = option(None, help="partition -> weight of its model in the average")

    def weights(self) -> dict[str, float]:
        """Partition -> normalized weight."""
        raw = self.mix if self.mix is not None else dict.fromkeys(self.partitions or [], 1.0)
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}


@dataclasses.dataclass(kw_only=True)
class AblateConfig:
    """`dolma ablate`: estimate candidate mixtures by averaging per-partition models trained from one seed."""

    work_dir: str = option(help="directory for manifests, models, scores and the ranked table")
    corpus: CorpusConfig = option(help="token sources and their partitions")
    seed: SeedConfig = option(help="seed checkpoint, or a seed run")
    tokens_per_partition: int | str = option(help="tokens each partition model trains on (k/M/B suffixes)")
    candidates: list[CandidateConfig] = option(help="candidate mixtures to rank")
    eval: dict[str, EvalSetConfig] = option(help="domain -> held-out token shards")
    eval_instances: int = option(64, help="windows of corpus.sequence_length tokens scored per eval set")
    eval_batch: int = option(16, help="windows per evaluation forward pass")
    train: TrainingConfig = option(default_factory=TrainingConfig, help="how the models train")
    seeded_lr: float | None = option(
        None, help="peak LR of the runs from the seed (partition and full-mixture models); default: train.optim.lr"
    )
    validate_candidates: list[str] = option(
        default_factory=list, help="candidates `dolma ablate validate` trains on the full mixture (default: all)"
    )
    plot: str = option("ablation.png", help="plot file name in work_dir (.png or .svg)")
    processes: int = option(1, help="partition models trained at once by the local executor")
    ray_address: str | None = option(None, help="train the partition models as Ray tasks ('auto' or host:port)")

    def validate(self) -> None:
        self.corpus.validate()
        self.seed.validate()
        self.train.validate()
        check_eval_sets(self.eval)
        token_count(self.tokens_per_partition, "tokens_per_partition")
        pools = set(self.corpus.pool_names())
        if not self.candidates:
            raise ValueError("candidates: list at least one candidate mixture")
        names = [c.name for c in self.candidates]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be unique, got {names}")
        for c in self.candidates:
            where = f"candidate {c.name!r}"
            if (c.partitions is None) == (c.mix is None):
                raise ValueError(f"{where}: give exactly one of 'partitions' or 'mix'")
            used = c.partitions if c.partitions is not None else list(c.mix or {})
            if not used:
                raise ValueError(f"{where}: names no partition")
            for p in used:
                if p not in pools:
                    raise ValueError(f"{where}: unknown partition {p!r}; partitions are {sorted(pools)}")
            if c.mix is not None and (any(w < 0 for w in c.mix.values()) or sum(c.mix.values()) <= 0):
                raise ValueError(f"{where}: weights must be >= 0 with a positive sum")
        for p in self.seed.mix or {}:
            if p not in pools:
                raise ValueError(f"seed.mix: unknown partition {p!r}; partitions are {sorted(pools)}")
        for name in self.validate_candidates:
            if name not in names:
                raise ValueError(f"validate_candidates: unknown candidate {name!r}")
        if self.seeded_lr is not None and self.seeded_lr <= 0:
            raise ValueError(f"seeded_lr must be > 0, got {self.seeded_lr}")
        if self.eval_instances < 1 or self.eval_batch < 1 or self.processes < 1:
            raise ValueError("eval_instances, eval_batch and processes must be >= 1")
        if not self.plot.lower().endswith((".png", ".svg")):
            raise ValueError(f"plot must end in .png or .svg, got {self.plot!r}")

    def used_partitions(self) -> list[str]:
        """Partitions some candidate uses, in corpus order: the models to train."""
        used = {p for c in self.candidates for p in c.weights()}
        return [p for p in self.corpus.pool_names() if p in used]
