"""`dolma mix`: filter, span-replace and shard streams of documents (dolma's mixer configs run unchanged)."""

from __future__ import annotations

import sys

from dolma_py.config.mix import MixConfig

SUMMARY = "mix streams of documents: join attributes, filter, replace spans, sample, write size-capped shards"
CONFIG = MixConfig


def run(config: MixConfig) -> int:
    from dolma_py.exec.runner import summarized_run, summary_directory, summary_file
    from mixers.stream.pipeline import describe_plan, run_mix
    from mixers.stream.report import print_table

    if config.dryrun:
        print("\n".join(describe_plan(config)))
        return 0
    where = summary_file(summary_directory([stream.output.path for stream in config.streams]), "mix")
    with summarized_run("mix", where, [where]) as summary:
        reports, stages = run_mix(config)
        for stage in stages:  # the parts stage ("mix") reads the documents, the shards stage rewrites them
            summary.include(stage, documents=stage.command == "mix")
    print_table(reports)
    for failure in summary.failures:
        print(f"  failed: {failure['error']}", file=sys.stderr)
    print(f"  summary: {where}", file=sys.stderr)
    return 0 if all(report.status != "failed" for report in reports) else 1
