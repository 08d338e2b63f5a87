"""Repetition taggers with dolma's names, keys and values, plus a Gopher-style word n-gram tagger.

dolma-compatible (`repetitions_v1`, `paragraph_repetitions_v1`, `tokenizer_repetitions_v1`,
`paragraph_tokenizer_repetitions_v1`, `tokenizer_repetitions_v2r2`): span key `repetition` with the
number of repeats as score, and document keys `doc_max_score_repetition`, `doc_max_length_repetition`,
`doc_frac_repetition` (summed span lengths over text length; overlapping spans count twice, as in dolma).
The character taggers return exactly the matches of dolma's regex, found by a Rust kernel
(`rust_ext/src/repetitions.rs`) in O(n log n) where Python's regex engine is quadratic per line.

`ngram_repetitions_v1` (ours): the Gopher paper's word n-gram statistics; see its docstring.
"""

from __future__ import annotations

import abc
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import ClassVar, NamedTuple

import numpy as np

from dolma_py import _rust
from dolma_py.data import Document, Span, TaggerOutput
from dolma_py.io.model_cache import cached_model_path
from taggers.base import DocumentTagger, document_span
from taggers.registry import register
from taggers.words import split_words

_PARAGRAPHS = re.compile(r"[^\n]*\n|[^\n]+$")
_REMOTE_PREFIXES = ("s3://", "http://", "https://")


def paragraph_offsets(text: str) -> Iterator[tuple[int, int]]:
    """`(start, end)` of each paragraph, newline included, like dolma's `split_paragraphs(remove_empty=False)`."""
    for match in _PARAGRAPHS.finditer(text):
        yield match.span()


class RepetitionStatsTagger(DocumentTagger):
    """Shared output of dolma's repetition taggers: `repetition` spans plus three document statistics."""

    keep_stats_when_empty: ClassVar[bool] = True

    @abc.abstractmethod
    def document_repetitions(self, doc: Document) -> list[Span]:
        """Repeated stretches of the document's text, scored by number of repeats."""

    def tag(self, doc: Document) -> TaggerOutput:
        return self.with_stats(doc, self.document_repetitions(doc))

    def with_stats(self, doc: Document, spans: list[Span]) -> TaggerOutput:
        """The tagger output for `doc`'s repetition `spans`: the spans plus the document statistics."""
        if not spans and not self.keep_stats_when_empty:
            return {}
        out: TaggerOutput = {"repetition": spans} if spans else {}
        lengths = [span.end - span.start for span in spans]
        out["doc_max_score_repetition"] = document_span(doc, max((s.score for s in spans), default=0.0))
        out["doc_max_length_repetition"] = document_span(doc, float(max(lengths, default=0)))
        frac = sum(lengths) / len(doc.text) if spans else 0.0
        out["doc_frac_repetition"] = document_span(doc, frac)
        return out


def char_repetitions(texts: Sequence[str], *, per_paragraph: bool) -> list[list[Span]]:
    r"""Per text, the matches of dolma's `re.finditer(r"(.+?)(\s?\1){3,}", text)`, scored like dolma by
    `match.group(0).count(match.group(1))`; `per_paragraph` searches each '\n'-terminated paragraph on its own.
    """
    offsets, starts, ends, _periods, counts = _rust.char_repetitions_batch(list(texts), per_paragraph)
    bounds, starts, ends, counts = offsets.tolist(), starts.tolist(), ends.tolist(), counts.tolist()
    return [
        [Span(starts[k], ends[k], float(counts[k])) for k in range(bounds[j], bounds[j + 1])] for j in range(len(texts))
    ]


@register("repetitions_v1")
class CharRepetitionsTagger(RepetitionStatsTagger):
    """Character sequences repeated at least 4 times in a row (optionally whitespace-separated)."""

    per_paragraph: ClassVar[bool] = False

    def document_repetitions(self, doc: Document) -> list[Span]:
        return char_repetitions([doc.text], per_paragraph=self.per_paragraph)[0]

    def tag_batch(self, docs: Sequence[Document]) -> list[TaggerOutput]:
        found = char_repetitions([doc.text for doc in docs], per_paragraph=self.per_paragraph)
        return [self.with_stats(doc, spans) for doc, spans in zip(docs, found, strict=True)]


@register("paragraph_repetitions_v1")
class ParagraphCharRepetitionsTagger(CharRepetitionsTagger):
    """`repetitions_v1` run on each paragraph: misses repeats that cross a newline."""

    per_paragraph: ClassVar[bool] = True


class PeriodicRun(NamedTuple):
    """A run of `times` repeats of a `period`-long token sequence, over tokens `[start, end)`."""

    start: int
    end: int
    period: int
    times: int


def _end_of_leading_true(row: np.ndarray) -> int:
    """Length of the run of True at the start of `row`."""
    falses = np.flatnonzero(~row)
    return int(falses[0]) if len(falses) else len(row)


def find_periodic_runs(ids: np.ndarray, max_period: int, min_period: int = 1) -> Iterator[PeriodicRun]:
    """Token sequences of length `min_period..max_period` repeated 3+ times, as dolma finds them.

    For each period the ids are cut into rows of `period`; blocks of rows equal to the row before
    them are runs, widened by the matching tail of the row before the block and head of the row after it.
    Same results as dolma's `find_periodic_sequences` (it detects runs only when at least 3 repeats).
    """
    ids = np.asarray(ids, dtype=np.int64)
    max_period = min(max_period, len(ids) // 3)
    for period in range(min_period, max_period + 1):
        padding = period - len(ids) % period
        rows = np.pad(ids, (0, padding), constant_values=-1).reshape(-1, period)
        equal_prev = rows == np.roll(rows, 1, axis=0)
        full_rows = np.flatnonzero(equal_prev.all(axis=1))
        if not len(full_rows):
            continue
        breaks = np.flatnonzero(np.diff(full_rows) != 1) + 1
        for block in np.split(full_rows, breaks):
            first, last = int(block[0]), int(block[-1])
            tail = _end_of_leading_true(equal_prev[first - 1][::-1])
            start_offset = tail if 0 < tail < period else 0
            end_offset = _end_of_leading_true(equal_prev[last + 1])
            start = (first - 1) * period - start_offset
            end = (last + 1) * period + end_offset
            times = (end - start) // period
            if times > 2:
                yield PeriodicRun(start, end, period, times)


@register("tokenizer_repetitions_v1")
class TokenizerRepetitionsTagger(RepetitionStatsTagger):
    """Token sequences (1-13 tokens long) repeated at least 3 times, found on a HF `tokenizers` encoding.

    Option `tokenizer_name_or_path`: a `tokenizer.json` (local, s3:// or http(s)://, downloaded once) or a
    Hugging Face hub name (needs network or the HF cache); dolma's default is
    `allenai/eleuther-ai-gpt-neox-20b-pii-special`.
    """

    min_period: ClassVar[int] = 1
    max_period: ClassVar[int] = 13

    def __init__(self, tokenizer_name_or_path: str = "allenai/eleuther-ai-gpt-neox-20b-pii-special") -> None:
        from tokenizers import Tokenizer

        if tokenizer_name_or_path.startswith(_REMOTE_PREFIXES) or os.path.exists(tokenizer_name_or_path):
            self.tokenizer = Tokenizer.from_file(cached_model_path(tokenizer_name_or_path))
        else:
            self.tokenizer = Tokenizer.from_pretrained(tokenizer_name_or_path)

    def document_repetitions(self, doc: Document) -> list[Span]:
        return self.repetitions(doc.text)

    def repetitions(self, text: str) -> list[Span]:
        """Token runs of `text`, as character spans scored by their number of repeats."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        offsets = encoding.offsets
        return [
            Span(offsets[run.start][0], offsets[run.end - 1][1], float(run.times))
            for run in find_periodic_runs(np.array(encoding.ids), self.max_period, self.min_period)
        ]


@register("paragraph_tokenizer_repetitions_v1")
class ParagraphTokenizerRepetitionsTagger(TokenizerRepetitionsTagger):
    """`tokenizer_repetitions_v1` per paragraph, each encoded after a leading space as in dolma.

    A run starting on that added space starts at the paragraph (dolma would report one character earlier).
    """

    def document_repetitions(self, doc: Document) -> list[Span]:
        spans: list[Span] = []
        for start, end in paragraph_offsets(doc.text):
            for span in self.repetitions(" " + doc.text[start:end]):
                spans.append(Span(max(span.start - 1, 0) + start, span.end - 1 + start, span.score))
        return spans


@register("tokenizer_repetitions_v2r2")
class TokenizerRepetitionsSkipEmptyTagger(TokenizerRepetitionsTagger):
    """`tokenizer_repetitions_v1` on 100k-character chunks, minus runs nested in an earlier one; {} when none."""

    keep_stats_when_empty: ClassVar[bool] = False
    chunk_chars: ClassVar[int] = 100_000

    def repetitions(self, text: str) -> list[Span]:
        ordered = sorted(super().repetitions(text), key=lambda s: (s.start, -s.end, -s.score))
        kept: list[Span] = []
        prev_start = prev_end = -1
        for span in ordered:
            if span.start >= prev_start and span.end <= prev_end:
                continue
            prev_start, prev_end = span.start, span.end
            kept.append(span)
        return kept

    def document_repetitions(self, doc: Document) -> list[Span]:
        spans: list[Span] = []
        for offset in range(0, len(doc.text), self.chunk_chars):
            for span in self.repetitions(doc.text[offset : offset + self.chunk_chars]):
                spans.append(Span(span.start + offset, span.end + offset, span.score))
        return spans


TOP_NGRAM_SIZES = (2, 3, 4)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)


@register("ngram_repetitions_v1")
class NgramRepetitionsTagger(DocumentTagger):
    """Gopher (Rae et al. 2021, table A1) word n-gram repetition fractions, one document value per key.

    Words are `taggers.words` tokens with at least one letter or digit, lower-cased; characters are
    counted over those words only. Keys:
    - `frac_chars_top_{n}gram` (n = 2, 3, 4): occurrences of the most frequent n-gram (ties: the first
      to occur) times its characters, over all word characters; 0 when no n-gram occurs twice;
    - `frac_chars_dupe_{n}grams` (n = 5..10): characters of words covered by any n-gram occurring more
      than once, each word counted once however many duplicated n-grams overlap it.
    Definitions as RedPajama-V2's `rps_doc_frac_chars_*` signals. dolma's `gopher_v1` reports similar
    numbers on whitespace-split words but counts every occurrence of a duplicated n-gram, overlaps included.
    """

    def tag(self, doc: Document) -> TaggerOutput:
        words = [w.lower() for w in split_words(doc.text) if any(c.isalnum() for c in w)]
        lengths = np.array([len(w) for w in words], dtype=np.int64)
        total = int(lengths.sum())
        out: TaggerOutput = {}
        for n in TOP_NGRAM_SIZES:
            out[f"frac_chars_top_{n}gram"] = document_span(doc, _top_ngram_fraction(words, n, total))
        for n in DUPLICATE_NGRAM_SIZES:
            fraction = _duplicate_ngram_fraction(words, lengths, n, total)
            out[f"frac_chars_dupe_{n}grams"] = document_span(doc, fraction)
        return out


def _ngrams(words: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(words[i:] for i in range(n)), strict=False))


def _top_ngram_fraction(words: list[str], n: int, total: int) -> float:
    top = Counter(_ngrams(words, n)).most_common(1)
    if not top or top[0][1] < 2:
        return 0.0
    gram, count = top[0]
    return count * sum(len(w) for w in gram) / total


def _duplicate_ngram_fraction(words: list[str], lengths: np.ndarray, n: int, total: int) -> float:
    grams = _ngrams(words, n)
    if not grams:
        return 0.0
    counts = Counter(grams)
    starts = np.array([counts[gram] > 1 for gram in grams], dtype=bool)
    if not starts.any():
        return 0.0
    # a word is covered if some duplicated n-gram starts within the n positions ending at it
    covered = np.convolve(starts.astype(np.int64), np.ones(n, dtype=np.int64))[: len(words)] > 0
    return float(lengths[covered].sum()) / total
