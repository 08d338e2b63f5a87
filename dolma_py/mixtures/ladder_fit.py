"""`dolma ladder fit`: step 1 on the final losses, step 2 per task, chained to a target; JSON and a plot.

For each task, step 1 is fitted to the final task losses too (OLMo's ladder predicts the task loss of the target
with the same law), and step 2's sigmoid turns that prediction into an accuracy; the sigmoid is monotone, so the
bootstrap interval of the task loss maps to an interval of the accuracy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dolma_py.mixtures.fit import LossLaw, Sigmoid, bootstrap_prediction, fit_loss_law, fit_sigmoid
from dolma_py.mixtures.points import Point, final_losses, tasks


def _arrays(points: list[Point], value: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.array([p.params for p in points], dtype=np.float64),
        np.array([p.tokens for p in points], dtype=np.float64),
        np.array([getattr(p, value) for p in points], dtype=np.float64),
    )


def fit_ladder(
    points: list[Point], target_params: float, target_tokens: float, bootstrap: int = 100, seed: int = 0
) -> dict[str, Any]:
    """Fit both steps and predict the target; the result is what `ladder_fit.json` holds."""
    target = (float(target_params), float(target_tokens))
    finals = final_losses(points)
    n, d, loss = _arrays(finals, "loss")
    law, theta = fit_loss_law(n, d, loss)
    report: dict[str, Any] = {
        "target": {"params": target[0], "tokens": target[1]},
        "points": len(finals),
        "loss": {
            "law": law.to_json(),
            "prediction": bootstrap_prediction(n, d, loss, target, law, theta, bootstrap, seed).to_json(),
            "residuals": [float(np.log(law.predict(a, b) / c)) for a, b, c in zip(n, d, loss, strict=True)],
        },
        "tasks": {},
    }
    for task in tasks(points):
        rows = [p for p in points if p.task == task]
        final_rows = [p for p in rows if p.final]
        tn, td, tl = _arrays(final_rows, "task_loss")
        task_law, task_theta = fit_loss_law(tn, td, tl, what=f"task_loss of {task}")
        pred = bootstrap_prediction(tn, td, tl, target, task_law, task_theta, bootstrap, seed)
        sigmoid = fit_sigmoid(np.array([p.task_loss for p in rows]), np.array([p.accuracy for p in rows]), task)
        accs = sorted(sigmoid.predict(v) for v in (pred.low, pred.high)) if pred.samples else [np.nan, np.nan]
        report["tasks"][task] = {
            "points": len(rows),
            "task_loss_law": task_law.to_json(),
            "sigmoid": sigmoid.to_json(),
            "predicted_task_loss": pred.to_json(),
            "predicted_accuracy": {"value": sigmoid.predict(pred.value), "low": accs[0], "high": accs[1]},
        }
    return report


def plot_ladder(points: list[Point], report: dict[str, Any], path: Path) -> None:
    """Left: final loss against tokens per model size with the fitted law, and the target's prediction with its
    interval. Right (with tasks): accuracy against task loss over every checkpoint, with each task's sigmoid."""
    from dolma_py.mixtures.plots import figure, save

    task_names = list(report["tasks"])
    fig, axes = figure(1 + bool(task_names))
    ax = axes[0]
    law = LossLaw(**report["loss"]["law"])
    finals = final_losses(points)
    target = report["target"]
    sizes = sorted({p.params for p in finals})
    colors = [f"C{i % 10}" for i in range(len(sizes) + 1)]
    for size, color in zip(sizes, colors, strict=False):
        mine = sorted((p.tokens, p.loss) for p in finals if p.params == size)
        ax.scatter([t for t, _ in mine], [v for _, v in mine], color=color, label=f"{size:.3g} params", zorder=3)
        grid = np.geomspace(min(t for t, _ in mine) / 2, target["tokens"], 100)
        ax.plot(grid, [law.predict(size, t) for t in grid], color=color, linewidth=0.8, alpha=0.7)
    pred = report["loss"]["prediction"]
    grid = np.geomspace(min(p.tokens for p in finals) / 2, target["tokens"] * 1.5, 100)
    ax.plot(grid, [law.predict(target["params"], t) for t in grid], color=colors[len(sizes)], linestyle="--")
    yerr = [[pred["value"] - pred["low"]], [pred["high"] - pred["value"]]] if pred["samples"] else None
    ax.errorbar(
        [target["tokens"]],
        [pred["value"]],
        yerr=yerr,
        fmt="*",
        markersize=12,
        color=colors[len(sizes)],
        label=f"target {target['params']:.3g} params: {pred['value']:.4f}",
        capsize=4,
    )
    ax.set(xscale="log", xlabel="tokens", ylabel="final loss", title="step 1: L(N, D) = A/N^a + B/D^b + E")
    ax.legend(fontsize="small")
    if task_names:
        ax2 = axes[1]
        for i, task in enumerate(task_names):
            rows = [p for p in points if p.task == task]
            sig = Sigmoid(**report["tasks"][task]["sigmoid"])
            xs = np.array([p.task_loss for p in rows])
            ax2.scatter(xs, [p.accuracy for p in rows], s=10, color=f"C{i % 10}", label=task)
            grid = np.linspace(xs.min() * 0.9, xs.max() * 1.1, 100)
            ax2.plot(grid, [sig.predict(v) for v in grid], color=f"C{i % 10}")
            predicted = report["tasks"][task]
            ax2.scatter(
                [predicted["predicted_task_loss"]["value"]],
                [predicted["predicted_accuracy"]["value"]],
                marker="*",
                s=120,
                color=f"C{i % 10}",
            )
        ax2.set(
            xlabel="task loss (nats per token of the correct choice)",
            ylabel="accuracy",
            title="step 2: Acc(L) = a / (1 + exp(-k (L - L0))) + b",
        )
        ax2.legend(fontsize="small")
    save(fig, path)
