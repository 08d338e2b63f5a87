"""Batch text kernels for dedupe: paragraph splitting, normalization, word segmentation and xxh3-64 hashing.

Every function takes a whole batch of texts and returns flat NumPy columns computed in Rust with the GIL
released (parallel over texts), so no per-paragraph or per-n-gram Python objects are created. Rows belonging
to text `i` are `offsets[i]:offsets[i + 1]`. Offsets are code points (Python `str` indices), end exclusive.

Paragraphs: every separator closes a paragraph, so `"a\\n\\nb"` has three ("a", "", "b"); a text ending with
the separator gets no empty paragraph after it, and `""` has none. Spans include the separator that follows
(so removing a span removes its line break, and the spans of a text tile it exactly) unless
`include_separator=False`. Hashes cover the normalized paragraph content, never the separator.

Words (`word_mode`): "bounds" (default) is dolma's tokenizer, the UAX #29 word-boundary segments that are
not all whitespace (words and single punctuation marks); "words" keeps only segments containing a letter or
digit.

N-grams: the n-grams dolma 1.2.1 counts, starting at words 0, 1, 1 + stride, 1 + 2*stride, ... (stride 0 or 1:
every n-gram); a text with fewer than n words has none. Each word is hashed with xxh3-64(seed), and an n-gram's key
is a rolling polynomial over its word hashes with a final mix, so it depends on the words and their order, not on
the whitespace between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from dolma_py import _rust

Normalization = _rust.Normalization
"""Options applied before hashing: `Normalization(lowercase=, collapse_whitespace=, strip_punctuation=,
strip_digits=)` (all False by default). Punctuation means Unicode P* plus Python's `string.punctuation`;
digits are Unicode Nd; whitespace runs become one space and ends are trimmed; lowercasing matches `str.lower`."""

ParsedTexts = _rust.ParsedTexts
"""Texts of documents parsed in Rust (`_rust.parse_documents`); the paragraph kernels take them in place of a
`list[str]`, so the texts never become Python strings."""

WordMode = Literal["bounds", "words"]


class Spans(NamedTuple):
    """Spans grouped per text: rows of text `i` are `offsets[i]:offsets[i + 1]`."""

    offsets: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]


class NgramHashes(NamedTuple):
    """N-gram keys grouped per text: keys of text `i` are `hashes[offsets[i]:offsets[i + 1]]`."""

    offsets: NDArray[np.int64]
    hashes: NDArray[np.uint64]


class ParagraphHashes(NamedTuple):
    """Kept paragraphs (grouped per text by `offsets`) with their spans and content hashes."""

    offsets: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    hashes: NDArray[np.uint64]


class ParagraphNgrams(NamedTuple):
    """Kept paragraphs as in `ParagraphHashes`, plus per paragraph its word count and n-gram keys
    (`ngram_hashes[ngram_offsets[j]:ngram_offsets[j + 1]]` for paragraph `j`)."""

    offsets: NDArray[np.int64]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    hashes: NDArray[np.uint64]
    num_words: NDArray[np.int64]
    ngram_offsets: NDArray[np.int64]
    ngram_hashes: NDArray[np.uint64]


def normalize_texts(texts: Sequence[str], normalization: Normalization) -> list[str]:
    """Normalized copies of `texts` (what the hashing kernels hash)."""
    return _rust.normalize_texts(texts, normalization)


def hash_texts(
    texts: Sequence[str], *, normalization: Normalization | None = None, seed: int = 0
) -> NDArray[np.uint64]:
    """Seeded xxh3-64 of each normalized text's UTF-8 bytes (without normalization this equals
    `xxhash.xxh3_64_intdigest(text, seed)`)."""
    return _rust.hash_texts(texts, normalization=normalization, seed=seed)


def word_spans(texts: Sequence[str], *, word_mode: WordMode = "bounds") -> Spans:
    """Code-point spans of the words of each text."""
    return Spans(*_rust.word_spans(texts, word_mode=word_mode))


def word_counts(texts: Sequence[str], *, word_mode: WordMode = "bounds") -> NDArray[np.int64]:
    """Number of words in each text."""
    return _rust.word_counts(texts, word_mode=word_mode)


def split_paragraphs(texts: Sequence[str], *, separator: str = "\n", include_separator: bool = True) -> Spans:
    """Spans of every paragraph of each text, empty paragraphs included."""
    return Spans(*_rust.split_paragraphs(texts, separator=separator, include_separator=include_separator))


def paragraph_hashes(
    texts: Sequence[str] | ParsedTexts,
    *,
    separator: str = "\n",
    normalization: Normalization | None = None,
    seed: int = 0,
    min_length: int = 0,
    min_words: int = 0,
    skip_empty: bool = False,
    word_mode: WordMode = "bounds",
    include_separator: bool = True,
) -> ParagraphHashes:
    """Spans and xxh3-64(seed) hashes of the paragraphs whose normalized content has at least `min_length`
    code points and `min_words` words and, with `skip_empty`, is not blank; other paragraphs are omitted."""
    return ParagraphHashes(
        *_rust.paragraph_hashes(
            texts,
            separator=separator,
            normalization=normalization,
            seed=seed,
            min_length=min_length,
            min_words=min_words,
            skip_empty=skip_empty,
            word_mode=word_mode,
            include_separator=include_separator,
        )
    )


def ngram_hashes(
    texts: Sequence[str],
    n: int,
    *,
    stride: int = 1,
    normalization: Normalization | None = None,
    seed: int = 0,
    word_mode: WordMode = "bounds",
) -> NgramHashes:
    """Word n-gram keys of each whole (normalized) text."""
    return NgramHashes(
        *_rust.ngram_hashes(texts, n, stride=stride, normalization=normalization, seed=seed, word_mode=word_mode)
    )


def paragraph_ngram_hashes(
    texts: Sequence[str] | ParsedTexts,
    n: int,
    *,
    stride: int = 1,
    separator: str = "\n",
    normalization: Normalization | None = None,
    seed: int = 0,
    min_length: int = 0,
    min_words: int = 0,
    skip_empty: bool = False,
    word_mode: WordMode = "bounds",
    include_separator: bool = True,
) -> ParagraphNgrams:
    """One pass for paragraph n-gram dedupe: the paragraphs `paragraph_hashes` keeps (same filters), each
    with its whole-content hash (the fallback key for paragraphs with few n-grams), word count and n-gram keys."""
    return ParagraphNgrams(
        *_rust.paragraph_ngram_hashes(
            texts,
            n,
            stride=stride,
            separator=separator,
            normalization=normalization,
            seed=seed,
            min_length=min_length,
            min_words=min_words,
            skip_empty=skip_empty,
            word_mode=word_mode,
            include_separator=include_separator,
        )
    )
