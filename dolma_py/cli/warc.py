"""`dolma warc`: extract documents from WARC files, with dolma 1.2.1's config and output."""

from __future__ import annotations

from dolma_py.cli.report import print_plan, report
from dolma_py.config.warc import WarcConfig

SUMMARY = "extract documents from WARC files (fastwarc + resiliparse/trafilatura), with pre/post taggers"
CONFIG = WarcConfig


def run(config: WarcConfig) -> int:
    from dolma_py.warc.extract import plan, run_warc
    from taggers.registry import create_tagger, load_tagger_modules

    if config.dryrun:
        return print_plan(plan(config))
    return report(*run_warc(config, create_tagger, load_tagger_modules))
