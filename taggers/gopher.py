"""Gopher quality statistics (`gopher_v1`, `gopher_v2`) with dolma 1.2.1's keys and values, computed in Rust.

Every value is a document-level span `[0, len(text), value]`: n-gram character fractions (most common 2-4-grams,
duplicate 5-10-grams; absent when the document has fewer than n words), character and word counts, median word
length, symbol-to-word ratio, fraction of words with a letter, count of required English stop words, and line
fractions (bullet starts, ellipsis ends, duplicate lines, characters in duplicate lines).
"""

from __future__ import annotations

from collections.abc import Sequence

from dolma_py import _rust
from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.registry import register

GOPHER_KEYS: tuple[str, ...] = tuple(_rust.GOPHER_KEYS)


@register("gopher_v1")
class GopherV1(BaseTagger):
    """Gopher document statistics over `text.split("\\n")` lines."""

    ignore_empty_lines = False

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        values = _rust.gopher_stats_batch([doc.text for doc in docs], self.ignore_empty_lines)
        width = len(GOPHER_KEYS)
        out = []
        for i, doc in enumerate(docs):
            length = len(doc.text)
            row = values[i * width : (i + 1) * width]
            # NaN (v != v) marks n-gram statistics dolma does not emit for short documents.
            out.append({key: [Span(0, length, v)] for key, v in zip(GOPHER_KEYS, row, strict=False) if v == v})
        return out


@register("gopher_v2")
class GopherV2(GopherV1):
    """`gopher_v1` with lines split on runs of newlines, so blank lines do not count."""

    ignore_empty_lines = True
