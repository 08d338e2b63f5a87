"""Errors users see: each names the file, line and field involved, never a bare traceback."""

from __future__ import annotations


class DolmaError(Exception):
    """Base class for errors reported to the user as a one-line message."""


class ConfigError(DolmaError):
    """A config file or flag is invalid; raised before any work starts."""


class DataError(DolmaError):
    """Bad input data, located by file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
