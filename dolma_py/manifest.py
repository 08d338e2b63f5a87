"""The curriculum manifest: fixed-length training instances over raw token shards, read with O(1) access.

`dolma curriculum build` writes it (`write_manifest`), `dolma train` reads it (`Manifest.open`). A manifest is a
directory holding `manifest.json` plus one `(instances, 3)` uint64 `.npy` table per phase (and one for validation);
a row is `(shard index, token start offset, source index)` and rows are already in training order.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_py.io.atomic import atomic_dir

FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.json"
VALIDATION_FILE = "validation.npy"
ROW_WIDTH = 3
TOKEN_DTYPES = ("uint16", "uint32")

__all__ = [
    "FORMAT_VERSION",
    "InstanceTable",
    "Manifest",
    "ManifestError",
    "PhaseInfo",
    "ShardInfo",
    "phase_file_name",
    "write_manifest",
]


class ManifestError(ValueError):
    """A manifest that is missing, malformed or inconsistent with its shards."""


@dataclass(frozen=True)
class PhaseInfo:
    """One training phase: its instance count, token count, target mix and the mix actually realized."""

    name: str
    instances: int
    tokens: int
    mix: dict[str, float]
    realized: dict[str, float]


@dataclass(frozen=True)
class ShardInfo:
    """One raw token shard (`.npy` without header): where it is and how many tokens it holds."""

    path: str
    tokens: int


class InstanceTable:
    """Memory-mapped instances of one phase: row i gives the shard, start offset and source of instance i."""

    def __init__(self, rows: np.ndarray, shards: Sequence[ShardInfo], dtype: np.dtype, sequence_length: int):
        if rows.ndim != 2 or rows.shape[1] != ROW_WIDTH:
            raise ManifestError(f"instance table must have shape (n, {ROW_WIDTH}), got {rows.shape}")
        self._rows = rows
        self._shards = list(shards)
        self._dtype = np.dtype(dtype)
        self._length = int(sequence_length)
        self._maps: list[np.memmap | None] = [None] * len(self._shards)

    def __len__(self) -> int:
        return int(self._rows.shape[0])

    def _index(self, i: int) -> int:
        n = len(self)
        j = int(i)
        if j < 0:
            j += n
        if not 0 <= j < n:
            raise IndexError(f"instance {i} out of range for a table of {n} instances")
        return j

    def _shard(self, k: int) -> np.memmap:
        mm = self._maps[k]
        if mm is None:
            shard = self._shards[k]
            mm = np.memmap(shard.path, dtype=self._dtype, mode="r", shape=(shard.tokens,))
            self._maps[k] = mm
        return mm

    def __getitem__(self, i: int) -> np.ndarray:
        """The `sequence_length` token ids of instance i, as int64."""
        shard, start, _ = (int(v) for v in self._rows[self._index(i)])
        return np.asarray(self._shard(shard)[start : start + self._length], dtype=np.int64)

    def source_index(self, i: int) -> int:
        """Index (into `Manifest.sources`) of the source instance i was drawn from."""
        return int(self._rows[self._index(i), 2])

    def rows(self) -> np.ndarray:
        """The raw `(instances, 3)` uint64 table, memory-mapped: (shard, start, source) per instance."""
        return self._rows

    def batch(self, indices: np.ndarray) -> np.ndarray:
        """Instances at `indices`, stacked into a `(len(indices), sequence_length)` int64 array."""
        idx = [self._index(i) for i in np.asarray(indices).reshape(-1).tolist()]
        out = np.empty((len(idx), self._length), dtype=np.int64)
        for row, j in enumerate(idx):
            shard, start, _ = (int(v) for v in self._rows[j])
            out[row] = self._shard(shard)[start : start + self._length]
        return out


class Manifest:
    """A built curriculum: shards, sources, phases and their instance tables."""

    def __init__(self, path: Path, meta: dict[str, Any]):
        self.path = path
        self.name: str = str(meta["name"])
        self.seed: int = int(meta["seed"])
        self.sequence_length: int = int(meta["sequence_length"])
        self.dtype: np.dtype = np.dtype(meta["dtype"])
        self.eos_token_id: int | None = None if meta.get("eos_token_id") is None else int(meta["eos_token_id"])
        self.sources: list[str] = [str(s) for s in meta["sources"]]
        self.shards: list[ShardInfo] = [
            ShardInfo(path=_resolve(path, str(s["path"])), tokens=int(s["tokens"])) for s in meta["shards"]
        ]
        self.phases: list[PhaseInfo] = [
            PhaseInfo(
                name=str(p["name"]),
                instances=int(p["instances"]),
                tokens=int(p["tokens"]),
                mix={str(k): float(v) for k, v in p["mix"].items()},
                realized={str(k): float(v) for k, v in p["realized"].items()},
            )
            for p in meta["phases"]
        ]
        self._phase_files = [str(p["file"]) for p in meta["phases"]]
        val = meta.get("validation")
        self._validation_file: str | None = None if val is None else str(val["file"])
        self._validation_instances = 0 if val is None else int(val["instances"])
        self.fingerprint: str | None = meta.get("fingerprint")
        self._tables: dict[str, InstanceTable] = {}
        self._shards_checked = False

    @classmethod
    def open(cls, path: str) -> Manifest:
        """Read `path/manifest.json`; raises `ManifestError` naming what is wrong."""
        root = Path(path)
        meta_path = root / MANIFEST_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ManifestError(f"{meta_path}: manifest not found") from exc
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{meta_path}: invalid JSON ({exc})") from exc
        _check_meta(meta, meta_path)
        return cls(root, meta)

    @property
    def validation_instances(self) -> int:
        """Number of validation instances (0 when the manifest has no validation split)."""
        return self._validation_instances

    def phase_index(self, phase: str | int) -> int:
        """Index of a phase given by name or index."""
        if isinstance(phase, str):
            for i, info in enumerate(self.phases):
                if info.name == phase:
                    return i
            raise KeyError(f"unknown phase {phase!r}; phases are {[p.name for p in self.phases]}")
        i = int(phase)
        if not 0 <= i < len(self.phases):
            raise IndexError(f"phase index {phase} out of range for {len(self.phases)} phases")
        return i

    def instances(self, phase: str | int) -> InstanceTable:
        """Instance table of one phase (by name or index), memory-mapped."""
        i = self.phase_index(phase)
        return self._table(self._phase_files[i], self.phases[i].instances)

    def validation(self) -> InstanceTable | None:
        """Instance table of the held-out validation split, or None when there is none."""
        if self._validation_file is None:
            return None
        return self._table(self._validation_file, self._validation_instances)

    def _table(self, file: str, expected: int) -> InstanceTable:
        table = self._tables.get(file)
        if table is not None:
            return table
        self._check_shards()
        table_path = self.path / file
        try:
            rows = np.load(table_path, mmap_mode="r")
        except FileNotFoundError as exc:
            raise ManifestError(f"{table_path}: instance table not found") from exc
        if rows.dtype != np.uint64 or rows.ndim != 2 or rows.shape[1] != ROW_WIDTH:
            raise ManifestError(f"{table_path}: expected a (n, 3) uint64 array, got {rows.shape} {rows.dtype}")
        if rows.shape[0] != expected:
            raise ManifestError(f"{table_path}: holds {rows.shape[0]} instances, manifest.json says {expected}")
        self._check_rows(rows, table_path)
        table = InstanceTable(rows, self.shards, self.dtype, self.sequence_length)
        self._tables[file] = table
        return table

    def _check_shards(self) -> None:
        if self._shards_checked:
            return
        for shard in self.shards:
            try:
                size = os.path.getsize(shard.path)
            except OSError as exc:
                raise ManifestError(f"shard {shard.path} is missing ({exc.strerror})") from exc
            if size != shard.tokens * self.dtype.itemsize:
                raise ManifestError(
                    f"shard {shard.path} has {size} bytes, expected {shard.tokens} {self.dtype} tokens "
                    f"({shard.tokens * self.dtype.itemsize} bytes)"
                )
        self._shards_checked = True

    def _check_rows(self, rows: np.ndarray, table_path: Path) -> None:
        if rows.shape[0] == 0:
            return
        shard_idx = np.asarray(rows[:, 0])
        if int(shard_idx.max()) >= len(self.shards):
            raise ManifestError(f"{table_path}: shard index {int(shard_idx.max())} >= {len(self.shards)} shards")
        if int(np.asarray(rows[:, 2]).max()) >= len(self.sources):
            raise ManifestError(f"{table_path}: source index out of range for {len(self.sources)} sources")
        sizes = np.array([s.tokens for s in self.shards], dtype=np.uint64)
        ends = np.asarray(rows[:, 1]) + np.uint64(self.sequence_length)
        bad = np.nonzero(ends > sizes[shard_idx])[0]
        if bad.size:
            raise ManifestError(f"{table_path}: instance {int(bad[0])} reads past the end of its shard")


def phase_file_name(index: int, name: str) -> str:
    """File name of a phase's instance table: index-prefixed so arbitrary phase names stay unique and safe."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
    return f"phase-{index:02d}-{safe}.npy"


def write_manifest(
    path: str,
    *,
    name: str,
    seed: int,
    sequence_length: int,
    dtype: str | np.dtype,
    eos_token_id: int | None,
    shards: Sequence[ShardInfo],
    sources: Sequence[str],
    phases: Sequence[tuple[PhaseInfo, np.ndarray]],
    validation: np.ndarray | None,
    fingerprint: str | None = None,
) -> Path:
    """Write a manifest directory atomically: built in a sibling temp dir, then renamed over `path`.

    Shard paths are stored absolute. Each phase comes with its `(instances, 3)` uint64 rows in training order.
    `fingerprint` (of the spec and shards that produced it) lets a rebuild notice it has nothing to do.
    """
    dtype_name = np.dtype(dtype).name
    if dtype_name not in TOKEN_DTYPES:
        raise ManifestError(f"token dtype must be one of {TOKEN_DTYPES}, got {dtype_name}")
    dest = Path(path).absolute()
    with atomic_dir(dest) as tmp:
        phase_meta = []
        for index, (info, rows) in enumerate(phases):
            file = phase_file_name(index, info.name)
            _save_rows(tmp / file, rows, info.instances)
            phase_meta.append(
                {
                    "name": info.name,
                    "file": file,
                    "instances": info.instances,
                    "tokens": info.tokens,
                    "mix": dict(info.mix),
                    "realized": dict(info.realized),
                }
            )
        val_meta = None
        if validation is not None:
            _save_rows(tmp / VALIDATION_FILE, validation, int(validation.shape[0]))
            val_meta = {"file": VALIDATION_FILE, "instances": int(validation.shape[0])}
        meta = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "seed": int(seed),
            "sequence_length": int(sequence_length),
            "dtype": dtype_name,
            "eos_token_id": None if eos_token_id is None else int(eos_token_id),
            "shards": [{"path": str(Path(s.path).absolute()), "tokens": int(s.tokens)} for s in shards],
            "sources": list(sources),
            "phases": phase_meta,
            "validation": val_meta,
            "fingerprint": fingerprint,
        }
        (tmp / MANIFEST_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return dest


def _save_rows(path: Path, rows: np.ndarray, expected: int) -> None:
    arr = np.ascontiguousarray(rows, dtype=np.uint64)
    if arr.ndim != 2 or arr.shape[1] != ROW_WIDTH or arr.shape[0] != expected:
        raise ManifestError(f"{path.name}: expected ({expected}, {ROW_WIDTH}) rows, got {arr.shape}")
    with open(path, "wb") as f:
        np.save(f, arr, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def _resolve(root: Path, shard_path: str) -> str:
    if "://" in shard_path:
        raise ManifestError(f"shard {shard_path}: only local shards can be memory-mapped; copy it locally first")
    p = Path(shard_path)
    return str(p if p.is_absolute() else (root / p))


def _check_meta(meta: Any, where: Path) -> None:
    if not isinstance(meta, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise ManifestError(f"{where}: unsupported format_version {version!r} (this reader knows {FORMAT_VERSION})")
    for key in ("name", "seed", "sequence_length", "dtype", "shards", "sources", "phases"):
        if key not in meta:
            raise ManifestError(f"{where}: field {key!r} is missing")
    if meta["dtype"] not in TOKEN_DTYPES:
        raise ManifestError(f"{where}: field 'dtype' must be one of {TOKEN_DTYPES}, got {meta['dtype']!r}")
    if int(meta["sequence_length"]) <= 0:
        raise ManifestError(f"{where}: field 'sequence_length' must be positive")
    for i, phase in enumerate(meta["phases"]):
        for key in ("name", "file", "instances", "tokens", "mix", "realized"):
            if key not in phase:
                raise ManifestError(f"{where}: phases[{i}] is missing field {key!r}")
    for i, shard in enumerate(meta["shards"]):
        if "path" not in shard or "tokens" not in shard:
            raise ManifestError(f"{where}: shards[{i}] needs 'path' and 'tokens'")
