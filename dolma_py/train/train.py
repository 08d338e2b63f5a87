"""`train(config)`: the training loop. Batches are addressed by the global step, the LR by the step's phase.

Each step: set the LR, run this rank's micro-batches (gradient accumulation, all-reduce on the last one), clip,
AdamW step; then log, evaluate and checkpoint on their intervals. The model sees whole instances of
`sequence_length` tokens (an even shape for attention kernels and compiled graphs), with the labels shifted inside
the instance (`loss.shift_labels`): `sequence_length - 1` next-token predictions per instance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dolma_py.config.train import ModelConfig, TrainConfig
from dolma_py.errors import ConfigError, DolmaError
from dolma_py.exec.runner import RunSummary, summarized_run, summary_file
from dolma_py.exec.units import UnitResult
from dolma_py.manifest import Manifest, ManifestError
from dolma_py.train.checkpoint import Checkpointer, list_checkpoints, read_state
from dolma_py.train.data import CurriculumBatches, validation_rows
from dolma_py.train.distributed import (
    Runtime,
    abandon,
    all_reduce_sum,
    gradient_sync,
    init_runtime,
    shutdown,
    wrap_model,
)
from dolma_py.train.evaluate import evaluate
from dolma_py.train.loss import shift_labels
from dolma_py.train.metrics import MetricsLog, Throughput
from dolma_py.train.model import Transformer, flops_per_token
from dolma_py.train.schedule import LRSchedule, build_optimizer
from dolma_py.train.together import FailTogether, agree, agree_on, main_only


@dataclasses.dataclass
class TrainResult:
    """What a run ended with: steps completed, the last logged loss and the newest checkpoint."""

    steps: int
    loss: float | None
    checkpoint: Path | None
    metrics: Path
    trained_steps: int = 0
    trained_tokens: int = 0


def train(config: TrainConfig) -> TrainResult:
    """Train (or resume) the run described by `config`; under torchrun, every rank calls this.

    The main rank holds the run lock on `out_dir` and writes `_dolma_train_summary.json` there (one unit: the run).
    """
    try:
        config.validate()
    except ValueError as err:
        raise ConfigError(str(err)) from None
    rt = init_runtime(config.system)
    clean = False
    try:
        with FailTogether(rt.control, leave=lambda: abandon(rt)):
            where = summary_file(config.out_dir, "train")
            run: contextlib.AbstractContextManager[RunSummary] = (
                summarized_run("train", where, [where], units_total=1)
                if rt.is_main
                else contextlib.nullcontext(RunSummary("train"))
            )
            with run as summary:
                result = _train(config, rt)
                _summarize(summary, config, result)
        clean = True
        return result
    finally:
        shutdown(rt, clean)


def _summarize(summary: RunSummary, config: TrainConfig, result: TrainResult) -> None:
    """The run as one unit: done when it trained steps (with their count and tokens), skipped when complete."""
    if not result.trained_steps:
        summary.units_skipped = 1
        return
    counters = {"steps": result.trained_steps, "tokens": result.trained_tokens}
    summary.add(UnitResult(key=config.out_dir, counters=counters))
    if result.loss is not None:
        summary.gauges["loss"] = result.loss


def _open_data(config: TrainConfig, rt: Runtime) -> tuple[Manifest, CurriculumBatches]:
    try:
        manifest = Manifest.open(config.manifest)
        batches = CurriculumBatches(
            manifest, config.data.global_batch_size, config.data.micro_batch_size, rt.rank, rt.world
        )
    except ManifestError as err:
        raise DolmaError(str(err)) from None
    max_len = config.model.resolved().max_seq_len or 0
    if manifest.sequence_length > max_len:
        raise ConfigError(
            f"manifest sequence_length {manifest.sequence_length} needs model.max_seq_len >= "
            f"{manifest.sequence_length}, got {max_len}"
        )
    return manifest, batches


def state_record(config: TrainConfig, manifest: Manifest, batches: CurriculumBatches, step: int) -> dict[str, Any]:
    """state.json content: the data position (step and instances consumed) and what a resume must match."""
    return {
        "instances": step * batches.global_batch,
        "tokens": step * batches.global_batch * manifest.sequence_length,
        "phase": batches.phase_at(min(step, batches.total_steps - 1)).name,
        "world_size": batches.world,
        "global_batch_size": batches.global_batch,
        "manifest": {
            "path": str(manifest.path),
            "name": manifest.name,
            "sequence_length": manifest.sequence_length,
            "eos_token_id": manifest.eos_token_id,
            "phases": [[p.name, len(p.table)] for p in batches.phases],
        },
        "config": dataclasses.asdict(config),
    }


def _check_resumable(meta: dict[str, Any], current: dict[str, Any], path: Path) -> None:
    saved_model = ModelConfig(**meta["config"]["model"]).shape()
    now_model = ModelConfig(**current["config"]["model"]).shape()
    diff = sorted(k for k in now_model if saved_model.get(k) != now_model[k])
    if diff:
        raise ConfigError(f"{path}: model.{diff[0]} differs from the checkpoint ({saved_model[diff[0]]!r})")
    for key in ("global_batch_size",):  # the world size may change: batches depend on the step alone
        if meta[key] != current[key]:
            raise ConfigError(f"{path}: {key} was {meta[key]}, now {current[key]}; resume needs the same value")
    if meta["manifest"]["phases"] != current["manifest"]["phases"]:
        raise ConfigError(f"{path}: the manifest's phases differ from the checkpoint's {meta['manifest']['phases']}")


def _due(done: int, interval: int, end: int) -> bool:
    """Whether an every-`interval`-steps action runs after step `done`; always after the last step."""
    return done == end or (interval > 0 and done % interval == 0)


def _prepare(
    config: TrainConfig, rt: Runtime
) -> tuple[TrainConfig, Manifest, CurriculumBatches, LRSchedule, list[Path], dict[str, Any]]:
    """Open the data, build the schedule and find the checkpoint to resume: everything checked before the model."""
    manifest, batches = _open_data(config, rt)
    schedule = LRSchedule(config.schedule, config.optim.lr, [(p.name, p.steps) for p in batches.phases])
    config = dataclasses.replace(config, model=config.model.resolved())
    ckpt_root = Path(config.out_dir) / "checkpoints"
    existing = list_checkpoints(ckpt_root)
    if existing and not config.resume:
        raise ConfigError(f"{ckpt_root} already holds checkpoints; pass --resume or use another out_dir")
    meta = read_state(existing[-1]) if existing else {"step": 0}
    if existing:
        _check_resumable(meta, state_record(config, manifest, batches, meta["step"]), existing[-1])
    return config, manifest, batches, schedule, existing, meta


def _check_ids(micro: list[np.ndarray], vocab: int, phase: str, step: int) -> None:
    for mb in micro:
        if int(mb.max()) >= vocab:
            raise ConfigError(f"phase {phase!r} step {step}: token id {int(mb.max())} >= model.vocab_size={vocab}")


def _routing_record(
    load: torch.Tensor | None, lb: float, z: float, step_tokens: int, model_cfg: ModelConfig
) -> dict[str, Any]:
    """MoE routing statistics of a step (all ranks; a collective): `expert_load`, each expert's share of the
    assignments over all layers; `expert_load_max`, the most loaded expert of any layer as a multiple of an even
    share (1.0: balanced); `dropped_tokens`, assignments not computed (tokens x top_k x layers minus those done)."""
    if load is None:
        return {}
    load = all_reduce_sum(load.to(torch.float64))
    per_layer = load / load.sum(dim=1, keepdim=True)
    expected = step_tokens * model_cfg.moe.top_k * load.shape[0]
    return {
        "lb_loss": lb,
        "router_z_loss": z,
        "expert_load": [round(v, 5) for v in (load.sum(dim=0) / load.sum()).tolist()],
        "expert_load_max": float(per_layer.max() * load.shape[1]),
        "dropped_tokens": int(expected - load.sum()),
    }


def _train(config: TrainConfig, rt: Runtime) -> TrainResult:
    out = Path(config.out_dir)
    ckpt_root = out / "checkpoints"
    error: Exception | None = None
    try:
        config, manifest, batches, schedule, existing, meta = _prepare(config, rt)
    except Exception as err:  # noqa: BLE001 - every rank raises it (or names the rank that did) through agree
        error = err
    agree(rt.control, error, "setup")
    run_state = state_record(config, manifest, batches, meta["step"])
    agree_on(rt.control, "config, manifest or checkpoint", json.dumps([run_state, meta["step"]], sort_keys=True))
    model_cfg = config.model

    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    with torch.device(rt.device):
        model = Transformer(model_cfg)
    net = wrap_model(model, rt, config.system.compile)
    optimizer = build_optimizer(model, config.optim, fused=rt.device.type == "cuda")
    checkpointer = Checkpointer(ckpt_root, rt.control, config.checkpoint.keep, config.checkpoint.async_save)
    if existing:
        checkpointer.load(existing[-1], model, optimizer, config.seed)
    start = meta["step"]
    end = batches.total_steps if config.max_steps is None else min(batches.total_steps, config.max_steps)
    log = MetricsLog(out / "metrics.jsonl", rt.is_main, resume_step=start if config.resume else None)
    if existing and rt.world > meta["world_size"]:  # the new ranks had no RNG state to restore
        saved = meta["world_size"]
        log.write({"step": start, "event": f"resumed on {rt.world} processes from {saved}: ranks >= {saved} reseeded"})

    val_table = manifest.validation()
    val_rows, val_sources = validation_rows(manifest, config.eval.max_instances, rt.rank, rt.world)
    eval_micro = config.eval.micro_batch_size or config.data.micro_batch_size
    seq = manifest.sequence_length
    step_tokens = batches.global_batch * seq
    flops = flops_per_token(model_cfg, seq)
    peak = rt.peak_flops(config.system.peak_flops)
    params = [p for p in model.parameters() if p.requires_grad]
    clip = config.optim.grad_clip or float("inf")
    vocab = model_cfg.vocab_size or 0

    loss_value: float | None = None
    checkpoint = existing[-1] if existing else None
    speed = Throughput(rt.sync)
    for step in range(start, end):
        phase = batches.phase_at(step)
        if step == phase.start:
            log.write({"step": step, "event": f"phase {phase.name!r} starts ({phase.steps} steps)"})
        lr = schedule(step)
        for group in optimizer.param_groups:
            group["lr"] = lr

        error = None
        try:
            micro = batches.micro_batches(step)
            _check_ids(micro, vocab, phase.name, step)
        except Exception as err:  # noqa: BLE001 - raised on every rank by agree, before any collective of the model
            error = err
        agree(rt.control, error, f"step {step}")
        sums = torch.zeros(4, device=rt.device)  # loss, ce, and with MoE the load-balancing and router z-losses
        expert_load = None
        for i, mb in enumerate(micro):
            x = torch.from_numpy(mb).to(rt.device, non_blocking=True)
            with gradient_sync(net, sync=i == len(micro) - 1):
                with rt.autocast():
                    loss, parts = net(x, shift_labels(x))
                (loss / len(micro)).backward()
            sums[0] += loss.detach()
            sums[1] += parts["ce"]
            if "expert_load" in parts:
                sums[2] += parts["lb_loss"]
                sums[3] += parts["router_z_loss"]
                load = parts["expert_load"].detach()
                expert_load = load if expert_load is None else expert_load + load
        grad_norm = torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        done = step + 1
        if step == start:  # the first step of a process compiles and warms up: not timed
            speed.restart()
        else:
            speed.add(step_tokens)

        if _due(done, config.log_interval, end):
            loss_value, ce_value, lb_value, z_value = all_reduce_sum(sums / (len(micro) * rt.world)).tolist()
            norm = grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm
            tokens_per_s = speed.rate()
            log.write(
                {
                    "step": done,
                    "phase": phase.name,
                    "lr": lr,
                    "loss": loss_value,
                    "ce": ce_value,
                    "grad_norm": float(norm),
                    "tokens": done * step_tokens,
                    "tokens_per_s": tokens_per_s,
                    "mfu": None if peak is None or tokens_per_s is None else flops * tokens_per_s / (peak * rt.world),
                }
                | _routing_record(expert_load, lb_value, z_value, batches.global_batch * seq, model_cfg)
            )
            speed.restart()

        if val_table is not None and len(val_rows) and config.eval.interval and _due(done, config.eval.interval, end):
            losses = evaluate(net, val_table, val_rows, val_sources, manifest.sources, eval_micro, rt)
            log.write({"step": done, "eval": losses, "eval_loss": float(np.mean(list(losses.values())))})
            speed.restart()

        if _due(done, config.checkpoint.interval, end):
            state = state_record(config, manifest, batches, done)
            checkpoint = checkpointer.save(done, model, optimizer, state)
            speed.restart()

    checkpointer.finish()
    if checkpoint is not None and config.export:
        from dolma_py.train.export import export_hf

        main_only(rt.control, "export", lambda: export_hf(checkpoint, Path(config.export)))
    if config.plot:
        from dolma_py.train.plot import plot_metrics

        main_only(rt.control, "plot", lambda: plot_metrics(out / "metrics.jsonl", out / "loss.png"))
    trained = max(end - start, 0)
    return TrainResult(
        end if start < end else start, loss_value, checkpoint, out / "metrics.jsonl",
        trained_steps=trained, trained_tokens=trained * step_tokens,
    )
