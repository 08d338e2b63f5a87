"""A stream's document filter and span selectors, compiled once from its config.

dolma's order is kept: include rules are tried in order until one matches (no include rules: keep), then exclude
rules in order until one matches. Only the rules dolma would evaluate are evaluated, so jq runtime errors are
raised exactly where dolma raises them. A jq runtime error fails the file, as in dolma (`JqFailure` names the rule
and its expression); with `fail_on_jq_error: false` it counts as "no match" instead, under `jq_errors.<rule>`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dolma_py.config.mix import FilterConfig, SpanReplacementConfig
from dolma_py.jsonpath import JsonPath
from mixers.stream.jqfast import JqRuntimeError
from mixers.stream.jqfilter import JqProgram, exclude_matches, include_matches
from mixers.stream.spans import SpanRule

Test = Callable[[Any], bool]

_jsonpath = lru_cache(maxsize=None)(JsonPath)
_jq = lru_cache(maxsize=None)(JqProgram)
"""Expressions are compiled once per process and shared by every file it handles."""


class JqFailure(Exception):
    """A jq runtime error when the run fails on them; names the rule and its expression."""

    def __init__(self, rule: str, expression: str, error: str) -> None:
        super().__init__(f"jq error in {rule} {expression!r}: {error}")


@dataclass(frozen=True)
class Rule:
    """One include or exclude expression, with the counter key naming it (`include[0]`, `exclude[2]`)."""

    key: str
    expression: str
    test: Test


class DocFilter:
    """Decides whether a document is kept; counts drops per rule and jq errors in `counters`."""

    def __init__(self, config: FilterConfig | None, counters: Counter[str], fail_on_jq_error: bool) -> None:
        self.counters = counters
        self.fail_on_jq_error = fail_on_jq_error
        self.include: list[Rule] = []
        self.exclude: list[Rule] = []
        if config is None:
            return
        for kind, expressions, target in (
            ("include", config.include, self.include),
            ("exclude", config.exclude, self.exclude),
        ):
            for index, expression in enumerate(expressions):
                key = f"{kind}[{index}]"
                target.append(Rule(key, expression, self._compile(key, expression, config.syntax, kind)))

    def _compile(self, key: str, expression: str, syntax: str, kind: str) -> Test:
        if syntax == "jsonpath":
            return _jsonpath(expression).matches
        program = _jq(expression)
        judge = include_matches if kind == "include" else exclude_matches
        counters, fail = self.counters, self.fail_on_jq_error

        def test(document: Any) -> bool:
            try:
                return judge(program.outputs(document))
            except JqRuntimeError as err:
                if fail:
                    raise JqFailure(key, expression, str(err)) from None
                counters[f"jq_errors.{key}"] += 1
                return False

        return test

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude)

    def drop_reason(self, document: Any) -> str | None:
        """None to keep the document, else the counter key of the rule that dropped it."""
        if self.include:
            for rule in self.include:
                if rule.test(document):
                    break
            else:
                return "include"
        for rule in self.exclude:
            if rule.test(document):
                return rule.key
        return None

    def describe(self) -> dict[str, str]:
        """Counter key -> expression, for the report."""
        return {rule.key: rule.expression for rule in self.include + self.exclude}


def compile_span_rules(
    configs: list[SpanReplacementConfig], counters: Counter[str], fail_on_jq_error: bool
) -> list[SpanRule]:
    """Span rules with compiled selectors; a jq selector error selects nothing and is counted (or raises)."""
    rules = []
    for index, config in enumerate(configs):
        key = f"span_replacement[{index}]"
        if config.syntax == "jsonpath":
            select = _jsonpath(config.span).find
        else:
            select = _jq_selector(key, config.span, counters, fail_on_jq_error)
        rules.append(
            SpanRule(
                expression=config.span,
                select=select,
                min_score=float("-inf") if config.min_score is None else config.min_score,
                max_score=float("inf") if config.max_score is None else config.max_score,
                replacement=config.replacement,
            )
        )
    return rules


def _jq_selector(key: str, expression: str, counters: Counter[str], fail: bool) -> Callable[[Any], list[Any]]:
    program = _jq(expression)

    def select(document: Any) -> list[Any]:
        try:
            return program.outputs(document)
        except JqRuntimeError as err:
            if fail:
                raise JqFailure(key, expression, str(err)) from None
            counters[f"jq_errors.{key}"] += 1
            return []

    return select
