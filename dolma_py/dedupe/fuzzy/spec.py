"""What every fuzzy-dedupe stage needs to know: the MinHash parameters, the plan's files and the work layout.

A document's key is `file_index << 32 | line_index` (its file's position in the sorted plan, its 0-based line), so
sorting keys is plan order. Work files live under `<work>/` (an underscore directory, never data): per document
file, `signatures/<index>.runs` (sorted `(band_key, doc_key)` records, 16 little-endian bytes each),
`.lengths` (int64 code points per line, -1 for a bad line), `.ids.json` and, with estimated verification, `.sigs`
(the full signature of each line, num_hashes uint64) or, with exact verification, `.shingles` (each line's sorted
distinct shingle hashes, uint64, concatenated) and `.shingle_counts` (int64 per line); per bucket partition,
`buckets/<p>.edges` (sorted distinct `(doc, first)` uint64 pairs); and `clusters.bin` (rows of
`doc, cluster_id, kept, size`, uint64, sorted by doc).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dolma_py.config.dedupe import DedupeConfig
from dolma_py.config.schema import COMPRESSION_NAMES
from dolma_py.errors import ConfigError
from dolma_py.io.paths import is_s3, join

LINE_BITS = 32
"""Bits of a doc_key holding the line index: files of up to 2^32 lines, plans of up to 2^21 files (so that a
cluster id, a doc_key, is exact as a JSON number read as a float64)."""

MAX_FILES = 1 << 21


@dataclass(frozen=True)
class FuzzySpec:
    """The MinHash parameters and options every unit is bound to (part of each unit's fingerprint)."""

    attribute: str
    ngram_length: int
    num_bands: int
    band_size: int
    seed: int
    norm: tuple[bool, bool, bool, bool, bool]  # lowercase, strip_punctuation, strip_digits, numbers, diacritics
    hashing: str
    keep: str
    jaccard_threshold: float | None
    jaccard: str
    partitions: int
    work: str
    batch_size: int
    skip_bad_lines: bool
    input_codec: str | None
    output_codec: str | None

    @classmethod
    def from_config(cls, config: DedupeConfig, num_files: int, default_work: str) -> FuzzySpec:
        """The spec of a run over `num_files` document files; it does not name them, so a plan that gains files
        keeps the fingerprints of the units it had."""
        minhash = config.dedupe.minhash
        assert minhash is not None
        norm = config.dedupe.text_normalization
        work = (
            join(config.work_dir.output, "_minhash", config.dedupe.experiment)
            if config.work_dir.output
            else default_work
        )
        if is_s3(work):
            raise ConfigError(
                f"fuzzy dedupe memory-maps its work files, which cannot live on S3 ({work}); set "
                "work_dir.output to a local or shared directory"
            )
        if num_files > MAX_FILES:
            raise ConfigError(f"fuzzy dedupe takes at most {MAX_FILES} document files, got {num_files}")
        return cls(
            attribute=config.dedupe.attribute_name,
            ngram_length=minhash.ngram_length,
            num_bands=minhash.num_bands,
            band_size=minhash.band_size,
            seed=minhash.seed,
            norm=(
                norm.lowercase,
                norm.strip_punctuation,
                norm.strip_digits,
                norm.normalize_numbers,
                norm.strip_diacritics,
            ),
            hashing=minhash.hashing,
            keep=minhash.keep,
            jaccard_threshold=minhash.jaccard_threshold,
            jaccard=minhash.jaccard,
            partitions=minhash.partitions,
            work=os.path.abspath(work),
            batch_size=config.batch_size,
            skip_bad_lines=config.skip_bad_lines,
            input_codec=_codec(config.compression.input),
            output_codec=_codec(config.compression.output or config.compression.input),
        )

    @property
    def num_hashes(self) -> int:
        return self.num_bands * self.band_size

    @property
    def verify(self) -> bool:
        return self.jaccard_threshold is not None

    @property
    def exact(self) -> bool:
        """Candidate pairs are verified by the exact Jaccard of their shingle sets."""
        return self.verify and self.jaccard == "exact"

    def permutations(self) -> tuple[np.ndarray, np.ndarray]:
        """`a` in [1, p) and `b` in [0, p), drawn as datatrove draws them (numpy RandomState(seed))."""
        prime = np.uint64((1 << 61) - 1)
        gen = np.random.RandomState(self.seed)
        a = gen.randint(1, prime, dtype=np.uint64, size=self.num_hashes)
        b = gen.randint(0, prime, dtype=np.uint64, size=self.num_hashes)
        return a, b

    def signature_files(self, index: int) -> tuple[str, ...]:
        """The signatures stage's outputs for plan file `index`: runs, lengths, ids (and what verification reads:
        the full signatures, or the shingle sets and their sizes)."""
        base = join(self.work, "signatures", f"{index:07d}")
        files = (f"{base}.runs", f"{base}.lengths", f"{base}.ids.json")
        if self.exact:
            return (*files, f"{base}.shingles", f"{base}.shingle_counts")
        return (*files, f"{base}.sigs") if self.verify else files

    def edges_file(self, partition: int) -> str:
        return join(self.work, "buckets", f"{partition:05d}.edges")

    @property
    def clusters_file(self) -> str:
        return join(self.work, "clusters.bin")


def _codec(value: str | None) -> str | None:
    return "infer" if value is None else COMPRESSION_NAMES[value.lower()]


def doc_keys(index: int, lines: np.ndarray) -> np.ndarray:
    """The doc_keys of 0-based `lines` of plan file `index`."""
    return (np.uint64(index) << np.uint64(LINE_BITS)) | lines.astype(np.uint64)


def split_doc_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plan file indexes and 0-based lines of `keys` (the inverse of `doc_keys`)."""
    files = (keys >> np.uint64(LINE_BITS)).astype(np.int64)
    lines = (keys & np.uint64((1 << LINE_BITS) - 1)).astype(np.int64)
    return files, lines


def gather_by_file(keys: np.ndarray, load: Callable[[int], np.ndarray], out: np.ndarray) -> np.ndarray:
    """Fill `out[i]` with row `line` of `load(file)` for each doc_key `keys[i]`, loading each file's array once."""
    files, lines = split_doc_keys(keys)
    for index in np.unique(files).tolist():
        mask = files == index
        out[mask] = load(index)[lines[mask]]
    return out


def read_u64(path: str, columns: int) -> np.ndarray:
    """A work file of uint64 rows, memory-mapped (an empty file is an empty array)."""
    if os.path.getsize(path) == 0:
        return np.zeros((0, columns), dtype=np.uint64)
    return np.memmap(path, dtype="<u8", mode="r").reshape(-1, columns)
