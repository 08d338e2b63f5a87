"""Per-stream reports of `dolma mix`: a JSON file next to the shards and a table on the terminal.

The JSON holds no timings or absolute paths, so the same inputs and config give the same report bytes.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from mixers.stream.process import FORMAT_VERSION

if TYPE_CHECKING:
    from mixers.stream.pipeline import StreamPlan


@dataclass
class StreamReport:
    """What one stream read, kept, dropped (per rule) and wrote."""

    stream: str
    path: str
    status: str
    error: str | None = None
    fingerprint: str = ""
    format: int = 0  # the part format (FORMAT_VERSION) the fingerprint was computed under; 0 before it was recorded
    inputs_digest: str = ""
    files: int = 0
    documents_in: int = 0
    documents_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    shard_bytes: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    jq_errors: dict[str, int] = field(default_factory=dict)
    span_replaced_documents: int = 0
    rules: dict[str, str] = field(default_factory=dict)
    shards: list[dict[str, Any]] = field(default_factory=list)
    removed_stale: list[str] = field(default_factory=list)
    lenient: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, plan: StreamPlan) -> StreamReport:
        """Sum the stream's part manifests and list its shards."""
        totals: Counter[str] = Counter()
        for manifest in plan.manifests:
            totals.update(manifest["counters"])
        rules: dict[str, str] = {}
        if plan.config.filter is not None:
            rules.update({f"include[{i}]": e for i, e in enumerate(plan.config.filter.include)})
            rules.update({f"exclude[{i}]": e for i, e in enumerate(plan.config.filter.exclude)})
        rules.update({f"span_replacement[{i}]": r.span for i, r in enumerate(plan.config.span_replacement)})
        return cls(
            stream=plan.name,
            path=plan.report_path,
            status="done",
            fingerprint=plan.job.fingerprint(),
            format=FORMAT_VERSION,
            inputs_digest=plan.inputs_digest,
            files=len(plan.tasks),
            documents_in=totals["documents_in"],
            documents_out=totals["documents_out"],
            bytes_in=totals["bytes_in"],
            bytes_out=totals["bytes_out"],
            shard_bytes=sum(shard.size for shard in plan.shards),
            dropped={k.split(".", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith("dropped.")},
            jq_errors={k.split(".", 1)[1]: v for k, v in sorted(totals.items()) if k.startswith("jq_errors.")},
            span_replaced_documents=totals["span_replaced_documents"],
            rules=rules,
            shards=[
                {"file": s.path.rsplit("/", 1)[-1], "bytes": s.size, "documents": s.documents} for s in plan.shards
            ],
        )

    @classmethod
    def load(cls, stream: str, path: str, data: dict[str, Any]) -> StreamReport:
        """A report written by an earlier run (the stream was skipped as complete)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "stream": stream, "path": path, "status": "skipped"})

    @classmethod
    def failed(cls, stream: str, path: str, error: str) -> StreamReport:
        return cls(stream=stream, path=path, status="failed", error=error)

    def to_json(self) -> bytes:
        """The report file's contents (its own location left out)."""
        data = asdict(self)
        del data["path"]
        return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


_REASONS = {
    "include": "  (no include rule matched)",
    "min_text_length": "  (text too short after span replacement)",
    "sample": "  (sampled out)",
}


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f}"


def print_table(reports: list[StreamReport], out: TextIO | None = None) -> None:
    """One row per stream, then the drops per rule and jq errors of each stream."""
    out = out or sys.stderr
    header = (
        f"{'stream':<20}{'status':>9}{'files':>7}{'docs in':>12}{'docs out':>12}"
        f"{'MB in':>10}{'MB out':>10}{'shards':>8}"
    )
    print(header, file=out)
    for r in reports:
        print(
            f"{r.stream:<20}{r.status:>9}{r.files:>7}{r.documents_in:>12,}{r.documents_out:>12,}"
            f"{_mb(r.bytes_in):>10}{_mb(r.bytes_out):>10}{len(r.shards):>8}",
            file=out,
        )
    for r in reports:
        if r.error:
            print(f"  {r.stream}: {r.error}", file=out)
        for key, count in r.dropped.items():
            rule = f"  {r.rules[key]}" if key in r.rules else _REASONS.get(key, "")
            print(f"  {r.stream}: dropped {count:,} by {key}{rule}", file=out)
        if r.lenient:
            print(f"  {r.stream}: lenient options (bad input counted, not failed): {', '.join(r.lenient)}", file=out)
        for key, count in r.jq_errors.items():
            print(f"  {r.stream}: {count:,} jq errors in {key}  {r.rules.get(key, '')} (counted as no match)", file=out)
        if r.status != "failed":
            print(f"  {r.stream}: report {r.path}", file=out)
