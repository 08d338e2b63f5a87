"""`dolma list`: the registered taggers, one line each."""

from __future__ import annotations

import dataclasses

from dolma_py.config.schema import option

SUMMARY = "list the registered taggers with a line of description each"


@dataclasses.dataclass
class ListConfig:
    """`dolma list` options."""

    tagger_modules: list[str] = option(
        default_factory=list, help="extra modules (names or .py paths) registering taggers"
    )


CONFIG = ListConfig


def run(config: ListConfig) -> int:
    from taggers.registry import describe_taggers, load_tagger_modules

    load_tagger_modules(config.tagger_modules)
    rows = describe_taggers()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0
