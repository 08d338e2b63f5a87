"""Length taggers under dolma 1.2.1's names and keys: characters, bytes, documents, word pieces, paragraphs."""

from __future__ import annotations

from collections.abc import Sequence

from dolma_py import _rust
from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import BaseTagger
from taggers.registry import register


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """dolma's `split_paragraphs`: `(start, end)` of each line with its newline (the last line may lack one),
    skipping lines that are only whitespace."""
    bounds = []
    start, length = 0, len(text)
    while start < length:
        newline = text.find("\n", start)
        end = length if newline < 0 else newline + 1
        if not text[start:end].isspace():
            bounds.append((start, end))
        start = end
    return bounds


@register("char_length_v1")
class CharLengthV1(BaseTagger):
    """Number of characters (key `length`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [{"length": [Span(0, n, float(n))]} for n in (len(doc.text) for doc in docs)]


@register("char_length_strip_ws_v1")
class CharLengthStripWsV1(BaseTagger):
    """Number of characters once leading and trailing whitespace is stripped (key `length_no_ws`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [{"length_no_ws": [Span(0, len(doc.text), float(len(doc.text.strip())))]} for doc in docs]


@register("bytes_length_v1")
class BytesLengthV1(BaseTagger):
    """Number of UTF-8 bytes (key `bytes`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [
            {"bytes": [Span(0, len(doc.text), float(len(doc.text.encode("utf-8", "surrogatepass"))))]}
            for doc in docs
        ]


@register("doc_count_v1")
class DocCountV1(BaseTagger):
    """A constant 1 per document, for counting documents through attribute sums (key `docs`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        return [{"docs": [Span(0, len(doc.text), 1.0)]} for doc in docs]


@register("char_length_with_paragraphs_v1")
class CharLengthWithParagraphsV1(BaseTagger):
    """Characters per non-blank paragraph (key `paragraph`, newline included) and per document (`document`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        out = []
        for doc in docs:
            result: TaggerOutput = {}
            paragraphs = [Span(s, e, float(e - s)) for s, e in split_paragraphs(doc.text)]
            if paragraphs:
                result["paragraph"] = paragraphs
            result["document"] = [Span(0, len(doc.text), float(len(doc.text)))]
            out.append(result)
        return out


@register("whitespace_tokenizer_v1")
class WhitespaceTokenizerV1(BaseTagger):
    """dolma's word-piece count `len(regex.split(r"\\w+|[^\\w\\s]+", text))`: word and punctuation runs plus one
    (key `length`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        counts = _rust.word_piece_count_batch([doc.text for doc in docs])
        return [{"length": [Span(0, len(doc.text), float(n))]} for doc, n in zip(docs, counts, strict=False)]


@register("whitespace_tokenizer_with_paragraphs_v1")
class WhitespaceTokenizerWithParagraphsV1(BaseTagger):
    """`whitespace_tokenizer_v1` per non-blank paragraph (key `paragraph`) and their sum (key `document`)."""

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        bounds = [split_paragraphs(doc.text) for doc in docs]
        pieces = [doc.text[s:e] for doc, doc_bounds in zip(docs, bounds, strict=False) for s, e in doc_bounds]
        counts = iter(_rust.word_piece_count_batch(pieces))
        out = []
        for doc, doc_bounds in zip(docs, bounds, strict=False):
            result: TaggerOutput = {}
            paragraphs = [Span(s, e, float(next(counts))) for s, e in doc_bounds]
            if paragraphs:
                result["paragraph"] = paragraphs
            result["document"] = [Span(0, len(doc.text), sum((p.score for p in paragraphs), 0.0))]
            out.append(result)
        return out
