"""A fast, Unicode-aware word and sentence splitter: no models, no downloads.

Used where datatrove would load spaCy or NLTK, and by our own n-gram statistics. Rules:
- a word is a run of letters, marks, digits, `_` and zero-width joiners; an apostrophe or a period
  between two such runs stays inside the word (``don't``, ``3.14``, ``e.g``), and so does a comma
  between two digits (``1,000``);
- Han, Hiragana and Katakana characters are one token each (those scripts are written without spaces);
- a run of two or more periods is one token (``...``); any other non-space character is a token of its own;
- a sentence ends after a run of Unicode sentence terminals (``.``, ``!``, ``?``, ``。``, ...) plus any
  closing quotes or brackets, when followed by whitespace or the end of the text.
Offsets are Unicode code points (Python `str` indices), end exclusive.
"""

from __future__ import annotations

import regex

_WORD_CHAR = r"[[\p{L}\p{M}\p{N}_\u200c\u200d]--[\p{Han}\p{Hiragana}\p{Katakana}]]"
_TOKEN = regex.compile(
    "|".join(
        (
            rf"{_WORD_CHAR}+(?:['\u2019.]{_WORD_CHAR}+|(?<=\d),\d+)*",  # words, with inner ' . and 1,000
            r"[\p{Han}\p{Hiragana}\p{Katakana}]",  # one token per character
            r"\.{2,}",  # ellipsis
            r"\S",  # any other symbol
        )
    ),
    regex.V1,
)
_SENTENCE_END = regex.compile(r"\p{Sentence_Terminal}+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)", regex.V1)


def word_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of every token, in order; whitespace is never part of a token."""
    return [match.span() for match in _TOKEN.finditer(text)]


def split_words(text: str) -> list[str]:
    """Tokens of `text` (words and punctuation), in order."""
    return _TOKEN.findall(text)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """`(start, end)` of every sentence, without surrounding whitespace; empty for blank text."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        _append_trimmed(text, start, match.end(), spans)
        start = match.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, without surrounding whitespace."""
    return [text[start:end] for start, end in sentence_spans(text)]


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        spans.append((start, end))
