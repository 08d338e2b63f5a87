"""`dolma dedupe`: flag duplicate documents, paragraphs or n-gram-overlapping paragraphs with a Bloom filter, or
near-duplicate documents by MinHash-LSH."""

from __future__ import annotations

from dolma_py.cli.report import print_plan, report
from dolma_py.config.dedupe import DedupeConfig

SUMMARY = "deduplicate documents, paragraphs or n-grams with a Bloom filter, or near-duplicate documents by MinHash-LSH"
CONFIG = DedupeConfig
WORKER_MODULES = ("dolma_py.dedupe.pipeline", "dolma_py.dedupe.fuzzy.pipeline")


def run(config: DedupeConfig) -> int:
    from dolma_py.dedupe.pipeline import plan, run_dedupe

    if config.dryrun:
        return print_plan(plan(config))
    return report(*run_dedupe(config))
