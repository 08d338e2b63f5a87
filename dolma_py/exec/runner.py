"""Runs a stage: lock its outputs, skip complete units, execute the rest, mark them done, write the run summary."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from dolma_py.exec import lenient
from dolma_py.exec.executors import make_executor
from dolma_py.exec.fingerprint import fingerprint
from dolma_py.exec.progress import Progress
from dolma_py.exec.units import Unit, UnitFunction, UnitResult, input_states
from dolma_py.io.atomic import abort_leftover_uploads, terminate_as_exception, write_bytes
from dolma_py.io.lock import run_lock
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
    """Run `fn` over the incomplete `units` and summarize; failures are collected, never raised.

    The run holds the lock on every output directory (a second run is refused with `LockedError`), aborts
    multipart uploads a killed run left on its outputs, and writes each finished unit's marker.
    """
    started = time.monotonic()
    summary = RunSummary(command=command, units_total=len(units))
    outputs = [path for unit in units for path in (*unit.outputs, unit.marker)]
    with run_lock([*outputs, *([summary_path] if summary_path else [])], command) as recovered:
        summary.recovered_locks = recovered
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
        summary.finish(started, summary_path)
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
            used = lenient.used_leniency(result.bad_lines, result.counters)
            record = unit.marker_record(prints[unit.key], state, lenient_used=used)
            # no fsync: the outputs already are durable, and a marker torn by a power cut is unreadable, so redone
            write_bytes(unit.marker, orjson.dumps(record, option=orjson.OPT_SORT_KEYS), compress=False, sync=False)
        results.append(result)
        if progress:
            progress.update(result)
    if progress:
        progress.close()
    return results
