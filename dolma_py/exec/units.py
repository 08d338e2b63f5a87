"""Units of work and their results, shared by every executor.

A unit is normally one input file and the output files derived from it. The unit function is pure: its outputs
depend only on the unit, the config and the seed, so any executor and process count gives the same bytes.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dolma_py.errors import DolmaError
from dolma_py.io.storage import exists


@dataclass(frozen=True)
class Unit:
    """One unit of work. `outputs` are written atomically; the unit is complete when all of them exist."""

    key: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: Any = None

    def is_complete(self) -> bool:
        """True when every output exists (atomic writes make existence mean completeness)."""
        return bool(self.outputs) and all(exists(path) for path in self.outputs)


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
