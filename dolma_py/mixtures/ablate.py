"""`dolma ablate`: rank candidate mixtures by the held-out perplexity of averaged partition models.

Following "Scalable Data Ablation Approximations for Language Models through Modular Training and Merging" (Na et
al., EMNLP 2024): one model per partition is trained from a shared seed model on `tokens_per_partition` tokens;
a candidate mixture is estimated by the parameter average of its partitions' models (uniform, or by its weights),
scored per evaluation domain. Cost grows with the number of partitions, not of candidates. `validate` also trains
a model from the seed on each chosen candidate's full mixture (the same total tokens as its partition models) and
reports the Pearson and Spearman correlation between proxy and true perplexity.

Stages (each resumable: a unit whose record exists under the same config is skipped):
seed run (unless a checkpoint is given) -> partition models (`partitions/`, runs in `runs/`) -> scores of the seed
and of every candidate's average (`scores/`) -> ranked `ablation.csv`, `ablation.md` and the plot; validate adds
full-mixture models (`validate/models/`, runs in `validate/runs/`), their scores and `validation.{csv,md,json}`.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_py.config.ablate import AblateConfig, token_count
from dolma_py.config.train import TrainConfig
from dolma_py.exec.runner import ExecOptions, RunSummary, summary_file
from dolma_py.exec.units import Unit, UnitFunction
from dolma_py.io.atomic import write_bytes
from dolma_py.mixtures.shards import EvalSet, eval_sets
from dolma_py.mixtures.units import (
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
    write_json,
)


def train_config(config: AblateConfig, manifest: Path, out_dir: Path, from_seed: bool = True) -> TrainConfig:
    """The `dolma train` config of one model of the ablation (only the newest checkpoint is kept); a run from the
    seed peaks at `seeded_lr` when it is set."""
    training = config.train
    if from_seed and config.seeded_lr is not None:
        training = dataclasses.replace(training, optim=dataclasses.replace(training.optim, lr=config.seeded_lr))
    return make_train_config(training, manifest, out_dir)


@dataclass
class Layout:
    """Where everything of an ablation lives under `work_dir`."""

    root: Path

    def manifest(self, kind: str, safe: str) -> Path:
        return self.root / "manifests" / kind / safe

    def run(self, kind: str, safe: str) -> Path:
        return self.root / ("runs" if kind == "partition" else "validate/runs") / safe

    def model_record(self, kind: str, safe: str) -> Path:
        return self.root / ("partitions" if kind == "partition" else "validate/models") / f"{safe}.json"

    def score(self, kind: str, safe: str) -> Path:
        return self.root / ("scores" if kind == "candidate" else "validate/scores") / f"{safe}.json"


class Ablation:
    """One `dolma ablate` run: plans and runs the stages and writes the tables."""

    def __init__(self, config: AblateConfig, build_manifest: ManifestBuilder):
        self.config = config
        self.build = build_manifest
        self.layout = Layout(Path(config.work_dir).absolute())
        self.options = ExecOptions(processes=config.processes, ray_address=config.ray_address)
        self.partition_names = unique_safe_names(config.used_partitions(), "partition")
        self.candidate_names = unique_safe_names([c.name for c in config.candidates], "candidate")
        self.budget = token_count(config.tokens_per_partition, "tokens_per_partition")
        self.summary = RunSummary(command="ablate")

    def _stage(self, name: str, units: list[Unit], fn: UnitFunction) -> None:
        run_units(self.summary, f"ablate {name}", units, fn, self.options)

    def seed_checkpoint(self) -> Path:
        """The given checkpoint, or the final checkpoint of the seed run (trained here first, resumable)."""
        seed = self.config.seed
        if seed.checkpoint is not None:
            return Path(seed.checkpoint)
        mix = seed.mix or dict.fromkeys(self.config.corpus.pool_names(), 1.0)
        total = sum(mix.values())
        manifest = self.build(
            "seed",
            {k: v / total for k, v in mix.items()},
            token_count(seed.tokens, "seed.tokens"),
            self.layout.root / "manifests" / "seed",
        )
        run = train_config(self.config, manifest, self.layout.root / "seed", from_seed=False)
        # the record is not in an ancestor of the run directory, whose lock a worker process must be able to take
        record = self.layout.root / "models" / "seed.json"
        unit = Unit("seed", (str(manifest / "manifest.json"),), (str(record),), TrainJob("seed", run))
        self._stage("seed", [unit], train_unit)
        return Path(read_json(record)["checkpoint"])

    def _train_units(self, kind: str, jobs: dict[str, tuple[dict[str, float], int]], seed: Path) -> list[Unit]:
        """One training unit per job (name -> (mix, tokens)) from the seed, its manifest built first."""
        from dolma_py.train.checkpoint import model_files  # torch: only once a run is planned

        seed_weights = [str(p) for p in model_files(seed)]  # model.pt, or the sharded model/ files
        units = []
        for name, (mix, tokens) in jobs.items():
            safe = (self.partition_names if kind == "partition" else self.candidate_names)[name]
            manifest = self.build(safe, mix, tokens, self.layout.manifest(kind, safe))
            run = train_config(self.config, manifest, self.layout.run(kind, safe))
            inputs = (str(manifest / "manifest.json"), *seed_weights)
            units.append(
                Unit(name, inputs, (str(self.layout.model_record(kind, safe)),), TrainJob(name, run, str(seed)))
            )
        return units

    def _score_unit(
        self, name: str, out: Path, checkpoints: list[str], weights: list[float], sets: tuple[EvalSet, ...]
    ) -> Unit:
        device = self.config.train.system.device
        job = ScoreJob(name, tuple(checkpoints), tuple(weights), sets, self.config.eval_batch, device=device)
        return Unit(name, score_inputs(job), (str(out),), job)

    def run(self, validate: bool = False) -> RunSummary:
        """Every stage of the ablation (and of its validation); returns the combined summary."""
        from dolma_py.mixtures.seeded import check_seed_shape

        started = time.monotonic()
        seed = self.seed_checkpoint()
        check_seed_shape(train_config(self.config, Path(), Path()), seed)
        jobs = {p: ({p: 1.0}, self.budget) for p in self.partition_names}
        self._stage("partitions", self._train_units("partition", jobs, seed), train_unit)
        models = {
            p: read_json(self.layout.model_record("partition", s))["checkpoint"]
            for p, s in self.partition_names.items()
        }
        dtype = manifest_dtype(self.layout.manifest("partition", next(iter(self.partition_names.values()))))
        sets = eval_sets(self.config.eval, dtype, self.config.corpus.sequence_length, self.config.eval_instances)
        baseline = self.layout.root / "baseline" / "seed.json"
        units = [self._score_unit("seed", baseline, [str(seed)], [1.0], sets)]
        for c in self.config.candidates:
            weights = c.weights()
            units.append(
                self._score_unit(
                    c.name,
                    self.layout.score("candidate", self.candidate_names[c.name]),
                    [models[p] for p in weights],
                    list(weights.values()),
                    sets,
                )
            )
        self._stage("scores", units, score_unit)
        proxy = {
            c.name: read_json(self.layout.score("candidate", self.candidate_names[c.name]))["loss"]
            for c in self.config.candidates
        }
        seed_loss = read_json(baseline)["loss"]
        write_ranking(self.config, proxy, seed_loss, self.layout.root)
        if validate:
            self._validate(seed, proxy, sets)
        self.summary.finish(started, summary_file(str(self.layout.root), "ablate"))
        return self.summary

    def _validate(self, seed: Path, proxy: dict[str, dict[str, float]], sets: tuple[EvalSet, ...]) -> None:
        chosen = self.config.validate_candidates or [c.name for c in self.config.candidates]
        by_name = {c.name: c for c in self.config.candidates}
        jobs = {n: (by_name[n].weights(), self.budget * len(by_name[n].weights())) for n in chosen}
        self._stage("validate", self._train_units("validate", jobs, seed), train_unit)
        units = []
        for name in chosen:
            safe = self.candidate_names[name]
            ckpt = read_json(self.layout.model_record("validate", safe))["checkpoint"]
            units.append(self._score_unit(name, self.layout.score("validate", safe), [ckpt], [1.0], sets))
        self._stage("validate scores", units, score_unit)
        true = {n: read_json(self.layout.score("validate", self.candidate_names[n]))["loss"] for n in chosen}
        write_validation(self.config, {n: proxy[n] for n in chosen}, true, self.layout.root)


def mean_loss(losses: dict[str, float]) -> float:
    """The ranking score: the mean loss over domains (the log of the geometric-mean perplexity)."""
    return float(np.mean(list(losses.values())))


def ranked(proxy: dict[str, dict[str, float]]) -> list[str]:
    """Candidates by mean loss, best first (ties by name)."""
    return sorted(proxy, key=lambda name: (mean_loss(proxy[name]), name))


def write_ranking(config: AblateConfig, proxy: dict[str, dict[str, float]], seed: dict[str, float], root: Path) -> None:
    """`ablation.csv`, `ablation.md` and the plot: proxy perplexity per domain, best candidate first, seed last."""
    domains = list(config.eval)
    by_name = {c.name: c for c in config.candidates}
    header = ["rank", "candidate", "mix", "mean_ppl", *[f"ppl_{d}" for d in domains]]
    rows = []
    for rank, name in enumerate(ranked(proxy), start=1):
        mix = " ".join(f"{p}:{w:.3g}" for p, w in by_name[name].weights().items())
        rows.append([str(rank), name, mix, *_ppls(proxy[name], domains)])
    rows.append(["", "seed (baseline)", "", *_ppls(seed, domains)])
    write_table(root / "ablation", header, rows)
    plot_ranking(proxy, seed, domains, root / config.plot)
    print(f"ablate: ranked {len(proxy)} candidates -> {root / 'ablation.md'}", file=sys.stderr)


def _ppls(losses: dict[str, float], domains: list[str]) -> list[str]:
    return [f"{math.exp(mean_loss(losses)):.4f}", *[f"{math.exp(losses[d]):.4f}" for d in domains]]


def write_table(stem: Path, header: list[str], rows: list[list[str]]) -> None:
    """The same table as `<stem>.csv` and a Markdown `<stem>.md`."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_bytes(str(stem.with_suffix(".csv")), buf.getvalue().encode(), compress=False)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    write_bytes(str(stem.with_suffix(".md")), ("\n".join(lines) + "\n").encode(), compress=False)


def plot_ranking(proxy: dict[str, dict[str, float]], seed: dict[str, float], domains: list[str], path: Path) -> None:
    """Grouped bars: each candidate's proxy perplexity per domain (best first), the seed's as a dashed line."""
    from dolma_py.mixtures.plots import figure, save

    fig, (ax,) = figure(1, width=max(6.5, 1.2 * len(domains) * max(1, len(proxy)) / 3))
    order = ranked(proxy)
    width = 0.8 / len(order)
    for i, name in enumerate(order):
        xs = np.arange(len(domains)) + (i - (len(order) - 1) / 2) * width
        ax.bar(xs, [math.exp(proxy[name][d]) for d in domains], width=width, label=name, color=f"C{i % 10}")
    for j, d in enumerate(domains):
        ax.hlines(
            math.exp(seed[d]), j - 0.45, j + 0.45, colors="black", linestyles="--", label="seed" if j == 0 else None
        )
    ax.set_xticks(np.arange(len(domains)), domains)
    ax.set(
        yscale="log", ylabel="perplexity (log scale)", title="proxy perplexity of averaged partition models, per domain"
    )
    ax.legend(fontsize="small", ncol=2)
    save(fig, path)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation (nan when either side is constant)."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties given their average rank."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for v in np.unique(values):
        tied = values == v
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation: Pearson on the (tie-averaged) ranks."""
    return pearson(_ranks(x), _ranks(y))


def _correlation(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Pearson on perplexities and on their logs (the losses, less swayed by a few huge perplexities), Spearman."""
    return {
        "pearson": pearson(x, y),
        "pearson_log": pearson(np.log(x), np.log(y)),
        "spearman": spearman(x, y),
        "n": len(x),
    }


def correlations(
    proxy: dict[str, dict[str, float]], true: dict[str, dict[str, float]], domains: list[str]
) -> dict[str, Any]:
    """Proxy against true perplexity: over candidates' mean, per domain, and over every (candidate, domain) pair."""
    names = list(true)

    def pair(get: Callable[[dict[str, float]], float]) -> dict[str, float]:
        return _correlation(np.array([get(proxy[n]) for n in names]), np.array([get(true[n]) for n in names]))

    result: dict[str, Any] = {"mean": pair(lambda losses: math.exp(mean_loss(losses)))}
    result["domains"] = {d: pair(lambda losses, d=d: math.exp(losses[d])) for d in domains}
    x = np.array([math.exp(proxy[n][d]) for n in names for d in domains])
    y = np.array([math.exp(true[n][d]) for n in names for d in domains])
    result["pooled"] = _correlation(x, y)
    return result


def write_validation(
    config: AblateConfig, proxy: dict[str, dict[str, float]], true: dict[str, dict[str, float]], root: Path
) -> dict[str, Any]:
    """`validation.{csv,md,json}` and `validation` plot: proxy vs true perplexity and their correlations."""
    domains = list(config.eval)
    corr = correlations(proxy, true, domains)
    header = [
        "candidate",
        "proxy_mean_ppl",
        "true_mean_ppl",
        *[f"{k}_{d}" for d in domains for k in ("proxy_ppl", "true_ppl")],
    ]
    rows = []
    for name in true:
        cells = [name, f"{math.exp(mean_loss(proxy[name])):.4f}", f"{math.exp(mean_loss(true[name])):.4f}"]
        cells += [f"{math.exp(src[name][d]):.4f}" for d in domains for src in (proxy, true)]
        rows.append(cells)
    write_table(root / "validation", header, rows)
    write_json(str(root / "validation.json"), {"correlation": corr, "proxy": proxy, "true": true})
    plot_validation(proxy, true, domains, root / ("validation" + Path(config.plot).suffix))
    m = corr["mean"]
    print(
        f"ablate validate: {len(true)} candidates, mean perplexity Pearson {m['pearson']:.3f} "
        f"(of log perplexity {m['pearson_log']:.3f}), Spearman {m['spearman']:.3f}; pooled over domains "
        f"Pearson {corr['pooled']['pearson']:.3f}, Spearman {corr['pooled']['spearman']:.3f}",
        file=sys.stderr,
    )
    return corr


def plot_validation(
    proxy: dict[str, dict[str, float]], true: dict[str, dict[str, float]], domains: list[str], path: Path
) -> None:
    """Proxy against true perplexity, one color per domain, one point per candidate."""
    from dolma_py.mixtures.plots import figure, save

    fig, (ax,) = figure(1)
    for i, d in enumerate(domains):
        ax.scatter(
            [math.exp(proxy[n][d]) for n in true], [math.exp(true[n][d]) for n in true], label=d, color=f"C{i % 10}"
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="proxy perplexity (averaged partition models)",
        ylabel="true perplexity (trained on the mixture)",
        title="proxy vs true perplexity per domain",
    )
    ax.legend(fontsize="small")
    save(fig, path)
