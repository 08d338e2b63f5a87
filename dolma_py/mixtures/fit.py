"""The two ladder fits, and their chain to a target model.

Step 1: L(N, D) = A/N^alpha + B/D^beta + E, fitted on the final losses by minimizing a Huber loss (delta 1e-3) of
the log residuals, as Chinchilla (Hoffmann et al. 2022, appendix D.2) and OLMo's ladder do. Parameters are fitted
as log A, alpha, log B, beta, log E, so the prediction is a log-sum-exp. Initial points come from a grid over
(alpha, beta): for each pair, (A, B, E) is the least-squares solution of the (then linear) relative-error problem;
the best few grid points are refined with L-BFGS (torch, float64) and the best result wins. The uncertainty of a
prediction is the spread of refits on bootstrap resamples of the points.

Step 2: Acc(L) = a / (1 + exp(-k (L - L0))) + b, least squares over every checkpoint of a task, from task loss to
task accuracy. Chained with a step-1 fit of the task loss it predicts a target model's accuracy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from dolma_py.errors import DolmaError

HUBER_DELTA = 1e-3
GRID = np.round(np.arange(0.05, 1.51, 0.05), 2)
"""Exponents tried for alpha and beta when choosing initial points."""
REFINED = 6
"""Grid points refined with L-BFGS."""
MIN_POINTS = 5
"""Step 1 has five parameters."""


class FitError(DolmaError):
    """Points a law cannot be fitted to (too few, one size, one tokens-per-parameter ratio, ...)."""


@dataclass(frozen=True)
class LossLaw:
    """L(N, D) = A/N^alpha + B/D^beta + E."""

    A: float
    alpha: float
    B: float
    beta: float
    E: float

    def predict(self, params: float, tokens: float) -> float:
        """The law's loss for a model of `params` parameters trained on `tokens` tokens."""
        return self.A / params**self.alpha + self.B / tokens**self.beta + self.E

    def to_json(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Sigmoid:
    """Acc(L) = a / (1 + exp(-k (L - L0))) + b."""

    a: float
    k: float
    L0: float
    b: float

    def predict(self, loss: float) -> float:
        """Accuracy at task loss `loss`."""
        z = self.k * (loss - self.L0)
        return self.a * 0.5 * (1.0 + math.tanh(0.5 * z)) + self.b  # the logistic function, without overflow

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def check_points(params: np.ndarray, tokens: np.ndarray, loss: np.ndarray, what: str = "loss") -> None:
    """Reject inputs step 1 cannot identify, with a message saying what is missing."""
    n = len(loss)
    if n < MIN_POINTS:
        raise FitError(f"step 1 ({what}) needs at least {MIN_POINTS} final points (the law has 5 parameters), got {n}")
    for name, values in (("params", params), ("tokens", tokens), (what, loss)):
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise FitError(f"step 1 ({what}): every {name} value must be a finite number > 0")
    if len(np.unique(params)) < 2:
        raise FitError(f"step 1 ({what}): all points have one model size ({params[0]:g} params); a ladder needs 2+")
    if len(np.unique(np.round(tokens / params, 9))) < 2:
        raise FitError(
            f"step 1 ({what}): all points have the same tokens per parameter ({tokens[0] / params[0]:g}); "
            "N and D cannot be told apart: train some sizes for more than one token multiple"
        )


def _huber(r: torch.Tensor, delta: float) -> torch.Tensor:
    a = r.abs()
    return torch.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)).sum()


def _law_log(theta: torch.Tensor, log_n: torch.Tensor, log_d: torch.Tensor) -> torch.Tensor:
    a, alpha, b, beta, e = theta
    terms = torch.stack([a - alpha * log_n, b - beta * log_d, e.expand_as(log_n)])
    return torch.logsumexp(terms, dim=0)


def _refine(theta0: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray) -> tuple[np.ndarray, float]:
    """L-BFGS from `theta0` on the Huber objective; returns the parameters and the objective."""
    ln, ld, ll = (torch.from_numpy(x) for x in (log_n, log_d, log_l))
    theta = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [theta],
        lr=1.0,
        max_iter=200,
        tolerance_grad=1e-12,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = _huber(_law_log(theta, ln, ld) - ll, HUBER_DELTA)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        value = float(_huber(_law_log(theta, ln, ld) - ll, HUBER_DELTA))
    result = theta.detach().numpy().copy()
    return result, value if np.all(np.isfinite(result)) else math.inf


def _grid_starts(params: np.ndarray, tokens: np.ndarray, loss: np.ndarray) -> list[np.ndarray]:
    """The best `REFINED` initial points (log A, alpha, log B, beta, log E) over the exponent grid."""
    scored = []
    floor = 1e-6 * float(loss.min())
    for alpha in GRID:
        x1 = params**-alpha
        for beta in GRID:
            x2 = tokens**-beta
            design = np.stack([x1, x2, np.ones_like(x1)], axis=1) / loss[:, None]
            coef, *_ = np.linalg.lstsq(design, np.ones_like(loss), rcond=None)
            coef = np.maximum(coef, floor)
            pred = coef[0] * x1 + coef[1] * x2 + coef[2]
            r = np.log(pred) - np.log(loss)
            obj = float(
                np.where(np.abs(r) <= HUBER_DELTA, 0.5 * r * r, HUBER_DELTA * (np.abs(r) - 0.5 * HUBER_DELTA)).sum()
            )
            scored.append((obj, np.array([math.log(coef[0]), alpha, math.log(coef[1]), beta, math.log(coef[2])])))
    scored.sort(key=lambda item: item[0])
    return [theta for _, theta in scored[:REFINED]]


def _theta_law(theta: np.ndarray) -> LossLaw:
    a, alpha, b, beta, e = (float(v) for v in theta)
    return LossLaw(A=math.exp(a), alpha=alpha, B=math.exp(b), beta=beta, E=math.exp(e))


def fit_loss_law(
    params: np.ndarray, tokens: np.ndarray, loss: np.ndarray, what: str = "loss", start: np.ndarray | None = None
) -> tuple[LossLaw, np.ndarray]:
    """Fit step 1; returns the law and its raw parameters (a start for refits). `start` skips the grid search."""
    params, tokens, loss = (np.asarray(x, dtype=np.float64) for x in (params, tokens, loss))
    check_points(params, tokens, loss, what)
    logs = np.log(params), np.log(tokens), np.log(loss)
    starts = [start] if start is not None else _grid_starts(params, tokens, loss)
    best = min((_refine(theta, *logs) for theta in starts), key=lambda item: item[1])
    if not math.isfinite(best[1]):
        raise FitError(f"step 1 ({what}): the fit diverged on these points")
    return _theta_law(best[0]), best[0]


@dataclass(frozen=True)
class Prediction:
    """A law's prediction for a target, with the bootstrap's spread."""

    value: float
    std: float
    low: float
    high: float
    samples: int

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def bootstrap_prediction(
    params: np.ndarray,
    tokens: np.ndarray,
    loss: np.ndarray,
    target: tuple[float, float],
    law: LossLaw,
    theta: np.ndarray,
    samples: int,
    seed: int,
) -> Prediction:
    """Refit on `samples` resamples (with replacement) of the points, from `theta`; the 2.5-97.5% interval of the
    target's prediction. Resamples a law cannot be fitted to (one size left) are drawn again."""
    value = law.predict(*target)
    if samples == 0:
        return Prediction(value, 0.0, value, value, 0)
    rng = np.random.default_rng(seed)
    preds: list[float] = []
    attempts = 0
    while len(preds) < samples and attempts < 20 * samples:
        attempts += 1
        idx = rng.integers(0, len(loss), len(loss))
        try:
            refit, _ = fit_loss_law(params[idx], tokens[idx], loss[idx], start=theta)
        except FitError:
            continue
        preds.append(refit.predict(*target))
    arr = np.array(preds)
    if not len(arr):
        return Prediction(value, math.nan, math.nan, math.nan, 0)
    low, high = np.percentile(arr, [2.5, 97.5])
    return Prediction(value, float(arr.std(ddof=1)) if len(arr) > 1 else 0.0, float(low), float(high), len(arr))


def _logit(p: float) -> float:
    p = min(max(p, 1e-3), 1 - 1e-3)
    return math.log(p / (1 - p))


def _bounded(theta: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """(a, k, L0, b) from free parameters, with 0 < a, 0 < b and a + b < 1: accuracies stay in [0, 1]."""
    ua, k, l0, ub = theta
    a = torch.sigmoid(ua)
    return a, k, l0, (1 - a) * torch.sigmoid(ub)


def fit_sigmoid(task_loss: np.ndarray, accuracy: np.ndarray, task: str = "task") -> Sigmoid:
    """Fit step 2 by least squares (L-BFGS from a small grid of slopes), bounded so accuracy stays in [0, 1];
    accuracy falls as loss rises, so the fitted k is normally < 0."""
    x, y = (np.asarray(v, dtype=np.float64) for v in (task_loss, accuracy))
    if len(x) < 4:
        raise FitError(f"step 2 ({task}) needs at least 4 points (the sigmoid has 4 parameters), got {len(x)}")
    if np.ptp(x) <= 0 or np.ptp(y) <= 0:
        raise FitError(f"step 2 ({task}): task_loss and accuracy must each take more than one value")
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    best: tuple[float, Sigmoid] | None = None
    a0 = float(np.ptp(y))
    b0 = float(y.min())
    for k in (-1.0, -3.0, -10.0, -30.0):
        start = [_logit(a0), k / np.ptp(x), float(np.median(x)), _logit(b0 / (1 - a0) if a0 < 1 else 0.5)]
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [theta], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-15, line_search_fn="strong_wolfe"
        )

        def closure(theta: torch.Tensor = theta, opt: torch.optim.LBFGS = opt) -> torch.Tensor:
            opt.zero_grad()
            a, kk, l0, b = _bounded(theta)
            loss = ((a * torch.sigmoid(kk * (xt - l0)) + b - yt) ** 2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        value = float(closure().detach())
        with torch.no_grad():
            fitted = Sigmoid(*(float(v) for v in _bounded(theta.detach())))
        finite = all(math.isfinite(v) for v in (fitted.a, fitted.k, fitted.L0, fitted.b))
        if math.isfinite(value) and finite and (best is None or value < best[0]):
            best = (value, fitted)
    if best is None:
        raise FitError(f"step 2 ({task}): the sigmoid fit diverged")
    return best[1]
