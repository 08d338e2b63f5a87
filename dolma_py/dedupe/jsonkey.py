"""The document dedupe key: a JSONPath (`$.id`, `$.metadata.url`, `$.text`) evaluated on each parsed document."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dolma_py.jsonpath import JsonPath

_SIMPLE_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")

Getter = Callable[[dict[str, Any]], Any]
_MISSING = object()


def _simple_steps(path: str) -> list[str | int] | None:
    """`$.a.b[0]['c']` -> ["a", "b", 0, "c"]; None when the path uses anything beyond plain fields and indexes."""
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _SIMPLE_STEP.match(path, pos)
        if match is None:
            return None
        field, index, quoted, dquoted = match.groups()
        steps.append(int(index) if index is not None else next(s for s in (field, quoted, dquoted) if s is not None))
        pos = match.end()
    return steps


def compile_key(path: str) -> Getter:
    """A function returning the first value `path` finds in a document, or `None` when it finds nothing.

    Plain paths are walked directly (fast); anything else goes through dolma's JSONPath dialect (`dolma_py.jsonpath`,
    shared with the mixer).
    """
    if not path.startswith("$"):
        raise ValueError(f"a document key must be a JSONPath starting with '$', got {path!r}")
    steps = _simple_steps(path)
    if steps is not None:

        def walk(doc: dict[str, Any]) -> Any:
            value: Any = doc
            for step in steps:
                if isinstance(step, int):
                    value = value[step] if isinstance(value, list) and step < len(value) else _MISSING
                else:
                    value = value.get(step, _MISSING) if isinstance(value, dict) else _MISSING
                if value is _MISSING:
                    return None
            return value

        return walk

    compiled = JsonPath(path)

    def select(doc: dict[str, Any]) -> Any:
        value = compiled.select(doc)
        return value[0] if isinstance(value, list) and value else value

    return select
