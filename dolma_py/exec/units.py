"""Units of work, their results and completion markers, shared by every executor.

A unit is normally one input file and the output files derived from it. The unit function is pure: its outputs
depend only on the unit, the config and the seed, so any executor and process count gives the same bytes.
A unit is complete when its outputs exist and its marker (written after them) records the same config fingerprint
and the same state (size and mtime; ETag on S3) of every input as now: changed inputs or config redo the unit. A
unit that let bad input through under a lenient option is marked so, and a strict run redoes it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

from dolma_py.errors import DolmaError
from dolma_py.io.atomic import write_bytes
from dolma_py.io.paths import is_s3, join, parent, split_s3
from dolma_py.io.storage import exists, open_raw, s3_client

MARKER_VERSION = 1


def input_state(path: str) -> list[Any]:
    """What identifies an input's contents without reading it: [size, mtime_ns] locally, [size, ETag] on S3."""
    if is_s3(path):
        bucket, key = split_s3(path)
        head = s3_client().head_object(Bucket=bucket, Key=key)
        return [head["ContentLength"], head["ETag"]]
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def input_states(paths: tuple[str, ...] | list[str]) -> dict[str, list[Any]]:
    """`input_state` of each path, keyed by path (S3 objects are asked about in parallel, one HEAD each)."""
    if sum(is_s3(path) for path in paths) < 2:
        return {path: input_state(path) for path in paths}
    with ThreadPoolExecutor(16) as pool:
        return dict(zip(paths, pool.map(input_state, paths), strict=True))


def default_marker(outputs: tuple[str, ...]) -> str:
    """The hidden marker beside a unit's first output: `.<name>.done`."""
    first = outputs[0]
    directory = parent(first) if is_s3(first) else os.path.dirname(first)
    name = first.rstrip("/").rsplit("/", 1)[-1]
    return join(directory, f".{name}.done") if directory else f".{name}.done"


@dataclass(frozen=True)
class Unit:
    """One unit of work. `outputs` are written atomically; `marker` (default: beside the first output) last."""

    key: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: Any = None
    marker_path: str | None = None

    @property
    def marker(self) -> str:
        """Where the completion marker goes."""
        return self.marker_path or default_marker(self.outputs)

    def marker_record(
        self, fingerprint: str, inputs: dict[str, list[Any]], *, lenient_used: bool = False
    ) -> dict[str, Any]:
        """The marker's contents for a run under `fingerprint` whose inputs had the states `inputs`."""
        return {"version": MARKER_VERSION, "fingerprint": fingerprint, "inputs": inputs, "lenient_used": lenient_used}

    def write_marker(self, fingerprint: str, inputs: dict[str, list[Any]], *, lenient_used: bool = False) -> None:
        """Mark the unit complete, after its outputs. No fsync: the outputs already are durable, and a marker torn
        by a power cut is unreadable, so the unit is redone."""
        record = self.marker_record(fingerprint, inputs, lenient_used=lenient_used)
        write_bytes(self.marker, orjson.dumps(record, option=orjson.OPT_SORT_KEYS), compress=False, sync=False)

    def is_complete(self, fingerprint: str, *, strict: bool = True) -> bool:
        """True when every output exists and the marker matches `fingerprint` and the inputs' current state; a
        `strict` run also redoes a unit that a lenient run finished by letting bad input through."""
        if not self.outputs or not exists(self.marker):
            return False
        with open_raw(self.marker) as stream:
            try:
                recorded = orjson.loads(stream.read())
            except orjson.JSONDecodeError:
                return False
        if recorded.get("lenient_used") and strict:
            return False
        try:
            current = input_states(self.inputs)
        except Exception:  # noqa: BLE001 - an input that cannot be read now: redo the unit, which reports why
            return False
        used = bool(recorded.get("lenient_used"))
        expected = self.marker_record(fingerprint, current, lenient_used=used)
        return recorded == expected and all(exists(path) for path in self.outputs)


@dataclass
class UnitResult:
    """What a unit reports back: counts for the run summary, or the error that failed it."""

    key: str
    documents: int = 0
    bad_lines: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    details: str | None = None
    skipped: bool = False
    bad_records: list[dict[str, Any]] = field(default_factory=list)  # skipped input records, located

    @property
    def failed(self) -> bool:
        return self.error is not None


UnitFunction = Callable[[Unit], UnitResult]
"""A picklable (module-level or `functools.partial`) function running one unit."""


def run_unit_safely(fn: UnitFunction, unit: Unit) -> UnitResult:
    """Run `fn(unit)`, turning an exception into a failed result: a clear message, with the traceback kept aside."""
    try:
        return fn(unit)
    except DolmaError as err:
        return UnitResult(key=unit.key, error=str(err))
    except Exception as err:  # noqa: BLE001 - any failure must be reported per unit, not crash the run
        return UnitResult(key=unit.key, error=f"{type(err).__name__}: {err}", details=traceback.format_exc())
