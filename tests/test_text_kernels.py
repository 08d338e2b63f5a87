"""Batch text kernels against plain-Python references: offsets are Python str indices, hashes are xxh3-64."""

from __future__ import annotations

import random
import string
import unicodedata

import numpy as np
import pytest
import xxhash

from dolma_py import text

SAMPLES = [
    "",
    "\n",
    "plain ascii\nsecond line\n",
    "héllo wörld 👋🏽 family 👨‍👩‍👧\n\n日本語のテキスト。次の文\n  \n🙂 end",
    "no newline at all",
    "trailing\n\n\n",
    "a\r\nb\r\n",
]


def python_paragraphs(doc: str, sep: str) -> list[tuple[int, int, int]]:
    """(start, content_end, end) per paragraph by str.split: the reference for the Rust splitter."""
    if not doc:
        return []
    pieces = doc.split(sep)
    if pieces[-1] == "":
        pieces.pop()
    out, pos = [], 0
    for piece in pieces:
        has_sep = doc.startswith(sep, pos + len(piece))
        out.append((pos, pos + len(piece), pos + len(piece) + (len(sep) if has_sep else 0)))
        pos = out[-1][2]
    return out


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = list("ab cd\n\n  .,!'") + ["é", "日本", "👍🏽", "🇫🇷", "\u0301", "—", "\t", "42", "3.14", "\r\n"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(count)]


@pytest.mark.parametrize("sep", ["\n", "\r\n", "||"])
def test_split_paragraphs_matches_python_offsets(sep: str) -> None:
    docs = SAMPLES + [t.replace("\n", sep) for t in random_texts(300, seed=1)]
    with_sep = text.split_paragraphs(docs, separator=sep)
    without = text.split_paragraphs(docs, separator=sep, include_separator=False)
    assert with_sep.offsets[0] == 0 and len(with_sep.offsets) == len(docs) + 1
    for i, doc in enumerate(docs):
        rows = slice(with_sep.offsets[i], with_sep.offsets[i + 1])
        expected = python_paragraphs(doc, sep)
        spans = list(zip(with_sep.start[rows], without.end[rows], with_sep.end[rows], strict=False))
        assert spans == expected, repr(doc)
        if expected:  # spans tile the document exactly and never end past it
            assert with_sep.start[rows][0] == 0 and with_sep.end[rows][-1] == len(doc)
            assert (with_sep.start[rows][1:] == with_sep.end[rows][:-1]).all()


def test_paragraph_edge_cases() -> None:
    spans = text.split_paragraphs(["", "a\n", "a\n\nb", "\n"])
    assert spans.offsets.tolist() == [0, 0, 1, 4, 5]
    assert list(zip(spans.start.tolist(), spans.end.tolist(), strict=False)) == [(0, 2), (0, 2), (2, 3), (3, 4), (0, 1)]
    with pytest.raises(ValueError, match="separator"):
        text.split_paragraphs(["a"], separator="")


def test_hash_texts_is_seeded_xxh3() -> None:
    docs = SAMPLES + random_texts(100, seed=2)
    for seed in (0, 1, 2**64 - 1):
        expected = [xxhash.xxh3_64_intdigest(d.encode("utf-8"), seed=seed) for d in docs]
        assert text.hash_texts(docs, seed=seed).tolist() == expected


def python_normalize(s: str, norm: text.Normalization) -> str:
    """Reference normalization: drop punctuation/digits, collapse whitespace, then lowercase."""
    if norm.strip_punctuation:
        s = "".join(c for c in s if not unicodedata.category(c).startswith("P") and c not in string.punctuation)
    if norm.strip_digits:
        s = "".join(c for c in s if unicodedata.category(c) != "Nd")
    if norm.collapse_whitespace:
        s = " ".join(s.split())
    return s.lower() if norm.lowercase else s


@pytest.mark.parametrize(
    "norm",
    [
        text.Normalization(lowercase=True),
        text.Normalization(collapse_whitespace=True),
        text.Normalization(strip_punctuation=True),
        text.Normalization(strip_digits=True),
        text.Normalization(lowercase=True, collapse_whitespace=True, strip_punctuation=True, strip_digits=True),
    ],
)
def test_normalization_matches_python_reference(norm: text.Normalization) -> None:
    docs = SAMPLES + random_texts(200, seed=3) + ["ΣΑΣ ÀÉÎ İstanbul", "«¿Qué?» a-b $5+3 😀 ٤٢ ½", "\u3000x\u00a0 y "]
    normalized = text.normalize_texts(docs, norm)
    assert normalized == [python_normalize(d, norm) for d in docs]
    expected = [xxhash.xxh3_64_intdigest(n.encode("utf-8"), seed=5) for n in normalized]
    assert text.hash_texts(docs, normalization=norm, seed=5).tolist() == expected


def test_normalization_is_a_value() -> None:
    a = text.Normalization(lowercase=True)
    assert a == text.Normalization(lowercase=True) and hash(a) == hash(text.Normalization(lowercase=True))
    assert a != text.Normalization()
    assert "lowercase=True" in repr(a)
    with pytest.raises(TypeError):
        text.Normalization(True)  # keyword-only


def test_word_spans_are_python_indices() -> None:
    docs = ["Hello, world! RSS 2.0 feed — 日本 👋🏽 can't", "", "  é\u0301x  ", *random_texts(100, seed=4)]
    spans = text.word_spans(docs)
    counts = text.word_counts(docs)
    assert (np.diff(spans.offsets) == counts).all()
    first = [docs[0][s:e] for s, e in zip(spans.start[: spans.offsets[1]], spans.end[: spans.offsets[1]], strict=False)]
    assert first == ["Hello", ",", "world", "!", "RSS", "2.0", "feed", "—", "日", "本", "👋🏽", "can't"]
    for i, doc in enumerate(docs):
        rows = slice(spans.offsets[i], spans.offsets[i + 1])
        for s, e in zip(spans.start[rows], spans.end[rows], strict=False):
            assert 0 <= s < e <= len(doc) and not doc[s:e].isspace()
    words = text.word_spans(docs[:1], word_mode="words")
    assert [docs[0][s:e] for s, e in zip(words.start, words.end, strict=False)] == [
        "Hello", "world", "RSS", "2.0", "feed", "日", "本", "can't"
    ]
    with pytest.raises(ValueError, match="word mode"):
        text.word_counts(docs, word_mode="spaces")  # type: ignore[arg-type]


def test_ngram_counts_with_stride() -> None:
    # dolma's starts with a stride above 1: 0, 1, 1 + stride, ...
    doc = " ".join(f"w{i}" for i in range(10))
    for n, stride, expected in [(3, 1, 8), (3, 0, 8), (3, 2, 5), (3, 3, 4), (10, 1, 1), (11, 1, 0), (1, 4, 4)]:
        result = text.ngram_hashes([doc, "", "one"], n, stride=stride)
        assert result.offsets.tolist() == [0, expected, expected, expected + (n == 1)], (n, stride)
        assert result.hashes.dtype == np.uint64
    with pytest.raises(ValueError, match="n-gram length"):
        text.ngram_hashes([doc], 0)


def test_ngram_hashes_depend_on_words_not_spacing() -> None:
    result = text.ngram_hashes(["a b c d", "a  b\tc\nd", "A B C D", "a b d c"], 3, seed=9)
    h = result.hashes.reshape(4, 2)
    assert (h[0] == h[1]).all()
    assert (h[0] != h[2]).all()
    assert h[0, 0] != h[3, 0] and h[0, 1] != h[3, 1]
    lowered = text.ngram_hashes(["A B C D"], 3, seed=9, normalization=text.Normalization(lowercase=True))
    assert (lowered.hashes == h[0]).all()
    assert (text.ngram_hashes(["a b c d"], 3, seed=10).hashes != h[0]).all()


def test_paragraph_hashes_and_filters() -> None:
    docs = ["Same line\n\n   \nsame line\nother words here!", "Same line"]
    norm = text.Normalization(lowercase=True)
    result = text.paragraph_hashes(docs, normalization=norm, seed=4)
    assert result.offsets.tolist() == [0, 5, 6]
    assert result.hashes[0] == result.hashes[3] == result.hashes[5] == xxhash.xxh3_64_intdigest(b"same line", seed=4)
    assert text.paragraph_hashes(docs, skip_empty=True).start.tolist() == [0, 15, 25, 0]
    assert text.paragraph_hashes(docs, min_words=3).start.tolist() == [25]  # "other words here !" has 4
    assert text.paragraph_hashes(docs, min_length=10).start.tolist() == [25]
    no_punctuation = text.Normalization(strip_punctuation=True)
    stripped = text.paragraph_hashes(["...\nok"], skip_empty=True, normalization=no_punctuation)
    assert stripped.start.tolist() == [4]  # filters see the normalized content


def test_paragraph_ngram_hashes_group_per_paragraph() -> None:
    docs = ["one two three four\nshort\n", "x y z", ""]
    result = text.paragraph_ngram_hashes(docs, 3)
    assert result.offsets.tolist() == [0, 2, 3, 3]
    assert list(zip(result.start.tolist(), result.end.tolist(), strict=False)) == [(0, 19), (19, 25), (0, 5)]
    assert result.num_words.tolist() == [4, 1, 3]
    assert result.ngram_offsets.tolist() == [0, 2, 2, 3]
    direct = text.ngram_hashes(["one two three four", "short", "x y z"], 3)
    assert (result.ngram_hashes == direct.hashes).all()
    assert result.hashes[1] == xxhash.xxh3_64_intdigest(b"short")
    filtered = text.paragraph_ngram_hashes(docs, 3, min_words=2)
    assert filtered.start.tolist() == [0, 0] and filtered.ngram_offsets.tolist() == [0, 2, 3]


def test_emoji_and_cjk_paragraph_spans_slice_python_strings() -> None:
    doc = "👋🏽 hi\n日本語\n🇫🇷🇩🇪 ok\n"
    result = text.paragraph_hashes([doc], include_separator=False)
    assert [doc[s:e] for s, e in zip(result.start, result.end, strict=False)] == ["👋🏽 hi", "日本語", "🇫🇷🇩🇪 ok"]
    assert result.hashes.tolist() == [xxhash.xxh3_64_intdigest(p.encode()) for p in ["👋🏽 hi", "日本語", "🇫🇷🇩🇪 ok"]]


def test_inputs_must_be_lists_of_str() -> None:
    with pytest.raises(TypeError):
        text.hash_texts("not a list")
    with pytest.raises(TypeError):
        text.hash_texts(["ok", 3])  # type: ignore[list-item]
    assert text.hash_texts(("a", "b")).shape == (2,)
