"""`not_alphanum_paragraph_v1` under dolma 1.2.1's name and key: paragraphs made only of punctuation, whitespace
and emoji (key `all_punct`)."""

from __future__ import annotations

from collections.abc import Sequence

import regex

from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.length import split_paragraphs
from taggers.registry import register

HAS_ALPHANUM = regex.compile(r"[a-zA-Z0-9]", regex.UNICODE)
"""Only ASCII letters and digits count, as in dolma: a paragraph of CJK or Cyrillic text is not alphanumeric."""

ALL_PUNCTUATION = regex.compile(
    r"^([[:punct:]]|\s|[" "\U0001f300-\U0001f64f" "\U0001f680-\U0001f6ff" "\u2600-\u26ff\u2700-\u27bf" r"]+)+$",
    regex.UNICODE,
)
"""dolma's pattern: POSIX punctuation, whitespace and the emoji/symbol blocks it lists, nothing else."""


@register("not_alphanum_paragraph_v1")
class NotAlphanumParagraphV1(BaseTagger):
    """Non-blank paragraphs without ASCII letters or digits that are all punctuation, whitespace or emoji, scored
    1 (key `all_punct`); a document with none gets one document-wide span scored 0."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc in docs:
            spans = [
                Span(start, end, 1.0)
                for start, end in split_paragraphs(doc.text)
                if not HAS_ALPHANUM.search(doc.text[start:end]) and ALL_PUNCTUATION.search(doc.text[start:end])
            ]
            out.append({"all_punct": spans or [Span(0, len(doc.text), 0.0)]})
        return out
