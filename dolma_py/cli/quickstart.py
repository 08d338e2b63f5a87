"""`dolma quickstart`: the whole pipeline on a generated sample corpus, locally, with no network."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import option

SUMMARY = "run the quickstart pipeline on a generated sample corpus (local, no network)"


@dataclasses.dataclass
class QuickstartConfig:
    """`dolma quickstart` options."""

    output: str = option("quickstart_output", help="directory for the corpus, configs and every stage's outputs")
    processes: int = option(2, help="worker processes per stage")
    seed: int = option(0, help="seed of the generated corpus")
    from_warc: bool = option(False, help="start from a generated WARC sample: `dolma warc` extracts the web source")


CONFIG = QuickstartConfig


def run(config: QuickstartConfig) -> int:
    from dolma_py.quickstart import run_quickstart

    run_quickstart(config.output, config.processes, config.seed, from_warc=config.from_warc)
    return 0
