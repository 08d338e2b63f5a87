"""Blocklist, repetition, code and datatrove-adapter taggers, and the shared word tokenizer."""

from __future__ import annotations

import gzip
import inspect
import random
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dolma_py import _rust
from dolma_py.data import Document, Span
from dolma_py.errors import ConfigError
from taggers import registry, words
from taggers.blocklist import UrlBlocklistTagger
from taggers.code import CodeCopyrightTagger, CodeRedPajamaTagger
from taggers.datatrove_adapter import reason_key, resolve_filter, word_tokenizer
from taggers.repetitions import (
    CharRepetitionsTagger,
    NgramRepetitionsTagger,
    ParagraphCharRepetitionsTagger,
    ParagraphTokenizerRepetitionsTagger,
    PeriodicRun,
    TokenizerRepetitionsSkipEmptyTagger,
    TokenizerRepetitionsTagger,
    find_periodic_runs,
)

MY_MODULES = ("taggers.blocklist", "taggers.repetitions", "taggers.code", "taggers.datatrove_adapter")


def doc(text: str, doc_id: str = "d", **metadata: object) -> Document:
    return Document(id=doc_id, text=text, metadata=dict(metadata))


def whole(text: str, score: float) -> list[Span]:
    return [Span(0, len(text), score)]


# ---------------------------------------------------------------- registry


@pytest.fixture()
def my_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load only this file's tagger modules, so the test does not depend on other built-ins."""
    monkeypatch.setattr(registry, "BUILTIN_MODULES", MY_MODULES)
    monkeypatch.setattr(registry, "_loaded_builtins", False)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("repetitions_v1", CharRepetitionsTagger),
        ("paragraph_repetitions_v1", ParagraphCharRepetitionsTagger),
        ("tokenizer_repetitions_v1", TokenizerRepetitionsTagger),
        ("paragraph_tokenizer_repetitions_v1", ParagraphTokenizerRepetitionsTagger),
        ("tokenizer_repetitions_v2r2", TokenizerRepetitionsSkipEmptyTagger),
        ("ngram_repetitions_v1", NgramRepetitionsTagger),
        ("code_redpajama_taggers_v1", CodeRedPajamaTagger),
        ("code_copyright_comments_v1", CodeCopyrightTagger),
        ("url_blocklist_v1", UrlBlocklistTagger),
    ],
)
def test_registered_under_dolma_names(my_registry: None, name: str, cls: type) -> None:
    assert registry.tagger_class(name) is cls


def test_datatrove_prefix_through_registry(my_registry: None) -> None:
    tagger = registry.create_tagger("datatrove:GopherQualityFilter", {"min_doc_words": 2})
    assert tagger.name == "datatrove:GopherQualityFilter"
    out = tagger.tag_batch([doc("the cat and the dog")])[0]
    assert out == {"pass": whole("the cat and the dog", 1.0)}
    with pytest.raises(registry.TaggerNotFound, match="GopherQualityFilter"):
        registry.tagger_class("datatrove:NoSuchFilter")
    with pytest.raises(ValueError, match="bad options"):
        registry.create_tagger("datatrove:GopherQualityFilter", {"no_such_option": 1})


# ---------------------------------------------------------------- words


def test_split_words_unicode_and_punctuation() -> None:
    text = "Naïve café, don't pay 1,000.5 $... 漢字かな हिन्दी!"
    expected = ["Naïve", "café", ",", "don't", "pay", "1,000.5", "$", "...", "漢", "字", "か", "な", "हिन्दी", "!"]
    assert words.split_words(text) == expected
    spans = words.word_spans(text)
    assert [text[s:e] for s, e in spans] == words.split_words(text)
    assert spans[1] == (6, 10)  # code-point offsets: "café" after "Naïve "


def test_sentences_and_blank_text() -> None:
    text = "  First one. Second?! “Quoted.” 第三句。 tail without end  "
    expected = ["First one.", "Second?!", "“Quoted.”", "第三句。", "tail without end"]
    assert words.split_sentences(text) == expected
    start, end = words.sentence_spans(text)[0]
    assert (start, end) == (2, 12)
    for blank in ("", " \n\t "):
        assert words.split_words(blank) == []
        assert words.sentence_spans(blank) == []


# ---------------------------------------------------------------- blocklist


@pytest.fixture()
def blocklist_file(tmp_path: Path) -> Path:
    lines = [
        "# comment",
        "! adblock comment",
        "",
        "Example.com",
        "www.Blocked-Www.org",
        "0.0.0.0 hosts-style.net bad_host!  second-host.net  # trailing comment",
        "203.0.113.7 ip-and-name.io",
        "127.0.0.1 localhost",
        "||adblock-rule.com^$third-party",
        "https://links.test/some/page/",
        "http://ports.test:8080/x",
        "not a valid line",
    ]
    path = tmp_path / "list.txt.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode(), mtime=0))
    return path


@pytest.mark.parametrize(
    ("url", "blocked"),
    [
        ("http://example.com", True),
        ("EXAMPLE.COM", True),
        ("https://www.example.com/any/path?q=1", True),
        ("https://deep.sub.Example.com:443/", True),
        ("https://notexample.com/", False),
        ("https://example.com.evil.net/", False),
        ("http://blocked-www.org/", True),
        ("http://www.blocked-www.org/", True),
        ("http://hosts-style.net/a", True),
        ("http://second-host.net/a", True),
        ("http://comment/", False),
        ("http://ip-and-name.io", True),
        ("http://203.0.113.7/page", True),
        ("http://127.0.0.1/", False),
        ("http://localhost/", False),
        ("https://cdn.adblock-rule.com/x.js", True),
        ("http://links.test/some/page", True),
        ("http://LINKS.test/Some/PAGE", True),
        ("s3://links.test/some/page/", True),
        ("https://www.links.test/some/page#frag", True),
        ("https://links.test/some/other", False),
        ("https://links.test/", False),
        ("https://ports.test:8080/x", True),
        ("https://ports.test/x", False),
        ("", False),
        ("http://:80", False),
    ],
)
def test_blocklist_matching(blocklist_file: Path, url: str, blocked: bool) -> None:
    tagger = UrlBlocklistTagger(blocklist_path=str(blocklist_file))
    text = "séance ☃ text"
    expected = {"url": [Span(0, len(text), 1.0)]} if blocked else {}
    assert tagger.tag(doc(text, url=url)) == expected


def test_blocklist_fields_and_fallback(blocklist_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    tagger = UrlBlocklistTagger(blocklist_path=[str(blocklist_file)])
    assert f"skipped 2 unparseable blocklist lines; first at {blocklist_file}:6:" in caplog.text
    assert tagger.tag(doc("", doc_id="https://sub.example.com/p")) == {"url": [Span(0, 0, 1.0)]}
    assert tagger.tag(doc("   ", doc_id="www.example.com")) == {"url": [Span(0, 3, 1.0)]}
    assert tagger.tag(doc("x", doc_id="example.com-123")) == {}  # ids that do not look like URLs are ignored
    assert tagger.tag(doc("x", doc_id="https://example.com", url="https://fine.org")) == {}
    custom = UrlBlocklistTagger(blocklist_path=str(blocklist_file), url_field="metadata.warc.target")
    assert custom.tag(doc("x", warc={"target": "http://example.com/"})) == {"url": [Span(0, 1, 1.0)]}
    raw = Document(id="r", text="x", raw={"link": "http://example.com"})
    assert UrlBlocklistTagger(blocklist_path=str(blocklist_file), url_field="link").tag(raw) == {
        "url": [Span(0, 1, 1.0)]
    }
    with pytest.raises(ValueError, match=r"document 'd': field 'metadata.url' must be a string"):
        tagger.tag(doc("x", url=["http://example.com"]))


def test_blocklist_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ConfigError, match="no usable entries"):
        UrlBlocklistTagger(blocklist_path=str(empty))
    with pytest.raises(ConfigError, match="at least one"):
        UrlBlocklistTagger(blocklist_path=[])
    binary = tmp_path / "bad.txt"
    binary.write_bytes(b"example.com\n\xff\xfe\n")
    with pytest.raises(Exception, match=r"bad.txt:2: blocklist line is not UTF-8"):
        UrlBlocklistTagger(blocklist_path=str(binary))


def test_blocklist_from_s3(s3_bucket: str) -> None:
    from dolma_py.io.storage import s3_client

    s3_client().put_object(Bucket=s3_bucket, Key="lists/domains.txt.gz", Body=gzip.compress(b"evil.example\n"))
    tagger = UrlBlocklistTagger(blocklist_path=f"s3://{s3_bucket}/lists/domains.txt.gz")
    assert tagger.tag(doc("t", url="http://a.evil.example/")) == {"url": [Span(0, 1, 1.0)]}
    assert tagger.tag(doc("t", url="http://good.example/")) == {}


# ---------------------------------------------------------------- repetitions (dolma's keys and values)

DOC_WITH_REPETITIONS = """
This is a text with repetitions.
This is a text with repetitions repetitions.
This is a text with repetitions repetitions repetitions.
This is a text with repetitions repetitions repetitions repetitions.

blah blah blah blah blah

No reps at the beginning of this sentence but MMMMMMMMMM

Seeing doubles: bass banana bass banana bass banana bass banana
"""


@pytest.mark.parametrize("cls", [CharRepetitionsTagger, ParagraphCharRepetitionsTagger])
def test_char_repetitions_match_dolma(cls: type) -> None:
    text = DOC_WITH_REPETITIONS
    out = cls().tag(doc(text))
    expected = [
        (" repetitions repetitions repetitions repetitions", 4.0),
        ("blah blah blah blah blah", 5.0),
        ("MMMMMMMMMM", 10.0),
        (" bass banana bass banana bass banana bass banana", 4.0),
    ]
    assert [(text[s.start : s.end], s.score) for s in out["repetition"]] == expected
    assert out["repetition"][0].start == text.index(" repetitions repetitions repetitions repetitions")
    assert out["doc_max_score_repetition"] == whole(text, 10.0)
    assert out["doc_max_length_repetition"] == whole(text, 48.0)
    assert out["doc_frac_repetition"] == whole(text, sum(len(s) for s, _ in expected) / len(text))


@pytest.mark.parametrize("text", ["", "   \n\n  ", "No repetitions here.\n\nNone at all."])
@pytest.mark.parametrize("cls", [CharRepetitionsTagger, ParagraphCharRepetitionsTagger])
def test_char_repetitions_without_any(cls: type, text: str) -> None:
    assert cls().tag(doc(text)) == {
        "doc_max_score_repetition": whole(text, 0.0),
        "doc_max_length_repetition": whole(text, 0.0),
        "doc_frac_repetition": whole(text, 0.0),
    }


def test_char_repetitions_unicode_offsets() -> None:
    text = "ünï: 漢字 漢字 漢字 漢字!\nnext"
    out = ParagraphCharRepetitionsTagger().tag(doc(text))
    assert out["repetition"] == [Span(4, 16, 4.0)]
    assert text[4:16] == " 漢字 漢字 漢字 漢字"


# dolma 1.2.1's pattern and paragraph split: the oracle the Rust kernel must reproduce exactly
DOLMA_CHAR_REPETITIONS = re.compile(r"(.+?)(\s?\1){3,}")
DOLMA_PARAGRAPHS = re.compile(r"([^\n]*\n|[^\n]+$)")


def regex_repetitions(text: str, per_paragraph: bool) -> list[tuple[int, int, int, int]]:
    """(start, end, unit length, dolma's score) of each regex match, per paragraph like dolma when asked."""
    pieces = DOLMA_PARAGRAPHS.finditer(text) if per_paragraph else [re.match(r"(?s).*", text)]
    return [
        (p.start() + m.start(), p.start() + m.end(), len(m.group(1)), m.group(0).count(m.group(1)))
        for p in pieces
        for m in DOLMA_CHAR_REPETITIONS.finditer(p.group())
    ]


def kernel_repetitions(texts: list[str], per_paragraph: bool) -> list[list[tuple[int, int, int, int]]]:
    offsets, starts, ends, periods, counts = _rust.char_repetitions_batch(texts, per_paragraph)
    rows = list(zip(starts.tolist(), ends.tolist(), periods.tolist(), counts.tolist(), strict=True))
    return [rows[offsets[k] : offsets[k + 1]] for k in range(len(texts))]


# small alphabets so that repeats are frequent; whitespace of several kinds, emoji, CJK, lone surrogates
ALPHABETS = ("ab", "a ", "ab \n", "a \t\n\u3000", "xy \u00a0\U0001f600漢", "ab\u2028 \x1c\r", "\ud800a \udc00")


def random_texts(seed: int, count: int) -> list[str]:
    """Random strings, a third of them built from random units repeated with random separators."""
    rng = random.Random(seed)
    texts = []
    for k in range(count):
        alphabet = ALPHABETS[k % len(ALPHABETS)]
        if k % 3:
            texts.append("".join(rng.choices(alphabet, k=rng.randint(0, 80))))
            continue
        parts = []
        for _ in range(rng.randint(1, 4)):
            unit = "".join(rng.choices(alphabet, k=rng.choice([rng.randint(1, 6), rng.randint(17, 30)])))
            parts += [unit + rng.choice(["", "", " ", "\t", "\n"]) for _ in range(rng.randint(1, 6))]
        texts.append("".join(parts))
    return texts


@pytest.mark.parametrize("per_paragraph", [False, True])
def test_char_repetitions_equal_python_regex(per_paragraph: bool) -> None:
    texts = random_texts(seed=int(per_paragraph), count=6000)
    expected = [regex_repetitions(text, per_paragraph) for text in texts]
    assert sum(map(len, expected)) > 2000  # plenty of matches, long units included
    assert any(period > 16 for rows in expected for _, _, period, _ in rows)
    assert kernel_repetitions(texts, per_paragraph) == expected


LONG_TEXTS = (
    "a" * 50_000,
    "b" + "a" * 30_000 + "b" + " " * 7_000 + "x",
    "ab" * 20_000 + "a",
    "x " * 15_000 + "x\tx\u3000x",
    "漢" * 5_000 + "\n" + "\U0001f600" * 5_000 + "\n\n" + "abc\n" * 3_000,
    ("the same sentence, again and " * 300 + "\n") * 4,
)


@pytest.mark.parametrize("per_paragraph", [False, True])
def test_char_repetitions_long_runs_equal_python_regex(per_paragraph: bool) -> None:
    got = kernel_repetitions(list(LONG_TEXTS), per_paragraph)
    assert got == [regex_repetitions(text, per_paragraph) for text in LONG_TEXTS]


@pytest.fixture(scope="module")
def long_line(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Sample-corpus web pages joined into one line: the regex is quadratic on it (13,000 characters: ~10 s)."""
    from dolma_py.io.documents import read_documents
    from dolma_py.sample_corpus import generate_corpus

    root = tmp_path_factory.mktemp("corpus")
    paths = generate_corpus(str(root), num_files=1, docs_per_file=40, seed=0, sources=["web"])
    return " ".join(d.text.replace("\n", " ") for path in paths for d in read_documents(path))


@pytest.mark.parametrize("cls", [CharRepetitionsTagger, ParagraphCharRepetitionsTagger])
def test_char_repetitions_long_line(cls: type, long_line: str) -> None:
    window = long_line[42_500:44_500]  # 2,000 characters with two spam repeats; the regex takes ~0.2 s
    expected = [(start, end, float(count)) for start, end, _, count in regex_repetitions(window, False)]
    assert len(expected) >= 2
    assert [(s.start, s.end, s.score) for s in cls().tag(doc(window))["repetition"]] == expected
    text = (long_line * (300_000 // len(long_line) + 1))[:300_000]
    started = time.perf_counter()
    cls().tag(doc(text))
    assert time.perf_counter() - started < 10  # about 0.1 s; the regex would take hours


def test_char_repetitions_batch_equals_single_documents() -> None:
    docs = [doc(text, doc_id=str(k)) for k, text in enumerate([DOC_WITH_REPETITIONS, "", "\ud800" * 5, *ALPHABETS])]
    for cls in (CharRepetitionsTagger, ParagraphCharRepetitionsTagger):
        tagger = cls()
        assert tagger.tag_batch(docs) == [tagger.tag(d) for d in docs]
    assert CharRepetitionsTagger().tag(docs[2])["repetition"] == [Span(0, 5, 5.0)]


def test_find_periodic_runs() -> None:
    assert list(find_periodic_runs(np.array([5, 5, 5, 5]), max_period=13)) == [PeriodicRun(0, 4, 1, 4)]
    assert list(find_periodic_runs(np.array([9, 1, 2, 1, 2, 1, 2, 7]), max_period=13)) == [PeriodicRun(1, 7, 2, 3)]
    assert list(find_periodic_runs(np.array([1, 2, 1, 2, 3]), max_period=13)) == []  # two repeats are not enough
    assert list(find_periodic_runs(np.array([], dtype=np.int64), max_period=13)) == []


@pytest.fixture(scope="module")
def word_tokenizer_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A word-level tokenizer built on the spot (no downloads)."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {tok: i for i, tok in enumerate(["[UNK]", "a", "b", "c", "d", "ü", "ß", "x", "y"])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return str(path)


def test_tokenizer_repetitions(word_tokenizer_file: str) -> None:
    text = "d ü ß ü ß ü ß x y x y"
    out = TokenizerRepetitionsTagger(tokenizer_name_or_path=word_tokenizer_file).tag(doc(text))
    assert out["repetition"] == [Span(2, 13, 3.0)]
    assert text[2:13] == "ü ß ü ß ü ß"
    assert out["doc_max_score_repetition"] == whole(text, 3.0)
    assert out["doc_max_length_repetition"] == whole(text, 11.0)
    assert out["doc_frac_repetition"] == whole(text, 11 / len(text))


def test_paragraph_tokenizer_repetitions_offsets(word_tokenizer_file: str) -> None:
    text = "x y\na b a b a b\n"
    out = ParagraphTokenizerRepetitionsTagger(tokenizer_name_or_path=word_tokenizer_file).tag(doc(text))
    assert out["repetition"] == [Span(4, 15, 3.0)]
    assert text[4:15] == "a b a b a b"


def test_tokenizer_repetitions_v2r2(word_tokenizer_file: str) -> None:
    tagger = TokenizerRepetitionsSkipEmptyTagger(tokenizer_name_or_path=word_tokenizer_file)
    assert tagger.tag(doc("a b c d")) == {}
    assert tagger.tag(doc("")) == {}
    text = "a a a a a a"  # period 1 (x6) and period 2 (x3) overlap: only the outer run is kept
    assert tagger.tag(doc(text))["repetition"] == [Span(0, 11, 6.0)]


def test_ngram_repetitions() -> None:
    text = "The cat, the CAT; the cat!"
    out = NgramRepetitionsTagger().tag(doc(text))
    # words: the cat the cat the cat (18 chars); "the cat" x3; "the cat the" x2 (9 chars); 4-gram x2 (12 chars)
    assert out["frac_chars_top_2gram"] == whole(text, 1.0)
    assert out["frac_chars_top_3gram"] == whole(text, 1.0)
    assert out["frac_chars_top_4gram"] == whole(text, 24 / 18)
    assert out["frac_chars_dupe_5grams"] == whole(text, 0.0)

    text = "one two three four five six one two three four five seven"
    out = NgramRepetitionsTagger().tag(doc(text))
    repeated = len("onetwothreefourfive") * 2
    total = len(text.replace(" ", ""))
    assert out["frac_chars_dupe_5grams"] == whole(text, repeated / total)
    assert out["frac_chars_dupe_6grams"] == whole(text, 0.0)
    assert out["frac_chars_top_2gram"] == whole(text, 2 * len("onetwo") / total)


@pytest.mark.parametrize("text", ["", "  \n ", "unique words only here"])
def test_ngram_repetitions_degenerate(text: str) -> None:
    out = NgramRepetitionsTagger().tag(doc(text))
    assert len(out) == 9
    assert all(spans == whole(text, 0.0) for spans in out.values())


# ---------------------------------------------------------------- code


CODE_DOC = "/* copyright: Test 2023 **/\n\nThis is a document.\n\nLine with a secret: https://u:p@x.ai"


def test_code_redpajama_values() -> None:
    out = CodeRedPajamaTagger().tag(doc(CODE_DOC))
    lines = CODE_DOC.splitlines()
    tokens = len(words_and_symbols(CODE_DOC))
    assert out["max_line_length_doc"] == whole(CODE_DOC, float(max(map(len, lines))))
    assert out["avg_line_length_doc"] == whole(CODE_DOC, sum(map(len, lines)) / len(lines))
    assert out["alnum_prop_doc"] == whole(CODE_DOC, sum(c.isalnum() for c in CODE_DOC) / len(CODE_DOC))
    assert out["alpha_token_prop_doc"] == whole(CODE_DOC, sum(c.isalpha() for c in CODE_DOC) / (tokens + 1))


def words_and_symbols(text: str) -> list[str]:
    import re

    return re.findall(r"\w+|[^\w\s]+", text)


@pytest.mark.parametrize("text", ["", "  \n "])
def test_code_redpajama_empty(text: str) -> None:
    out = CodeRedPajamaTagger().tag(doc(text))
    line_lengths = [len(line) for line in text.splitlines()]
    assert out["max_line_length_doc"] == whole(text, float(max(line_lengths, default=0)))
    assert out["alnum_prop_doc"] == whole(text, 0.0)
    assert out["alpha_token_prop_doc"] == whole(text, 0.0)


def test_code_copyright() -> None:
    out = CodeCopyrightTagger().tag(doc(CODE_DOC))
    assert out["copyright_notice"] == [Span(0, 27, 1.0)]
    assert CODE_DOC[:27] == "/* copyright: Test 2023 **/"
    assert out["doc"] == whole(CODE_DOC, 28 / len(CODE_DOC))

    plain = "/* just a comment */ int x;"
    assert CodeCopyrightTagger().tag(doc(plain)) == {"doc": whole(plain, 0.0)}

    text = "# licence ü\n// more\n\nimport os\n"
    out = CodeCopyrightTagger().tag(doc(text))
    # dolma's quirk: comment lines count their characters only, empty lines count 1
    assert out["comment_block"] == [Span(0, 19, 1.0)]
    assert out["doc"] == whole(text, 20 / len(text))

    assert CodeCopyrightTagger().tag(doc("import os")) == {"doc": whole("import os", 0.0)}
    assert CodeCopyrightTagger().tag(doc("")) == {"comment_block": [Span(0, 0, 1.0)], "doc": [Span(0, 0, -1.0)]}


# ---------------------------------------------------------------- datatrove adapter

GOOD_TEXT = (
    "Researchers at the coastal station have spent three years measuring how winter storms reshape the sandy "
    "beaches along the northern shore. Their instruments record wave height, wind speed and the volume of sand "
    "that moves with each tide. Early results suggest that a single severe storm can remove more sediment than "
    "an entire calm summer returns. The team now wants to know whether planting dune grasses slows this loss "
    "and protects nearby homes. Local volunteers have joined the effort by counting birds and reporting damage "
    "after every major event. Funding for the next phase will come from a regional grant approved last month."
)


@pytest.mark.parametrize("name", ["GopherQualityFilter", "C4QualityFilter", "GopherRepetitionFilter"])
def test_datatrove_filter_passes(name: str) -> None:
    heavy = ("spacy", "nltk")
    before = {m for m in heavy if m in sys.modules}  # another test's tagger (presidio) may have loaded spacy
    tagger = resolve_filter(name)()
    assert tagger.tag_batch([doc(GOOD_TEXT)]) == [{"pass": whole(GOOD_TEXT, 1.0)}]
    assert {m for m in heavy if m in sys.modules} == before, "the datatrove adapter must not import spacy or nltk"


@pytest.mark.parametrize(
    ("name", "options", "text", "reason"),
    [
        ("GopherQualityFilter", {}, "Too short to keep ü.", "reason_gopher_short_doc"),
        ("GopherQualityFilter", {"stop_words": ["zebra", "okapi"]}, GOOD_TEXT, "reason_gopher_enough_stop_words"),
        ("C4QualityFilter", {}, GOOD_TEXT + "\nLorem ipsum dolor sit amet, consectetur.", "reason_lorem_ipsum"),
        ("C4QualityFilter", {}, "One sentence only here.", "reason_too_few_sentences"),
        ("GopherRepetitionFilter", {}, "Same para.\n\nSame para.\n\nSame para.\n\nOther.", "reason_dup_para_frac"),
        ("GopherRepetitionFilter", {}, "", "reason_empty"),
        ("C4ParagraphFilter", {}, GOOD_TEXT, "reason_3_paragraphs"),
    ],
)
def test_datatrove_filter_fails_with_reason(name: str, options: dict, text: str, reason: str) -> None:
    out = resolve_filter(name)(**options).tag_batch([doc(text)])[0]
    assert out == {"pass": whole(text, 0.0), reason: whole(text, 1.0)}


def test_datatrove_batch_blank_texts_and_isolation() -> None:
    tagger = resolve_filter("C4QualityFilter")(min_num_sentences=1)
    text = "Click here\nThis line is a proper sentence. And another one follows it."
    docs = [doc(text, url="u"), doc(""), doc(" \n\t ")]
    out = tagger.tag_batch(docs)
    assert out[0] == {"pass": whole(text, 1.0)}
    assert out[1] == {"pass": [Span(0, 0, 0.0)], "reason_too_few_sentences": [Span(0, 0, 1.0)]}
    assert out[2] == {"pass": [Span(0, 4, 0.0)], "reason_too_few_sentences": [Span(0, 4, 1.0)]}
    assert docs[0].text == text and docs[0].metadata == {"url": "u"}  # C4 rewrites the text of its own copy


def test_datatrove_word_tokenizer_injected_and_signature() -> None:
    cls = resolve_filter("GopherQualityFilter")
    assert cls is resolve_filter("GopherQualityFilter")
    tagger = cls(language="deu")
    assert tagger.filter.language is word_tokenizer("deu")
    assert tagger.filter.language.word_tokenize("Grüße, Welt!") == ["Grüße", ",", "Welt", "!"]
    params = inspect.signature(cls).parameters
    assert "min_doc_words" in params and "exclusion_writer" not in params
    with pytest.raises(TypeError):
        inspect.signature(cls).bind(no_such_option=1)


def test_reason_keys() -> None:
    assert reason_key("gopher_short_doc") == "reason_gopher_short_doc"
    assert reason_key("< 3 paragraphs") == "reason_3_paragraphs"
    assert reason_key("Top-2 Gram!") == "reason_top_2_gram"
    assert reason_key("???") == "reason_unknown"
