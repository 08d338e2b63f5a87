"""Stage 2, one unit per bucket partition: the external merge of every file's run slice into candidate edges.

The merge (Rust, `_rust.minhash_merge_runs`) memory-maps the runs and holds one record per run in a heap, so it
streams whatever the partition's size; each document of a bucket is joined to the bucket's first (smallest)
doc_key. With `jaccard_threshold`, an edge is kept only if the two documents' Jaccard is at least that: estimated
(the fraction of equal signature values) or exact (their stored shingle sets), checked in blocks. Memory: the
partition's distinct edges, and a block's signatures or shingle sets.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

import numpy as np

from dolma_py import _rust
from dolma_py.dedupe.fuzzy.signatures import partition_bounds
from dolma_py.dedupe.fuzzy.spec import FuzzySpec, gather_by_file, read_u64, split_doc_keys
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
    """Per edge: is the two documents' Jaccard, estimated or exact, at least `jaccard_threshold`?"""
    measure = _exact_jaccard(spec) if spec.exact else _estimated_jaccard(spec)
    keep = np.empty(len(edges), dtype=bool)
    threshold = np.float64(spec.jaccard_threshold)
    for start in range(0, len(edges), VERIFY_BLOCK):
        keep[start : start + VERIFY_BLOCK] = measure(edges[start : start + VERIFY_BLOCK]) >= threshold
    return keep


def _estimated_jaccard(spec: FuzzySpec) -> Callable[[np.ndarray], np.ndarray]:
    """Per edge of a block: the share of equal values in the two documents' signatures."""

    @functools.cache
    def load(index: int) -> np.ndarray:  # memory-mapped, so every block after the first reads it from the cache
        return read_u64(spec.signature_files(index)[3], spec.num_hashes)

    def rows(keys: np.ndarray) -> np.ndarray:
        return gather_by_file(keys, load, np.empty((len(keys), spec.num_hashes), dtype=np.uint64))

    return lambda block: (rows(block[:, 0]) == rows(block[:, 1])).mean(axis=1)


def _exact_jaccard(spec: FuzzySpec) -> Callable[[np.ndarray], np.ndarray]:
    """Per edge of a block: the exact Jaccard of the two documents' shingle sets (Rust, in parallel)."""

    @functools.cache
    def load(index: int) -> tuple[np.ndarray, np.ndarray]:  # a file's sets (memory-mapped) and where each starts
        files = spec.signature_files(index)
        counts = np.fromfile(files[4], dtype="<i8")
        return read_u64(files[3], 1).reshape(-1), np.concatenate(([0], np.cumsum(counts)))

    def measure(block: np.ndarray) -> np.ndarray:
        docs, inverse = np.unique(block, return_inverse=True)
        values, offsets = shingle_pool(docs, load)
        sets = inverse.reshape(block.shape).astype(np.int64)
        return _rust.minhash_exact_jaccard(values, offsets, sets[:, 0].copy(), sets[:, 1].copy())

    return measure


def shingle_pool(docs: np.ndarray, load: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """The shingle sets of the sorted doc_keys `docs`, concatenated in that order, and their offsets."""
    files, lines = split_doc_keys(docs)
    parts = []
    for index in np.unique(files).tolist():  # docs are sorted, so each file's docs are one contiguous slice
        values, offsets = load(index)
        picked = lines[files == index]
        starts, sizes = offsets[picked], offsets[picked + 1] - offsets[picked]
        # positions starts[k] .. starts[k] + sizes[k] of every picked set, in one vectorised gather
        firsts = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        parts.append(values[firsts + np.arange(int(sizes.sum()))])
        parts.append(sizes)
    values = np.concatenate(parts[0::2]) if parts else np.zeros(0, dtype=np.uint64)
    sizes = np.concatenate(parts[1::2]) if parts else np.zeros(0, dtype=np.int64)
    return np.ascontiguousarray(values, dtype=np.uint64), np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)


def edges_inputs(spec: FuzzySpec, num_files: int) -> tuple[str, ...]:
    """What every partition reads: each file's run (and signatures when verifying)."""
    files = [spec.signature_files(index) for index in range(num_files)]
    return tuple(path for outputs in files for path in (outputs[0], *outputs[3:]))


def ensure_dirs(spec: FuzzySpec) -> None:
    """The work directories exist before units write into them."""
    for sub in ("signatures", "buckets"):
        os.makedirs(os.path.join(spec.work, sub), exist_ok=True)
