"""Training metrics: one JSON object per line in `<out_dir>/metrics.jsonl`, echoed to the console.

Records: `{"step", "phase", "lr", "loss", "ce", "grad_norm", "tokens", "tokens_per_s", "mfu"}` for training (step =
optimizer steps completed), `{"step", "eval": {source: loss}, "eval_loss"}` for evaluation and `{"step", "event"}`
for phase switches. Resuming from checkpoint k drops what was logged after it (records past step k, and events at
step k, which come after that checkpoint), so the file always matches the checkpoint. A final line torn by a kill
mid-write (no newline, not JSON) is dropped on resume; a bad line anywhere else is an error.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dolma_py.errors import DataError
from dolma_py.io.atomic import write_bytes


class MetricsLog:
    """Append-only JSONL writer (rank 0 only; other ranks get a disabled log)."""

    def __init__(self, path: Path, enabled: bool, resume_step: int | None):
        self.path = path
        self.enabled = enabled
        if not enabled:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = read_metrics(path, drop_torn_tail=True) if resume_step is not None and path.exists() else []
        kept = [r for r in kept if r["step"] < (resume_step or 0) or (r["step"] == resume_step and "event" not in r)]
        write_bytes(str(path), "".join(json.dumps(r) + "\n" for r in kept).encode(), compress=False)

    def write(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        print(_console_line(record), file=sys.stderr, flush=True)


def _console_line(record: dict[str, Any]) -> str:
    if "event" in record:
        return f"step {record['step']}: {record['event']}"
    if "eval" in record:
        per_source = " ".join(f"{k}={v:.4f}" for k, v in record["eval"].items())
        return f"step {record['step']}: eval loss {record['eval_loss']:.4f} ({per_source})"
    mfu = f" mfu {record['mfu']:.1%}" if record.get("mfu") is not None else ""
    speed = f" {record['tokens_per_s']:,.0f} tok/s" if record.get("tokens_per_s") is not None else ""
    return (
        f"step {record['step']} [{record['phase']}]: loss {record['loss']:.4f} lr {record['lr']:.3e} "
        f"grad_norm {record['grad_norm']:.3f}{speed}{mfu}"
    )


class Throughput:
    """Tokens per second over training steps only.

    The clock restarts (after a device sync) whenever something that is not a training step ran: the first step of
    a process (torch.compile's warm-up), a log record, evaluation and checkpointing. `rate()` is None when the
    window holds no timed step.
    """

    def __init__(self, sync: Callable[[], None]):
        self.sync = sync
        self.restart()

    def restart(self) -> None:
        """Start a new window now."""
        self.sync()
        self.start = time.perf_counter()
        self.tokens = 0

    def add(self, tokens: int) -> None:
        """Count a step's tokens in the current window."""
        self.tokens += tokens

    def rate(self) -> float | None:
        """Tokens per second since the window started, or None without a timed step."""
        if not self.tokens:
            return None
        self.sync()
        return self.tokens / (time.perf_counter() - self.start)


def read_metrics(path: Path, *, drop_torn_tail: bool = False) -> list[dict[str, Any]]:
    """Every record of a metrics file, in order; `drop_torn_tail` skips a final unterminated line that is not JSON
    (what a process killed mid-write leaves), while any other bad line is still a `DataError`."""
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as err:
                    if drop_torn_tail and not line.endswith("\n"):  # only the last line can lack one
                        break
                    raise DataError(str(path), line_no, f"not a JSON record ({err})") from None
    return records
