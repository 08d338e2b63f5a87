"""dolma's error classes, rooted in dolma_py's `DolmaError` so the CLI reports them as one-line messages."""

from __future__ import annotations

from dolma_py.errors import ConfigError, DolmaError

__all__ = [
    "DolmaConfigError",
    "DolmaError",
    "DolmaFatalError",
    "DolmaRetryableFailure",
    "DolmaRustPipelineError",
    "DolmaShardError",
]


class DolmaFatalError(DolmaError):
    """Fatal error: abort the entire run."""


class DolmaShardError(DolmaError):
    """Fail the shard and continue."""


class DolmaRetryableFailure(DolmaError):
    """Retry the shard that raised it."""


class DolmaRustPipelineError(DolmaError):
    """Raised by `dolma.deduper` and `dolma.mixer` when their stage cannot run or a unit fails."""


class DolmaConfigError(ConfigError):
    """A config given to dolma's API is invalid."""
