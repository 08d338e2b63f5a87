"""`dolma tag`: run taggers over documents and write attribute files."""

from __future__ import annotations

from dolma_py.cli.report import print_plan, report
from dolma_py.config.tag import TagConfig

SUMMARY = "tag documents with taggers, writing line-aligned attribute files"
CONFIG = TagConfig
WORKER_MODULES = ("taggers.pipeline",)


def run(config: TagConfig) -> int:
    from taggers.pipeline import plan, run_tag

    if config.dryrun:
        return print_plan(plan(config))
    return report(*run_tag(config))
