"""Typed config schemas are dataclasses; `option()` attaches the help text shown by `dolma <command> --help`."""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING
from typing import Any


def option(default: Any = MISSING, *, help: str, default_factory: Any = MISSING) -> Any:  # noqa: A002
    """A config field with its help text; no default means the field is required."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"help": help})


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
