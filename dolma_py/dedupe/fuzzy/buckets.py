"""Stage 2, one unit per bucket partition: the external merge of every file's run slice into candidate edges.

The merge (Rust, `_rust.minhash_merge_runs`) memory-maps the runs and holds one record per run in a heap, so it
streams whatever the partition's size; each document of a bucket is joined to the bucket's first (smallest)
doc_key. With `jaccard_threshold`, an edge is kept only if the two documents' signatures agree on at least that
fraction of values (the estimated Jaccard), checked in blocks. Memory: the partition's distinct edges.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from dolma_py import _rust
from dolma_py.dedupe.fuzzy.signatures import partition_bounds
from dolma_py.dedupe.fuzzy.spec import FuzzySpec, gather_by_file, read_u64
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import write_bytes

VERIFY_BLOCK = 65536
"""Edges whose signatures are compared at a time (two blocks of num_hashes uint64 each in memory)."""


def buckets_unit(spec: FuzzySpec, unit: Unit) -> UnitResult:
    """Merge partition `unit.params` of every run into its sorted distinct edges (verified if asked)."""
    partition = unit.params
    bounds = partition_bounds(spec.partitions)
    low, high = bounds[partition], bounds[partition + 1]
    runs = [path for path in unit.inputs if path.endswith(".runs")]
    starts, ends = [], []
    for path in runs:
        band_keys = read_u64(path, 2)[:, 0]
        starts.append(int(np.searchsorted(band_keys, np.uint64(low), side="left")))
        ends.append(len(band_keys) if high == 1 << 64 else int(np.searchsorted(band_keys, np.uint64(high), "left")))
    edges = _rust.minhash_merge_runs(runs, starts, ends)
    candidates = len(edges)
    if spec.verify and candidates:
        edges = edges[verified(spec, edges)]
    write_bytes(unit.outputs[0], np.ascontiguousarray(edges, dtype="<u8").tobytes(), compress=False)
    counters = {"candidate_edges": candidates, "edges": len(edges)}
    return UnitResult(key=unit.key, counters=counters)


def verified(spec: FuzzySpec, edges: np.ndarray) -> np.ndarray:
    """Per edge: do the two documents' signatures agree on at least `jaccard_threshold` of their values?"""
    @functools.cache
    def load(index: int) -> np.ndarray:  # memory-mapped, so every block after the first reads it from the cache
        return read_u64(spec.signature_files(index)[3], spec.num_hashes)

    def rows(keys: np.ndarray) -> np.ndarray:
        return gather_by_file(keys, load, np.empty((len(keys), spec.num_hashes), dtype=np.uint64))

    keep = np.empty(len(edges), dtype=bool)
    threshold = np.float64(spec.jaccard_threshold)
    for start in range(0, len(edges), VERIFY_BLOCK):
        block = edges[start:start + VERIFY_BLOCK]
        agree = (rows(block[:, 0]) == rows(block[:, 1])).mean(axis=1)
        keep[start:start + VERIFY_BLOCK] = agree >= threshold
    return keep


def edges_inputs(spec: FuzzySpec, num_files: int) -> tuple[str, ...]:
    """What every partition reads: each file's run (and signatures when verifying)."""
    files = [spec.signature_files(index) for index in range(num_files)]
    return tuple(path for outputs in files for path in (outputs[0], *outputs[3:]))


def ensure_dirs(spec: FuzzySpec) -> None:
    """The work directories exist before units write into them."""
    for sub in ("signatures", "buckets"):
        os.makedirs(os.path.join(spec.work, sub), exist_ok=True)
