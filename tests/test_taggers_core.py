"""Core taggers (length, C4, Gopher, PII, random number): dolma 1.2.1's names, keys and values.

Expected values are worked out by hand; the Rust kernels are also compared with plain-Python references of
dolma's definitions on edge cases and seeded random texts.
"""

from __future__ import annotations

import functools
import random
import re
import statistics
import sys
from collections import Counter

import pytest

from dolma_py import _rust
from dolma_py.data import Document, Span
from taggers.c4 import NAUGHTY_WORDS_PATH
from taggers.random_number import id_uniform
from taggers.registry import create_tagger

CORE_TAGGERS = (
    "char_length_v1",
    "char_length_strip_ws_v1",
    "bytes_length_v1",
    "doc_count_v1",
    "char_length_with_paragraphs_v1",
    "whitespace_tokenizer_v1",
    "whitespace_tokenizer_with_paragraphs_v1",
    "c4_v1",
    "c4_v2",
    "gopher_v1",
    "gopher_v2",
    "pii_regex_v1",
    "pii_regex_v2",
    "pii_regex_with_counts_v2",
    "pii_regex_with_counts_fast_v2",
    "random_number_v1",
)

EDGE_TEXTS = [
    "",
    " ",
    "\n",
    "\n\n",
    " \t\n \x1c\x1f",
    "word",
    "a\n",
    "trailing\n\n\n",
    "Hello world.\n",
    "日本語のテキストです。\n中文 文本",
    "😀😀 😀 🖕 x",
    "Ünïcode Σίσυφος ΣΑΣ ΟΔΟΣ.",
    "Kelvin \u212aink and lorem ipsum",
    "JavaScript is\nrequired {}",
    "\u2028line\u2029sep\x85x\xa0y",
    "tab\tsep\vv\ff\rr",
    "- item\u2026\n* item #tag\n\n\n- item\u2026",
    "the the the the the the the the the the the",
    "a b a b a b\na b a b",
    "Contact: john.doe@example.com today",
    "(@x@y.com z",
    "mail root@localhost. now",
    "@@@ @ x@y.z\n",
    "Call (555) 123-4567 now",
    "Tel:\u0663\u0664\u0665 \u0661\u0662\u0663 \u0664\u0665\u0666\u0667 ok",
    "isbn 555 123 4567",
    "#tag 555 123 4567",
    "see \x08http://x.org/a call 555 123 4567",
    "256.1.1.1 and 1.2.3.4567",
    "doi 10.1.2.3",
    "x\n 555 123 4567\n",
    "caf\u00e9 \u0301combining zero\u200bwidth",
]


def tag(name: str, text: str, doc_id: str = "d", **options: object) -> dict[str, list[tuple]]:
    """One document through a tagger, spans as plain tuples."""
    (out,) = create_tagger(name, options).tag_batch([Document(id=doc_id, text=text)])
    return {key: [tuple(span) for span in spans] for key, spans in out.items()}


# ---------------------------------------------------------------------------------------------------------------
# Plain-Python references of dolma 1.2.1's definitions (offsets on the original text).


def ref_gopher(text: str, ignore_empty_lines: bool = False) -> dict[str, float]:
    out: dict[str, float] = {}
    n_chars = len(text)
    words = text.split()
    word_chars = sum(map(len, words))
    counted = max(len(words), 1)
    if text:
        for n in range(2, 11):
            grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
            if not grams:
                continue
            if n <= 4:
                gram, count = grams.most_common(1)[0]
                fraction = count * sum(map(len, gram)) / max(word_chars, 1)
                out[f"fraction_of_characters_in_most_common_{n}grams"] = fraction
            else:
                total = sum(c * sum(map(len, g)) for g, c in grams.items())
                dup = sum(c * sum(map(len, g)) for g, c in grams.items() if c > 1)
                out[f"fraction_of_characters_in_duplicate_{n}grams"] = dup / max(total, 1)
    lines = (re.split(r"\n+", text) if ignore_empty_lines else text.split("\n")) if text else []
    line_counts = Counter(lines)
    n_lines = max(len(lines), 1)
    out.update(
        character_count=n_chars,
        word_count=len(words),
        median_word_length=float(statistics.median(map(len, words))) if words else 0.0,
        symbol_to_word_ratio=sum(1 for w in words if "#" in w or "\u2026" in w) / counted,
        fraction_of_words_with_alpha_character=sum(1 for w in words if any(c.isalpha() for c in w)) / counted,
        required_word_count=sum(1 for w in words if w in {"the", "be", "to", "of", "and", "that", "have", "with"}),
        fraction_of_lines_starting_with_bullet_point=sum(1 for ln in lines if ln[:1] in ("*", "-")) / n_lines,
        fraction_of_lines_ending_with_ellipsis=sum(1 for ln in lines if ln.endswith("\u2026")) / n_lines,
        fraction_of_duplicate_lines=sum(c for c in line_counts.values() if c > 1) / n_lines,
        fraction_of_characters_in_duplicate_lines=sum(len(ln) * c for ln, c in line_counts.items() if c > 1)
        / max(word_chars, 1),
    )
    return {key: round(float(value), 5) for key, value in out.items()}


@functools.cache
def naughty_entries() -> tuple[str, ...]:
    return tuple(NAUGHTY_WORDS_PATH.read_text(encoding="utf-8").splitlines())


def ref_c4(text: str, version: int) -> dict[str, list[tuple]]:
    entries = naughty_entries()
    naughty_words = {e for e in entries if " " not in e}
    naughty_phrases = [e for e in entries if " " in e]
    lower = text.lower()
    n = len(text)
    flags = {
        "has_naughty_word": any(w in naughty_words for w in lower.split()) or any(p in lower for p in naughty_phrases),
        "has_javascript": ("javascript" in lower) if version == 2 else ("javascript" in lower.split()),
        "has_lorem_ipsum": "lorem ipsum" in lower,
        "has_curly_brace": "{" in text,
    }
    no_punct, few = [], []
    start = 0
    lines = text.split("\n")
    for i, line in enumerate(lines):
        end = start + len(line) + (i < len(lines) - 1)
        if not line.strip().endswith((".", "?", "!", '"')):
            no_punct.append((start, end, 1.0))
        if len(line.split()) < 3:
            few.append((start, end, 1.0))
        start = end
    out: dict[str, list[tuple]] = {}
    for key, spans in (("lines_with_no_ending_punctuation", no_punct), ("lines_with_too_few_words", few)):
        if spans:
            out[key] = spans
    out.update({key: [(0, n, 1.0)] for key, on in flags.items() if on})
    out["line_count"] = [(0, n, float(len(lines)))]
    return out


EMAIL = re.compile("[.\\s@,?!;:)(]*([^\\s@]+@[^\\s@,?!;:)(]+?)[.\\s@,?!;:)(]?[\\s\n\r]")
PHONE = re.compile("\\s+\\(?(\\d{3})\\)?[-\\. ]*(\\d{3})[-. ]?(\\d{4})")
IP = re.compile("(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)")
# dolma's pattern is a non-raw string: its "\b" is a backspace character.
URL = re.compile(
    "(?i)\b((?:https?://|www\\d{0,3}[.]|[a-z0-9.\\-]+[.][a-z]{2,4}/)(?:[^\\s()<>]+|\\(([^\\s()<>]+|"
    "(\\([^\\s()<>]+\\)))*\\))+(?:\\(([^\\s()<>]+|(\\([^\\s()<>]+\\)))*\\)|[^\\s`!()\\[\\]"
    "{};:'\".,<>?«»“”‘’]))"
)


def ref_pii_v2(text: str) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    found = 0
    for key, pattern in (("EMAIL_ADDRESS", EMAIL), ("PHONE_NUMBER", PHONE), ("IP_ADDRESS", IP)):
        for m in pattern.finditer(text):
            s, e = m.span()
            if key == "EMAIL_ADDRESS":
                parts = m.group(0).split("@")
                if parts[0].strip() == "(" or "." not in parts[1]:
                    continue
            else:
                context = text[max(0, s - 100) : e + 100]
                if "isbn" in context or "doi" in context or "#" in context:
                    continue
                if key == "PHONE_NUMBER" and URL.search(text):
                    continue
            out.setdefault(key, []).append((s, e, 1.0))
            found += 1
    words = len(text.split())
    out["doc"] = [(0, len(text), round(found / words, 5) if words else -1.0)]
    return out


def random_texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = list("abcdefg  ..\n\n?!\"{}@#-*()0123456789") + [
        "\u2026", "é", "中", "😀", "\u3000", "\x1c", "\u212a", "Σ", "\u0663", "\t", "\r", "_", "'",
    ]
    pieces = ["the", "be", "and", "javascript", "lorem ipsum", "xxx", "blow job", "x@y.com ", "1.2.3.4",
              " 555 123 4567", "isbn", "doi"]
    texts = []
    for _ in range(count):
        parts = [
            rng.choice(pieces) if rng.random() < 0.2 else "".join(rng.choices(alphabet, k=rng.randint(1, 6)))
            for _ in range(rng.randint(0, 80))
        ]
        texts.append(rng.choice([" ", "", "\n"]).join(parts))
    return texts


FUZZ_TEXTS = EDGE_TEXTS + random_texts(300, seed=7)


# ---------------------------------------------------------------------------------------------------------------
# Registry and shared behaviour.


def test_every_core_tagger_is_registered_and_keeps_batch_order() -> None:
    docs = [Document(id=f"d{i}", text=text) for i, text in enumerate(EDGE_TEXTS)]
    for name in CORE_TAGGERS:
        tagger = create_tagger(name)
        batch = tagger.tag_batch(docs)
        assert len(batch) == len(docs), name
        singles = [tagger.tag_batch([doc])[0] for doc in docs]
        assert batch == singles, name
        for doc, out in zip(docs, batch, strict=False):
            for key, spans in out.items():
                for span in spans:
                    assert isinstance(span, Span) and isinstance(span.score, float), (name, key)
                    assert 0 <= span.start <= span.end <= len(doc.text), (name, key, doc.text)


def test_lone_surrogates_keep_offsets() -> None:
    text = "ab\ud800 cd\udfff"
    assert tag("char_length_v1", text) == {"length": [(0, 7, 7.0)]}
    assert tag("gopher_v1", text)["word_count"] == [(0, 7, 2.0)]
    assert tag("c4_v2", text)["lines_with_too_few_words"] == [(0, 7, 1.0)]


# ---------------------------------------------------------------------------------------------------------------
# Length taggers.


def test_length_taggers() -> None:
    assert tag("char_length_v1", "") == {"length": [(0, 0, 0.0)]}
    assert tag("char_length_v1", "héllo 😀") == {"length": [(0, 7, 7.0)]}
    assert tag("bytes_length_v1", "héllo 😀") == {"bytes": [(0, 7, 11.0)]}
    assert tag("char_length_strip_ws_v1", "  ab \n") == {"length_no_ws": [(0, 6, 2.0)]}
    assert tag("doc_count_v1", "x") == {"docs": [(0, 1, 1.0)]}
    # Word and punctuation runs: Hello , world ! It ' s 3 . 14 -> 10 runs, 11 pieces.
    assert tag("whitespace_tokenizer_v1", "Hello, world! It's 3.14") == {"length": [(0, 23, 11.0)]}
    assert tag("whitespace_tokenizer_v1", "") == {"length": [(0, 0, 1.0)]}
    assert tag("whitespace_tokenizer_v1", "中文 text_1 😀😀") == {"length": [(0, 12, 4.0)]}


def test_paragraph_taggers() -> None:
    text = "ab\n\n  \ncd"
    assert tag("char_length_with_paragraphs_v1", text) == {
        "paragraph": [(0, 3, 3.0), (7, 9, 2.0)],
        "document": [(0, 9, 9.0)],
    }
    assert tag("whitespace_tokenizer_with_paragraphs_v1", text) == {
        "paragraph": [(0, 3, 2.0), (7, 9, 2.0)],
        "document": [(0, 9, 4.0)],
    }
    assert tag("char_length_with_paragraphs_v1", " \n") == {"document": [(0, 2, 2.0)]}
    assert tag("whitespace_tokenizer_with_paragraphs_v1", "") == {"document": [(0, 0, 0.0)]}


# ---------------------------------------------------------------------------------------------------------------
# C4.

C4_TEXT = 'The quick brown fox.\nSign up now\n  {"a": 1}  \nEnable JavaScript!\n'


def test_c4_v1_hand_computed() -> None:
    out = tag("c4_v1", C4_TEXT)
    assert out == {
        "lines_with_no_ending_punctuation": [(21, 33, 1.0), (33, 46, 1.0), (65, 65, 1.0)],
        "lines_with_too_few_words": [(33, 46, 1.0), (46, 65, 1.0), (65, 65, 1.0)],
        "has_curly_brace": [(0, 65, 1.0)],
        "line_count": [(0, 65, 5.0)],
    }
    assert list(out) == [
        "lines_with_no_ending_punctuation", "lines_with_too_few_words", "has_curly_brace", "line_count"
    ]


def test_c4_v2_hand_computed() -> None:
    out = tag("c4_v2", C4_TEXT)
    # v2 finds "javascript" as a substring ("javascript!" is not the word "javascript" v1 wants).
    assert list(out) == [
        "has_curly_brace",
        "has_javascript",
        "lines_with_no_ending_punctuation",
        "lines_with_too_few_words",
        "line_count",
    ]
    assert out["has_javascript"] == [(0, 65, 1.0)]
    assert out["lines_with_too_few_words"] == [(33, 46, 1.0), (46, 65, 1.0), (65, 65, 1.0)]
    # The first flagged line only has too few words, so that key comes first (as in dolma).
    assert list(tag("c4_v2", "Yes.\nno punctuation here at all")) == [
        "lines_with_too_few_words",
        "lines_with_no_ending_punctuation",
        "line_count",
    ]


def test_c4_empty_unicode_and_flags() -> None:
    empty = {
        "lines_with_no_ending_punctuation": [(0, 0, 1.0)],
        "lines_with_too_few_words": [(0, 0, 1.0)],
        "line_count": [(0, 0, 1.0)],
    }
    assert tag("c4_v1", "") == empty
    assert tag("c4_v2", "") == empty
    assert tag("c4_v2", "Ça va? Très bien\n日本語 テキスト 😀!") == {
        "lines_with_no_ending_punctuation": [(0, 17, 1.0)],
        "line_count": [(0, 28, 2.0)],
    }
    assert tag("c4_v2", "This is a Blow Job joke.")["has_naughty_word"] == [(0, 24, 1.0)]
    # Words are whitespace-separated and lowercased: "bollocks," is not the word "bollocks".
    assert "has_naughty_word" not in tag("c4_v1", "what BOLLOCKS, really.")
    assert "has_naughty_word" in tag("c4_v1", "what BOLLOCKS really.")
    # U+212A KELVIN SIGN lowercases to "k".
    assert "has_naughty_word" in tag("c4_v1", "so \u212aINKY")
    assert tag("c4_v1", "lorem ipsum dolor sit amet.") == {
        "has_lorem_ipsum": [(0, 27, 1.0)],
        "line_count": [(0, 27, 1.0)],
    }


def test_c4_offsets_index_the_original_text() -> None:
    # "İ".lower() is two characters; dolma's c4_v2 would shift later offsets by one (0-4, 4-6).
    assert tag("c4_v2", "\u0130x\nab")["lines_with_too_few_words"] == [(0, 3, 1.0), (3, 5, 1.0)]


@pytest.mark.parametrize("version", [1, 2])
def test_c4_matches_reference(version: int) -> None:
    docs = [Document(id=str(i), text=text) for i, text in enumerate(FUZZ_TEXTS)]
    outs = create_tagger(f"c4_v{version}").tag_batch(docs)
    for doc, out in zip(docs, outs, strict=False):
        got = {key: [tuple(s) for s in spans] for key, spans in out.items()}
        assert got == ref_c4(doc.text, version), doc.text


# ---------------------------------------------------------------------------------------------------------------
# Gopher.


def test_gopher_hand_computed() -> None:
    text = "the cat sat\nthe cat sat\n- a dog\u2026"
    out = tag("gopher_v1", text)
    n = 32
    # 9 words, 24 word characters; bigram "the cat" x2 (6 chars), trigram "the cat sat" x2 (9 chars),
    # 4-grams all unique (first: "the cat sat the", 12 chars); 10-grams do not exist.
    assert out == {
        "fraction_of_characters_in_most_common_2grams": [(0, n, 0.5)],
        "fraction_of_characters_in_most_common_3grams": [(0, n, 0.75)],
        "fraction_of_characters_in_most_common_4grams": [(0, n, 0.5)],
        "fraction_of_characters_in_duplicate_5grams": [(0, n, 0.0)],
        "fraction_of_characters_in_duplicate_6grams": [(0, n, 0.0)],
        "fraction_of_characters_in_duplicate_7grams": [(0, n, 0.0)],
        "fraction_of_characters_in_duplicate_8grams": [(0, n, 0.0)],
        "fraction_of_characters_in_duplicate_9grams": [(0, n, 0.0)],
        "character_count": [(0, n, 32.0)],
        "word_count": [(0, n, 9.0)],
        "median_word_length": [(0, n, 3.0)],
        "symbol_to_word_ratio": [(0, n, 0.11111)],
        "fraction_of_words_with_alpha_character": [(0, n, 0.88889)],
        "required_word_count": [(0, n, 2.0)],
        "fraction_of_lines_starting_with_bullet_point": [(0, n, 0.33333)],
        "fraction_of_lines_ending_with_ellipsis": [(0, n, 0.33333)],
        "fraction_of_duplicate_lines": [(0, n, 0.66667)],
        "fraction_of_characters_in_duplicate_lines": [(0, n, 0.91667)],
    }
    assert list(out) == [k for k in _rust.GOPHER_KEYS if k != "fraction_of_characters_in_duplicate_10grams"]


def test_gopher_empty_and_whitespace() -> None:
    zeros = {key: 0.0 for key in _rust.GOPHER_KEYS[9:]}
    assert {k: v[0][2] for k, v in tag("gopher_v1", "").items()} == zeros
    blank = {k: v[0][2] for k, v in tag("gopher_v1", " \n\n").items()}
    assert blank == {**zeros, "character_count": 3.0, "fraction_of_duplicate_lines": 0.66667}
    # gopher_v2 splits lines on newline runs: " ", "" -> no duplicates.
    assert tag("gopher_v2", " \n\n")["fraction_of_duplicate_lines"] == [(0, 3, 0.0)]


def test_gopher_ties_pick_first_ngram() -> None:
    # "aaaa b", "b c" and "c dd" all occur twice; the first seen wins although the others are shorter.
    out = tag("gopher_v1", "aaaa b c dd aaaa b c dd")
    assert out["fraction_of_characters_in_most_common_2grams"][0][2] == round(2 * 5 / 16, 5)


@pytest.mark.parametrize("ignore_empty_lines", [False, True])
def test_gopher_matches_reference(ignore_empty_lines: bool) -> None:
    values = _rust.gopher_stats_batch(FUZZ_TEXTS, ignore_empty_lines)
    width = len(_rust.GOPHER_KEYS)
    for i, text in enumerate(FUZZ_TEXTS):
        row = values[i * width : (i + 1) * width]
        got = {key: v for key, v in zip(_rust.GOPHER_KEYS, row, strict=False) if v == v}
        assert got == ref_gopher(text, ignore_empty_lines), text


def test_python_whitespace_and_letters_over_all_code_points() -> None:
    code_points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000]
    # Word splitting: "x" + every character; Python's str.split() decides which ones separate words.
    joined = "".join("x" + chr(c) for c in code_points)
    stats = dict(zip(_rust.GOPHER_KEYS, _rust.gopher_stats_batch([joined]), strict=False))
    word_count = stats["word_count"]
    assert word_count == len(joined.split())
    # Letters: one word per non-space character, in blocks small enough that the rounded fraction is exact.
    singles = [chr(c) for c in code_points if not chr(c).isspace()]
    blocks = [singles[i : i + 4096] for i in range(0, len(singles), 4096)]
    values = _rust.gopher_stats_batch([" ".join(block) for block in blocks])
    index = _rust.GOPHER_KEYS.index("fraction_of_words_with_alpha_character")
    width = len(_rust.GOPHER_KEYS)
    for b, block in enumerate(blocks):
        assert round(values[b * width + index] * len(block)) == sum(ch.isalpha() for ch in block), b


# ---------------------------------------------------------------------------------------------------------------
# PII.

PII_TEXT = "Email: jane@mail.example.org or call 555-123-4567 today. Server 10.0.0.1.\n"


def test_pii_v2_hand_computed() -> None:
    expected = {
        "EMAIL_ADDRESS": [(5, 29, 1.0)],
        "PHONE_NUMBER": [(36, 49, 1.0)],
        "IP_ADDRESS": [(64, 72, 1.0)],
        "doc": [(0, 74, 0.375)],
    }
    assert tag("pii_regex_v2", PII_TEXT) == expected
    assert tag("pii_regex_v1", PII_TEXT) == expected
    assert tag("pii_regex_with_counts_v2", PII_TEXT) == {**expected, "doc_count": [(0, 74, 3.0)]}


def test_pii_fast_hand_computed() -> None:
    # doc_frac = (24 + 13 + 8 + len(text)) / len(text), dolma's sum including the doc_count span.
    assert tag("pii_regex_with_counts_fast_v2", PII_TEXT) == {
        "EMAIL_ADDRESS": [(5, 29, 1.0)],
        "PHONE_NUMBER": [(36, 49, 1.0)],
        "IP_ADDRESS": [(64, 72, 1.0)],
        "doc_count": [(0, 74, 3.0)],
        "doc_frac": [(0, 74, 1.60811)],
    }
    text = "See isbn 555 123 4567\n"
    assert tag("pii_regex_v2", text) == {"doc": [(0, 22, 0.0)]}
    assert tag("pii_regex_with_counts_fast_v2", text) == {
        "PHONE_NUMBER": [(8, 21, 1.0)],
        "doc_count": [(0, 22, 1.0)],
        "doc_frac": [(0, 22, 1.59091)],
    }
    assert tag("pii_regex_with_counts_fast_v2", "") == {"doc_count": [(0, 0, 0.0)], "doc_frac": [(0, 0, -1.0)]}


def test_pii_empty_unicode_and_postprocessing() -> None:
    assert tag("pii_regex_v2", "") == {"doc": [(0, 0, -1.0)]}
    assert tag("pii_regex_v1", " \n") == {"doc": [(0, 2, -1.0)]}
    assert tag("pii_regex_v2", "Émile — 10.0.0.1 😀 ok") == {"IP_ADDRESS": [(8, 16, 1.0)], "doc": [(0, 21, 0.2)]}
    # Without a dot in the domain, or with "(" as the whole addressee, it is not an email.
    assert tag("pii_regex_v2", "ping root@localhost now") == {"doc": [(0, 23, 0.0)]}
    assert tag("pii_regex_v2", "x ( @y.com z")["doc"] == [(0, 12, 0.0)]
    # A URL only counts after a backspace (dolma's non-raw "\b"), and then drops every phone number.
    assert "PHONE_NUMBER" in tag("pii_regex_v2", "see http://x.org call 555 123 4567")
    assert "PHONE_NUMBER" not in tag("pii_regex_v2", "see \x08http://x.org/a call 555 123 4567")
    # Python's \s also matches U+001C..U+001F; \d matches any decimal digit.
    assert tag("pii_regex_v2", "tel\x1c555 123 4567")["PHONE_NUMBER"] == [(3, 16, 1.0)]
    assert tag("pii_regex_v2", "tel \u0665\u0665\u0665 123 4567")["PHONE_NUMBER"] == [(3, 16, 1.0)]


def test_pii_matches_reference() -> None:
    docs = [Document(id=str(i), text=text) for i, text in enumerate(FUZZ_TEXTS)]
    for doc, out in zip(docs, create_tagger("pii_regex_v2").tag_batch(docs), strict=False):
        got = {key: [tuple(s) for s in spans] for key, spans in out.items()}
        assert got == ref_pii_v2(doc.text), doc.text


def test_pii_fast_skips_question_mark_floods(caplog: pytest.LogCaptureFixture) -> None:
    text = "?" * 10_001 + " x@y.com \n"
    assert tag("pii_regex_with_counts_fast_v2", text, doc_id="qq") == {
        "doc_count": [(0, len(text), 0.0)],
        "doc_frac": [(0, len(text), 1.0)],
    }
    assert "qq" in caplog.text


# ---------------------------------------------------------------------------------------------------------------
# Random numbers.


def test_random_number_is_a_function_of_id_and_seed() -> None:
    tagger = create_tagger("random_number_v1")
    docs = [Document(id=f"doc-{i}", text="x" * (i % 7)) for i in range(2000)]
    forward = tagger.tag_batch(docs)
    backward = tagger.tag_batch(docs[::-1])[::-1]
    assert forward == backward
    values = [out["random"][0].score for out in forward]
    assert all(0.0 <= v < 1.0 and round(v, 5) == v for v in values)
    assert abs(statistics.mean(values) - 0.5) < 0.03
    assert len(set(values)) > 1900
    assert forward[3] == {"random": [Span(0, 3, id_uniform("doc-3", 1))]}
    assert tag("random_number_v1", "", doc_id="a", seed=2) != tag("random_number_v1", "", doc_id="a", seed=1)
    assert tag("random_number_v1", "abc", doc_id="a") == tag("random_number_v1", "abc", doc_id="a")
    for bad in (0, -1, 2**64, 1.5, True):
        with pytest.raises(ValueError, match="seed"):
            create_tagger("random_number_v1", {"seed": bad})
