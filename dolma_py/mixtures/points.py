"""A ladder's POINTS.csv: one row per run (and checkpoint) with `params,tokens,loss`, optionally per task.

Columns: `params,tokens,loss` (required); `final` (1 for a run's last checkpoint, 0 for an intermediate one; absent:
every row is final); `task,accuracy,task_loss` (optional, together: one row per task and checkpoint). Step 1 of the
fit reads the final rows, step 2 every row of a task.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

from dolma_py.errors import DataError, DolmaError
from dolma_py.io.atomic import write_bytes

REQUIRED = ("params", "tokens", "loss")
TASK_COLUMNS = ("task", "accuracy", "task_loss")
COLUMNS = (*REQUIRED, "final", *TASK_COLUMNS)


@dataclass(frozen=True)
class Point:
    """One row: a model of `params` parameters after `tokens` tokens, its loss, and optionally one task's scores."""

    params: float
    tokens: float
    loss: float
    final: bool = True
    task: str | None = None
    accuracy: float | None = None
    task_loss: float | None = None


def _number(value: str, path: str, line: int, column: str, *, positive: bool) -> float:
    try:
        number = float(value)
    except ValueError:
        raise DataError(path, line, f"column {column!r} must be a number, got {value!r}") from None
    if not math.isfinite(number) or (positive and number <= 0):
        raise DataError(path, line, f"column {column!r} must be a finite number > 0, got {value!r}")
    return number


def read_points(path: str | Path) -> list[Point]:
    """Parse POINTS.csv; a missing column, a non-number or a non-positive value fails naming file, line and column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise DolmaError(f"cannot read points file {path}: {err.strerror or err}") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise DataError(str(path), 1, f"missing column(s) {', '.join(missing)}; POINTS.csv needs {','.join(REQUIRED)}")
    has_tasks = [c for c in TASK_COLUMNS if c in header]
    if has_tasks and len(has_tasks) != len(TASK_COLUMNS):
        raise DataError(
            str(path), 1, f"task columns come together ({','.join(TASK_COLUMNS)}); got {','.join(has_tasks)}"
        )
    points = []
    for line, row in enumerate(reader, start=2):
        where = (str(path), line)
        values = {c: _number(row[c] or "", *where, c, positive=True) for c in REQUIRED}
        final = True
        if "final" in header and (row["final"] or "").strip():
            if row["final"].strip() not in ("0", "1"):
                raise DataError(*where, f"column 'final' must be 0 or 1, got {row['final']!r}")
            final = row["final"].strip() == "1"
        task = accuracy = task_loss = None
        if has_tasks and (row["task"] or "").strip():
            task = row["task"].strip()
            accuracy = _number(row["accuracy"] or "", *where, "accuracy", positive=False)
            if not 0 <= accuracy <= 1:
                raise DataError(*where, f"column 'accuracy' must be in [0, 1], got {row['accuracy']!r}")
            task_loss = _number(row["task_loss"] or "", *where, "task_loss", positive=True)
        points.append(Point(final=final, task=task, accuracy=accuracy, task_loss=task_loss, **values))
    if not points:
        raise DataError(str(path), None, "no rows")
    return points


def write_points(path: str | Path, points: list[Point]) -> None:
    """Write POINTS.csv atomically with every column (empty task fields on rows without a task)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for p in points:
        writer.writerow(
            [
                repr(float(p.params)) if p.params != int(p.params) else int(p.params),
                repr(float(p.tokens)) if p.tokens != int(p.tokens) else int(p.tokens),
                repr(p.loss),
                int(p.final),
                p.task or "",
                "" if p.accuracy is None else repr(p.accuracy),
                "" if p.task_loss is None else repr(p.task_loss),
            ]
        )
    write_bytes(str(path), out.getvalue().encode("utf-8"), compress=False)


def final_losses(points: list[Point]) -> list[Point]:
    """One point per final (params, tokens, loss): task rows repeat their run's loss."""
    seen: dict[tuple[float, float], Point] = {}
    for p in points:
        if p.final and (p.params, p.tokens) not in seen:
            seen[(p.params, p.tokens)] = p
    return list(seen.values())


def tasks(points: list[Point]) -> list[str]:
    """Task names in first-seen order."""
    return list(dict.fromkeys(p.task for p in points if p.task is not None))
