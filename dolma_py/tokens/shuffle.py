"""Deterministic document order for `dolma tokens`: files interleaved proportionally, shuffled within windows.

All documents form one stream cut into `n_windows` windows of about `window` documents. Window k takes, from every
file f with n_f documents, its documents [ceil(k*n_f/K), ceil((k+1)*n_f/K)), so each window holds every file in
proportion; the window's documents are then permuted with a generator seeded by (seed, k). The order depends only on
the per-file document counts, the seed and the window size, never on the process count, and any window can be
rebuilt on its own in O(files + window) memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED_MASK = (1 << 64) - 1


def window_count(total_docs: int, window: int) -> int:
    """Number of windows for `total_docs` documents and a target of `window` documents per window."""
    return max(1, -(-total_docs // window))


def window_ranges(counts: np.ndarray, n_windows: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per file, the half-open range of its document indices that falls in window k."""
    n = counts.astype(np.int64)
    lo = (k * n + n_windows - 1) // n_windows
    hi = ((k + 1) * n + n_windows - 1) // n_windows
    return lo, hi


def window_order(counts: np.ndarray, n_windows: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(file index, document index) of window k's documents, in their shuffled output order."""
    lo, hi = window_ranges(counts, n_windows, k)
    sizes = hi - lo
    files = np.repeat(np.arange(len(counts), dtype=np.int64), sizes)
    firsts = np.repeat(lo - np.concatenate(([0], np.cumsum(sizes)[:-1])), sizes)
    docs = firsts + np.arange(files.size, dtype=np.int64)
    rng = np.random.default_rng([seed & SEED_MASK, k])
    perm = rng.permutation(files.size)
    return files[perm], docs[perm]


@dataclass(frozen=True)
class ShardPlan:
    """One output shard: the slices `[start, end)` of windows' shuffled orders it holds, in order."""

    index: int
    segments: tuple[tuple[int, int, int], ...]
    documents: int
    tokens: int


def plan_shards(counts: np.ndarray, lengths: np.ndarray, window: int, seed: int, max_tokens: int) -> list[ShardPlan]:
    """Cut the shuffled stream into shards of at most `max_tokens` tokens without splitting a document.

    `lengths` holds every document's token count, files concatenated in order (8 bytes per document in memory).
    A document longer than `max_tokens` gets a shard of its own.
    """
    n_windows = window_count(int(counts.sum()), window)
    file_base = np.cumsum(counts) - counts
    shards: list[ShardPlan] = []
    segments: list[tuple[int, int, int]] = []
    fill = docs_in_shard = 0

    def close() -> None:
        nonlocal segments, fill, docs_in_shard
        if docs_in_shard:
            shards.append(ShardPlan(len(shards), tuple(segments), docs_in_shard, fill))
        segments, fill, docs_in_shard = [], 0, 0

    for k in range(n_windows):
        files, docs = window_order(counts, n_windows, k, seed)
        if files.size == 0:
            continue
        cum = np.cumsum(lengths[file_base[files] + docs])
        start = 0
        while start < files.size:
            base = cum[start - 1] if start else 0
            end = int(np.searchsorted(cum, base + (max_tokens - fill), side="right"))
            if end == start:
                if docs_in_shard:
                    close()
                    continue
                end = start + 1  # an oversized document alone in its shard
            segments.append((k, start, end))
            fill += int(cum[end - 1] - base)
            docs_in_shard += end - start
            start = end
            if end < files.size or fill >= max_tokens:
                close()
    close()
    return shards
