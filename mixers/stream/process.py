"""The per-file unit of `dolma mix`: join attributes, filter, replace spans, sample, and write a part.

Each input file becomes one part (its surviving documents, in input order, as compressed chunks) plus a
manifest written last: the chunk table and the file's counters. Shards are assembled from parts afterwards,
so a file's output depends only on the file and the stream's config, whichever process runs it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from dolma_py.config.mix import FilterConfig, SpanReplacementConfig
from dolma_py.docmodel import DocumentError, check_document, parse_line
from dolma_py.errors import DataError
from dolma_py.exec.fingerprint import fingerprint
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io.atomic import atomic_write, write_bytes
from dolma_py.io.documents import iter_lines, iter_parquet_rows
from dolma_py.io.paths import is_parquet
from mixers.stream.filters import DocFilter, JqFailure, compile_span_rules
from mixers.stream.parts import ChunkWriter
from mixers.stream.reader import AttributeFile
from mixers.stream.sampling import Sampler
from mixers.stream.spans import SpanError, gather_spans, replace_spans

FORMAT_VERSION = 2
"""Bumped whenever part contents or the fingerprint's recipe change for the same config, so stale parts are never
reused, and a stream an older version wrote is redone instead of refused (2: fingerprints through exec/)."""

UNICODE_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode White_Space, what dolma's (Rust) `trim` strips before measuring `min_text_length`."""

_DUMPS_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE
"""Keys sorted, as dolma (serde_json) writes them."""


@dataclass(frozen=True)
class StreamJob:
    """Everything that decides a stream's part contents; identical jobs produce identical bytes."""

    name: str
    filter: FilterConfig | None
    span_replacement: tuple[SpanReplacementConfig, ...]
    discard_fields: tuple[str, ...]
    min_text_length: int
    sample: float
    upsample: float
    seed: int
    input_codec: str | None
    infer_input_codec: bool
    output_codec: str | None
    max_shard_bytes: int
    fail_on_jq_error: bool

    def fingerprint(self) -> str:
        """A short hash of the job (and the part format), naming the stream's staging directory; like every config
        fingerprint it leaves out `fail_on_jq_error`, so a lenient rerun reuses the parts a strict run finished."""
        return fingerprint(FORMAT_VERSION, self)[:16]


@dataclass(frozen=True)
class FileTask:
    """One input file of a stream: its attribute files and where its part and manifest go."""

    job: StreamJob
    doc_path: str
    attribute_paths: tuple[str, ...]
    part_path: str
    manifest_path: str


def stripped_utf8_length(text: str, at_least: int) -> int:
    """UTF-8 length of `text` without surrounding Unicode whitespace; exact whenever it is below `at_least`."""
    stripped = text.strip(UNICODE_WHITESPACE)
    if len(stripped) >= at_least:  # every code point takes at least one byte
        return len(stripped)
    return len(stripped.encode("utf-8", "surrogatepass"))


def read_stream_documents(path: str, codec: str | None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """(line number, size in bytes as JSON, document object) for a JSON-lines or Parquet documents file; a line that
    is not a valid document (`docmodel.check_document`) is a `DataError` naming the file, line and field."""
    if is_parquet(path):
        rows: Iterator[tuple[int, int, Any]] = ((n, len(orjson.dumps(doc)), doc) for n, doc in iter_parquet_rows(path))
    else:
        rows = ((line_no, len(raw), raw) for line_no, raw in iter_lines(path, codec))
    for line_no, size, item in rows:
        try:
            yield line_no, size, check_document(parse_line(item) if type(item) is bytes else item)
        except DocumentError as err:
            raise DataError(path, line_no, str(err)) from None


def process_file(unit: Unit) -> UnitResult:
    """Run one `FileTask` (the unit's params); raises `DataError` naming the file and line on bad input."""
    task: FileTask = unit.params
    job = task.job
    counters: Counter[str] = Counter()
    doc_filter = DocFilter(job.filter, counters, job.fail_on_jq_error)
    span_rules = compile_span_rules(list(job.span_replacement), counters, job.fail_on_jq_error)
    sampler = Sampler(job.seed, job.name, job.sample, job.upsample)
    codec = "infer" if job.infer_input_codec else job.input_codec
    readers = [AttributeFile(path, task.doc_path, codec) for path in task.attribute_paths]
    provenance = os.path.basename(task.doc_path.rstrip("/"))
    discard = job.discard_fields
    min_length = job.min_text_length
    documents = bytes_in = docs_out = bytes_out = 0

    with atomic_write(task.part_path, compress=False) as sink:
        writer = ChunkWriter(sink, job.output_codec, job.max_shard_bytes)
        for line_no, size, doc in read_stream_documents(task.doc_path, codec):
            documents += 1
            bytes_in += size
            if readers:
                merge_attributes(doc, readers, line_no)
            try:
                reason = doc_filter.drop_reason(doc) if doc_filter.active else None
                if reason is not None:
                    counters[f"dropped.{reason}"] += 1
                    continue
                text = doc["text"]
                if span_rules:
                    spans = gather_spans(doc, span_rules)
                    if spans:
                        replaced = replace_spans(text, spans)
                        if replaced is not text:
                            doc["text"] = text = replaced
                            counters["span_replaced_documents"] += 1
            except JqFailure as err:
                raise DataError(task.doc_path, line_no, str(err)) from None
            except SpanError as err:
                raise DataError(task.doc_path, line_no, str(err)) from None
            for field in discard:
                doc.pop(field, None)
            if min_length and stripped_utf8_length(text, min_length) < min_length:
                counters["dropped.min_text_length"] += 1
                continue
            copies = sampler.copies(doc.get("id")) if sampler.active else 1
            if not copies:
                counters["dropped.sample"] += 1
                continue
            metadata = doc.get("metadata")
            if type(metadata) is not dict:
                metadata = doc["metadata"] = {}
            metadata["provenance"] = f"{provenance}:{line_no}"
            line = orjson.dumps(doc, option=_DUMPS_OPTIONS)
            for _ in range(copies):
                writer.add(line)
            docs_out += copies
            bytes_out += len(line) * copies
        for reader in readers:
            reader.check_exhausted(documents)
        writer.flush()

    counters.update(documents_in=documents, bytes_in=bytes_in, documents_out=docs_out, bytes_out=bytes_out)
    manifest = {
        "input": task.doc_path,
        "part": task.part_path,
        "chunks": [[c.offset, c.length, c.documents] for c in writer.chunks],
        "counters": dict(sorted(counters.items())),
    }
    write_bytes(task.manifest_path, orjson.dumps(manifest), compress=False)
    return UnitResult(key=unit.key, documents=documents, counters=dict(counters))


def merge_attributes(doc: dict[str, Any], readers: list[AttributeFile], line_no: int) -> None:
    """Join each attribute set's line into `doc['attributes']`, as dolma does (later sets win on equal keys)."""
    doc_id = doc.get("id")
    merged: dict[str, Any] = {}
    for reader in readers:
        merged.update(reader.attributes_for(doc_id, line_no))
    if merged:
        existing = doc.get("attributes")
        if type(existing) is dict:
            existing.update(merged)
        else:
            doc["attributes"] = merged
