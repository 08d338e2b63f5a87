"""Regex PII taggers with dolma 1.2.1's names and keys: `EMAIL_ADDRESS`, `PHONE_NUMBER` and `IP_ADDRESS` spans
plus document scores. Matching and dolma's post-processing run in Rust (`dolma_py._rust`).

Where dolma divides by zero (`pii_regex_v1` and `pii_regex_with_counts_v2` on a document without words) and
crashes the run, the `doc` score is -1.0, the value `pii_regex_v2` gives there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from dolma_py import _rust
from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.registry import register

log = logging.getLogger(__name__)

KINDS = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
"""Attribute key per kind code returned by the Rust functions."""


def _group(flat: list[int]) -> TaggerOutput:
    """`[kind, start, end, ...]` into spans keyed by kind, in order of first appearance."""
    out: TaggerOutput = {}
    values = iter(flat)
    for kind, start, end in zip(values, values, values, strict=False):
        out.setdefault(KINDS[kind], []).append(Span(start, end, 1.0))
    return out


@register("pii_regex_v1")
class PiiRegexV1(BaseTagger):
    """Emails, phone numbers and IPs by regex with dolma's false-positive rules; `doc` is PII spans per word."""

    with_count = False

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc, (words, flat) in zip(docs, _rust.pii_regex_batch([doc.text for doc in docs]), strict=False):
            length = len(doc.text)
            result = _group(flat)
            found = len(flat) // 3
            result["doc"] = [Span(0, length, round(found / words, 5) if words else -1.0)]
            if self.with_count:
                result["doc_count"] = [Span(0, length, float(found))]
            out.append(result)
        return out


@register("pii_regex_v2")
class PiiRegexV2(PiiRegexV1):
    """`pii_regex_v1` (dolma's v2 only fixed the empty-document score to -1.0)."""


@register("pii_regex_with_counts_v2")
class PiiRegexWithCountsV2(PiiRegexV1):
    """`pii_regex_v1` plus `doc_count`, the number of PII spans."""

    with_count = True


@register("pii_regex_with_counts_fast_v2")
class PiiRegexWithCountsFastV2(BaseTagger):
    """Emails, phone numbers and IPs matched per paragraph without context rules; `doc_count` is the number of
    spans and `doc_frac` dolma's `(sum of span lengths + len(text)) / len(text)` (-1.0 for an empty text)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc, flat in zip(docs, _rust.pii_regex_fast_batch([doc.text for doc in docs]), strict=False):
            length = len(doc.text)
            if flat is None:
                log.warning("document %r: more than 10,000 question marks, PII regexes skipped", doc.id)
                flat = []
            result = _group(flat)
            covered = sum(flat[i + 2] - flat[i + 1] for i in range(0, len(flat), 3))
            result["doc_count"] = [Span(0, length, float(len(flat) // 3))]
            # dolma sums the lengths of all spans so far, including the document-wide `doc_count` span.
            result["doc_frac"] = [Span(0, length, round((covered + length) / length, 5) if length else -1.0)]
            out.append(result)
        return out
