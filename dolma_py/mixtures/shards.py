"""Evaluation sets of held-out token shards: fixed-length windows read from raw `.npy` shards (no header).

An evaluation set is a list of globs of shards of one domain. Its instances are non-overlapping windows of
`sequence_length` tokens over the shards in sorted path order, up to `max_instances` of them spread evenly over
all windows, so the same files always give the same instances.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dolma_py.config.mixtures import EvalSetConfig
from dolma_py.errors import ConfigError


@dataclass(frozen=True)
class EvalSet:
    """One domain's held-out shards (resolved, sorted paths) and how to read them."""

    name: str
    paths: tuple[str, ...]
    dtype: str
    sequence_length: int
    max_instances: int


def resolve_paths(name: str, patterns: list[str]) -> tuple[str, ...]:
    """Every file the globs of eval set `name` match, sorted; none is an error naming the set."""
    found = sorted({p for pattern in patterns for p in glob.glob(pattern, recursive=True) if Path(p).is_file()})
    found = [p for p in found if not Path(p).name.startswith(("_", "."))]
    if not found:
        raise ConfigError(f"eval set {name!r}: no shard matches {patterns}")
    return tuple(found)


def windows(eval_set: EvalSet) -> np.ndarray:
    """The set's instances as a `(n, sequence_length)` int64 array."""
    dtype = np.dtype(eval_set.dtype)
    maps = []
    for path in eval_set.paths:
        size = Path(path).stat().st_size
        if size % dtype.itemsize:
            raise ConfigError(f"eval set {eval_set.name!r}: {path} is not a whole number of {dtype} tokens")
        maps.append(np.memmap(path, dtype=dtype, mode="r", shape=(size // dtype.itemsize,)))
    length = eval_set.sequence_length
    slots = [(k, start) for k, m in enumerate(maps) for start in range(0, len(m) - length + 1, length)]
    if not slots:
        raise ConfigError(f"eval set {eval_set.name!r}: its shards hold no window of {length} tokens")
    take = min(len(slots), eval_set.max_instances)
    chosen = np.linspace(0, len(slots) - 1, take).round().astype(np.int64)
    return np.stack([np.asarray(maps[slots[i][0]][slots[i][1] : slots[i][1] + length], np.int64) for i in chosen])


def eval_sets(
    specs: dict[str, EvalSetConfig], dtype: str, sequence_length: int, max_instances: int
) -> tuple[EvalSet, ...]:
    """The configured evaluation sets, resolved, with the training manifests' `dtype` unless one is given."""
    return tuple(
        EvalSet(name, resolve_paths(name, spec.paths), spec.dtype or dtype, sequence_length, max_instances)
        for name, spec in specs.items()
    )
