"""Schema of `dolma warc`, accepting dolma 1.2.1's warc config unchanged, plus our robustness options."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from dolma_py.config.schema import ExecConfig, WorkDirConfig, option
from dolma_py.config.tag import TaggerSpec


@dataclasses.dataclass
class WarcTaggersConfig:
    """dolma's `pre`/`post` block: taggers run on each record, and whether a record they tag nothing in is dropped."""

    taggers: list[str | dict[str, Any]] = option(
        default_factory=list, help="tagger names (or {name: ..., option: value} mappings)"
    )
    skip: bool = option(False, help="drop a record when these taggers return no attribute at all")

    @property
    def specs(self) -> tuple[TaggerSpec, ...]:
        return tuple(TaggerSpec.parse(entry) for entry in self.taggers)


@dataclasses.dataclass(kw_only=True)
class WarcConfig(ExecConfig):
    """`dolma warc`: extract documents from WARC files (local or S3), one JSON-lines file per WARC file."""

    documents: list[str] = option(help="WARC paths or globs (local or s3://), .warc.gz or .warc")
    destination: list[str] = option(
        help="output prefixes: one for all documents, or one per documents entry; paths below mirror the inputs"
    )
    source_name: str = option(help="the `source` of every document")
    linearizer: Literal["resiliparse", "trafilatura"] = option("resiliparse", help="HTML-to-text extractor")
    pre: WarcTaggersConfig = option(default_factory=WarcTaggersConfig, help="taggers over the HTML")
    post: WarcTaggersConfig = option(default_factory=WarcTaggersConfig, help="taggers over the extracted text")
    store_html_in_metadata: bool = option(False, help="keep the decoded HTML as metadata.html")
    ignore_existing: bool = option(False, help="dolma's name for --overwrite: redo files whose outputs exist")
    tagger_modules: list[str] = option(
        default_factory=list, help="extra modules (names or .py paths) registering taggers"
    )
    skip_http_errors: bool = option(False, help="drop responses with an HTTP status of 400 or more")
    max_record_bytes: int = option(
        64 << 20, help="records with a longer block are skipped and counted (bounds memory per record)"
    )
    batch_size: int = option(256, help="records parsed, extracted and tagged together")
    work_dir: WorkDirConfig = option(default_factory=WorkDirConfig, help="dolma's work_dir block")
    debug: bool = option(False, help="dolma: run in one process", no_effect="use --processes 1")

    def validate(self) -> None:
        if not self.documents:
            raise ValueError("'documents' must list at least one path")
        if not self.destination:
            raise ValueError("'destination' must give an output prefix")
        if len(self.destination) not in (1, len(self.documents)):
            raise ValueError(
                f"'destination' has {len(self.destination)} entries but 'documents' has {len(self.documents)}; "
                "give one, or one per documents entry"
            )
        if not self.source_name:
            raise ValueError("'source_name' must not be empty")
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        if self.batch_size < 1:
            raise ValueError("'batch_size' must be >= 1")
        if self.max_record_bytes < 1:
            raise ValueError("'max_record_bytes' must be >= 1")
        for entry in [*self.pre.taggers, *self.post.taggers]:
            TaggerSpec.parse(entry)
