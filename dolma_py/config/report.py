"""Schema of `dolma report`: which pipeline outputs to show on one self-contained HTML page."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import option


@dataclasses.dataclass
class ReportConfig:
    """`dolma report`: any subset of a pipeline's outputs, rendered into one HTML file."""

    output: str = option(help="the HTML file to write (local or s3://)")
    title: str = option("dolma pipeline report", help="the page's title")
    documents: list[str] = option(default_factory=list, help="document globs: documents and bytes per source")
    attributes: list[str] = option(
        default_factory=list, help="attribute globs: histograms per key (mix thresholds drawn on them)"
    )
    dedupe: list[str] = option(
        default_factory=list,
        help="attribute globs a dedupe run wrote: duplicate rates per source (the first directory below the glob's "
        "fixed part) and its run summary's filter false-positive rate",
    )
    mix: list[str] = option(default_factory=list, help="dolma mix config files: drops per rule, with examples")
    tokens: list[str] = option(default_factory=list, help="token destinations (.npy + .csv.gz): tokens per source")
    manifest: list[str] = option(default_factory=list, help="curriculum manifest directories: phase composition")
    train: list[str] = option(default_factory=list, help="training run directories (metrics.jsonl): loss curves")
    examples: int = option(3, help="dropped and kept examples shown per mix rule")
    excerpt_chars: int = option(280, help="characters of text shown per example")
    scan_documents: int = option(20_000, help="documents a mix stream reads at most while looking for examples")
    bins: int = option(100, help="histogram bins per attribute key")

    def validate(self) -> None:
        if not any((self.documents, self.attributes, self.dedupe, self.mix, self.tokens, self.manifest, self.train)):
            raise ValueError("give at least one of documents, attributes, dedupe, mix, tokens, manifest, train")
        for name in ("examples", "excerpt_chars", "scan_documents", "bins"):
            if getattr(self, name) < 1:
                raise ValueError(f"'{name}' must be >= 1")
