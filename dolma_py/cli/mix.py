"""`dolma mix`: filter, span-replace and shard streams of documents (dolma's mixer configs run unchanged)."""

from __future__ import annotations

import sys

from dolma_py.config.mix import MixConfig

SUMMARY = "mix streams of documents: join attributes, filter, replace spans, sample, write size-capped shards"
CONFIG = MixConfig
WORKER_MODULES = ("mixers.stream.pipeline",)


def run(config: MixConfig) -> int:
    from mixers.stream.pipeline import describe_plan, run_mix, summary_path
    from mixers.stream.report import print_table

    if config.dryrun:
        print("\n".join(describe_plan(config)))
        return 0
    reports, summary = run_mix(config)
    print_table(reports)
    for failure in summary.failures:
        print(f"  failed: {failure['error']}", file=sys.stderr)
    print(f"  summary: {summary_path(config)}", file=sys.stderr)
    return 0 if all(report.status != "failed" for report in reports) else 1
