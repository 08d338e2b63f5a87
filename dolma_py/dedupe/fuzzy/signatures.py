"""Stage 1, one unit per document file: MinHash band keys of every document, as one sorted run per file.

The run holds `(band_key, doc_key)` for every band of every document with a signature, sorted; since a bucket
partition is a band-key range (`partition_bounds`), each partition is one contiguous slice of every run. Memory:
the file's records (16 bytes per band per document) while they are sorted.
"""

from __future__ import annotations

import numpy as np
import orjson

from dolma_py import _rust
from dolma_py.dedupe.fuzzy.spec import LINE_BITS, FuzzySpec, doc_keys
from dolma_py.dedupe.reader import text_batches
from dolma_py.errors import DataError
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import crash_point, write_bytes


def partition_bounds(partitions: int) -> list[int]:
    """Band keys of partition `p` are in `[bounds[p], bounds[p + 1])`: equal ranges of the 64-bit key space."""
    return [(p << 64) // partitions for p in range(partitions)] + [1 << 64]


def signatures_unit(spec: FuzzySpec, unit: Unit) -> UnitResult:
    """Read the file, sign its documents in Rust batches, write its sorted run, lengths, ids (and what
    verification reads)."""
    index, path = unit.params, unit.inputs[0]
    a, b = spec.permutations()
    ids: list[str | None] = []
    lengths: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    docs: list[np.ndarray] = []
    sigs: list[np.ndarray] = []
    shingles: list[np.ndarray] = []
    shingle_counts: list[np.ndarray] = []
    documents = bad_lines = signed = 0
    for batch in text_batches(path, spec.batch_size, spec.input_codec):
        if batch.bad and not spec.skip_bad_lines:
            raise DataError(path, batch.bad[0].line, batch.bad[0].error)
        offset = len(ids)
        if offset + len(batch.ids) > 1 << LINE_BITS:
            raise DataError(path, offset + 1, f"fuzzy dedupe takes files of at most 2^{LINE_BITS} lines; split it")
        ids.extend(batch.ids)
        band_keys, has, text_lengths, signatures = _rust.minhash_signatures(
            batch.texts,
            ngram_length=spec.ngram_length,
            norm=spec.norm,
            a=a,
            b=b,
            band_size=spec.band_size,
            keep_signatures=spec.verify and not spec.exact,
            hashing=spec.hashing,
        )
        if spec.exact:
            values, counts = _rust.minhash_shingle_sets(
                batch.texts, ngram_length=spec.ngram_length, norm=spec.norm, hashing=spec.hashing
            )
            line_counts = np.zeros(len(batch.ids), dtype=np.int64)
            line_counts[batch.doc_lines] = counts
            shingles.append(values)
            shingle_counts.append(line_counts)
        line_lengths = np.full(len(batch.ids), -1, dtype=np.int64)
        line_lengths[batch.doc_lines] = text_lengths
        lengths.append(line_lengths)
        keyed = doc_keys(index, batch.doc_lines[has] + offset)
        keys.append(band_keys[has].reshape(-1))
        docs.append(np.repeat(keyed, spec.num_bands))
        if signatures is not None:
            line_sigs = np.zeros((len(batch.ids), spec.num_hashes), dtype=np.uint64)
            line_sigs[batch.doc_lines] = signatures
            sigs.append(line_sigs)
        documents += len(batch.doc_lines)
        bad_lines += len(batch.bad)
        signed += int(np.count_nonzero(has))
    all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
    all_docs = np.concatenate(docs) if docs else np.zeros(0, dtype=np.uint64)
    order = np.lexsort((all_docs, all_keys))
    records = np.empty((len(order), 2), dtype="<u8")
    records[:, 0] = all_keys[order]
    records[:, 1] = all_docs[order]
    outputs = unit.outputs
    write_bytes(outputs[0], records.tobytes(), compress=False)
    write_bytes(outputs[1], _concat(lengths, np.int64).astype("<i8").tobytes(), compress=False)
    write_bytes(outputs[2], orjson.dumps(ids), compress=False)
    if spec.exact:
        write_bytes(outputs[3], _concat(shingles, np.uint64).astype("<u8").tobytes(), compress=False)
        write_bytes(outputs[4], _concat(shingle_counts, np.int64).astype("<i8").tobytes(), compress=False)
    elif spec.verify:
        all_sigs = np.concatenate(sigs) if sigs else np.zeros((0, spec.num_hashes), dtype=np.uint64)
        write_bytes(outputs[3], all_sigs.astype("<u8").tobytes(), compress=False)
    crash_point("minhash:signatures_written")  # tests: a kill between a unit's outputs and its marker
    counters = {"signed_documents": signed}
    return UnitResult(key=unit.key, documents=documents, bad_lines=bad_lines, counters=counters)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
