"""Checkpoint state of a writable dedupe run: the filter and the files inserted into it, committed together.

Layout of the state directory:

    progress.json        the commit point: generation, inserted files (in order), fingerprint, base, finished
    filter-<gen>[.part]  the filter after exactly those files (generation 0 is the starting filter)
    base[.part]          the filter as it was before the run, when the run started from an existing file

A checkpoint saves `filter-<gen+1>` first, then replaces `progress.json` atomically, then deletes the older
generation, so a kill at any moment leaves a `progress.json` naming a filter that exists and matches it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from dolma_py.dedupe.filters import partition_paths
from dolma_py.errors import ConfigError
from dolma_py.io.atomic import write_bytes

FORMAT_VERSION = 1


@dataclass
class Progress:
    """The contents of `progress.json`."""

    fingerprint: dict[str, Any]
    generation: int = 0
    inserted: list[str] = field(default_factory=list)
    has_base: bool = False
    finished: bool = False
    keys_inserted: int | None = None  # distinct keys in the filter after these files (None: not counted yet)
    version: int = FORMAT_VERSION


class CheckpointState:
    """Reads and writes one state directory (local)."""

    def __init__(self, directory: str, partitions: int) -> None:
        self.directory = directory
        self.partitions = partitions

    @property
    def progress_path(self) -> str:
        return os.path.join(self.directory, "progress.json")

    def filter_base(self, generation: int) -> str:
        return os.path.join(self.directory, f"filter-{generation}")

    @property
    def base_path(self) -> str:
        return os.path.join(self.directory, "base")

    def read(self) -> Progress | None:
        """The committed progress, or None for a fresh directory."""
        if not os.path.exists(self.progress_path):
            return None
        try:
            with open(self.progress_path, "rb") as fh:
                data = orjson.loads(fh.read())
            progress = Progress(**data)
        except (orjson.JSONDecodeError, TypeError) as err:
            message = f"{self.progress_path}: unreadable checkpoint ({err}); remove it or use --overwrite"
            raise ConfigError(message) from None
        if progress.version != FORMAT_VERSION:
            raise ConfigError(f"{self.progress_path}: checkpoint format {progress.version} is not {FORMAT_VERSION}")
        return progress

    def commit(self, progress: Progress) -> None:
        """Atomically replace `progress.json`."""
        write_bytes(self.progress_path, orjson.dumps(asdict(progress), option=orjson.OPT_INDENT_2), sync=True)

    def reset(self, keep_base: bool) -> None:
        """Forget every checkpoint (for --overwrite or a fresh start), keeping the base filter if asked."""
        if not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            if keep_base and name.startswith("base"):
                continue
            if name == "progress.json" or name.startswith(("filter-", "base", ".")):
                os.remove(os.path.join(self.directory, name))

    def remove_generation(self, generation: int) -> None:
        for path in partition_paths(self.filter_base(generation), self.partitions):
            if os.path.exists(path):
                os.remove(path)
