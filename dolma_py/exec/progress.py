"""Progress reporting: a live bar on a terminal, periodic log lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from dolma_py.exec.units import UnitResult


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts files done and documents; redraws a bar on a TTY, logs every `log_every` seconds otherwise."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, log_every: float = 30.0) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.log_every = log_every
        self.start = time.monotonic()
        self.last_log = self.start
        self.files = 0
        self.documents = 0

    def line(self) -> str:
        """The status line: files done, documents, docs/s and ETA."""
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.documents / elapsed
        eta = elapsed / self.files * (self.total - self.files) if self.files else 0.0
        return (
            f"[{self.label}] files {self.files}/{self.total} | docs {self.documents:,} | "
            f"{rate:,.0f} docs/s | elapsed {_duration(elapsed)} | ETA {_duration(eta)}"
        )

    def update(self, result: UnitResult) -> None:
        """Account for one finished unit."""
        self.files += 1
        self.documents += result.documents
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif now - self.last_log >= self.log_every:
            self.last_log = now
            print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        """Print the final line."""
        print(("\r" if self.tty else "") + self.line(), file=self.stream, flush=True)
