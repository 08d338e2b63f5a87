"""Printing a stage's plan (`--dryrun`) or run summary for the user."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command modules import this one before the config is read: it stays light
    from dolma_py.exec.runner import RunSummary
    from dolma_py.exec.units import Unit


def print_plan(units: Iterable[Unit]) -> int:
    """`--dryrun`: print each unit as `key -> outputs` and return the exit code 0."""
    for unit in units:
        print(f"{unit.key} -> {', '.join(unit.outputs)}")
    return 0


def report(summary: RunSummary, summary_path: str | None) -> int:
    """Print the outcome of a stage and return the exit code (1 when any unit failed)."""
    print(
        f"{summary.command}: {summary.units_done} files done, {summary.units_skipped} skipped (already complete), "
        f"{summary.units_failed} failed; {summary.documents:,} documents, {summary.bad_lines} bad lines, "
        f"{summary.elapsed_seconds:.1f}s",
        file=sys.stderr,
    )
    for failure in summary.failures:
        print(f"  failed: {failure['error']}", file=sys.stderr)
    if summary.lenient:
        print(f"  lenient options (bad input counted, not failed): {', '.join(summary.lenient)}", file=sys.stderr)
    if summary_path:
        print(f"  summary: {summary_path}", file=sys.stderr)
    return 0 if summary.ok else 1
