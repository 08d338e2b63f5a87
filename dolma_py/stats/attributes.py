"""One streaming pass over an attribute file: dolma's per-key histograms plus quantile sketches.

For each attribute key dolma 1.2.1 tracks two span-level series, `<key>/score` and `<key>/length`
(`end - start`), one value per span; an empty span list counts as one span `(0, 0, 0.0)`, and fastText label
scores (`__label__` in the key) are capped at 1.0. We keep those exactly (`Buckets`) and add, per key, sketches
of the span scores and lengths and two document-level series: spans per document and characters covered by
spans per document. Values are buffered and folded in batches. A file's partial holds, per series, dolma's
file summary (at most `bins` bins) and a fixed-size sketch, so partials and the merge take bounded memory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from dolma_py.errors import DataError
from dolma_py.io.documents import iter_lines
from dolma_py.stats.buckets import Buckets
from dolma_py.stats.sketch import KllSketch

BATCH = 1 << 15
"""Values buffered per series before they are folded into its buckets and sketch."""

SERIES = ("score", "length")
"""dolma's span-level series, reported as `<key>/<series>`."""
DOCUMENT_SERIES = ("spans", "covered")
"""Our document-level series: spans per document, characters inside spans per document."""


@dataclass
class Series:
    """One series of numbers: exact dolma buckets, a sketch, and a buffer not yet folded into them."""

    buckets: Buckets = field(default_factory=Buckets)
    sketch: KllSketch = field(default_factory=KllSketch)
    pending: list[Any] = field(default_factory=list)

    def add(self, value: int | float) -> None:
        self.pending.append(value)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.buckets.add(self.pending)
            self.sketch.add(np.asarray(self.pending, dtype=np.float64))
            self.pending = []

    def merge(self, other: Series) -> None:
        self.flush()
        other.flush()
        self.buckets.merge(other.buckets)
        self.sketch.merge(other.sketch)

    def to_json(self, bins: int) -> dict[str, Any]:
        """dolma's per-file summary at `bins` bins (what dolma merges), and the sketch."""
        self.flush()
        return {"summary": self.buckets.summarize(bins), "sketch": self.sketch.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Series:
        return cls(Buckets.from_summary(data["summary"]), KllSketch.from_json(data["sketch"]))


@dataclass
class KeyStats:
    """Everything tracked for one attribute key."""

    documents: int = 0
    series: dict[str, Series] = field(default_factory=lambda: {n: Series() for n in SERIES + DOCUMENT_SERIES})

    def merge(self, other: KeyStats) -> None:
        self.documents += other.documents
        for name, series in other.series.items():
            self.series[name].merge(series)

    def to_json(self, bins: int) -> dict[str, Any]:
        return {"documents": self.documents, "series": {n: s.to_json(bins) for n, s in self.series.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KeyStats:
        return cls(data["documents"], {n: Series.from_json(s) for n, s in data["series"].items()})


@dataclass
class FileStats:
    """The statistics of one or more attribute files; keys in order of first appearance, as dolma lists them."""

    documents: int = 0
    keys: dict[str, KeyStats] = field(default_factory=dict)

    def merge(self, other: FileStats) -> None:
        """Fold in the next file's statistics (the driver merges in plan order)."""
        self.documents += other.documents
        for key, stats in other.keys.items():
            if key in self.keys:
                self.keys[key].merge(stats)
            else:
                self.keys[key] = stats

    def to_json(self, bins: int) -> bytes:
        """The partial a unit writes: per key and series, dolma's file summary at `bins` bins and the sketch."""
        keys = {k: v.to_json(bins) for k, v in self.keys.items()}
        return orjson.dumps({"documents": self.documents, "keys": keys})

    @classmethod
    def from_json(cls, raw: bytes) -> FileStats:
        data = orjson.loads(raw)
        return cls(data["documents"], {k: KeyStats.from_json(v) for k, v in data["keys"].items()})


def _spans(path: str, line_no: int, key: str, value: Any) -> list[tuple[int, int, float]]:
    """Validate one attribute's value: a list of [start, end, score] with integer offsets and a finite score."""
    if not isinstance(value, list):
        raise DataError(path, line_no, f"attribute {key!r}: expected a list of [start, end, score] spans")
    spans = []
    for span in value:
        if not (isinstance(span, list) and len(span) == 3):
            raise DataError(path, line_no, f"attribute {key!r}: a span must be [start, end, score], got {span!r}")
        start, end, score = span
        if type(start) is not int or type(end) is not int:
            raise DataError(path, line_no, f"attribute {key!r}: span offsets must be integers, got {span!r}")
        if type(score) not in (int, float) or not math.isfinite(score):
            raise DataError(path, line_no, f"attribute {key!r}: span score must be a finite number, got {span!r}")
        spans.append((start, end, float(score)))
    return spans


def scan_file(path: str, name_regex: str | None = None) -> FileStats:
    """One pass over an attribute file (jsonl, .gz or .zst; local or S3); bad lines fail with file:line."""
    pattern = re.compile(name_regex) if name_regex else None
    stats = FileStats()
    for line_no, raw in iter_lines(path):
        try:
            row = orjson.loads(raw)
        except orjson.JSONDecodeError as err:
            raise DataError(path, line_no, f"not JSON ({err}); is this an attributes file?") from None
        attributes = row.get("attributes") if isinstance(row, dict) else None
        if not isinstance(attributes, dict):
            raise DataError(path, line_no, "missing field 'attributes' (an object); is this an attributes file?")
        stats.documents += 1
        for key, value in attributes.items():
            if pattern and not pattern.search(key):
                continue
            spans = _spans(path, line_no, key, value) or [(0, 0, 0.0)]
            tracked = stats.keys.get(key)
            if tracked is None:
                tracked = stats.keys[key] = KeyStats()
            tracked.documents += 1
            score, length = tracked.series["score"], tracked.series["length"]
            capped = "__label__" in key
            covered = 0
            for start, end, value_ in spans:
                score.add(min(value_, 1.0) if capped else value_)
                length.add(end - start)
                covered += end - start
            tracked.series["spans"].add(len(value))
            tracked.series["covered"].add(covered)
    return stats
