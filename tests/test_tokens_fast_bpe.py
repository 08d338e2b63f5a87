"""The tiktoken fast path for byte-level BPE: every tokenizer shape takes it and gives HF's ids; refusals, fallbacks."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers

from dolma_py.exec.units import Unit
from dolma_py.tokens import fast_bpe
from dolma_py.tokens.fast_bpe import FastBPE, Unsupported, byte_level_alphabet, onig_to_fancy
from dolma_py.tokens.tokenized_file import TokenizedFile, TokenizeParams, outputs_for, tokenize_file
from dolma_py.tokens.tokenizer import DocumentEncoder, FastPathMismatch, TokenizerSettings
from dolma_py.tokens.train_tokenizer import (
    CL100K_PATTERN,
    drop_bytes_outside_utf8,
    renumber,
    train_byte_level_bpe,
    train_shaped_bpe,
)

pytest.importorskip("tiktoken")

PIECES = [
    *("the", " cat's", "WE'RE", "I'll", "don't", " naïve", "café", "Über", "straße", "ǅemal", "x_y", "--", "<tag>"),
    *(
        "日本語",
        "中文字符",
        "한국어",
        "👍🏽",
        "👩\u200d👩\u200d👧",
        "🇯🇵",
        "e\u0301",
        "A\u030a",
        "a\u0308\u0301",
        "u\u0308ber",
        "\u0301",
    ),
    *("\u00a0", "\u2028", "\u3000", "\x00", "\x7f", "\u200b", "\ufeff", "\U0010ffff", "\ue000", "\ufffd", "\x85"),
    *("<|endoftext|>", "<|pad|>", "<|fim_prefix|>", "<|endoftext", "|>", "[MASK]", "  [MASK]  "),
    *(" ", "  ", "     ", " " * 30, "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\n   \n"),
    *("12345", "1234567", "3.14", " 2026", "٣٤٥", "½", "①"),
]


def _corpus(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(PIECES, size=int(rng.integers(1, 80))).tolist()) for _ in range(n)]


def _permute(tok: Tokenizer, seed: int) -> Tokenizer:
    """Every id (BPE and added tokens) moved to a random new place: ids no longer follow merge order."""
    order = np.random.default_rng(seed).permutation(tok.get_vocab_size(with_added_tokens=True))
    return renumber(tok, lambda i: int(order[i]))


def _with_added(tok: Tokenizer) -> Tokenizer:
    tok.add_special_tokens(["<|fim_prefix|>", "[MASK]"])
    tok.add_tokens([AddedToken("  ", normalized=True), AddedToken("ü", normalized=True)])
    return tok


def _with_nfc(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.NFC()
    return tok


SHAPES: dict[str, Callable[[list[str]], Tokenizer]] = {
    "gpt2": lambda texts: train_shaped_bpe(texts, 900, "gpt2"),
    "neox": lambda texts: train_shaped_bpe(texts, 900, "neox"),
    "cl100k": lambda texts: train_shaped_bpe(texts, 900, "cl100k"),
    "llama3": lambda texts: train_shaped_bpe(texts, 900, "llama3"),
    "neox-permuted": lambda texts: _permute(train_shaped_bpe(texts, 900, "neox"), 1),
    "gpt2-no-invalid-bytes-permuted": lambda texts: _permute(
        drop_bytes_outside_utf8(train_byte_level_bpe(texts, 900)), 2
    ),
    "gpt2-nfc-added": lambda texts: _with_nfc(_with_added(train_shaped_bpe(texts, 900, "gpt2"))),
    "cl100k-nfc-added-permuted": lambda texts: _permute(
        _with_nfc(_with_added(train_shaped_bpe(texts, 900, "cl100k"))), 3
    ),
    "llama3-added": lambda texts: _with_added(train_shaped_bpe(texts, 900, "llama3")),
}


@pytest.fixture(scope="module")
def train_texts() -> list[str]:
    return _corpus(0, 400)


def _assert_same_as_hf(tok: Tokenizer, texts: list[str]) -> FastBPE:
    fast = FastBPE.build(tok, threads=2)  # raises Unsupported if the fast path were refused
    encoded = fast.encode_batch(texts)
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert sum(len(e) for e in expected) > 5000
    assert [i for i, (a, b) in enumerate(zip(encoded, expected, strict=True)) if a != b] == []
    return fast


@pytest.mark.parametrize("encode_special_tokens", [False, True])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_takes_the_fast_path_and_matches_hf(
    shape: str, encode_special_tokens: bool, train_texts: list[str]
) -> None:
    tok = SHAPES[shape](train_texts)
    tok.encode_special_tokens = encode_special_tokens
    fast = _assert_same_as_hf(tok, _corpus(1, 400))
    assert (fast.table is not None) is shape.endswith("permuted")  # ranks mapped to ids only where ids are out of order
    if shape.startswith("neox") or "invalid-bytes" in shape:
        assert "\u0100" in tok.get_vocab()  # byte 0x00 is kept; 0xC0 (stand-in 'À') and 0xFF ('ÿ') are gone
        assert "À" not in tok.get_vocab() and "ÿ" not in tok.get_vocab()


@pytest.mark.parametrize("shape", ["gpt2", "llama3", "cl100k"])
def test_codepoints_split_as_hf_does(shape: str, train_texts: list[str]) -> None:
    """tiktoken's regex engine and HF's Oniguruma agree on letters, digits and whitespace (every 23rd code point)."""
    cps = [chr(c) for c in range(0, 0x110000, 23) if not 0xD800 <= c < 0xE000]
    texts = ["".join(f"a{c}b {c}1 {c}{c}\n" for c in cps[k : k + 500]) for k in range(0, len(cps), 500)]
    _assert_same_as_hf(SHAPES[shape](train_texts), texts)


def test_oniguruma_readings_are_rewritten() -> None:
    assert onig_to_fancy(r"\p{N}{1,3}+|a") == r"(?:\p{N}{1,3})+|a"  # a repeat in Oniguruma, not possessive
    assert onig_to_fancy(r"(ab){2}+[x{1}+$]\s++$") == r"(?:(ab){2})+[x{1}+$]\s++(?m:$)"
    assert onig_to_fancy(CL100K_PATTERN).count("(?:") == 1  # (?i: is kept, \p{N}{1,3}+ is wrapped


def _bpe(vocab_extra: dict[str, int], merges: list[tuple[str, str]], skip: str = "") -> Tokenizer:
    vocab = {ch: b for ch, b in byte_level_alphabet().items() if ch not in skip}
    vocab.update(vocab_extra)
    tok = Tokenizer(models.BPE(vocab, merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return tok


def _divergent_tokenizer() -> Tokenizer:
    """'abc' is built from ('ab', 'c') but 'bc' merges first: HF stops at [a, bc], tiktoken would go on to 'abc'."""
    tok = _bpe({"bc": 256, "ab": 257, "abc": 258}, [("b", "c"), ("a", "b"), ("ab", "c")])
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def test_unreachable_tokens_are_left_out_of_the_fast_path() -> None:
    tok = _divergent_tokenizer()
    fast = FastBPE.build(tok)
    texts = ["abc", "abcabc", "xabcx", "bcab", "ab c", "aabbcc"]
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert fast.encode_batch(texts) == expected
    assert 258 not in {i for ids in expected for i in ids}  # 'abc' is never produced


def test_inexact_shapes_are_refused_with_the_reason(train_texts: list[str], caplog: pytest.LogCaptureFixture) -> None:
    ignoring = json.loads(_divergent_tokenizer().to_str())
    ignoring["model"]["ignore_merges"] = True  # HF then emits the unreachable 'abc' for the word "abc"
    cases: list[tuple[Tokenizer, str]] = [
        (Tokenizer.from_str(json.dumps(ignoring)), "ignore_merges with vocabulary tokens"),
        (_bpe({"ab": 256, "bc": 257, "abc": 258}, [("a", "b"), ("b", "c"), ("ab", "c"), ("a", "bc")]), "same token"),
        (_bpe({"ab": 256}, [("a", "b")], skip="A"), "no token for bytes [65]"),
        (Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]")), "not plain BPE"),
        (train_shaped_bpe(train_texts, 400, "gpt2"), ""),  # the control: accepted
    ]
    prefixed = train_byte_level_bpe(train_texts, 400)
    prefixed.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    lowercase = train_byte_level_bpe(train_texts, 400)
    lowercase.normalizer = normalizers.Lowercase()
    truncating = train_byte_level_bpe(train_texts, 400)
    truncating.enable_truncation(8)
    cases += [(prefixed, "add_prefix_space"), (lowercase, "normalizer Lowercase"), (truncating, "truncation")]
    for tok, reason in cases:
        if not reason:
            assert FastBPE.build(tok) is not None
            continue
        with pytest.raises(Unsupported, match=reason.replace("[", r"\[").replace("]", r"\]")):
            FastBPE.build(tok)
    fast_bpe._logged.clear()
    with caplog.at_level(logging.INFO, logger=fast_bpe.__name__):
        assert FastBPE.from_tokenizer(lowercase) is None
        assert FastBPE.from_tokenizer(lowercase) is None
    assert [r.getMessage().count("normalizer Lowercase") for r in caplog.records] == [1]  # logged once


def test_stripping_added_tokens_leave_their_documents_to_hf(tmp_path: Path, train_texts: list[str]) -> None:
    tok = train_shaped_bpe(train_texts, 600, "gpt2")
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=True)])
    tok.save(str(tmp_path / "tok.json"))
    encoder = DocumentEncoder(TokenizerSettings(str(tmp_path / "tok.json"), eos_token_id=0))
    assert encoder.fast is not None
    texts = ["before  <mask>  after", "plain text"]
    assert encoder.fast.encode_batch(texts)[0] is None
    assert encoder.encode(texts) == [e.ids + [0] for e in tok.encode_batch(texts, add_special_tokens=False)]


@pytest.mark.parametrize("encode_special_tokens", [False, True])
def test_documents_with_special_token_text_match_hf(
    tmp_path: Path, encode_special_tokens: bool, train_texts: list[str]
) -> None:
    tok = train_shaped_bpe(train_texts, 600, "gpt2")
    tok.save(str(tmp_path / "tok.json"))
    encoder = DocumentEncoder(
        TokenizerSettings(str(tmp_path / "tok.json"), eos_token_id=0, encode_special_tokens=encode_special_tokens)
    )
    assert encoder.fast is not None
    texts = ["before <|endoftext|> after", "plain text", "<|pad|><|pad|>x"]
    tok.encode_special_tokens = encode_special_tokens
    expected = [e.ids + [0] for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert encoder.encode(texts) == expected
    assert (expected[0].count(0) == 2) is not encode_special_tokens  # the special token is split out or spelled


def test_disagreement_is_detected_and_the_file_redone_with_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sampled check against HF is the safety net for what the shape checks miss (here: switched off)."""
    monkeypatch.setattr(fast_bpe, "_unreachable", lambda model, results: set())
    tok = _divergent_tokenizer()
    tok.save(str(tmp_path / "tok.json"))
    assert tok.encode("abc", add_special_tokens=False).ids == [ord("a"), 256]
    eos = tok.token_to_id("<|endoftext|>")
    settings = TokenizerSettings(str(tmp_path / "tok.json"), eos_token_id=eos)
    encoder = DocumentEncoder(settings)
    assert encoder.fast is not None and encoder.encode(["abc"]) == [[258, eos]]  # unverified: fast path's answer
    with pytest.raises(FastPathMismatch):
        encoder.encode(["xyz", "abc"], verify=[1])

    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(["abc abc", "bcab", "abc"]))
    )
    params = TokenizeParams(settings, "uint16", "text", "id", False)
    unit = Unit(key="docs", inputs=(str(docs),), outputs=outputs_for(str(tmp_path / "stem")))
    result = tokenize_file(params, unit)
    assert result.counters["fast_bpe_fallbacks"] == 1
    tf = TokenizedFile.open(str(tmp_path / "stem"), np.dtype("uint16"))
    expected = [i for t in ["abc abc", "bcab", "abc"] for i in tok.encode(t, add_special_tokens=False).ids + [eos]]
    assert tf.tokens.tolist() == expected
