"""Stage 1 of `dolma tokens`: one input file -> its documents' ids in a local intermediate "tokenized file".

A tokenized file `<stem>` is four files: `<stem>.tok` (raw ids, all documents concatenated), `<stem>.ids` (document ids,
UTF-8, concatenated), `<stem>.docs.npy` (int64 rows `token_end, id_end, line`; starts are the previous row's ends)
and `<stem>.json` (counts; written last, so its presence marks the unit complete).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from queue import Empty, Queue
from typing import Any, TypeVar

import numpy as np

from dolma_py.docmodel import DocumentError, check_field, check_object, check_optional_fields
from dolma_py.errors import DataError
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import atomic_write
from dolma_py.io.documents import iter_records
from dolma_py.tokens.tokenizer import DocumentEncoder, FastPathMismatch, TokenizerSettings

T = TypeVar("T")
SUFFIXES = (".tok", ".ids", ".docs.npy", ".json")
BATCH_DOCS = 1024
BATCH_CHARS = 4 << 20
VERIFY_EVERY = 128
"""Documents on lines 1, 129, 257, ... of every file are also encoded by HF when the fast BPE path is used."""
VERIFY_MAX_CHARS = 1 << 20
"""Longer documents are not checked against HF: its encodings hold tens of bytes per character (a 200 MB document
needed more than 24 GB), where the fast path needs a few."""
PREFETCH = 2


@dataclass(frozen=True)
class TokenizeParams:
    """What a stage-1 unit needs besides its input path (picklable, identical for every unit of a run)."""

    settings: TokenizerSettings
    dtype: str
    text_field: str
    id_field: str | None
    skip_bad_lines: bool
    threads: int = 1
    id_types: tuple[type, ...] = (str,)  # what `fields.id_field_type` accepts


def field_lookup(obj: dict, dotted: str) -> tuple[bool, Any]:
    """(present, value) of a dotted field name (`metadata.text`), as dolma reads nested fields; a null is present."""
    *parents, last = dotted.split(".")
    value: Any = obj
    for part in parents:
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, dict) and last in value:
        return True, value[last]
    return False, None


_ID_PHRASES = {str: "a string", int: "an int", float: "a float"}


def stem_for(work_dir: str, path: str, fingerprint: str) -> str:
    """Intermediate file stem: a hash of the input path and the run fingerprint, so stale results are never reused."""
    digest = hashlib.sha1(f"{path}\n{fingerprint}".encode()).hexdigest()[:20]
    return os.path.join(work_dir, digest)


def outputs_for(stem: str) -> tuple[str, ...]:
    """The unit's output files, in the order they are written (the `.json` marker last)."""
    return tuple(stem + suffix for suffix in SUFFIXES)


@lru_cache(maxsize=2)
def _encoder(settings: TokenizerSettings, threads: int) -> DocumentEncoder:
    return DocumentEncoder(settings, threads=threads)


def _documents(path: str, params: TokenizeParams, counts: dict[str, int]) -> Iterator[tuple[str, str, int]]:
    """(text, id, line) for each non-empty document; empty ones and (when allowed) bad lines are only counted."""
    path_hash = hashlib.sha256(path.encode()).hexdigest() if params.id_field is None else ""
    id_expected = " or ".join(_ID_PHRASES[t] for t in params.id_types)
    for line_no, obj in iter_records(path):
        try:
            if isinstance(obj, DocumentError):
                raise obj
            check_optional_fields(check_object(obj))
            present, text = field_lookup(obj, params.text_field)
            check_field(params.text_field, text, present, (str,), "a string")
            if params.id_field is None:
                doc_id = f"{path_hash}-{line_no}"
            else:
                present, value = field_lookup(obj, params.id_field)
                doc_id = str(check_field(params.id_field, value, present, params.id_types, id_expected))
        except DocumentError as err:
            if not params.skip_bad_lines:
                suffix = " (fields.id_field_type)" if err.field == params.id_field and err.kind == "wrong_type" else ""
                raise DataError(path, line_no, f"{err}{suffix}") from None
            counts["bad_lines"] += 1
            continue
        text = text.strip()  # dolma tokenizes the stripped text and skips documents that are then empty
        if not text:
            counts["empty"] += 1
            continue
        yield text, doc_id, line_no


def _batches(docs: Iterator[tuple[str, str, int]]) -> Iterator[list[tuple[str, str, int]]]:
    batch: list[tuple[str, str, int]] = []
    chars = 0
    for doc in docs:
        batch.append(doc)
        chars += len(doc[0])
        if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _prefetch(items: Iterator[T]) -> Iterator[T]:
    """Yield `items`, produced `PREFETCH` ahead in a thread: parsing overlaps the encoding, which releases the GIL."""
    queue: Queue[tuple[bool, Any]] = Queue(maxsize=PREFETCH)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((True, item))
            queue.put((False, None))
        except BaseException as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            queue.put((False, err))

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            ok, item = queue.get()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                thread.join(0.01)


def _write(path: str, outputs: tuple[str, ...], params: TokenizeParams, use_fast: bool) -> dict[str, int]:
    tok_path, ids_path, docs_path, _ = outputs
    encoder = _encoder(params.settings, params.threads)
    dtype = np.dtype(params.dtype)
    counts = {"documents": 0, "tokens": 0, "empty": 0, "bad_lines": 0}
    rows: list[tuple[int, int, int]] = []
    token_end = id_end = no_tokens = 0
    with atomic_write(tok_path, compress=False) as tok_out, atomic_write(ids_path, compress=False) as ids_out:
        for batch in _prefetch(_batches(_documents(path, params, counts))):
            verify = [i for i, (text, _, line_no) in enumerate(batch)
                      if line_no % VERIFY_EVERY == 1 and len(text) <= VERIFY_MAX_CHARS]
            encoded = encoder.encode([text for text, _, _ in batch], verify=verify, use_fast=use_fast)
            id_chunks = []
            for (_, doc_id, line_no), ids in zip(batch, encoded, strict=False):
                if not ids:
                    no_tokens += 1
                    continue
                raw_id = doc_id.encode("utf-8")
                id_chunks.append(raw_id)
                token_end += len(ids)
                id_end += len(raw_id)
                rows.append((token_end, id_end, line_no))
            flat: list[int] = []
            for ids in encoded:
                flat += ids
            tok_out.write(np.array(flat, dtype=dtype).tobytes())
            ids_out.write(b"".join(id_chunks))
    counts["empty"] += no_tokens  # the parsing thread has finished: it no longer touches `counts`
    counts["documents"] = len(rows)
    counts["tokens"] = token_end
    table = np.array(rows, dtype=np.int64).reshape(-1, 3)
    with atomic_write(docs_path, compress=False) as out:
        np.save(out, table, allow_pickle=False)
    return counts


def tokenize_file(params: TokenizeParams, unit: Unit) -> UnitResult:
    """Tokenize `unit.inputs[0]` into the tokenized file named by `unit.outputs`.

    If the fast BPE path disagrees with HF on a verified document, the whole file is redone with HF alone.
    """
    (path,) = unit.inputs
    fallback = 0
    try:
        counts = _write(path, unit.outputs, params, use_fast=True)
    except FastPathMismatch:
        fallback = 1
        counts = _write(path, unit.outputs, params, use_fast=False)
    with atomic_write(unit.outputs[3], compress=False) as out:
        out.write(json.dumps({"path": path, **counts}, sort_keys=True).encode())
    return UnitResult(
        key=unit.key,
        documents=counts["documents"],
        bad_lines=counts["bad_lines"],
        counters={"tokens": counts["tokens"], "empty_documents": counts["empty"], "fast_bpe_fallbacks": fallback},
    )


@dataclass
class TokenizedFile:
    """A completed stage-1 output, memory-mapped for stage 2."""

    source: str
    tokens: np.ndarray
    ids: np.ndarray
    docs: np.ndarray
    counts: dict[str, Any]

    @classmethod
    def open(cls, stem: str, dtype: np.dtype) -> TokenizedFile:
        """Open the four files of `stem`; empty token or id files become empty arrays (mmap cannot map 0 bytes)."""
        with open(stem + ".json", encoding="utf-8") as f:
            counts = json.load(f)
        docs = np.load(stem + ".docs.npy", mmap_mode="r")
        return cls(
            source=counts["path"],
            tokens=_map(stem + ".tok", dtype),
            ids=_map(stem + ".ids", np.dtype(np.uint8)),
            docs=docs,
            counts=counts,
        )

    def __len__(self) -> int:
        return int(self.docs.shape[0])

    def doc_lengths(self) -> np.ndarray:
        """Token count of every document, in file order."""
        ends = np.asarray(self.docs[:, 0])
        return np.diff(ends, prepend=0)


def _map(path: str, dtype: np.dtype) -> np.ndarray:
    if os.path.getsize(path) == 0:
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")
