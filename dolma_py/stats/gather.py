"""Reading what each pipeline stage left behind into plain, sorted records for the report.

Everything here reads local or S3 paths through `dolma_py/io` and returns data in a fixed order (sorted paths,
sorted names), so the same outputs always give the same page.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from dolma_py.errors import DataError
from dolma_py.io import paths
from dolma_py.io.documents import iter_lines, open_read
from dolma_py.io.storage import exists
from dolma_py.stats.attributes import FileStats, scan_file


@dataclass
class SourceCounts:
    """Documents and bytes (JSON line sizes, as mix reports count them) per source."""

    documents: Counter[str] = field(default_factory=Counter)
    bytes: Counter[str] = field(default_factory=Counter)


def document_counts(patterns: list[str]) -> SourceCounts:
    """Count documents and line bytes per `source` field over the document files."""
    counts = SourceCounts()
    for path in paths.expand(patterns):
        for line_no, raw in iter_lines(path):
            try:
                source = orjson.loads(raw).get("source") or "(none)"
            except (orjson.JSONDecodeError, AttributeError):
                raise DataError(path, line_no, "not a JSON object") from None
            counts.documents[str(source)] += 1
            counts.bytes[str(source)] += len(raw) + 1
    return counts


def attribute_stats(patterns: list[str]) -> FileStats:
    """`dolma stat`'s statistics over the attribute files, merged in sorted path order (in this process)."""
    merged = FileStats()
    for path in paths.expand(patterns):
        merged.merge(scan_file(path))
    return merged


def _group(path: str, pattern: str) -> str:
    """The first directory below a glob's fixed part (`attributes/<exp>/<source>/...` -> source), else '(all)'."""
    relative = path[len(paths.static_prefix(pattern).rstrip("/")) + 1 :]
    return relative.split("/", 1)[0] if "/" in relative else "(all)"


@dataclass
class DedupeRates:
    """Per group: documents, documents with a duplicate span, and duplicate characters; the run's summary."""

    documents: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    spans: Counter[str] = field(default_factory=Counter)
    summaries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def dedupe_rates(patterns: list[str]) -> DedupeRates:
    """Read dedupe's attribute files (any key with a positive-score span flags the document) and its summaries."""
    rates = DedupeRates()
    for pattern in patterns:
        for path in paths.expand([pattern]):
            group = _group(path, pattern)
            for line_no, raw in iter_lines(path):
                try:
                    attributes = orjson.loads(raw)["attributes"]
                    spans = [span for value in attributes.values() for span in value or () if span[2] > 0]
                except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
                    raise DataError(path, line_no, "not an attribute line with [start, end, score] spans") from None
                rates.documents[group] += 1
                rates.flagged[group] += bool(spans)
                rates.spans[group] += len(spans)
        summary = paths.join(paths.static_prefix(pattern), "_dolma_dedupe_summary.json")
        if exists(summary):
            with open_read(summary) as stream:
                rates.summaries.append((summary, orjson.loads(stream.read())))
    return rates


def token_counts(destinations: list[str]) -> dict[str, dict[str, int]]:
    """Per destination (named by its last path component): documents and tokens from the .csv.gz indexes."""
    out: dict[str, dict[str, int]] = {}
    for destination in destinations:
        name = destination.rstrip("/").rsplit("/", 1)[-1]
        documents = tokens = 0
        for path in paths.expand([paths.join(destination, "*.csv.gz")]):
            with open_read(path) as stream:  # decompressed by suffix
                for row in csv.reader(io.TextIOWrapper(stream, encoding="utf-8")):
                    documents += 1
                    tokens += int(row[1]) - int(row[0])
        out[name] = {"documents": documents, "tokens": tokens}
    return out


def read_json(path: str) -> Any:
    """A JSON file, local or S3 (a missing one raises `DataError` naming it)."""
    if not exists(path):
        raise DataError(path, None, "not found")
    with open_read(path) as stream:
        return orjson.loads(stream.read())


def manifests(directories: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(directory, manifest.json) of each curriculum manifest."""
    return [(directory, read_json(paths.join(directory, "manifest.json"))) for directory in directories]


def train_metrics(run_dirs: list[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(run directory, records of its metrics.jsonl)."""
    runs = []
    for run_dir in run_dirs:
        path = paths.join(run_dir, "metrics.jsonl")
        if not exists(path):
            raise DataError(path, None, "not found (is this a training run directory?)")
        runs.append((run_dir, [orjson.loads(raw) for _, raw in iter_lines(path) if raw.strip()]))
    return runs


_COMPARISON = re.compile(
    r"(?:@|\.attributes)\.([A-Za-z0-9_]+)(?:\[\d+\])*\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
)


def rule_thresholds(rules: dict[str, str]) -> dict[str, list[tuple[str, float]]]:
    """Attribute key -> (rule label, value) of each numeric comparison in the mix rules' expressions."""
    found: dict[str, list[tuple[str, float]]] = {}
    for rule, expression in sorted(rules.items()):
        for key, op, value in _COMPARISON.findall(expression):
            found.setdefault(key, []).append((f"{rule} {op}", float(value)))
    return found



@dataclass(frozen=True)
class Example:
    """A capped excerpt of one document: text segments, each with the attribute key that marks it (or None)."""

    doc_id: str
    segments: tuple[tuple[str, str | None], ...]
    cut_before: bool
    cut_after: bool
    scores: tuple[tuple[str, float], ...] = ()


def excerpt(doc_id: str, text: str, spans: list[tuple[int, int, float, str]], chars: int) -> Example:
    """At most `chars` code points of `text`, from a little before its first marked span, with the spans marked
    (offsets are code points, end exclusive; overlapping spans keep the earlier one). A span covering the whole
    text is a document-level score: it is listed in `scores` instead of marking everything."""
    whole = [(key, score) for s, e, score, key in spans if s <= 0 and e >= len(text)]
    spans = sorted((max(0, s), min(len(text), e), key) for s, e, _, key in spans if e > s and (s > 0 or e < len(text)))
    start = max(0, spans[0][0] - chars // 4) if spans else 0
    end = min(len(text), start + chars)
    segments: list[tuple[str, str | None]] = []
    cursor = start
    for span_start, span_end, key in spans:
        span_start, span_end = max(span_start, cursor), min(span_end, end)
        if span_start >= span_end:
            continue
        if span_start > cursor:
            segments.append((text[cursor:span_start], None))
        segments.append((text[span_start:span_end], key))
        cursor = span_end
    if cursor < end:
        segments.append((text[cursor:end], None))
    return Example(doc_id, tuple(segments), start > 0, end < len(text), tuple(sorted(whole)))


@dataclass
class MixStream:
    """One mix stream for the report: its report file, rules, thresholds per key, and examples per rule."""

    name: str
    report: dict[str, Any] | None
    rules: dict[str, str]
    thresholds: dict[str, list[tuple[str, float]]]
    dropped: dict[str, list[Example]] = field(default_factory=dict)
    kept: list[Example] = field(default_factory=list)
    scanned: int = 0
