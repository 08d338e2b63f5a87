"""Code-file heuristics with dolma's names, keys and values (RedPajama's code filters).

`code_redpajama_taggers_v1`: document values `max_line_length_doc`, `avg_line_length_doc`,
`alnum_prop_doc`, `alpha_token_prop_doc`.
`code_copyright_comments_v1`: span `copyright_notice` (first `/* ... */` block, if it mentions copyright) or
`comment_block` (leading `//`, `#`, `--` or empty lines), and document value `doc`.
dolma's other code taggers live in `code_secrets.py` (`code_secrets_v1`), `code_starcoder.py`
(`code_starcoder_taggers_v1/v2`) and `code_composition.py` (`code_composition`).
"""

from __future__ import annotations

import re

import regex

from dolma_py.data import Document, Span, TaggerOutput
from taggers.base import DocumentTagger, document_span
from taggers.registry import register

_CODE_TOKEN = regex.compile(r"\w+|[^\w\s]+")
_C_BLOCK_COMMENT = re.compile(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")
_COPYRIGHT = re.compile("copyright", re.IGNORECASE)
_LINE_COMMENT_PREFIXES = ("//", "#", "--")


@register("code_redpajama_taggers_v1")
class CodeRedPajamaTagger(DocumentTagger):
    """Line-length, alphanumeric and alpha-per-token statistics of a code file (RedPajama)."""

    def tag(self, doc: Document) -> TaggerOutput:
        text = doc.text
        line_lengths = [len(line) for line in text.splitlines()]
        max_line = float(max(line_lengths, default=0))
        avg_line = sum(line_lengths) / len(line_lengths) if line_lengths else 0.0
        alnum = sum(1 for char in text if char.isalnum())
        alpha = sum(1 for char in text if char.isalpha())
        # dolma counts the pieces *between* tokens (`regex.split`), i.e. tokens + 1; kept for equal values
        pieces = len(_CODE_TOKEN.split(text))
        return {
            "max_line_length_doc": document_span(doc, max_line),
            "avg_line_length_doc": document_span(doc, avg_line),
            "alnum_prop_doc": document_span(doc, alnum / len(text) if text else 0.0),
            "alpha_token_prop_doc": document_span(doc, alpha / pieces),
        }


@register("code_copyright_comments_v1")
class CodeCopyrightTagger(DocumentTagger):
    """Copyright notices and leading comment blocks of a code file (RedPajama), with dolma's quirks.

    As in dolma, a `comment_block` ends after the leading comment lines but counts only their characters
    (not their newlines) plus one per empty line, and `doc` is `(end - start + 1) / len(text)` of the first
    span (0 without one, -1 for empty text). Span ends are clamped to the text length.
    """

    def tag(self, doc: Document) -> TaggerOutput:
        text = doc.text
        found = self._find(text)
        if not text:
            score = -1.0
        elif found is None:
            score = 0.0
        else:
            score = (found[2] - found[1] + 1) / len(text)
        out: TaggerOutput = {}
        if found is not None:
            key, start, end = found
            out[key] = [Span(start, min(end, len(text)), 1.0)]
        out["doc"] = document_span(doc, score)
        return out

    @staticmethod
    def _find(text: str) -> tuple[str, int, int] | None:
        match = _C_BLOCK_COMMENT.search(text)
        if match is not None:
            return ("copyright_notice", *match.span()) if _COPYRIGHT.search(match.group(0)) else None
        skipped = end = 0
        for line in text.split("\n"):
            if line and not line.startswith(_LINE_COMMENT_PREFIXES):
                break
            skipped += 1
            end += len(line) if line else 1
        return ("comment_block", 0, end) if skipped else None
