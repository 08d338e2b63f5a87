"""Runs a stage: skip complete units, execute the rest, report progress and write the run summary."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from dolma_py.exec.executors import make_executor
from dolma_py.exec.progress import Progress
from dolma_py.exec.units import Unit, UnitFunction, UnitResult
from dolma_py.io.atomic import write_bytes


@dataclass
class ExecOptions:
    """How to run a stage: pool size or Ray address, and whether to redo complete units."""

    processes: int = 1
    ray_address: str | None = None
    overwrite: bool = False
    progress: bool = True


@dataclass
class RunSummary:
    """The JSON written next to a stage's outputs."""

    command: str
    units_total: int = 0
    units_done: int = 0
    units_skipped: int = 0
    units_failed: int = 0
    documents: int = 0
    bad_lines: int = 0
    elapsed_seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)  # end-of-run measures, not summed per unit
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.units_failed == 0

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)

    def add(self, result: UnitResult) -> None:
        """Count one finished unit: a failure with its error, or its documents, bad lines and counters."""
        if result.failed:
            self.units_failed += 1
            self.failures.append({"unit": result.key, "error": result.error, "details": result.details})
            return
        self.units_done += 1
        self.documents += result.documents
        self.bad_lines += result.bad_lines
        for name, value in result.counters.items():
            self.counters[name] = self.counters.get(name, 0) + value

    def finish(self, started: float, path: str | None) -> None:
        """Sort the counters, record the seconds since `started` (`time.monotonic()`), write the JSON to `path`."""
        self.counters = dict(sorted(self.counters.items()))
        self.elapsed_seconds = round(time.monotonic() - started, 3)
        if path:
            write_bytes(path, self.to_json(), compress=False)


def run_stage(
    command: str,
    units: list[Unit],
    fn: UnitFunction,
    options: ExecOptions,
    summary_path: str | None = None,
) -> RunSummary:
    """Run `fn` over the incomplete `units` and summarize; failures are collected, never raised."""
    started = time.monotonic()
    summary = RunSummary(command=command, units_total=len(units))
    todo = units if options.overwrite else [unit for unit in units if not unit.is_complete()]
    summary.units_skipped = len(units) - len(todo)
    progress = Progress(command, len(todo)) if options.progress and todo else None
    results: list[UnitResult] = []
    for result in make_executor(options.processes, options.ray_address).run(fn, todo):
        results.append(result)
        if progress:
            progress.update(result)
    if progress:
        progress.close()
    for result in sorted(results, key=lambda r: r.key):
        summary.add(result)
    summary.finish(started, summary_path)
    return summary
