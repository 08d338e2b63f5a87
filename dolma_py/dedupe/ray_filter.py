"""The writable run on Ray: the filter is split by key range across actors, one Rust filter each.

Per file, in sorted order, the driver only moves object references:

1. a hash task (submitted ahead, in a bounded window) reads the file and returns a small status, the file's
   `FileKeys`, and its keys split by partition (each in the file's order);
2. once the status says the file hashed cleanly, each partition's keys go to that partition's actor
   (`check_and_insert`); an actor runs calls in submission order, so every partition sees its keys in
   exactly the order of the local run;
3. a write task gathers the per-partition answers, scatters them back into key order and writes the
   attribute file.

Data flows from hash tasks to actors to write tasks through the object store, never through the driver. A
checkpoint waits for the files submitted so far to be written, then has every actor save its partition (the
save call is queued behind those files, so it captures exactly them). Actors save to `work_dir.output` or
the state directory beside the filter, which must be a filesystem every node can reach.
"""

from __future__ import annotations

import os
from collections import deque
from typing import Any

import numpy as np

from dolma_py.config.dedupe import BloomFilterConfig
from dolma_py.dedupe.filters import (
    PartitionedFilter,
    describe_partitions,
    new_partition,
    partition_paths,
    split_by_partition,
)
from dolma_py.dedupe.keys import FileKeys, KeySpec, hash_unit
from dolma_py.dedupe.output import write_attributes
from dolma_py.dedupe.plan import DedupeJob
from dolma_py.dedupe.session import Session
from dolma_py.dedupe.sizing import partition_bytes
from dolma_py.errors import DolmaError
from dolma_py.exec.executors import ray_connect
from dolma_py.exec.progress import Progress
from dolma_py.exec.runner import RunSummary
from dolma_py.exec.units import Unit, UnitResult

FILES_IN_FLIGHT = 8
ACTOR_MEMORY_HEADROOM = 64 << 20


class FilterPartition:
    """Ray actor body: one partition of the filter (loaded from a file, or new)."""

    def __init__(self, config: BloomFilterConfig, seed: int, path: str | None) -> None:
        if path is None:
            self.filter = new_partition(config, seed)
        else:
            self.filter = PartitionedFilter.load(path, 1, read_only=False).parts[0]

    def check_and_insert(self, keys: np.ndarray) -> np.ndarray:
        return self.filter.check_and_insert(keys)

    def save(self, path: str) -> None:
        self.filter.save(path)

    def shape(self) -> tuple[int, int, float]:
        return self.filter.num_bits, self.filter.num_hashes, self.filter.fill_ratio()

    def estimated_items(self) -> float:
        return self.filter.estimated_items()

    def layout(self) -> str:
        return self.filter.layout


def hash_partitioned(spec: KeySpec, path: str, partitions: int) -> tuple[Any, ...]:
    """Ray task: (status: None or the failed UnitResult, FileKeys or None, keys of partition 0, 1, ...)."""
    hashed = hash_unit(spec, path)
    if isinstance(hashed, UnitResult):
        return (hashed, None, *[np.zeros(0, dtype=np.uint64)] * partitions)
    parts, _ = split_by_partition(hashed.active_keys, partitions)
    return (None, hashed, *parts)


def write_partitioned(job: DedupeJob, unit: Unit, hashed: FileKeys, *seen_parts: np.ndarray) -> UnitResult:
    """Ray task: put the partitions' answers back in key order and write the attribute file."""
    active = hashed.active_keys
    seen_active = np.empty(len(active), dtype=bool)
    _, positions = split_by_partition(active, len(seen_parts))
    for part_seen, part_positions in zip(seen_parts, positions, strict=False):
        seen_active[part_positions] = part_seen
    seen = hashed.lookup(lambda _: seen_active)
    try:
        return write_attributes(unit.outputs[0], hashed, job.attribute, seen, job.spec)
    except DolmaError as err:
        return UnitResult(key=unit.key, error=str(err))


def partition_nbytes(config: BloomFilterConfig, existing: str | None) -> int:
    """Memory one partition's filter needs (what each actor reserves, plus headroom)."""
    return os.path.getsize(existing) if existing is not None else partition_bytes(config)


def run_ray(session: Session, address: str, summary: RunSummary, progress: bool) -> None:
    """Insert the remaining files in order into partition actors; same outputs as the local run."""
    ray = ray_connect(address)
    config = session.config
    partitions = session.partitions
    spec = session.spec
    job = DedupeJob(spec=spec, attribute=config.dedupe.attribute_name, filter_file=config.bloom_filter.file,
                    partitions=partitions)
    starts = partition_paths(session.start_path, partitions) if session.start_path else [None] * partitions
    per_actor = partition_nbytes(config.bloom_filter, starts[0]) + ACTOR_MEMORY_HEADROOM
    actor_class = ray.remote(num_cpus=0, memory=per_actor, scheduling_strategy="SPREAD")(FilterPartition)
    actors = [actor_class.remote(config.bloom_filter, spec.seed, path) for path in starts]
    bits, hashes, _ = ray.get(actors[0].shape.remote())
    layout = ray.get(actors[0].layout.remote())
    session.start_watch(bits, hashes, layout, sum(ray.get([actor.estimated_items.remote() for actor in actors])))
    hash_task = ray.remote(num_returns=partitions + 2)(hash_partitioned)
    write_task = ray.remote(write_partitioned)

    def save(base: str) -> None:
        paths = partition_paths(base, partitions)
        ray.get([actor.save.remote(path) for actor, path in zip(actors, paths, strict=True)])

    bar = Progress("dedupe", len(session.todo)) if progress and session.todo else None
    hashing: deque[tuple[Unit, list[Any]]] = deque()
    writing: deque[tuple[Unit, Any]] = deque()
    pending = iter(session.todo)
    exact = True  # False once a write failed after later files reached the actors: checkpoints would be wrong

    def refill() -> None:
        while len(hashing) < FILES_IN_FLIGHT and (unit := next(pending, None)) is not None:
            hashing.append((unit, hash_task.remote(spec, unit.inputs[0], partitions)))

    def drain(limit: int) -> None:
        nonlocal exact
        while len(writing) > limit:
            unit, ref = writing.popleft()
            result = ray.get(ref)
            summary.add(result)
            if result.failed:
                exact = False
                continue
            if exact:
                session.record(unit, result)
            if bar:
                bar.update(result)

    try:
        refill()
        while hashing and exact:
            unit, (status_ref, keys_ref, *part_refs) = hashing.popleft()
            refill()
            status = ray.get(status_ref)
            if status is not None:
                summary.add(status)
                break
            seen_refs = [actor.check_and_insert.remote(ref) for actor, ref in zip(actors, part_refs, strict=False)]
            writing.append((unit, write_task.remote(job, unit, keys_ref, *seen_refs)))
            drain(FILES_IN_FLIGHT)
            if exact and session.due():
                drain(0)
                if exact:
                    session.checkpoint(save)
        drain(0)
        if exact:
            session.checkpoint(save)
            if summary.units_failed == 0:
                session.finish(save, describe_partitions(ray.get([actor.shape.remote() for actor in actors])))
    finally:
        if bar:
            bar.close()
        for actor in actors:
            ray.kill(actor)
