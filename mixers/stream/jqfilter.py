"""jq filter rules as dolma's mixer evaluates them: compiled once, judged with dolma's truthiness.

dolma (jaq) counts an include rule as matched when the expression produces at least one output and every
output is truthy, and an exclude rule as matched when it produces at least one truthy output. Truthiness is
dolma's, stricter than jq's: `false`, `null`, `0`, `""`, `[]` and `{}` are all false.

Expressions in a common subset (paths, literals, comparisons, arithmetic, `and`/`or`/`not`, `length`, `add`,
`map`, `select`, ...) run on a small Python interpreter with jq's semantics (see `mixers.stream.jqfast`);
anything else, and any value combination the interpreter does not cover, runs on the jq library.
"""

from __future__ import annotations

from typing import Any

import jq
import orjson

from dolma_py.errors import ConfigError
from mixers.stream.jqfast import Computed, JqRuntimeError, Unsupported, compile_fast


def dolma_truthy(value: Any) -> bool:
    """dolma's truthiness of a jq output: false, null, 0, "", [] and {} are false.

    A non-integer number read unchanged from the document is always true in dolma (jaq keeps it as a decimal
    literal), so a plain `float` output is true; computed numbers (`Computed`, `int`) are false when zero.
    """
    if value is None or value is False:
        return False
    if value is True or type(value) is float:
        return True
    if type(value) is int or type(value) is Computed:
        return value != 0
    if type(value) is str or type(value) is list or type(value) is dict:
        return len(value) > 0
    return True


class JqProgram:
    """One compiled jq expression; `outputs(doc)` returns all its outputs or raises `JqError`."""

    def __init__(self, expression: str) -> None:
        self.expression = expression
        try:
            self._jq = jq.compile(expression)
        except ValueError as err:
            message = " ".join(str(err).split())
            raise ConfigError(f"invalid jq expression {expression!r}: {message}") from None
        try:
            self._fast = compile_fast(expression)
        except Unsupported:
            self._fast = None

    @property
    def fast(self) -> bool:
        """True when the expression runs on the Python interpreter (falling back to jq only per document)."""
        return self._fast is not None

    def outputs(self, document: dict[str, Any]) -> list[Any]:
        """Every output of the expression on `document`; a runtime error raises `JqRuntimeError`."""
        if self._fast is not None:
            try:
                return self._fast(document)
            except Unsupported:
                pass
        try:
            return self._jq.input_text(orjson.dumps(document).decode()).all()
        except ValueError as err:
            raise JqRuntimeError(" ".join(str(err).split())) from None


def include_matches(outputs: list[Any]) -> bool:
    """dolma's include test: at least one output, all truthy."""
    return bool(outputs) and all(dolma_truthy(value) for value in outputs)


def exclude_matches(outputs: list[Any]) -> bool:
    """dolma's exclude test: at least one truthy output."""
    return any(dolma_truthy(value) for value in outputs)
