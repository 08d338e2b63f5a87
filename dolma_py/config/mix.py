"""Schema of `dolma mix`, accepting dolma 1.2.1's mixer config unchanged, plus sampling and upsampling."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from dolma_py.config.schema import CompressionConfig, ExecConfig, WorkDirConfig, option

Syntax = Literal["jsonpath", "jq"]



@dataclasses.dataclass
class FilterConfig:
    """Which documents a stream keeps: any `include` rule matches (or there are none) and no `exclude` rule does."""

    include: list[str] = option(default_factory=list, help="keep a document if any of these expressions matches")
    exclude: list[str] = option(default_factory=list, help="drop a document if any of these expressions matches")
    syntax: Syntax = option("jsonpath", help="expression language: jsonpath (dolma's dialect) or jq")

    def validate(self) -> None:
        if not self.include and not self.exclude:
            raise ValueError("a 'filter' needs at least one 'include' or 'exclude' expression")


@dataclasses.dataclass
class SpanReplacementConfig:
    """Replace the text of selected spans scoring in [min_score, max_score)."""

    span: str = option(help="expression selecting a list of [start, end, score] spans, e.g. $.attributes.x__y__z")
    min_score: float | None = option(None, help="replace spans scoring at least this (inclusive)")
    max_score: float | None = option(None, help="replace spans scoring below this (exclusive)")
    replacement: str = option("", help="text put in place of each span; '{}' stands for the original span text")
    syntax: Syntax = option("jsonpath", help="language of `span`: jsonpath or jq")

    def validate(self) -> None:
        if self.min_score is None and self.max_score is None:
            raise ValueError(f"span_replacement {self.span!r}: give 'min_score' or 'max_score' (or both)")


@dataclasses.dataclass
class StreamOutputConfig:
    """Where and how a stream's shards are written."""

    path: str = option(help="directory (local or s3://) receiving <name>-NNNN.json.gz shards (dolma's names)")
    max_size_in_bytes: int = option(2 * 2**30, help="largest shard, in bytes as written (compressed)")
    discard_fields: list[str] = option(default_factory=list, help="top-level fields removed from output documents")
    min_text_length: int | None = option(0, help="drop documents whose stripped text is shorter (UTF-8 bytes)")

    def validate(self) -> None:
        if self.max_size_in_bytes < 1:
            raise ValueError("'output.max_size_in_bytes' must be >= 1")
        if self.min_text_length is not None and self.min_text_length < 0:
            raise ValueError("'output.min_text_length' must be >= 0")


@dataclasses.dataclass
class StreamConfig:
    """One stream: documents joined with attributes, filtered, span-replaced, sampled and sharded."""

    name: str = option(help="stream name; prefix of its shard files")
    documents: list[str] = option(help="document files or globs (local or s3://), under a 'documents' directory")
    output: StreamOutputConfig = option(help="where the stream's shards go")
    attributes: list[str] = option(default_factory=list, help="attribute sets joined from attributes/<name>/ mirrors")
    filter: FilterConfig | None = option(None, help="include/exclude rules")
    span_replacement: list[SpanReplacementConfig] = option(default_factory=list, help="span replacements")
    compression: CompressionConfig = option(default_factory=CompressionConfig, help="input/output codecs")
    sample: float = option(1.0, help="keep this fraction of documents, chosen by a hash of the id and the seed")
    upsample: float = option(1.0, help="write each kept document this many times on average (>= 1)")

    def validate(self) -> None:
        if not self.name or "/" in self.name:
            raise ValueError(f"stream name {self.name!r} must be non-empty and contain no '/'")
        if not self.documents:
            raise ValueError(f"stream {self.name!r}: 'documents' must list at least one path")
        if not (0.0 < self.sample <= 1.0):
            raise ValueError(f"stream {self.name!r}: 'sample' must be in (0, 1], got {self.sample}")
        if not (math.isfinite(self.upsample) and self.upsample >= 1.0):
            raise ValueError(f"stream {self.name!r}: 'upsample' must be a finite number >= 1, got {self.upsample}")


@dataclasses.dataclass(kw_only=True)
class MixConfig(ExecConfig):
    """`dolma mix`: combine streams of documents into filtered, span-replaced, size-capped shards."""

    streams: list[StreamConfig] = option(help="the streams to mix")
    work_dir: WorkDirConfig = option(default_factory=WorkDirConfig, help="dolma's work_dir block (accepted, unused)")
    shuffle: bool = option(
        True, help="pack documents into <stream>-NNNN shards; false: one output per input, at "
        "<output.path>/documents/<the input's path below documents/>, as dolma does"
    )
    seed: int = option(0, help="seed of the sample/upsample hashes")
    fail_on_jq_error: bool = option(
        True,
        help="a jq runtime error fails its input file (file, line, rule, message), as in dolma; false counts it "
        "under jq_errors and treats the rule as not matching (named in the run summary's `lenient`)",
    )

    def validate(self) -> None:
        if not self.streams:
            raise ValueError("'streams' must list at least one stream")
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        names = [stream.name for stream in self.streams]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"stream names must be unique; repeated: {', '.join(duplicates)}")
