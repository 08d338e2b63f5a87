"""Checkpoints: one directory per step; model and optimizer state sharded with torch.distributed.checkpoint (DCP).

Layout of `<out_dir>/checkpoints/step00000100/`: `model/` and `optim/` (DCP directories: each rank writes its own
`__<rank>_0.distcp` shard, rank 0 the `.metadata` index), `rng-rank00000.pt` (python/numpy/torch/cuda RNG states of
each rank) and `state.json` (step, data position, run config). No rank gathers the full state, so a save costs each
rank only its share; with `checkpoint.async_save` the shards are copied to CPU memory and written by a background
thread while training goes on. The directory is assembled under a hidden temporary name and renamed once every rank's
shard is on disk, so a visible checkpoint is always complete.

DCP reshards on load, so a run resumes on a different number of processes (or from DDP to FSDP). Readers that want
whole tensors on one process (`read_model_state`: soups, Hugging Face export) assemble them from the shards without
a process group. `consolidate` writes the full-state form, `model.pt` and `optim.pt` (single `torch.save` files,
the format of soups and of checkpoints before format 2), which `load_checkpoint` resumes from too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.format_utils import _EmptyStateDictLoadPlanner
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.checkpoint.state_dict_loader import _load_state_dict

from dolma_py.errors import DolmaError
from dolma_py.io.atomic import atomic_dir, publish_dir, staging_dir, temporary_name
from dolma_py.train.together import ControlGroup, agree, main_only

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""1: full-state `model.pt`/`optim.pt` files; 2: sharded `model/` and `optim/` DCP directories (either may hold the
full-state files: soups and `consolidate` outputs)."""
MODEL_FILE = "model.pt"
OPTIM_FILE = "optim.pt"
MODEL_DIR = "model"
OPTIM_DIR = "optim"
STATE_FILE = "state.json"
_FULL = StateDictOptions(full_state_dict=True)


warnings.filterwarnings("ignore", message="torch.distributed is disabled, unavailable or uninitialized")
"""DCP warns that it "assumes" a single process whenever there is no process group (also from an async save's
thread): in one process that is exactly the intent."""


def step_dir(root: Path, step: int) -> Path:
    """Directory of the checkpoint taken after `step` optimizer steps."""
    return root / f"step{step:08d}"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step") and p.name[4:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[4:]))


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


class _Writer(dcp.FileSystemWriter):
    """DCP's file writer without the save's path and random id in `.metadata`, so the same state gives the same
    bytes (a resumed run's checkpoints equal an uninterrupted run's)."""

    def storage_meta(self) -> None:  # type: ignore[override]
        return None


@dataclass
class _InFlight:
    """A save whose shards may still be being written: published by `Checkpointer.finish`."""

    step: int
    tmp: Path
    final: Path
    meta: dict[str, Any]
    writes: list[Future]


class Checkpointer:
    """Saves sharded checkpoints under `root` (a collective: every rank calls `save` and `finish` in step).

    DCP's own collectives run over gloo groups of their own, one per part (model, optimizer), so the background
    threads of an asynchronous save share a group neither with each other nor with the training loop (interleaved
    collectives on one group deadlock). At most one save is in flight: the next `save` (and `finish`, which
    the trainer calls before export and at the end) waits for it and publishes it.
    """

    def __init__(self, root: Path, control: ControlGroup, keep: int = 0, async_save: bool = False):
        self.root = root
        self.control = control
        self.keep = keep
        self.async_save = async_save
        several = control.world > 1
        self.groups = {part: dist.new_group(backend="gloo") if several else None for part in (MODEL_DIR, OPTIM_DIR)}
        self._pending: _InFlight | None = None

    def save(self, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> Path:
        """Write checkpoint `step` (published before returning unless `async_save`); returns its final path."""
        self.finish()
        final = step_dir(self.root, step)
        tmp = Path(temporary_name(str(final)))
        main_only(self.control, "checkpoint staging", lambda: staging_dir(final))
        _save(rng_state(), tmp / f"rng-rank{self.control.rank:05d}.pt")
        fresh = not optimizer.state
        parts = {
            MODEL_DIR: get_model_state_dict(model),
            OPTIM_DIR: get_optimizer_state_dict(model, optimizer),
        }
        if fresh:  # to create the state, DCP took a zero-gradient step (lr 0): undo its step count, as if untouched
            for slots in [*optimizer.state.values(), *parts[OPTIM_DIR]["state"].values()]:
                if torch.is_tensor(slots.get("step")):
                    slots["step"].zero_()
        writes = []
        for name, part in parts.items():
            where = tmp / name
            group = self.groups[name]
            how = {"storage_writer": _Writer(where), "process_group": group, "no_dist": group is None}
            if self.async_save:
                writes.append(dcp.async_save(part, **how))
            else:
                dcp.save(part, **how)
        meta = {"format_version": FORMAT_VERSION, "step": step, **state}
        self._pending = _InFlight(step, tmp, final, meta, writes)
        if not self.async_save:
            self.finish()
        return final

    def load(self, path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, seed: int) -> bool:
        """`load_checkpoint` over this checkpointer's group (every rank calls it)."""
        return load_checkpoint(path, model, optimizer, self.groups[MODEL_DIR], self.control.rank, seed)

    def finish(self) -> Path | None:
        """Wait for the save in flight, if any, and publish it (then prune to the newest `keep`)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        error = None
        try:
            for write in pending.writes:
                write.result()
        except Exception as err:  # noqa: BLE001 - every rank raises it through main_only's agreement below
            error = err
        agree(self.control, error, f"checkpoint {pending.step}")
        main_only(self.control, "checkpoint publication", lambda: self._publish(pending))
        return pending.final

    def _publish(self, pending: _InFlight) -> None:
        text = json.dumps(pending.meta, indent=2, sort_keys=True) + "\n"
        (pending.tmp / STATE_FILE).write_text(text, encoding="utf-8")
        publish_dir(pending.tmp, pending.final)
        if self.keep:
            for stale in list_checkpoints(self.root)[: -self.keep]:
                shutil.rmtree(stale)


def save_checkpoint(
    root: Path,
    step: int,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    keep: int = 0,
) -> Path:
    """Write checkpoint `step` under `root` now, from one process (e.g. the step-0 checkpoint a seeded run starts
    from); the trainer itself keeps a `Checkpointer`. Returns the published directory."""
    return Checkpointer(root, ControlGroup(1, 0), keep).save(step, model, optimizer, state)


def read_state(path: Path) -> dict[str, Any]:
    """The `state.json` of a checkpoint (step, data position, config)."""
    try:
        meta = json.loads((path / STATE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DolmaError(f"{path}: not a checkpoint ({STATE_FILE} is missing)") from None
    if meta.get("format_version") not in READABLE_VERSIONS:
        raise DolmaError(f"{path / STATE_FILE}: unsupported format_version {meta.get('format_version')!r}")
    return meta


def _read_full(path: Path, file: str, sharded: str) -> dict[str, Any]:
    """A whole state dict on CPU from the full-state `file` or, failing that, the DCP directory `sharded`."""
    if (path / file).exists():
        return torch.load(path / file, map_location="cpu", weights_only=True)
    if not (path / sharded / ".metadata").exists():
        raise DolmaError(f"{path}: neither {file} nor a complete {sharded}/ (DCP) directory")
    state: dict[str, Any] = {}
    _load_state_dict(  # what format_utils.dcp_to_torch_save runs: dcp.load would fill a copy of an empty dict
        state,
        storage_reader=dcp.FileSystemReader(str(path / sharded)),
        planner=_EmptyStateDictLoadPlanner(),
        no_dist=True,
    )
    return state


def model_files(path: Path) -> list[Path]:
    """The files holding a checkpoint's weights (`model.pt`, or the `model/` DCP shards and index), e.g. to
    fingerprint what a unit of work read."""
    if (path / MODEL_FILE).exists():
        return [path / MODEL_FILE]
    return sorted(p for p in (path / MODEL_DIR).iterdir() if p.is_file()) if (path / MODEL_DIR).is_dir() else []


def read_model_state(path: Path) -> dict[str, torch.Tensor]:
    """The full model state dict of a checkpoint (sharded or full-state), on CPU, in one process."""
    return _read_full(path, MODEL_FILE, MODEL_DIR)


def read_optim_state(path: Path) -> dict[str, Any]:
    """The full optimizer state dict of a checkpoint (`get_optimizer_state_dict`'s layout: keyed by parameter name)."""
    return _read_full(path, OPTIM_FILE, OPTIM_DIR)


def consolidate(path: Path, out: Path) -> Path:
    """Write checkpoint `path` as full-state files into `out`: `model.pt`, `optim.pt`, its RNG files and state.json
    (one process, no process group; needs memory for the whole model and optimizer state)."""
    meta = read_state(path)
    with atomic_dir(out) as tmp:
        _save(read_model_state(path), tmp / MODEL_FILE)
        _save(read_optim_state(path), tmp / OPTIM_FILE)
        for rng in sorted(path.glob("rng-rank*.pt")):
            shutil.copyfile(rng, tmp / rng.name)
        (tmp / STATE_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return out


def load_checkpoint(
    path: Path,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    group: Any = None,
    rank: int = 0,
    seed: int = 0,
) -> bool:
    """Restore model, optimizer and this rank's RNG states from `path` (every rank calls it, before any backward;
    `group`: a gloo group of all ranks for DCP, None in one process).

    Sharded checkpoints load on any number of processes (DCP reshards). Returns whether this rank's RNG state was
    in the checkpoint; a rank that did not exist when it was saved reseeds from `seed` and its rank instead.
    """
    if (path / MODEL_FILE).exists():
        set_model_state_dict(model, read_model_state(path), options=_FULL)
        optim_state = torch.load(path / OPTIM_FILE, map_location="cpu", weights_only=True)
        set_optimizer_state_dict(model, optimizer, optim_state, options=_FULL)
    else:
        model_state = get_model_state_dict(model)
        optim_state = get_optimizer_state_dict(model, optimizer)
        dcp.load(model_state, checkpoint_id=path / MODEL_DIR, process_group=group, no_dist=group is None)
        dcp.load(optim_state, checkpoint_id=path / OPTIM_DIR, process_group=group, no_dist=group is None)
        set_model_state_dict(model, model_state)
        set_optimizer_state_dict(model, optimizer, optim_state)
    for param_group in optimizer.param_groups:  # the state dict round trip turns tuples (AdamW's betas) into lists
        for key, value in param_group.items():
            if isinstance(value, list) and key != "params":
                param_group[key] = tuple(value)
    rng_file = path / f"rng-rank{rank:05d}.pt"
    if rng_file.exists():
        set_rng_state(torch.load(rng_file, weights_only=True))
        return True
    random.seed(seed + rank)
    np.random.seed(seed + rank)
    torch.manual_seed(seed + rank)
    return False
