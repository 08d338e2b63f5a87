"""Turning filter lookups into scores and dolma-format attribute lines, line-aligned with the documents."""

from __future__ import annotations

import numpy as np

from dolma_py import _rust
from dolma_py.dedupe.keys import ATTR_IF_FLAGGED, ATTR_LIST, FileKeys, KeySpec
from dolma_py.exec.units import UnitResult
from dolma_py.io.atomic import write_bytes
from dolma_py.io.documents import CODEC_SUFFIX


def item_scores(keys: FileKeys, seen: np.ndarray) -> np.ndarray:
    """Per item: the fraction of its scored keys that were already in the filter, in float32 as dolma computes it."""
    cumulative = np.zeros(len(seen) + 1, dtype=np.int64)
    np.cumsum(seen, out=cumulative[1:])
    ends = keys.key_start[1:]
    scored = ends - keys.score_start
    duplicates = cumulative[ends] - cumulative[keys.score_start]
    return duplicates.astype(np.float32) / np.maximum(scored, 1).astype(np.float32)


def flagged_items(scores: np.ndarray, threshold: float) -> np.ndarray:
    """dolma compares the float32 score with a float32 threshold, which decides the cases at the boundary."""
    return scores >= np.float32(threshold)


def attribute_lines(keys: FileKeys, attribute: str, scores: np.ndarray, threshold: float) -> bytes:
    """One `{"id": ..., "attributes": {attribute: [[start, end, score], ...]}}` line per input line; a score is
    written as the float64 value of its float32, as dolma's serde_json writes it."""
    flagged = flagged_items(scores, threshold)
    flagged_before = np.zeros(len(flagged) + 1, dtype=np.int64)
    np.cumsum(flagged, out=flagged_before[1:])
    first = flagged_before[keys.line_items]
    with_key = (keys.attr_mode == ATTR_LIST) | ((keys.attr_mode == ATTR_IF_FLAGGED) & (first[1:] > first[:-1]))
    return _rust.attribute_lines(
        attribute, keys.ids, with_key, first, keys.item_start[flagged], keys.item_end[flagged],
        scores[flagged].astype(np.float64),
    )


def write_attributes(path: str, keys: FileKeys, attribute: str, seen: np.ndarray, spec: KeySpec) -> UnitResult:
    """Score, write the attribute file atomically (in `spec.output_codec`; by default the suffix's), and report
    counts for the run summary."""
    threshold = spec.overlap_threshold
    scores = item_scores(keys, seen)
    codec_of = None if spec.output_codec == "infer" else "attributes" + CODEC_SUFFIX[spec.output_codec]
    write_bytes(path, attribute_lines(keys, attribute, scores, threshold), codec_of=codec_of)
    flagged = int(np.count_nonzero(flagged_items(scores, threshold)))
    counters = {"items": len(scores), "duplicate_items": flagged, "keys": len(keys.active_keys),
                "keys_seen": int(np.count_nonzero(seen))}
    return UnitResult(key=keys.path, documents=keys.documents, bad_lines=keys.bad_lines, counters=counters)

