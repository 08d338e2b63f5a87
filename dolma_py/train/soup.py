"""Model soups: the (weighted) average of the weights of checkpoints of the same model shape.

Weights are normalized to sum to 1; the average is taken in float64 and cast back to each tensor's dtype. The
output is a checkpoint directory without optimizer or RNG state (it can be exported or evaluated, not resumed).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from dolma_py.config.train import ModelConfig
from dolma_py.errors import DolmaError
from dolma_py.io.atomic import atomic_dir
from dolma_py.train.checkpoint import FORMAT_VERSION, MODEL_FILE, STATE_FILE, read_model_state, read_state
from dolma_py.train.export import write_hf


def soup_state(checkpoints: list[Path], weights: list[float] | None = None) -> dict[str, torch.Tensor]:
    """Average the model state dicts of `checkpoints` (uniformly, or by `weights`)."""
    if not checkpoints:
        raise DolmaError("soup needs at least one checkpoint")
    weights = [1.0] * len(checkpoints) if weights is None else list(weights)
    if len(weights) != len(checkpoints):
        raise DolmaError(f"got {len(weights)} weights for {len(checkpoints)} checkpoints")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise DolmaError(f"weights must be >= 0 with a positive sum, got {weights}")
    shapes = [ModelConfig(**read_state(c)["config"]["model"]).shape() for c in checkpoints]
    for path, shape in zip(checkpoints[1:], shapes[1:], strict=False):
        if shape != shapes[0]:
            diff = next(k for k in shape if shape[k] != shapes[0][k])
            raise DolmaError(
                f"{path}: model.{diff}={shape[diff]!r} differs from {checkpoints[0]} ({shapes[0][diff]!r})"
            )
    total = sum(weights)
    acc: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for path, weight in zip(checkpoints, weights, strict=False):
        state = read_model_state(path)
        if acc and state.keys() != acc.keys():
            raise DolmaError(f"{path}: parameter names differ from {checkpoints[0]}")
        for name, tensor in state.items():
            if name not in acc:
                acc[name] = torch.zeros(tensor.shape, dtype=torch.float64)
                dtypes[name] = tensor.dtype
            acc[name] += tensor.double() * (weight / total)
    return {name: tensor.to(dtypes[name]) for name, tensor in acc.items()}


def write_soup(
    checkpoints: list[Path], out: Path | None, weights: list[float] | None = None, export: Path | None = None
) -> None:
    """Write the soup of `checkpoints` to the checkpoint directory `out` and/or a Hugging Face folder `export`."""
    state = soup_state(checkpoints, weights)
    meta = read_state(checkpoints[0])
    soup_meta = {
        "format_version": FORMAT_VERSION,
        "step": None,
        "soup": {"checkpoints": [str(c) for c in checkpoints], "weights": weights},
        "manifest": meta.get("manifest"),
        "config": meta["config"],
    }
    if out is not None:
        with atomic_dir(out) as tmp:
            torch.save(state, tmp / MODEL_FILE)
            (tmp / STATE_FILE).write_text(json.dumps(soup_meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if export is not None:
        write_hf(state, soup_meta, export)
