"""Schema of `dolma stat`, accepting dolma 1.2.1's analyzer config keys."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import ExecConfig, WorkDirConfig, option


@dataclasses.dataclass(kw_only=True)
class StatConfig(ExecConfig):
    """`dolma stat`: histograms and percentiles of attribute scores and span lengths."""

    attributes: list[str] = option(help="attribute file paths or globs (local or s3://)")
    report: str | None = option(
        None, help="directory for summaries.jsonl.gz, quantiles.json and histograms/; default: print to stdout only"
    )
    bins: int = option(1000, help="histogram bins per series in summaries.jsonl.gz")
    seed: int = option(0, help="dolma: seed", no_effect="the statistics are deterministic without a seed")
    total: bool = option(False, help="print each series' total count and sum")
    regex: str | None = option(None, help="only keys matching this regular expression (re.search)")
    histograms: bool = option(
        True, help="also draw <report>/histograms/<key>.svg (matplotlib: most of the run's time on small inputs)"
    )
    work_dir: WorkDirConfig = option(
        default_factory=WorkDirConfig,
        help="work_dir.output keeps the per-file partial statistics (default: <report>/_work, else a temp dir)",
    )
    debug: bool = option(False, help="dolma: run in one process", no_effect="use --processes 1")

    def validate(self) -> None:
        if not self.attributes:
            raise ValueError("'attributes' must list at least one path")
        if self.bins < 1:
            raise ValueError("'bins' must be >= 1")
        if self.processes < 1:
            raise ValueError("'processes' must be >= 1")
        if self.regex is not None:
            import re

            try:
                re.compile(self.regex)
            except re.error as err:
                raise ValueError(f"'regex' is not a valid regular expression: {err}") from None
