"""Lenient options: settings that keep or drop data on bad input instead of failing, so runs must say they used them.

They are named in every run summary (`lenient_run` sets them once per CLI run), left out of config fingerprints (a
file that succeeded strictly has the same output leniently), and a unit that actually skipped something under one
is marked so, and redone by a strict run.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

LENIENT_OPTIONS: dict[str, bool] = {"skip_bad_lines": True, "fail_on_jq_error": False}
"""Option name -> the value at which it is lenient."""

LENIENT_COUNTERS = ("jq_errors.",)
"""Prefixes of unit counters that count inputs a lenient option let through (besides `bad_lines`)."""

_CURRENT: ContextVar[tuple[str, ...]] = ContextVar("lenient", default=())


def lenient_options(value: Any) -> list[str]:
    """The lenient options set anywhere in a config or job (dataclasses, partials, sequences), as `name` or
    `name=false`, sorted."""
    found: set[str] = set()
    _collect(value, found)
    return sorted(found)


def _collect(value: Any, found: set[str]) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            nested = getattr(value, item.name)
            if item.name in LENIENT_OPTIONS and nested is LENIENT_OPTIONS[item.name]:
                found.add(item.name if nested else f"{item.name}=false")
            _collect(nested, found)
    elif isinstance(value, functools.partial):
        for nested in (*value.args, *value.keywords.values()):
            _collect(nested, found)
    elif isinstance(value, (list, tuple)):
        for nested in value:
            if not isinstance(nested, (int, float, str)):
                _collect(nested, found)


def used_leniency(bad_lines: int, counters: dict[str, int]) -> bool:
    """True when a unit's counts show a lenient option let bad input through."""
    return bad_lines > 0 or any(count for key, count in counters.items() if key.startswith(LENIENT_COUNTERS))


def current() -> list[str]:
    """The lenient options of the CLI run in progress (empty outside `lenient_run`)."""
    return list(_CURRENT.get())


@contextmanager
def lenient_run(config: Any) -> Iterator[None]:
    """Every run summary made inside the block names the lenient options of `config` (the CLI sets this once)."""
    token = _CURRENT.set(tuple(lenient_options(config)))
    try:
        yield
    finally:
        _CURRENT.reset(token)
