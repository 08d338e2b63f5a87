"""`dolma stat`: histograms and percentiles of attribute scores and span lengths (dolma's analyzer)."""

from __future__ import annotations

import sys

from dolma_py.cli.report import print_plan, report
from dolma_py.config.stat import StatConfig

SUMMARY = "histograms and percentiles of attribute scores and span lengths (dolma's stat report)"
CONFIG = StatConfig
WORKER_MODULES = ("dolma_py.stats.stat",)


def run(config: StatConfig) -> int:
    from dolma_py.stats.stat import SUMMARIES_FILE, partials_dir, plan, print_summaries, run_stat

    if config.dryrun:
        return print_plan(plan(config.attributes, partials_dir(config) or "<temporary directory>"))
    summary, where, lines = run_stat(config)
    print_summaries(lines, config.total)
    if config.report and summary.ok:
        print(f"report: {config.report}/{SUMMARIES_FILE}", file=sys.stderr)
    return report(summary, where)
