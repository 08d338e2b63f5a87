"""The tiktoken fast path for byte-level BPE: exact agreement with HF, supported shapes, and the HF fallback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from dolma_py.exec.units import Unit
from dolma_py.tokens.fast_bpe import FastBPE, byte_level_alphabet
from dolma_py.tokens.tokenized_file import TokenizedFile, TokenizeParams, outputs_for, tokenize_file
from dolma_py.tokens.tokenizer import DocumentEncoder, FastPathMismatch, TokenizerSettings

pytest.importorskip("tiktoken")

CL100K_LIKE = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
SPECIALS = ["<|endoftext|>", "<|pad|>"]


def _corpus(seed: int, n: int) -> list[str]:
    rng = np.random.default_rng(seed)
    pieces = [
        "the",
        "cat's",
        "we're",
        "naïve",
        "café",
        "日本語",
        "👍🏽",
        "12345",
        "3.14",
        "x_y",
        "--",
        "\t",
        "\n\n",
        "   ",
        "Über",
        "straße",
        "I'll",
        "don't",
        "ǅemal",
        "١٢٣",
        "e\u0301",
        "<tag>",
        "a",
        "bb",
        "ccc",
    ]
    return [
        "".join(rng.choice(pieces, size=int(rng.integers(1, 60))).tolist()) + rng.choice(["", " ", "\n"])
        for _ in range(n)
    ]


def _train(pre: pre_tokenizers.PreTokenizer, normalizer: normalizers.Normalizer | None = None) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(_corpus(0, 400), trainer)
    return tok


def _same_as_hf(tok: Tokenizer, texts: list[str]) -> None:
    fast = FastBPE.from_tokenizer(tok, threads=2)
    assert fast is not None
    encoded = fast.encode_batch(texts)
    expected = [e.ids for e in tok.encode_batch(texts, add_special_tokens=False)]
    assert sum(len(e) for e in expected) > 1000
    assert encoded == expected


def test_gpt2_style_matches_hf() -> None:
    _same_as_hf(_train(pre_tokenizers.ByteLevel(add_prefix_space=False)), _corpus(1, 300))


def test_split_regex_style_matches_hf() -> None:
    pre = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CL100K_LIKE), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    _same_as_hf(_train(pre), _corpus(2, 300))


def test_nfc_normalizer_matches_hf() -> None:
    _same_as_hf(_train(pre_tokenizers.ByteLevel(add_prefix_space=False), normalizers.NFC()), _corpus(3, 300))


def test_unsupported_shapes_use_hf() -> None:
    word = Tokenizer(models.WordLevel({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    assert FastBPE.from_tokenizer(word) is None
    prefixed = _train(pre_tokenizers.ByteLevel(add_prefix_space=True))
    assert FastBPE.from_tokenizer(prefixed) is None
    lowercase = _train(pre_tokenizers.ByteLevel(add_prefix_space=False), normalizers.Lowercase())
    assert FastBPE.from_tokenizer(lowercase) is None
    truncating = _train(pre_tokenizers.ByteLevel(add_prefix_space=False))
    truncating.enable_truncation(8)
    assert FastBPE.from_tokenizer(truncating) is None


@pytest.mark.parametrize("encode_special_tokens", [False, True])
def test_documents_with_special_token_text_match_hf(tmp_path: Path, encode_special_tokens: bool) -> None:
    tok = _train(pre_tokenizers.ByteLevel(add_prefix_space=False))
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


def _divergent_tokenizer(path: Path) -> Tokenizer:
    """'abc' is built from ('ab', 'c') but 'bc' merges first: HF stops at [a, bc], tiktoken goes on to 'abc'."""
    alphabet = sorted(byte_level_alphabet().items(), key=lambda item: item[1])
    vocab = {ch: b for ch, b in alphabet}
    vocab.update({"bc": 256, "ab": 257, "abc": 258})
    tok = Tokenizer(models.BPE(vocab, [("b", "c"), ("a", "b"), ("ab", "c")]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    tok.save(str(path))
    return tok


def test_disagreement_is_detected_and_the_file_redone_with_hf(tmp_path: Path) -> None:
    tok = _divergent_tokenizer(tmp_path / "tok.json")
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
