"""A writable dedupe run's life cycle: where its filter starts, which files remain, checkpoints and the final save.

Shared by the local and the Ray drivers; only how a filter is saved differs (`save(base_path)` callbacks).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.dedupe.bloom import Layout
from dolma_py.dedupe.filters import (
    SIDECAR_SUFFIX,
    PartitionedFilter,
    check_sidecar,
    filter_exists,
    link_or_copy,
    partition_paths,
    write_sidecar,
)
from dolma_py.dedupe.keys import KeySpec
from dolma_py.dedupe.plan import fingerprint, state_directory
from dolma_py.dedupe.sizing import SaturationWatch
from dolma_py.dedupe.state import CheckpointState, Progress
from dolma_py.errors import ConfigError
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io import storage
from dolma_py.io.lock import ensure_held

SaveFilter = Callable[[str], None]
"""Saves the current filter (every partition) under a base path."""


class Session:
    """Opens the checkpoint state (resuming, or starting over with --overwrite) and commits progress."""

    def __init__(
        self, config: DedupeConfig, units: list[Unit], overwrite: bool, mirror: SaveFilter | None = None
    ) -> None:
        """`mirror` copies a committed filter (by base path) to where the user keeps it, e.g. S3."""
        self.config = config
        self.mirror = mirror
        self.partitions = config.bloom_filter.partitions
        self.bloom_file = config.bloom_filter.file
        self.state = CheckpointState(state_directory(config), self.partitions)
        provisional = KeySpec.from_config(config, config.bloom_filter.seed)
        stored = self.state.read()
        if stored is not None and not overwrite:
            expected = fingerprint(config, provisional)
            if stored.fingerprint != expected:
                differs = sorted(k for k in expected if stored.fingerprint.get(k) != expected[k])
                raise ConfigError(
                    f"the checkpoint in {self.state.directory} was made with a different config "
                    f"({', '.join(differs)}); rerun with the same config, or pass --overwrite to start over"
                )
            self.progress = stored
        else:
            has_base = stored.has_base if stored is not None else filter_exists(self.bloom_file, self.partitions)
            self.state.reset(keep_base=stored is not None and has_base)
            if stored is None and has_base:
                self._snapshot_base()
            self.progress = Progress(fingerprint=fingerprint(config, provisional), has_base=has_base)
            self.state.commit(self.progress)
        self.start_path = self._start_path()
        seed = self._start_seed()
        self.spec = replace(provisional, seed=seed)
        if self.progress.has_base:
            check_sidecar(self.state.base_path, self.spec.hashing_identity())
        inserted = set(self.progress.inserted)
        missing = [u.outputs[0] for u in units if u.key in inserted and not storage.exists(u.outputs[0])]
        if missing:
            raise ConfigError(
                f"{len(missing)} files are already in the filter but their attributes are gone (e.g. {missing[0]}); "
                "rerun with --overwrite to recompute every file from the starting filter"
            )
        self.todo = [u for u in units if u.key not in inserted]
        self.dirty = False
        self.files_since = 0
        self.last_checkpoint = time.monotonic()
        self.watch: SaturationWatch | None = None

    def start_watch(self, num_bits: int, num_hashes: int, layout: Layout, estimated_keys: float) -> None:
        """Count keys from the committed count, or from the starting filter's estimate on a first run."""
        keys = self.progress.keys_inserted
        if keys is None:
            keys = round(estimated_keys)
        self.watch = SaturationWatch.for_filter(self.config.bloom_filter, num_bits, num_hashes, layout, keys)

    def _snapshot_base(self) -> None:
        """Keep the filter as it was before this run (and its sidecar), so --overwrite can start from it again."""
        sources = partition_paths(self.bloom_file, self.partitions) + [self.bloom_file + SIDECAR_SUFFIX]
        targets = partition_paths(self.state.base_path, self.partitions) + [self.state.base_path + SIDECAR_SUFFIX]
        for src, dst in zip(sources, targets, strict=False):
            if os.path.exists(src):
                link_or_copy(src, dst)

    def _start_path(self) -> str | None:
        """The filter to load at start (None: a new empty filter)."""
        if self.progress.generation > 0:
            return self.state.filter_base(self.progress.generation)
        return self.state.base_path if self.progress.has_base else None

    def _start_seed(self) -> int:
        if self.start_path is None:
            return self.config.bloom_filter.seed
        return PartitionedFilter.load(self.start_path, self.partitions, read_only=True, mmap=True).seed

    def load_local_filter(self) -> PartitionedFilter:
        """The starting filter in this process."""
        if self.start_path is None:
            return PartitionedFilter.new(self.config.bloom_filter, self.spec.seed)
        return PartitionedFilter.load(self.start_path, self.partitions, read_only=False)

    @property
    def finished(self) -> bool:
        return self.progress.finished and not self.todo

    def record(self, unit: Unit, result: UnitResult) -> None:
        """A file's keys are in the filter and its attributes are written; its new keys count towards saturation
        (which raises `DolmaError` past the limit with `fail_on_saturation`, after the file is recorded)."""
        self.progress.inserted.append(unit.key)
        self.dirty = True
        self.files_since += 1
        assert self.watch is not None, "start_watch comes first"
        try:
            self.watch.add(result.counters["keys"] - result.counters["keys_seen"])
        finally:
            self.progress.keys_inserted = self.watch.keys

    def due(self) -> bool:
        return self.dirty and (
            self.files_since >= self.config.checkpoint_files
            or time.monotonic() - self.last_checkpoint >= self.config.checkpoint_seconds
        )

    def checkpoint(self, save: SaveFilter, alongside: Callable[[], None] | None = None) -> None:
        """Save the filter as the next generation, then commit it with the files it contains.

        `alongside` runs while the filter is being saved: the end of a run records its last files (waiting for
        their attribute writes) there, since every key is in the filter by then. If it raises, nothing is committed.
        """
        if alongside is None and not self.dirty:
            return
        ensure_held()  # a run that lost its lock must not commit a generation over another run's
        old = self.progress.generation
        new = old + 1
        if alongside is None:
            save(self.state.filter_base(new))
        else:
            with ThreadPoolExecutor(1, thread_name_prefix="dedupe-save") as saver:
                saving = saver.submit(save, self.state.filter_base(new))
                try:
                    alongside()
                except BaseException:
                    wait([saving])
                    self.state.remove_generation(new)  # never committed
                    raise
                saving.result()
            if not self.dirty:  # nothing was recorded since the last checkpoint
                self.state.remove_generation(new)
                return
        self.progress.generation = new
        self.progress.finished = False
        self.state.commit(self.progress)
        if self.mirror is not None:
            self.mirror(self.state.filter_base(new))
        if old > 0:
            self.state.remove_generation(old)
        self.dirty = False
        self.files_since = 0
        self.last_checkpoint = time.monotonic()

    def publish(self) -> None:
        """Put the committed filter at `bloom_filter.file` (hard link or copy, then rename) with its sidecar."""
        source = self.state.filter_base(self.progress.generation) if self.progress.generation else self.state.base_path
        targets = partition_paths(self.bloom_file, self.partitions)
        for src, dst in zip(partition_paths(source, self.partitions), targets, strict=False):
            link_or_copy(src, dst)
        write_sidecar(self.bloom_file, self.spec.hashing_identity())
        if self.mirror is not None:
            self.mirror(self.bloom_file)
        self.progress.finished = True
        self.state.commit(self.progress)

    def finish(self, save: SaveFilter, description: str) -> None:
        """Final checkpoint, then publish the filter unless that already happened. A run that inserted nothing into
        a new filter (its partition of the files was empty, say) still saves it, so there is one to publish."""
        if self.progress.generation == 0 and not self.progress.has_base:
            self.dirty = True
        self.checkpoint(save)
        if self.progress.finished and filter_exists(self.bloom_file, self.partitions):
            return
        self.publish()
        print(f"dedupe: bloom filter saved to {self.bloom_file}: {description}", file=sys.stderr)
