"""Loss curves from a run's metrics.jsonl to a PNG: train and held-out loss per source, and the LR, by step."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from dolma_py.errors import DolmaError  # noqa: E402
from dolma_py.train.metrics import read_metrics  # noqa: E402


def plot_metrics(metrics: Path, out: Path) -> Path:
    """Draw `out` (PNG): left, train loss and eval loss per source; right, the LR; dashed lines at phase starts."""
    records = read_metrics(metrics)
    train = [r for r in records if "loss" in r]
    if not train:
        raise DolmaError(f"{metrics}: no training records to plot")
    evals = [r for r in records if "eval" in r]
    phase_starts = [r["step"] for r in records if "event" in r and r["step"] > 0]

    fig, (ax_loss, ax_lr) = plt.subplots(1, 2, figsize=(12, 4.5))
    ax_loss.plot([r["step"] for r in train], [r["loss"] for r in train], label="train", linewidth=1)
    for source in sorted({s for r in evals for s in r["eval"]}):
        points = [(r["step"], r["eval"][source]) for r in evals if source in r["eval"]]
        ax_loss.plot(*zip(*points, strict=False), marker="o", markersize=3, label=f"eval: {source}")
    ax_loss.set(xlabel="step", ylabel="loss", title="loss")
    ax_loss.legend(fontsize="small")
    ax_lr.plot([r["step"] for r in train], [r["lr"] for r in train])
    ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate")
    for ax in (ax_loss, ax_lr):
        for step in phase_starts:
            ax.axvline(step, color="gray", linestyle="--", linewidth=0.8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
