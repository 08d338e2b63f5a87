"""Checkpoints: one directory per step holding full (unsharded) model and optimizer state, RNG states and the run state.

Layout of `<out_dir>/checkpoints/step00000100/`: `model.pt` (state dict keyed like `Transformer`), `optim.pt`
(AdamW state keyed by parameter name), `rng-rank00000.pt` (python/numpy/torch/cuda RNG states of each rank) and
`state.json` (step, data position, run config). The directory is assembled under a temporary name and renamed,
so a visible checkpoint is always complete. Full state dicts come from `torch.distributed.checkpoint.state_dict`,
which gathers FSDP shards and strips DDP/compile wrappers, so the same files serve 1 process, DDP and FSDP.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)

from dolma_py.errors import DolmaError
from dolma_py.io.atomic import publish_dir, staging_dir, temporary_name

FORMAT_VERSION = 1
MODEL_FILE = "model.pt"
OPTIM_FILE = "optim.pt"
STATE_FILE = "state.json"
_GATHER = StateDictOptions(full_state_dict=True, cpu_offload=True)
_SCATTER = StateDictOptions(full_state_dict=True)


def step_dir(root: Path, step: int) -> Path:
    """Directory of the checkpoint taken after `step` optimizer steps."""
    return root / f"step{step:08d}"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step") and p.name[4:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[4:]))


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def _save(obj: Any, path: Path) -> None:
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def rng_state() -> dict[str, Any]:
    """Every RNG this process may draw from, in a form `torch.load(weights_only=True)` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "cached": cached,
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()  # this rank's device only: no contexts on the other GPUs
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the RNG states captured by `rng_state`."""
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def save_checkpoint(
    root: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep: int = 0,
) -> Path:
    """Write checkpoint `step` atomically (a collective: every rank calls it) and prune to the newest `keep`."""
    rank = dist.get_rank() if dist.is_initialized() else 0
    final = step_dir(root, step)
    tmp = staging_dir(final) if rank == 0 else Path(temporary_name(str(final)))
    _barrier()
    _save(rng_state(), tmp / f"rng-rank{rank:05d}.pt")
    model_state = get_model_state_dict(model, options=_GATHER)
    optim_state = get_optimizer_state_dict(model, optimizer, options=_GATHER)
    if rank == 0:
        _save(model_state, tmp / MODEL_FILE)
        _save(optim_state, tmp / OPTIM_FILE)
        meta = {"format_version": FORMAT_VERSION, "step": step, **state}
        (tmp / STATE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _barrier()
    if rank == 0:
        publish_dir(tmp, final)
        if keep:
            for stale in list_checkpoints(root)[:-keep]:
                shutil.rmtree(stale)
    _barrier()
    return final


def read_state(path: Path) -> dict[str, Any]:
    """The `state.json` of a checkpoint (step, data position, config)."""
    try:
        meta = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DolmaError(f"{path}: not a checkpoint ({STATE_FILE} is missing)") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise DolmaError(f"{path / STATE_FILE}: unsupported format_version {meta.get('format_version')!r}")
    return meta


def read_model_state(path: Path) -> dict[str, torch.Tensor]:
    """The full model state dict of a checkpoint, on CPU."""
    try:
        return torch.load(path / MODEL_FILE, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DolmaError(f"{path}: {MODEL_FILE} is missing") from None


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> None:
    """Restore model, optimizer and this rank's RNG states from `path` (every rank calls it).

    Call it before any backward pass: the optimizer state is materialized from zero gradients first.
    """
    rank = dist.get_rank() if dist.is_initialized() else 0
    rng_file = path / f"rng-rank{rank:05d}.pt"
    if not rng_file.exists():
        raise DolmaError(f"{path}: no RNG state for rank {rank}; resume with the world size it was saved with")
    set_model_state_dict(model, read_model_state(path), options=_SCATTER)
    optim_state = torch.load(path / OPTIM_FILE, map_location="cpu", weights_only=True)
    set_optimizer_state_dict(model, optimizer, optim_state, options=_SCATTER)
    for group in optimizer.param_groups:  # the state dict round trip turns tuples (AdamW's betas) into lists
        for key, value in group.items():
            if isinstance(value, list) and key != "params":
                group[key] = tuple(value)
    set_rng_state(torch.load(rng_file, weights_only=True))
