"""Build a planned curriculum into a manifest: draw each pool's instances from its stream and interleave them.

Phase order: every pool's instances are spread evenly over the phase with seeded jitter (instance j of a pool that
supplies n of them sorts at (j + u) / n, u uniform in [0, 1)), so any prefix of >= 10k instances keeps each ratio
within a few instances of its target, while neighbouring instances still come from randomly chosen sources.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from pathlib import Path

import numpy as np

from dolma_py.exec.runner import RunSummary, summarized_run, summary_file
from dolma_py.exec.units import UnitResult
from dolma_py.manifest import Manifest, ManifestError, PhaseInfo, write_manifest
from mixers.curriculum.planner import Plan

STREAM, ORDER, VALIDATION = 0, 1, 2
"""Domains of the seeded generators, so the stream, phase order and validation order never share draws."""


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def stream_slots(seed: int, pool: str, size: int, start: int, count: int) -> np.ndarray:
    """Pool-relative slots at stream positions `[start, start + count)`; pass e is a permutation seeded by (pool, e)."""
    parts = []
    position, end = start, start + count
    while position < end:
        epoch, offset = divmod(position, size)
        take = min(size - offset, end - position)
        perm = np.random.default_rng([seed, STREAM, _name_key(pool), epoch]).permutation(size)
        parts.append(perm[offset : offset + take])
        position += take
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def interleave(counts: list[int], seed: int, phase_index: int) -> np.ndarray:
    """Order of rows (concatenated per pool, `counts[p]` each) spreading every pool evenly with seeded jitter."""
    rng = np.random.default_rng([seed, ORDER, phase_index])
    keys = np.concatenate([(np.arange(n) + rng.random(n)) / n for n in counts if n]) if any(counts) else np.zeros(0)
    return np.argsort(keys, kind="stable")


def fingerprint(plan: Plan) -> str:
    """Hash of the spec and of every shard's path and size: equal fingerprints mean identical manifests."""
    shards = [(s.path, s.tokens) for s in plan.catalog.shards]
    payload = json.dumps([dataclasses.asdict(plan.spec), shards], sort_keys=True, default=str)
    return hashlib.sha1(payload.encode()).hexdigest()


def phase_rows(plan: Plan, phase_index: int) -> np.ndarray:
    """The `(instances, 3)` manifest rows of one phase, in training order."""
    phase = plan.phases[phase_index]
    seed = plan.spec.seed
    blocks, counts = [], []
    for source_index, alloc in enumerate(phase.allocations):
        if alloc.instances == 0:
            continue
        pool = plan.catalog.pools[alloc.pool]
        slots = stream_slots(seed, alloc.pool, pool.size, alloc.start, alloc.instances)
        blocks.append(plan.catalog.rows(pool, slots, source_index))
        counts.append(alloc.instances)
    rows = np.concatenate(blocks) if blocks else np.zeros((0, 3), dtype=np.uint64)
    return rows[interleave(counts, seed, phase_index)]


def validation_rows(plan: Plan) -> np.ndarray | None:
    """Every held-out instance, shuffled; None when the spec has no validation block."""
    if plan.spec.validation is None:
        return None
    index = {name: i for i, name in enumerate(plan.manifest_sources)}
    blocks = [
        plan.catalog.rows(pool, np.arange(pool.size), index[source]) for source, pool in plan.catalog.validation.items()
    ]
    rows = np.concatenate(blocks) if blocks else np.zeros((0, 3), dtype=np.uint64)
    return rows[np.random.default_rng([plan.spec.seed, VALIDATION]).permutation(rows.shape[0])]


def build_manifest(plan: Plan, destination: str, overwrite: bool = False) -> tuple[Path, bool]:
    """Write the manifest; returns (path, built). An up-to-date one (same fingerprint) is kept unless `overwrite`."""
    fp = fingerprint(plan)
    if not overwrite:
        try:
            if Manifest.open(destination).fingerprint == fp:
                return Path(destination), False
        except ManifestError:
            pass
    phases = []
    for i, phase in enumerate(plan.phases):
        info = PhaseInfo(phase.name, phase.instances, phase.tokens, dict(phase.mix), phase.realized)
        phases.append((info, phase_rows(plan, i)))
    path = write_manifest(
        destination,
        name=plan.spec.name,
        seed=plan.spec.seed,
        sequence_length=plan.spec.sequence_length,
        dtype=plan.catalog.dtype,
        eos_token_id=plan.catalog.eos_token_id,
        shards=plan.catalog.shards,
        sources=plan.manifest_sources,
        phases=phases,
        validation=validation_rows(plan),
        fingerprint=fp,
    )
    return path, True


def run_build(plan: Plan, destination: str, overwrite: bool = False) -> tuple[RunSummary, str, bool]:
    """`dolma curriculum build`: one unit, the manifest, built under the run lock of its parent directory (the
    manifest directory itself is swapped in whole); returns the summary, where it was written (inside the
    manifest) and whether the manifest was built."""
    destination = destination.rstrip("/")
    where = summary_file(destination, "curriculum")
    with summarized_run("curriculum", where, [destination], units_total=1) as summary:
        _, built = build_manifest(plan, destination, overwrite)
        if built:
            counters = {
                "phases": len(plan.phases),
                "instances": sum(p.instances for p in plan.phases),
                "tokens": sum(p.tokens for p in plan.phases),
            }
            summary.add(UnitResult(key=destination, counters=counters))
        else:
            summary.units_skipped = 1
    return summary, where, built
