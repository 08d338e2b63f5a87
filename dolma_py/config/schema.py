"""Typed config schemas are dataclasses; `option()` attaches the help text shown by `dolma <command> --help`."""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING
from typing import Any


def option(
    default: Any = MISSING, *, help: str, default_factory: Any = MISSING, no_effect: str | None = None  # noqa: A002
) -> Any:
    """A config field with its help text; no default means the field is required.

    `no_effect` marks a dolma key that our design makes moot: it is accepted, and the loader says once, with this
    reason, that it does nothing.
    """
    metadata = {"help": help} if no_effect is None else {"help": f"{help} (no effect: {no_effect})",
                                                          "no_effect": no_effect}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


@dataclasses.dataclass
class WorkDirConfig:
    """dolma's `work_dir` block: where intermediate state is kept."""

    input: str | None = option(None, help="directory for intermediate inputs (accepted for dolma compatibility)")
    output: str | None = option(None, help="directory for intermediate state such as checkpoints")


@dataclasses.dataclass
class ExecConfig:
    """Execution fields every command shares."""

    processes: int = option(1, help="worker processes of the local executor")
    ray_address: str | None = option(None, help="run on Ray: 'auto' or host:port (default: local process pool)")
    overwrite: bool = option(False, help="redo units whose outputs already exist")
    dryrun: bool = option(False, help="print the plan (units and outputs) and exit without running")

    @property
    def uses_local_pool(self) -> bool:
        """Whether the run's units go to the local executor's worker processes."""
        return self.processes > 1 and not self.ray_address and not self.dryrun


COMPRESSION_NAMES: dict[str, str | None] = {
    "gz": "gz",
    "gzip": "gz",
    "zst": "zst",
    "zstd": "zst",
    "": None,
    "none": None,
}
"""Accepted `compression.input/output` values -> file suffix (None: uncompressed)."""


@dataclasses.dataclass
class CompressionConfig:
    """dolma's `compression` block: codecs of inputs and outputs ('gz', 'zst' or '' for none)."""

    input: str | None = option(None, help="codec of input files; default: from each file's suffix")
    output: str | None = option(None, help="codec of the outputs; default: gz for mix shards, the input's elsewhere")

    def validate(self) -> None:
        for name, value in (("input", self.input), ("output", self.output)):
            if value is not None and value.lower() not in COMPRESSION_NAMES:
                raise ValueError(f"'compression.{name}' must be one of gz, zst or '' (none), got {value!r}")
