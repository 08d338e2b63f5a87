"""Planning a dedupe run: the files in their defined order, their attribute files, and where checkpoints live."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import xxhash

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.dedupe.keys import KeySpec
from dolma_py.errors import ConfigError
from dolma_py.exec.units import Unit
from dolma_py.io import paths


@dataclass(frozen=True)
class DedupeJob:
    """What a unit needs besides its file: how to hash, what to write, and (read-only) which filter to read."""

    spec: KeySpec
    attribute: str
    filter_file: str
    partitions: int


def plan(config: DedupeConfig) -> list[Unit]:
    """One unit per documents file in sorted order (the order first occurrences are kept in).

    Fails before any work when a path has no `documents` component or the key is not a valid JSONPath.
    """
    if config.dedupe.documents is not None:
        from dolma_py.dedupe.jsonkey import compile_key  # the paragraph modes never import the JSONPath machinery

        try:
            compile_key(config.dedupe.documents.key)
        except (ValueError, ConfigError) as err:
            raise ConfigError(f"dedupe.documents.key: {err}") from None
    dedupe = config.dedupe
    experiment = paths.sanitize_name(dedupe.experiment)
    files = paths.expand(config.documents)
    if dedupe.file_partition and dedupe.num_partitions > 1:
        files = [f for f in files if file_partition(f, dedupe.num_partitions) == dedupe.partition_index]
    return [
        Unit(key=path, inputs=(path,), outputs=(paths.attributes_path(path, experiment, dedupe.document_dir),))
        for path in files
    ]


def file_partition(path: str, num_partitions: int) -> int:
    """The partition of a whole file under `file_partition` (a hash of its path, as dolma does, with xxh3)."""
    return xxhash.xxh3_64_intdigest(path.encode("utf-8")) % num_partitions


def state_directory(config: DedupeConfig) -> str:
    """Where this run's checkpoints live: one directory per (dedupe name, documents patterns).

    Under `work_dir.output` when set, else beside the filter in `<bloom_filter.file>.state/`. Keying by the
    patterns makes a run over other documents a new run (starting from the filter file as it is then), while a
    rerun over the same patterns resumes, or continues with files the patterns match since.
    """
    patterns = hashlib.sha256("\n".join(sorted(config.documents)).encode()).hexdigest()[:12]
    name = f"{paths.sanitize_name(config.dedupe.experiment)}-{patterns}"
    if config.work_dir.output:
        return os.path.join(config.work_dir.output, "dedupe-state", name)
    return os.path.join(f"{config.bloom_filter.file}.state", name)


def fingerprint(config: DedupeConfig, spec: KeySpec) -> dict[str, object]:
    """What a checkpoint must agree with to be resumed: everything that changes keys, scores or outputs."""
    bloom = config.bloom_filter
    return {
        "experiment": config.dedupe.experiment,
        "attribute": config.dedupe.attribute_name,
        "key_path": spec.key_path,
        "mode": spec.mode,
        "separator": spec.separator,
        "ngram_length": spec.ngram_length,
        "stride": spec.stride,
        "skip_short_paragraphs": spec.skip_short_paragraphs,
        "overlap_threshold": spec.overlap_threshold,
        "normalization": list(spec.normalization),
        "min_length": spec.min_length,
        "min_words": spec.min_words,
        "skip_empty": spec.skip_empty,
        "skip_bad_lines": spec.skip_bad_lines,
        "bloom_filter": os.path.abspath(bloom.file),
        "size_in_bytes": bloom.size_in_bytes,
        "estimated_doc_count": bloom.estimated_doc_count,
        "desired_false_positive_rate": bloom.desired_false_positive_rate,
        "seed": bloom.seed,
        "partitions": bloom.partitions,
        "num_partitions": config.dedupe.num_partitions,
        "partition_index": config.dedupe.partition_index,
        "file_partition": config.dedupe.file_partition,
    }


def summary_path(units: list[Unit]) -> str | None:
    """The run summary sits in the deepest directory containing every attribute file."""
    outputs = [path for unit in units for path in unit.outputs]
    return paths.join(paths.common_dir(outputs), "_dolma_dedupe_summary.json") if outputs else None
