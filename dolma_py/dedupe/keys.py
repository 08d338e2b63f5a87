"""Hashing one documents file into dedupe keys: compact NumPy columns the driver checks against the filter.

A file becomes *lines* (one per input line), *items* (the spans that can be flagged: a document or a paragraph)
and *keys* (64-bit hashes, in the order they are checked and inserted). Item `i` is scored on keys
`score_start[i]:key_start[i + 1]`; keys `key_start[i]:score_start[i]` are inserted without being scored (the single
n-gram of a paragraph that is matched whole, as dolma does). Keys of consecutive items are contiguous.
"""

from __future__ import annotations

import itertools
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dolma_py import text
from dolma_py.config.dedupe import DedupeConfig
from dolma_py.config.schema import COMPRESSION_NAMES
from dolma_py.dedupe.reader import DocLine, TextBatch, read_lines, text_batches
from dolma_py.errors import DataError, DolmaError
from dolma_py.exec.units import UnitResult
from dolma_py.io.documents import BadLine

if TYPE_CHECKING:
    from dolma_py.dedupe.jsonkey import Getter

# How each line's attribute is written (dolma's conventions, see docs/dedupe.md).
ATTR_NONE = 0  # no attribute key: bad lines, and empty texts in paragraph mode
ATTR_LIST = 1  # the key with the list of flagged spans, even when empty
ATTR_IF_FLAGGED = 2  # the key only when a span is flagged (documents that were checked)


@dataclass(frozen=True)
class KeySpec:
    """Everything deciding which keys a file hashes to; workers receive it, the filter sidecar records part of it."""

    mode: str  # "documents", "paragraphs" or "ngrams"
    key_path: str | None
    separator: str
    ngram_length: int
    stride: int
    skip_short_paragraphs: bool
    overlap_threshold: float
    normalization: tuple[bool, bool, bool, bool]  # lowercase, collapse_whitespace, strip_punctuation, strip_digits
    min_length: int
    min_words: int
    skip_empty: bool
    seed: int
    skip_bad_lines: bool
    batch_size: int
    num_partitions: int = 1  # dolma's key partitioning: only keys with hash % num_partitions == index are checked
    partition_index: int = 0
    input_codec: str | None = "infer"  # dolma's compression.input: "infer" (from the suffix), "gz", "zst" or None
    output_codec: str | None = "infer"  # compression.output, else compression.input: how attribute files are written

    @classmethod
    def from_config(cls, config: DedupeConfig, seed: int) -> KeySpec:
        dedupe = config.dedupe
        norm = dedupe.text_normalization
        paragraphs = dedupe.paragraphs
        ngram = paragraphs.by_ngram if paragraphs is not None else None
        if dedupe.documents is not None:
            mode = "documents"
        elif ngram is not None and ngram.ngram_length > 0:
            mode = "ngrams"
        else:
            mode = "paragraphs"
        return cls(
            mode=mode,
            key_path=dedupe.documents.key if dedupe.documents is not None else None,
            separator=paragraphs.paragraph_separator if paragraphs is not None else "\n",
            ngram_length=ngram.ngram_length if mode == "ngrams" else 0,
            stride=max(ngram.stride, 1) if mode == "ngrams" else 1,
            skip_short_paragraphs=ngram.skip_short_paragraphs if mode == "ngrams" else False,
            overlap_threshold=ngram.overlap_threshold if mode == "ngrams" else 1.0,
            normalization=(norm.lowercase, norm.collapse_whitespace, norm.strip_punctuation, norm.strip_digits),
            min_length=dedupe.min_length,
            min_words=dedupe.min_words,
            skip_empty=dedupe.skip_empty,
            seed=seed,
            skip_bad_lines=config.skip_bad_lines,
            batch_size=config.batch_size,
            num_partitions=dedupe.num_partitions if dedupe.partitions_keys else 1,
            partition_index=dedupe.partition_index if dedupe.partitions_keys else 0,
            input_codec=_codec(config.compression.input),
            output_codec=_codec(config.compression.output or config.compression.input),
        )

    def in_partition(self, keys: np.ndarray) -> np.ndarray | None:
        """Which keys belong to this run's partition; None without partitioning (all of them)."""
        if self.num_partitions == 1:
            return None
        return keys % np.uint64(self.num_partitions) == np.uint64(self.partition_index)

    def hashing_identity(self) -> dict[str, object]:
        """The fields that must agree between the run that built a filter and any run that reads it."""
        lowercase, collapse, punctuation, digits = self.normalization
        return {
            "keys": "paragraphs" if self.mode == "paragraphs" else self.mode,
            "ngram_length": self.ngram_length,
            "stride": self.stride,
            "normalization": {"lowercase": lowercase, "collapse_whitespace": collapse,
                              "strip_punctuation": punctuation, "strip_digits": digits},
            "word_mode": "bounds",
            "seed": self.seed,
        }

    def text_normalization(self) -> text.Normalization:
        lowercase, collapse, punctuation, digits = self.normalization
        return text.Normalization(
            lowercase=lowercase, collapse_whitespace=collapse, strip_punctuation=punctuation, strip_digits=digits
        )


def _codec(value: str | None) -> str | None:
    """A `compression.*` value as `iter_lines` takes it: "infer" when unset."""
    return "infer" if value is None else COMPRESSION_NAMES[value.lower()]


def _empty_i64() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class FileKeys:
    """The keys of one file plus what is needed to turn lookups into attribute lines."""

    path: str
    ids: list[str | None] = field(default_factory=list)
    attr_mode: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))  # per line
    line_items: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))  # per line + 1
    item_start: np.ndarray = field(default_factory=_empty_i64)  # code points
    item_end: np.ndarray = field(default_factory=_empty_i64)
    key_start: np.ndarray = field(default_factory=_empty_i64)  # per item + 1 (contiguous)
    score_start: np.ndarray = field(default_factory=_empty_i64)  # per item
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    active: np.ndarray | None = None  # per key: checked and inserted (None: all; False: another partition's)
    documents: int = 0
    bad_lines: int = 0

    def lookup(self, op: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """`op` (check-and-insert or contains) on the active keys; inactive keys answer 'not seen'."""
        if self.active is None:
            return op(self.keys)
        seen = np.zeros(len(self.keys), dtype=bool)
        seen[self.active] = op(self.keys[self.active])
        return seen

    @property
    def active_keys(self) -> np.ndarray:
        return self.keys if self.active is None else self.keys[self.active]


@dataclass
class _Batch:
    """Per-batch columns before they are concatenated into a `FileKeys`."""

    ids: list[str | None]
    attr_mode: np.ndarray
    items_per_line: np.ndarray
    item_start: np.ndarray
    item_end: np.ndarray
    keys_per_item: np.ndarray
    scored_offset: np.ndarray  # per item: keys skipped before the scored ones
    keys: np.ndarray
    active: np.ndarray | None  # per key: in this run's partition (None: all)


def _spread(rows_per_doc: np.ndarray, doc_lines: np.ndarray, num_lines: int) -> np.ndarray:
    """Rows per document -> rows per line (bad lines get 0)."""
    out = np.zeros(num_lines, dtype=np.int64)
    out[doc_lines] = rows_per_doc
    return out


def _document_batch(spec: KeySpec, getter: Getter, path: str, batch: list[DocLine | BadLine]) -> _Batch:
    """Documents mode: one key per document (its JSONPath value), unless filtered out."""
    ids: list[str | None] = []
    attr_mode = np.full(len(batch), ATTR_NONE, dtype=np.int8)
    key_lines: list[int] = []
    key_values: list[str] = []
    text_len: list[int] = []
    for index, item in enumerate(batch):
        if isinstance(item, BadLine):
            ids.append(item.doc_id)
            continue
        ids.append(item.id)
        value = getter(item.raw)
        if not isinstance(value, str):
            found = "nothing" if value is None else f"a {type(value).__name__}"
            message = f"dedupe.documents.key {spec.key_path!r} must find a string, found {found}"
            raise DataError(path, item.line, message)
        key_lines.append(index)
        key_values.append(value)
        text_len.append(len(item.text))
    norm = spec.text_normalization()
    normalized = text.normalize_texts(key_values, norm) if any(spec.normalization) else key_values
    keep = np.ones(len(normalized), dtype=bool)
    if spec.skip_empty:
        keep &= np.array([bool(v.strip()) for v in normalized], dtype=bool)
    if spec.min_length:
        keep &= np.array([len(v) >= spec.min_length for v in normalized], dtype=bool)
    if spec.min_words:
        keep &= text.word_counts(normalized) >= spec.min_words
    lines = np.asarray(key_lines, dtype=np.int64)
    kept = [v for v, k in zip(normalized, keep.tolist(), strict=False) if k]
    keys = text.hash_texts(kept, seed=spec.seed)
    active = spec.in_partition(keys)
    # dolma writes an empty list for a document it does not check (filtered out, or another partition's key)
    checked = keep.copy()
    if active is not None:
        checked[keep] = active
    attr_mode[lines] = np.where(checked, ATTR_IF_FLAGGED, ATTR_LIST)
    num_items = len(kept)
    return _Batch(
        ids=ids,
        attr_mode=attr_mode,
        items_per_line=_spread(keep.astype(np.int64), lines, len(batch)),
        item_start=np.zeros(num_items, dtype=np.int64),
        item_end=np.asarray(text_len, dtype=np.int64)[keep],
        keys_per_item=np.ones(num_items, dtype=np.int64),
        scored_offset=np.zeros(num_items, dtype=np.int64),
        keys=keys,
        active=active,
    )


def _paragraph_batch(spec: KeySpec, batch: TextBatch) -> _Batch:
    """Paragraph modes: items are paragraphs; keys are paragraph hashes or n-gram hashes."""
    ids, lines, texts = batch.ids, batch.doc_lines, batch.texts
    attr_mode = np.full(len(ids), ATTR_NONE, dtype=np.int8)
    attr_mode[lines[batch.nonempty]] = ATTR_LIST
    options = dict(
        separator=spec.separator,
        normalization=spec.text_normalization(),
        seed=spec.seed,
        min_length=spec.min_length,
        min_words=spec.min_words,
        skip_empty=spec.skip_empty,
    )
    if spec.mode == "paragraphs":
        result = text.paragraph_hashes(texts, **options)
        num_items = len(result.hashes)
        return _Batch(
            ids=ids,
            attr_mode=attr_mode,
            items_per_line=_spread(np.diff(result.offsets), lines, len(ids)),
            item_start=result.start,
            item_end=result.end,
            keys_per_item=np.ones(num_items, dtype=np.int64),
            scored_offset=np.zeros(num_items, dtype=np.int64),
            keys=result.hashes,
            active=spec.in_partition(result.hashes),
        )
    result = text.paragraph_ngram_hashes(texts, spec.ngram_length, stride=spec.stride, **options)
    counts = np.diff(result.ngram_offsets)
    # dolma: a paragraph with fewer than 2 n-grams is matched whole (its n-gram, if any, is still inserted),
    # unless skip_short_paragraphs, which drops paragraphs without n-grams and scores the rest by n-grams.
    if spec.skip_short_paragraphs:
        whole = np.zeros(len(counts), dtype=bool)
        kept = counts > 0
    else:
        whole = counts < 2
        kept = np.ones(len(counts), dtype=bool)
    keys_per_item = counts + whole
    # a paragraph matched whole has its own hash as one more key, after its n-grams (one pass over the n-grams)
    keys = np.insert(result.ngram_hashes, result.ngram_offsets[1:][whole], result.hashes[whole])
    # dolma partitions the n-grams but checks a paragraph matched whole in every partition
    active = spec.in_partition(keys)
    if active is not None:
        active[(np.cumsum(keys_per_item) - 1)[whole]] = True
    paragraph_doc = np.repeat(np.arange(len(texts)), np.diff(result.offsets))
    per_doc = np.bincount(paragraph_doc[kept], minlength=len(texts))
    return _Batch(
        ids=ids,
        attr_mode=attr_mode,
        items_per_line=_spread(per_doc, lines, len(ids)),
        item_start=result.start[kept],
        item_end=result.end[kept],
        keys_per_item=keys_per_item[kept],
        scored_offset=np.where(whole, counts, 0)[kept],
        keys=keys,  # dropped paragraphs have no keys, so `keys` needs no filtering
        active=active,
    )


def _offsets(counts: np.ndarray) -> np.ndarray:
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _assemble(spec: KeySpec, path: str, batches: list[_Batch], documents: int, bad_lines: int) -> FileKeys:
    if not batches:
        return FileKeys(path=path)
    cat = np.concatenate
    key_start = _offsets(cat([b.keys_per_item for b in batches]))
    return FileKeys(
        path=path,
        ids=[doc_id for b in batches for doc_id in b.ids],
        attr_mode=cat([b.attr_mode for b in batches]),
        line_items=_offsets(cat([b.items_per_line for b in batches])),
        item_start=cat([b.item_start for b in batches]).astype(np.int64, copy=False),
        item_end=cat([b.item_end for b in batches]).astype(np.int64, copy=False),
        key_start=key_start,
        score_start=key_start[:-1] + cat([b.scored_offset for b in batches]),
        keys=cat([b.keys for b in batches]).astype(np.uint64, copy=False),
        active=cat([b.active for b in batches]) if spec.num_partitions > 1 else None,
        documents=documents,
        bad_lines=bad_lines,
    )


def _check_bad_lines(spec: KeySpec, path: str, bad: list[BadLine]) -> None:
    """Bad lines fail the file unless `skip_bad_lines`."""
    if bad and not spec.skip_bad_lines:
        raise DataError(path, bad[0].line, bad[0].error)


def hash_file(spec: KeySpec, path: str) -> FileKeys:
    """Read `path` and hash it into keys."""
    batches: list[_Batch] = []
    documents = bad_lines = 0
    if spec.key_path is not None:
        from dolma_py.dedupe.jsonkey import compile_key

        getter = compile_key(spec.key_path)
        items = read_lines(path, spec.input_codec)
        while batch := list(itertools.islice(items, spec.batch_size)):
            bad = [item for item in batch if isinstance(item, BadLine)]
            _check_bad_lines(spec, path, bad)
            documents, bad_lines = documents + len(batch) - len(bad), bad_lines + len(bad)
            batches.append(_document_batch(spec, getter, path, batch))
    else:
        for text_batch in text_batches(path, spec.batch_size, spec.input_codec):
            _check_bad_lines(spec, path, text_batch.bad)
            documents, bad_lines = documents + len(text_batch.doc_lines), bad_lines + len(text_batch.bad)
            batches.append(_paragraph_batch(spec, text_batch))
    return _assemble(spec, path, batches, documents, bad_lines)


def hash_unit(spec: KeySpec, path: str) -> FileKeys | UnitResult:
    """Hash one file; failures come back as a failed `UnitResult` (exceptions with custom fields don't pickle)."""
    try:
        return hash_file(spec, path)
    except DolmaError as err:
        return UnitResult(key=path, error=str(err))
    except Exception as err:  # noqa: BLE001 - reported per file, never crashes the pool
        return UnitResult(key=path, error=f"{type(err).__name__}: {err}", details=traceback.format_exc())


def single_threaded_rust() -> None:
    """Worker initializer: one rayon thread per hashing process, since the processes already fill the cores."""
    os.environ["RAYON_NUM_THREADS"] = "1"
