"""Schemas of `dolma ladder fit` (a POINTS.csv and a target) and `dolma ladder run` (a ladder spec).

Pure dataclasses (no torch import) so `dolma ladder --help` works without the `train` extra.
"""

from __future__ import annotations

import dataclasses

from dolma_py.config.mixtures import CorpusConfig, EvalSetConfig, TrainingConfig, check_eval_sets
from dolma_py.config.schema import option
from dolma_py.config.train import ModelConfig


@dataclasses.dataclass(kw_only=True)
class LadderFitConfig:
    """`dolma ladder fit`: fit L(N, D) (and Acc(L) per task) to a ladder's points and predict a target."""

    points: str = option(help="POINTS.csv: params,tokens,loss[,final][,task,accuracy,task_loss]")
    target_params: float = option(help="parameters of the model to predict")
    target_tokens: float = option(help="tokens the target is trained on")
    out: str | None = option(None, help="directory for ladder_fit.json and the plot (default: beside POINTS.csv)")
    plot: str = option("ladder_fit.png", help="plot file name in `out` (.png or .svg)")
    bootstrap: int = option(100, help="bootstrap resamples for the prediction interval (0: none)")
    seed: int = option(0, help="seed of the bootstrap resampling")

    def validate(self) -> None:
        if self.target_params <= 0 or self.target_tokens <= 0:
            raise ValueError("target_params and target_tokens must be > 0")
        if self.bootstrap < 0:
            raise ValueError(f"bootstrap must be >= 0, got {self.bootstrap}")
        if not self.plot.lower().endswith((".png", ".svg")):
            raise ValueError(f"plot must end in .png or .svg, got {self.plot!r}")


@dataclasses.dataclass
class LadderSizeConfig:
    """One rung of the ladder: a name and a model shape."""

    name: str = option(help="size name (e.g. 190M), used in run directory names")
    model: ModelConfig = option(default_factory=ModelConfig, help="model shape (a preset plus overrides)")


@dataclasses.dataclass(kw_only=True)
class LadderRunConfig:
    """`dolma ladder run`: train sizes x token multiples on one mix and write POINTS.csv for `dolma ladder fit`."""

    work_dir: str = option(help="directory for manifests, runs, scores and POINTS.csv")
    corpus: CorpusConfig = option(help="token sources (and partitions) the mix draws from")
    mix: dict[str, float] = option(help="source (or partition) -> ratio of every ladder run; ratios sum to 1")
    sizes: list[LadderSizeConfig] = option(help="model sizes of the ladder")
    token_multiples: list[float] = option(
        default_factory=lambda: [1.0, 2.0, 4.0], help="multiples of tokens_per_param each size trains for"
    )
    tokens_per_param: float = option(20.0, help="tokens per parameter of multiple 1 (Chinchilla: 20)")
    eval: dict[str, EvalSetConfig] = option(help="domain -> held-out token shards; `loss` is their mean")
    tasks: dict[str, str] = option(
        default_factory=dict, help="task -> multiple-choice JSONL (context, choices, answer) scored at every checkpoint"
    )
    tokenizer: str | None = option(None, help="tokenizer.json for tasks given as text (not needed for token ids)")
    checkpoints_per_run: int = option(4, help="checkpoints (evenly spaced, the last one final) scored per run")
    eval_instances: int = option(64, help="windows of corpus.sequence_length tokens scored per eval set")
    eval_batch: int = option(16, help="windows per evaluation forward pass")
    train: TrainingConfig = option(default_factory=TrainingConfig, help="how every run trains (model: per size)")
    processes: int = option(1, help="runs trained at once by the local executor")
    ray_address: str | None = option(None, help="train the runs as Ray tasks ('auto' or host:port)")

    def validate(self) -> None:
        self.corpus.validate()
        self.train.validate()
        check_eval_sets(self.eval)
        if not self.sizes:
            raise ValueError("sizes: list at least one model size")
        names = [s.name for s in self.sizes]
        if len(set(names)) != len(names):
            raise ValueError(f"size names must be unique, got {names}")
        for size in self.sizes:
            size.model.validate()
        pools = set(self.corpus.pool_names())
        for key, ratio in self.mix.items():
            if key not in pools:
                raise ValueError(f"mix: unknown source {key!r}; sources are {sorted(pools)}")
            if ratio < 0:
                raise ValueError(f"mix: ratio of {key!r} is negative")
        if abs(sum(self.mix.values()) - 1) > 1e-6:
            raise ValueError(f"mix ratios sum to {sum(self.mix.values()):.6g}, not 1")
        if not self.token_multiples or any(m <= 0 for m in self.token_multiples):
            raise ValueError("token_multiples must list positive numbers")
        if self.tokens_per_param <= 0:
            raise ValueError("tokens_per_param must be > 0")
        if self.checkpoints_per_run < 1 or self.eval_instances < 1 or self.eval_batch < 1 or self.processes < 1:
            raise ValueError("checkpoints_per_run, eval_instances, eval_batch and processes must be >= 1")
