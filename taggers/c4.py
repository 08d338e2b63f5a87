"""C4 rules (`c4_v1`, `c4_v2`) with dolma 1.2.1's keys: per-line spans for lines without terminal punctuation or
with fewer than 3 words, whole-document flags, and the line count. The rules run in Rust (`dolma_py._rust`).

Line offsets index the original text. (dolma's `c4_v2` measures them on the lowercased text, which differs only
after a U+0130 "İ", whose lowercase is two characters.)
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Sequence
from pathlib import Path

from dolma_py import _rust
from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.registry import register

NAUGHTY_WORDS_PATH = Path(__file__).parent / "data" / "naughty_words_en.txt"
"""LDNOOBW English list as shipped with dolma 1.2.1 (CC-BY-4.0, see data/naughty_words_en.LICENSE.md)."""

NO_PUNCTUATION = "lines_with_no_ending_punctuation"
TOO_FEW_WORDS = "lines_with_too_few_words"


@functools.cache
def c4_rules() -> _rust.C4Rules:
    """The compiled naughty-word rules, loaded once per process."""
    return _rust.C4Rules(NAUGHTY_WORDS_PATH.read_text(encoding="utf-8").splitlines())


class _C4Base(BaseTagger):
    """Shared conversion of the Rust results to dolma's spans; subclasses order the keys like dolma does."""

    javascript_flag: int
    flag_order: tuple[str, ...]
    """Document flags in the order dolma emits them."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        results = c4_rules().tag_batch([doc.text for doc in docs])
        return [self._output(len(doc.text), *result) for doc, result in zip(docs, results, strict=False)]

    def _flags(self, length: int, flags: int) -> TaggerOutput:
        bits = {
            "has_naughty_word": _rust.C4_NAUGHTY,
            "has_javascript": self.javascript_flag,
            "has_lorem_ipsum": _rust.C4_LOREM_IPSUM,
            "has_curly_brace": _rust.C4_CURLY_BRACE,
        }
        return {key: [Span(0, length, 1.0)] for key in self.flag_order if flags & bits[key]}

    @staticmethod
    def _lines(flat: list[int]) -> tuple[list[Span], list[Span]]:
        no_punctuation: list[Span] = []
        too_few: list[Span] = []
        values = iter(flat)
        for start, end, rules in zip(values, values, values, strict=False):
            if rules & _rust.C4_NO_ENDING_PUNCTUATION:
                no_punctuation.append(Span(start, end, 1.0))
            if rules & _rust.C4_TOO_FEW_WORDS:
                too_few.append(Span(start, end, 1.0))
        return no_punctuation, too_few

    @abc.abstractmethod
    def _output(self, length: int, flags: int, line_count: int, flat: list[int]) -> TaggerOutput:
        """dolma's attributes of one document from its flags, line count and flagged lines."""


@register("c4_v1")
class C4V1(_C4Base):
    """C4 line rules and document flags; `has_javascript` when a lowercased word is exactly "javascript"."""

    javascript_flag = _rust.C4_JAVASCRIPT_WORD
    flag_order = ("has_naughty_word", "has_javascript", "has_lorem_ipsum", "has_curly_brace")

    def _output(self, length: int, flags: int, line_count: int, flat: list[int]) -> TaggerOutput:
        out: TaggerOutput = {}
        no_punctuation, too_few = self._lines(flat)
        if no_punctuation:
            out[NO_PUNCTUATION] = no_punctuation
        if too_few:
            out[TOO_FEW_WORDS] = too_few
        out.update(self._flags(length, flags))
        out["line_count"] = [Span(0, length, float(line_count))]
        return out


@register("c4_v2")
class C4V2(_C4Base):
    """C4 line rules and document flags; `has_javascript` when "javascript" occurs anywhere (lowercased)."""

    javascript_flag = _rust.C4_JAVASCRIPT_SUBSTRING
    flag_order = ("has_curly_brace", "has_lorem_ipsum", "has_javascript", "has_naughty_word")

    def _output(self, length: int, flags: int, line_count: int, flat: list[int]) -> TaggerOutput:
        out = self._flags(length, flags)
        no_punctuation, too_few = self._lines(flat)
        # Line keys appear in order of their first span; a line breaking both rules lists the punctuation first.
        line_keys = [(NO_PUNCTUATION, no_punctuation), (TOO_FEW_WORDS, too_few)]
        if flat and not flat[2] & _rust.C4_NO_ENDING_PUNCTUATION:
            line_keys.reverse()
        for key, spans in line_keys:
            if spans:
                out[key] = spans
        out["line_count"] = [Span(0, length, float(line_count))]
        return out
