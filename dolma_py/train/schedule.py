"""Learning-rate schedule over the manifest's phases, and the AdamW optimizer with its weight-decay groups.

`lr(t)` is the LR of the update made at 0-based step t. Pretraining phases (all but the anneal phase) share one
curve: linear warmup to `optim.lr`, then cosine down to `lr * final_lr_ratio` at their end (or constant). The anneal
phase, which must be the last, decays linearly from the LR the curve reached at its start to exactly 0 at its end.
"""

from __future__ import annotations

import math

import torch

from dolma_py.config.train import OptimConfig, ScheduleConfig
from dolma_py.errors import ConfigError


class LRSchedule:
    """LR as a function of the global step, given each phase's (name, steps) in order."""

    def __init__(self, cfg: ScheduleConfig, peak_lr: float, phases: list[tuple[str, int]]):
        names = [name for name, _ in phases]
        self.total = sum(steps for _, steps in phases)
        self.anneal_steps = 0
        if cfg.anneal_phase is not None:
            if cfg.anneal_phase not in names:
                raise ConfigError(
                    f"schedule.anneal_phase {cfg.anneal_phase!r} is not a manifest phase; phases: {names}"
                )
            if names[-1] != cfg.anneal_phase:
                raise ConfigError(
                    f"schedule.anneal_phase {cfg.anneal_phase!r} must be the last phase (LR ends at 0); phases: {names}"
                )
            self.anneal_steps = phases[-1][1]
        self.pretrain_steps = self.total - self.anneal_steps
        if cfg.warmup_steps > self.pretrain_steps:
            raise ConfigError(
                f"schedule.warmup_steps={cfg.warmup_steps} exceeds the {self.pretrain_steps} pretraining steps "
                "(the anneal phase has no warmup)"
            )
        self.cfg = cfg
        self.peak = peak_lr

    def _pretrain(self, t: int) -> float:
        warmup = self.cfg.warmup_steps
        if t < warmup:
            return self.peak * (t + 1) / warmup
        if self.cfg.decay == "constant":
            return self.peak
        floor = self.peak * self.cfg.final_lr_ratio
        progress = min(1.0, (t - warmup) / max(1, self.pretrain_steps - warmup))
        return floor + (self.peak - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def __call__(self, t: int) -> float:
        if t < self.pretrain_steps:
            return self._pretrain(t)
        start = self._pretrain(self.pretrain_steps) if self.pretrain_steps else self.peak
        return start * max(0.0, 1.0 - (t - self.pretrain_steps) / self.anneal_steps)


def build_optimizer(model: torch.nn.Module, cfg: OptimConfig, fused: bool) -> torch.optim.AdamW:
    """AdamW with betas from the config; weight decay on matrices except the input embedding, none on norms."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 and "embed_tokens" not in name else no_decay).append(param)
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=fused)
