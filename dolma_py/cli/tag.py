"""`dolma tag`: run taggers over documents and write attribute files."""

from __future__ import annotations

from dolma_py.cli.report import report
from dolma_py.config.tag import TagConfig

SUMMARY = "tag documents with taggers, writing line-aligned attribute files"
CONFIG = TagConfig


def run(config: TagConfig) -> int:
    from taggers.pipeline import plan, run_tag

    if config.dryrun:
        for unit in plan(config):
            print(f"{unit.key} -> {', '.join(unit.outputs)}")
        return 0
    return report(*run_tag(config))
