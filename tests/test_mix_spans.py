"""Span replacement: dolma 1.2.1's results on well-formed spans, and our rule for the cases dolma corrupts."""

from __future__ import annotations

import pytest

from dolma_py.jsonpath import JsonPath
from mixers.stream.spans import SpanError, SpanRule, gather_spans, replace_spans

TEXT = "abcdefghijklmnopqrstuvwxyz"


def _replace(text: str, spans: list[list], replacement: str = "<{}>") -> str:
    return replace_spans(text, [(s, e, replacement) for s, e, _ in spans])


@pytest.mark.parametrize(
    ("spans", "expected"),
    [  # all observed with dolma 1.2.1 (replacement "<{}>")
        ([[0, 3, 1.0], [3, 6, 1.0]], "<abc><def>ghijklmnopqrstuvwxyz"),  # adjacent: both replaced
        ([[0, 5, 1.0], [3, 8, 1.0]], "<abcde>fghijklmnopqrstuvwxyz"),  # overlapping: the earlier start wins
        ([[0, 10, 1.0], [2, 4, 1.0]], "<abcdefghij>klmnopqrstuvwxyz"),  # contained span dropped
        ([[20, 26, 1.0]], "abcdefghijklmnopqrst<uvwxyz>"),  # at the end
        ([[0, 2, 1.0], [24, 26, 1.0]], "<ab>cdefghijklmnopqrstuvwx<yz>"),  # start and end
        ([[10, 12, 1.0], [0, 2, 1.0]], "<ab>cdefghij<kl>mnopqrstuvwxyz"),  # unsorted input
        ([[24, 30, 1.0]], "abcdefghijklmnopqrstuvwx<yz>"),  # end past the text is clamped
        ([[0, 3, 1.0], [0, 6, 1.0]], "<abc>defghijklmnopqrstuvwxyz"),  # equal starts: the first gathered wins
        ([[0, 6, 1.0], [0, 3, 1.0]], "<abcdef>ghijklmnopqrstuvwxyz"),
        ([[0, 26, 1.0]], "<abcdefghijklmnopqrstuvwxyz>"),
    ],
)
def test_replacement_matches_dolma(spans: list[list], expected: str) -> None:
    assert _replace(TEXT, spans) == expected


def test_zero_length_and_out_of_range_spans_replace_nothing() -> None:
    # dolma 1.2.1 corrupts these ("abcde<>ghij...<fghij...>"); we ignore spans that cover no text
    assert _replace(TEXT, [[5, 5, 1.0]]) == TEXT
    assert _replace(TEXT, [[26, 28, 1.0], [30, 31, 1.0]]) == TEXT
    assert _replace(TEXT, [[5, 5, 1.0], [5, 7, 1.0]]) == "abcde<fg>hijklmnopqrstuvwxyz"


def test_offsets_are_code_points() -> None:
    text = "héllo wörld 🙂 ok"
    assert _replace(text, [[0, 5, 1.0], [12, 13, 1.0]], "[{}]") == "[héllo] wörld [🙂] ok"
    assert _replace(text, [[6, 11, 1.0]], "") == "héllo  🙂 ok"


def test_replacement_text_and_placeholder() -> None:
    assert _replace("abc def", [[0, 3, 1.0]], "{}{}") == "abcabc def"
    assert _replace("abc def", [[4, 7, 1.0]], "|||EMAIL|||") == "abc |||EMAIL|||"
    assert _replace("abc", [], "x") == "abc"


def _rule(
    expression: str, min_score: float = float("-inf"), max_score: float = float("inf"), replacement: str = ""
) -> SpanRule:
    return SpanRule(expression, JsonPath(expression).find, min_score, max_score, replacement)


def test_gather_keeps_scores_in_min_inclusive_max_exclusive_range() -> None:
    doc = {"attributes": {"s": [[0, 1, 0.5], [1, 2, 0.7], [2, 3, 1.0], [3, 4, 0.2]]}}
    found = gather_spans(doc, [_rule("$.attributes.s", 0.5, 1.0, "X")])
    assert found == [(0, 1, "X"), (1, 2, "X")]


def test_gather_in_rule_order_and_skips_missing_attributes() -> None:
    doc = {"attributes": {"a": [[0, 2, 1]], "b": [[0, 4, 1]]}}
    rules = [
        _rule("$.attributes.b", 0.5, replacement="B"),
        _rule("$.attributes.missing"),
        _rule("$.attributes.a", 0.5, replacement="A"),
    ]
    spans = gather_spans(doc, rules)
    assert spans == [(0, 4, "B"), (0, 2, "A")]
    assert replace_spans("abcdef", spans) == "Bef"


@pytest.mark.parametrize("bad", [[[0, "1", 1.0]], [[0.0, 1, 1.0]], [[0, 1]], [5], [[3, 1, 1.0]], [[-1, 1, 1.0]]])
def test_malformed_spans_are_errors(bad: list) -> None:
    with pytest.raises(SpanError):
        gather_spans({"attributes": {"s": bad}}, [_rule("$.attributes.s")])
    with pytest.raises(SpanError):
        gather_spans({"attributes": {"s": "x"}}, [_rule("$.attributes.s")])
