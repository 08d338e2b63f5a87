"""`dolma warc` as a stage: one unit per WARC file, writing one `.jsonl.gz` of dolma 1.2.1's documents.

Per file: frame the records (`framing`), parse them in batches with fastwarc (`records`), decode each HTML body as
dolma does (`charset`), run the pre-taggers on the HTML, extract the text (`linearizers`), run the post-taggers
on the text, and write one line per document. Records that give no document are counted by why; malformed ones
are also listed with their offset. A truncated or corrupt compressed file fails its unit with the offset reached,
and leaves no output; the other files go on.

Taggers come from the tagger registry, handed in by the CLI as `WarcJob.make_tagger` (the core never imports the
`taggers` package), and are used through their batch API: pre-taggers see documents with empty text and
`metadata.html`, post-taggers the extracted text, as in dolma.
"""

from __future__ import annotations

import datetime
import gzip
import importlib.util
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any, Protocol

import orjson
import zstandard
from isal.isal_zlib import error as IsalError

from dolma_py.config.tag import TaggerSpec
from dolma_py.config.warc import WarcConfig
from dolma_py.data import Document, TaggerOutput
from dolma_py.errors import ConfigError, DataError
from dolma_py.exec.runner import ExecOptions, RunSummary, run_stage, summary_directory, summary_file
from dolma_py.exec.units import Unit, UnitResult
from dolma_py.io import paths
from dolma_py.io.atomic import atomic_write, crash_point
from dolma_py.io.compression import decompressing_reader
from dolma_py.io.storage import open_raw
from dolma_py.warc.charset import decode_body
from dolma_py.warc.dates import dolma_timestamp, parse_date
from dolma_py.warc.framing import Framer, Malformed, RawRecord, TooLarge
from dolma_py.warc.linearizers import Linearizer, make_linearizer
from dolma_py.warc.records import Record, parse_batch
from dolma_py.warc.urls import normalize_url

BATCH_BYTES = 32 << 20
"""A batch is cut at `batch_size` records or this many bytes of records, whichever comes first."""
MAX_LISTED = 1000
"""Malformed records listed per file in the run summary (all are counted)."""
SOURCE_VERSION = "v0"
"""dolma 1.2.1 writes this `version` on every document."""
_NO_DOCUMENT = frozenset(("request", "metadata", "revisit", "conversion", "continuation"))
"""WARC-Types counted and skipped as framed, without parsing (dolma reads only warcinfo, response, resource)."""
_READ_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, IsalError, zstandard.ZstdError)


class Tagger(Protocol):
    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        """One `{key: [Span, ...]}` per document."""


TaggerFactory = Callable[[str, dict[str, Any]], Tagger]
ModuleLoader = Callable[[Iterable[str]], None]


@dataclass(frozen=True)
class WarcJob:
    """What every unit needs from the config."""

    source_name: str
    linearizer: str
    pre: tuple[TaggerSpec, ...]
    pre_skip: bool
    post: tuple[TaggerSpec, ...]
    post_skip: bool
    store_html: bool
    skip_http_errors: bool
    max_record_bytes: int
    batch_size: int
    tagger_modules: tuple[str, ...] = ()
    make_tagger: TaggerFactory | None = None
    load_modules: ModuleLoader | None = None


def make_job(config: WarcConfig, make_tagger: TaggerFactory | None, load_modules: ModuleLoader | None) -> WarcJob:
    """The job of a config; `make_tagger`/`load_modules` come from the tagger registry when taggers are named."""
    pre, post = config.pre.specs, config.post.specs
    if (pre or post) and make_tagger is None:
        raise ConfigError("pre/post taggers need a tagger registry")
    return WarcJob(
        source_name=config.source_name,
        linearizer=config.linearizer,
        pre=pre,
        pre_skip=config.pre.skip,
        post=post,
        post_skip=config.post.skip,
        store_html=config.store_html_in_metadata,
        skip_http_errors=config.skip_http_errors,
        max_record_bytes=config.max_record_bytes,
        batch_size=config.batch_size,
        tagger_modules=tuple(config.tagger_modules),
        make_tagger=make_tagger,
        load_modules=load_modules,
    )


def output_name(relative: str) -> str:
    """dolma's output name: every extension of the file name, less `.gz` and `.warc`, then `.jsonl.gz`."""
    directory, _, name = relative.rpartition("/")
    base, dot, extensions = name.partition(".")
    extensions = (dot + extensions).replace(".gz", "").replace(".warc", "")
    return f"{directory}/{base}{extensions}.jsonl.gz" if directory else f"{base}{extensions}.jsonl.gz"


def plan(config: WarcConfig) -> list[Unit]:
    """One unit per WARC file, sorted; outputs mirror the inputs below their common directory (per destination)."""
    groups: list[tuple[str, list[str]]] = []
    if len(config.destination) == 1:
        groups.append((config.destination[0], paths.expand(config.documents)))
    else:
        groups.extend(
            (dest, paths.expand([pattern])) for dest, pattern in zip(config.destination, config.documents, strict=True)
        )
    units: dict[str, Unit] = {}
    for destination, sources in groups:
        root = paths.common_dir(sources)
        for source in sources:
            relative = source[len(root) + 1 :] if root else source.lstrip("/")
            output = paths.join(destination, output_name(relative))
            units.setdefault(source, Unit(key=source, inputs=(source,), outputs=(output,)))
    return [units[key] for key in sorted(units)]


_LINEARIZERS: dict[str, Linearizer] = {}
_TAGGERS: dict[str, list[tuple[str, Tagger]]] = {}


def _linearizer(name: str) -> Linearizer:
    if name not in _LINEARIZERS:
        _LINEARIZERS[name] = make_linearizer(name)
    return _LINEARIZERS[name]


def _taggers(job: WarcJob, specs: tuple[TaggerSpec, ...]) -> list[tuple[str, Tagger]]:
    """(attribute prefix, tagger) per spec, built once per process; the prefix is dolma's `<name>__<name>__`."""
    key = repr((specs, job.tagger_modules))
    if key not in _TAGGERS:
        if job.load_modules is not None:
            job.load_modules(job.tagger_modules)
        assert job.make_tagger is not None or not specs
        built = []
        for spec in specs:
            name = paths.sanitize_name(spec.name)
            built.append((f"{name}__{name}__", job.make_tagger(spec.name, dict(spec.options))))  # type: ignore[misc]
        _TAGGERS[key] = built
    return _TAGGERS[key]


def build_taggers(job: WarcJob) -> None:
    """Build the taggers in the driver before any file is read, so a bad name or option fails the run up front."""
    _taggers(job, job.pre)
    _taggers(job, job.post)


def _tag(taggers: list[tuple[str, Tagger]], docs: list[Document]) -> list[tuple[int, dict[str, list[Any]]]]:
    """(number of attribute keys, attributes) per document: the keys count for `skip`, as dolma counts them."""
    found: list[tuple[int, dict[str, list[Any]]]] = [(0, {}) for _ in docs]
    for prefix, tagger in taggers:
        for index, output in enumerate(tagger.tag_batch(docs)):
            keys, attributes = found[index]
            for key, spans in output.items():
                attributes[prefix + paths.sanitize_name(key)] = [span.to_json() for span in spans]
            found[index] = (keys + len(output), attributes)
    return found


@dataclass
class _FileState:
    """What one file's records share: the warcinfo record's date and id, counters, malformed records."""

    path: str
    added: str
    counters: Counter[str]
    bad_records: list[dict[str, Any]]
    warc_date: datetime.datetime | None = None
    warc_filename: str = ""
    documents: int = 0

    def malformed(self, offset: int, reason: str) -> None:
        self.counters["malformed_records"] += 1
        if len(self.bad_records) < MAX_LISTED:
            self.bad_records.append({"file": self.path, "offset": offset, "error": reason})


def _candidate(job: WarcJob, state: _FileState, record: Record) -> tuple[Document, str] | None:
    """The document of a response or resource record, text still empty, and its `created`; None (counted) if
    it gives none."""
    if not record.http_ok:
        state.malformed(record.offset, "HTTP headers of the response cannot be parsed")
        return None
    if job.skip_http_errors and (record.http_status or 0) >= 400:
        state.counters["skipped_http_error"] += 1
        return None
    content_type = record.content_type.strip().lower()
    if content_type and "html" not in content_type:
        state.counters["skipped_non_html"] += 1
        return None
    html = decode_body(record.body, record.http_charset)
    if not html:
        state.counters["skipped_undecodable" if record.body.strip() else "skipped_empty"] += 1
        return None
    if not record.payload_digest or not record.target_uri:
        state.counters["skipped_no_digest_or_uri"] += 1
        return None
    digest = record.payload_digest.split(":")
    if len(digest) < 2:
        state.malformed(record.offset, f"WARC-Payload-Digest {record.payload_digest!r} has no algorithm prefix")
        return None
    try:
        url = normalize_url(record.target_uri)
    except Exception as err:  # noqa: BLE001 - a URL that cannot be normalized costs its record only
        state.malformed(record.offset, f"WARC-Target-URI {record.target_uri!r} cannot be normalized: {err}")
        return None
    created = parse_date(record.date) or record.record_date
    warc_date = state.warc_date or record.record_date
    metadata: dict[str, Any] = {"warc_url": record.target_uri, "url": url, "html": html}
    metadata["warc_date"] = dolma_timestamp(warc_date) if warc_date else ""
    metadata["warc_filename"] = state.warc_filename
    metadata["content_type"] = record.content_type
    metadata["uncompressed_offset"] = record.offset
    doc = Document(id=digest[1].lower(), text="", source=job.source_name, metadata=metadata)
    return doc, dolma_timestamp(created) if created else ""


def _extract_batch(job: WarcJob, state: _FileState, batch: list[RawRecord], sink: IO[bytes]) -> None:
    found: list[tuple[Document, str]] = []
    for record in parse_batch(batch):
        state.counters["records"] += 1
        if isinstance(record, Malformed):
            state.malformed(record.offset, record.reason)
        elif record.kind == "warcinfo":
            state.warc_date = record.record_date
            state.warc_filename = record.record_id or ""
        elif record.kind not in ("response", "resource"):
            state.counters[f"skipped_{record.kind}"] += 1
        elif (candidate := _candidate(job, state, record)) is not None:
            found.append(candidate)
    docs = [doc for doc, _ in found]
    pre = _tag(_taggers(job, job.pre), docs) if job.pre else [(0, {})] * len(docs)
    kept = []
    for (doc, created), (keys, attributes) in zip(found, pre, strict=True):
        if job.pre_skip and keys == 0:
            state.counters["skipped_pre_taggers"] += 1
            continue
        kept.append((doc, created, attributes))
    linearizer = _linearizer(job.linearizer)
    for doc, _, _ in kept:
        doc.text = linearizer.linearize(doc.metadata["html"])
    post = _tag(_taggers(job, job.post), [doc for doc, _, _ in kept]) if job.post else [(0, {})] * len(kept)
    lines = []
    for (doc, created, attributes), (keys, post_attributes) in zip(kept, post, strict=True):
        if job.post_skip and keys == 0:
            state.counters["skipped_post_taggers"] += 1
            continue
        if not job.store_html:
            del doc.metadata["html"]
        line = {
            "id": doc.id,
            "text": doc.text,
            "source": doc.source,
            "created": created,
            "added": state.added,
            "version": SOURCE_VERSION,
            "metadata": doc.metadata,
            "attributes": {**attributes, **post_attributes},
        }
        lines.append(orjson.dumps(line))
    if lines:
        sink.write(b"\n".join(lines) + b"\n")
    state.documents += len(lines)


def extract_file(job: WarcJob, unit: Unit) -> UnitResult:
    """Extract one WARC file; its output appears only if the whole file was read."""
    (source,) = unit.inputs
    (output,) = unit.outputs
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    state = _FileState(path=source, added=dolma_timestamp(now), counters=Counter(), bad_records=[])
    with atomic_write(output) as sink, open_raw(source) as raw, decompressing_reader(raw, source) as stream:
        framer = Framer(stream, job.max_record_bytes)
        batch: list[RawRecord] = []
        size = 0
        try:
            for item in framer:
                if isinstance(item, RawRecord):
                    if item.kind in _NO_DOCUMENT:
                        state.counters["records"] += 1
                        state.counters[f"skipped_{item.kind}"] += 1
                        continue
                    batch.append(item)
                    size += len(item.data)
                    if len(batch) >= job.batch_size or size >= BATCH_BYTES:
                        _extract_batch(job, state, batch, sink)
                        batch, size = [], 0
                elif isinstance(item, Malformed):
                    state.counters["records"] += 1
                    state.malformed(item.offset, item.reason)
                elif isinstance(item, TooLarge):
                    state.counters["records"] += 1
                    state.counters["skipped_too_large"] += 1
        except _READ_ERRORS as err:
            raise DataError(
                source,
                None,
                f"compressed stream is truncated or corrupt after uncompressed offset {framer.decompressed}, in "
                f"the record at offset {framer.offset}: {err}; no output written",
            ) from None
        if batch:
            _extract_batch(job, state, batch, sink)
    crash_point("warc:output_written")  # tests: a kill between a unit's output and its marker
    return UnitResult(
        key=unit.key,
        documents=state.documents,
        counters=dict(state.counters),
        bad_records=sorted(state.bad_records, key=lambda record: record["offset"]),
    )


def check_extra(linearizer: str) -> None:
    """Fail before any work, naming the missing packages, when the `warc` extra is not installed."""
    needed = ("fastwarc", linearizer, "w3lib", "url_normalize", "charset_normalizer", "dateparser")
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"dolma warc needs the warc extra (missing: {', '.join(missing)}): pip install 'dolma-py[warc]'"
        )


def run_warc(
    config: WarcConfig,
    make_tagger: TaggerFactory | None = None,
    load_modules: ModuleLoader | None = None,
    *,
    progress: bool = True,
) -> tuple[RunSummary, str]:
    """Plan and run `dolma warc`; returns the summary and where it was written (beside the outputs)."""
    check_extra(config.linearizer)
    job = make_job(config, make_tagger, load_modules)
    build_taggers(job)
    units = plan(config)
    where = summary_file(summary_directory([paths.parent(unit.outputs[0]) for unit in units]), "warc")
    options = ExecOptions(
        processes=config.processes,
        ray_address=config.ray_address,
        overwrite=config.overwrite or config.ignore_existing,
        progress=progress,
    )
    return run_stage("warc", units, partial(extract_file, job), options, where), where
