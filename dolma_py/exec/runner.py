"""Runs a stage: lock its outputs, skip complete units, execute the rest, mark them done, write the run summary."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from dolma_py.errors import DolmaError
from dolma_py.exec import lenient
from dolma_py.exec.executors import make_executor
from dolma_py.exec.fingerprint import fingerprint
from dolma_py.exec.progress import Progress
from dolma_py.exec.units import Unit, UnitFunction, UnitResult, input_states
from dolma_py.io.atomic import abort_leftover_uploads, terminate_as_exception, write_bytes
from dolma_py.io.lock import LostLockError, ensure_held, run_lock
from dolma_py.io.paths import common_dir, is_s3, join
from dolma_py.io.storage import remove

CHECK_THREADS = 16
"""Threads checking units' completeness and reading input states (network-bound on S3)."""


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
    bad_records: list[dict[str, Any]] = field(default_factory=list)  # input records skipped as malformed
    lenient: list[str] = field(default_factory=lenient.current)
    recovered_locks: list[dict[str, Any]] = field(default_factory=list)
    aborted_uploads: int = 0

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
        self.bad_records.extend(result.bad_records)

    def fail(self, key: str, error: str, details: str | None = None) -> None:
        """Count a failed unit that produced no `UnitResult` (a whole-run step that raised)."""
        self.add(UnitResult(key=key, error=error, details=details))

    def include(self, stage: RunSummary, *, documents: bool = True) -> None:
        """Add a nested stage: its units, failures and bad lines, its counters as `<stage>.<name>`, and its
        documents unless `documents` is False (a later stage of the same documents)."""
        self.units_total += stage.units_total
        self.units_done += stage.units_done
        self.units_skipped += stage.units_skipped
        self.units_failed += stage.units_failed
        self.failures.extend(stage.failures)
        self.bad_records.extend(stage.bad_records)
        self.bad_lines += stage.bad_lines
        self.documents += stage.documents if documents else 0
        for name, value in stage.counters.items():
            key = f"{stage.command}.{name}"
            self.counters[key] = self.counters.get(key, 0) + value
        self.recovered_locks.extend(stage.recovered_locks)
        self.aborted_uploads += stage.aborted_uploads

    def finish(self, started: float, path: str | None) -> None:
        """Sort the counters, record the seconds since `started` (`time.monotonic()`), write the JSON to `path`."""
        self.counters = dict(sorted(self.counters.items()))
        self.elapsed_seconds = round(time.monotonic() - started, 3)
        if path:
            write_bytes(path, self.to_json(), compress=False)


def summary_file(directory: str, command: str) -> str:
    """Where a command's run summary goes in `directory`: `_dolma_<command>_summary.json`."""
    return join(directory, f"_dolma_{command}_summary.json")


def summary_directory(directories: list[str]) -> str:
    """Where a run writing into `directories` keeps its summary: their deepest common directory, or the first one
    when that is a root (the working directory, `/`, an S3 bucket), which is not the run's to write in."""
    common = common_dir([directory.rstrip("/") + "/" for directory in directories])
    if common.strip("/") == "" or (is_s3(common) and common.rstrip("/").count("/") < 3):
        return directories[0].rstrip("/")
    return common


@contextmanager
def summarized_run(
    command: str, summary_path: str | None, lock: Iterable[str], units_total: int = 0
) -> Iterator[RunSummary]:
    """Hold `run_lock` on the directories of the paths `lock` (the outputs, normally the summary too), yield the
    run's `RunSummary` to fill, and write it to `summary_path` at the end. An exception is counted as a failed
    unit of the run (unless a failure is already counted), then re-raised.

    The shape of every command's summary, whether its work is one `run_stage` or not (dedupe's ordered insert,
    tokens' two stages, a curriculum build, a training run).
    """
    started = time.monotonic()
    summary = RunSummary(command=command, units_total=units_total)
    with run_lock(lock, command) as recovered:
        summary.recovered_locks = recovered
        try:
            yield summary
            ensure_held()
        except Exception as err:
            if summary.ok:  # not already counted by the unit or stage that raised it
                summary.fail(command, str(err) if isinstance(err, DolmaError) else f"{type(err).__name__}: {err}")
            # a run that lost its lock commits nothing more, its summary included
            summary.finish(started, None if isinstance(err, LostLockError) else summary_path)
            raise
        summary.finish(started, summary_path)


def run_stage(
    command: str,
    units: list[Unit],
    fn: UnitFunction,
    options: ExecOptions,
    summary_path: str | None = None,
) -> RunSummary:
    """Run `fn` over the incomplete `units` and summarize; failures are collected, never raised.

    The run holds the lock on every output directory (a second run is refused with `LockedError`), aborts
    multipart uploads a killed run left on its outputs, and writes each finished unit's marker.
    """
    outputs = [path for unit in units for path in (*unit.outputs, unit.marker)]
    lock = [*outputs, *([summary_path] if summary_path else [])]
    with summarized_run(command, summary_path, lock, len(units)) as summary:
        summary.aborted_uploads = abort_leftover_uploads(outputs)
        prints = {unit.key: fingerprint(fn, unit.params) for unit in units}
        with ThreadPoolExecutor(CHECK_THREADS) as pool:  # on S3 each check is a few HEAD requests
            done = list(pool.map(lambda unit: not options.overwrite and _complete(fn, unit, prints[unit.key]), units))
        todo = [unit for unit, complete in zip(units, done, strict=True) if not complete]
        summary.units_skipped = len(units) - len(todo)
        with terminate_as_exception():
            results = _execute(command, todo, fn, options, prints)
        for result in sorted(results, key=lambda r: r.key):
            summary.add(result)
    return summary


def _complete(fn: UnitFunction, unit: Unit, print_: str) -> bool:
    """Whether `unit` is done under this config; a strict run (no lenient option in its job) redoes a unit that a
    lenient run finished by letting bad input through."""
    return unit.is_complete(print_, strict=not lenient.lenient_options([fn, unit.params]))


def _fresh_state(unit: Unit) -> dict[str, list[Any]] | None:
    """Remove the unit's old marker and read its inputs' states (None if unreadable: the unit reports why)."""
    remove(unit.marker)
    try:
        return input_states(unit.inputs)
    except Exception:  # noqa: BLE001 - the unit itself reports the unreadable input
        return None


def _execute(
    command: str, todo: list[Unit], fn: UnitFunction, options: ExecOptions, prints: dict[str, str]
) -> list[UnitResult]:
    """Run the units, writing each successful one's marker with the input states read before it started.

    A unit's old marker is removed first: if the run dies after the unit replaced its outputs but before the new
    marker, the old one must not vouch for outputs of another config.
    """
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        states = dict(zip([unit.key for unit in todo], pool.map(_fresh_state, todo), strict=True))
    progress = Progress(command, len(todo)) if options.progress and todo else None
    results: list[UnitResult] = []
    for unit, result in make_executor(options.processes, options.ray_address).run(fn, todo):
        state = states[unit.key]
        if not result.failed and state is not None:
            ensure_held()
            used = lenient.used_leniency(result.bad_lines, result.counters)
            unit.write_marker(prints[unit.key], state, lenient_used=used)
        results.append(result)
        if progress:
            progress.update(result)
    if progress:
        progress.close()
    return results
