"""Span replacement: rewrite the text of selected attribute spans, as dolma's mixer does.

Rules (offsets are Unicode code points, end exclusive):

1. Spans are gathered from every `span_replacement` entry in config order, each entry's spans in attribute order,
   keeping those whose score satisfies `min_score <= score < max_score`.
2. Ends past the text are clamped to its length; spans left empty (zero-length, or starting at or after the end
   of the text) replace nothing and are ignored.
3. Spans are stably sorted by start. Walking them in that order, a span is applied only when it starts at or
   after the end of the previously applied one: of overlapping spans the earliest start wins, and among equal
   starts the one gathered first. Adjacent spans (`[0,3]`, `[3,6]`) are both applied.
4. Each applied span is replaced by its entry's `replacement`, with every `{}` standing for the original span text.

These rules reproduce dolma 1.2.1 on every input it handles correctly; dolma corrupts text around zero-length
spans and spans starting past the end of the text, which rule 2 instead ignores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Selector = Callable[[Any], list[Any]]
"""Returns the values a span expression finds in a document (each should be a list of spans, or null)."""


class SpanError(ValueError):
    """A selected value is not a list of [start, end, score] spans."""


@dataclass(frozen=True)
class SpanRule:
    """One `span_replacement` entry, with its selector compiled."""

    expression: str
    select: Selector
    min_score: float
    max_score: float
    replacement: str


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def gather_spans(document: Any, rules: list[SpanRule]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) for every selected span whose score is in range, in gathering order."""
    found: list[tuple[int, int, str]] = []
    for rule in rules:
        for match in rule.select(document):
            if match is None:
                continue
            if type(match) is not list:
                raise SpanError(
                    f"span expression {rule.expression!r} selected {type(match).__name__}, not a list of spans"
                )
            for span in match:
                if (
                    type(span) is not list
                    or len(span) < 3
                    or not _is_int(span[0])
                    or not _is_int(span[1])
                    or not _is_number(span[2])
                ):
                    raise SpanError(f"span expression {rule.expression!r} selected {span!r}, not [start, end, score]")
                start, end, score = span[0], span[1], span[2]
                if start < 0 or end < start:
                    raise SpanError(f"span expression {rule.expression!r} selected invalid span {span!r}")
                if rule.min_score <= score < rule.max_score:
                    found.append((start, end, rule.replacement))
    return found


def replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """Apply `spans` to `text` following the module rules; returns `text` itself when nothing applies."""
    size = len(text)
    ordered = sorted(spans, key=lambda span: span[0])
    pieces: list[str] = []
    cursor = 0
    for start, end, replacement in ordered:
        end = min(end, size)
        if start >= end or start < cursor:
            continue
        pieces.append(text[cursor:start])
        pieces.append(replacement.replace("{}", text[start:end]) if "{}" in replacement else replacement)
        cursor = end
    if not pieces:
        return text
    pieces.append(text[cursor:])
    return "".join(pieces)
